"""What a learner reads from the grader, checked without a kernel: failure lines, clipped outputs, CHECK helpers.

``chapter1.grading.feedback`` turns a failing cell into one line; ``chapter1.grading.check`` confirms an
answer without printing it. Digests written into the course's CHECK cells must keep matching, so the
canonical text a value is hashed from is part of the contract.
"""

from __future__ import annotations

import hashlib
import linecache
import math
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from chapter1.grading import check
from chapter1.grading.check import CheckFailed
from chapter1.grading.feedback import (
    MESSAGE_LIMIT,
    OUTPUT_LIMIT,
    TRUNCATED,
    clip,
    clip_content,
    describe_error,
    nbval_message,
)

RED = "\x1b[0;31m"
RESET = "\x1b[0m"


# ------------------------------------------------------------------ feedback: one line per failure


def test_clip_keeps_a_message_of_exactly_the_limit_and_cuts_one_more():
    assert clip("abcde", 5) == "abcde"
    assert clip("abcdef", 5) == "abcd…"
    assert clip("  padded  ", 6) == "padded"
    assert clip("ab   cdefgh", 6) == "ab…"  # the cut does not leave blanks before the ellipsis
    assert len(clip("x" * 5000)) == MESSAGE_LIMIT


def test_an_assert_message_is_shown_alone_without_colours():
    assert describe_error("AssertionError", f"{RED}expected 12, got 10{RESET}") == "expected 12, got 10"
    assert describe_error("CheckFailed", "not right yet: the peak") == "not right yet: the peak"


def test_a_bare_assert_shows_the_line_that_failed():
    traceback = [f"{RED}Cell In[3], line 2{RESET}",
                 f"      1 x = 1\n{RED}----> 2{RESET} assert x == 2",
                 "other frame", "----> 7 assert inner_call()  "]
    assert describe_error("AssertionError", "", traceback) == "assertion failed: assert inner_call()"
    assert describe_error("AssertionError", None, ["  ---->assert y"]) == "assertion failed: assert y"
    coloured = [f"{RED}---->{RESET} 3 assert z > 0", "  4 print(z)"]
    assert describe_error("AssertionError", "", coloured) == "assertion failed: assert z > 0"


def test_a_short_check_report_gives_its_failing_line():
    traceback = [f"{RED}✗ 1.2: assertion failed: assert servers == planned {RESET}"]
    assert describe_error("CheckFailed", "", traceback) == "assertion failed: assert servers == planned"
    report = ["✗ 1.3: assertion failed: assert total > 0", "(more output)"]
    assert describe_error("CheckFailed", "", report) == "assertion failed: assert total > 0"
    assert describe_error("AssertionError", "", ["no marker here"]) == "assertion failed"
    assert describe_error("AssertionError", "") == "assertion failed"


def test_other_errors_name_their_type():
    assert describe_error("NameError", "name 'rps' is not defined") == "NameError: name 'rps' is not defined"
    assert describe_error("KeyboardInterrupt", "") == "KeyboardInterrupt"
    assert describe_error("ValueError", f"{RED}bad{RESET}") == "ValueError: bad"
    long = describe_error("ValueError", "v" * 3000)
    assert len(long) == MESSAGE_LIMIT and long.startswith("ValueError: v") and long.endswith("…")
    assert len(describe_error("AssertionError", "a" * 3000)) == MESSAGE_LIMIT


@pytest.mark.parametrize("text, friendly", [
    ("Timeout of 5.5 seconds exceeded while executing cell.\nFailed to interrupt kernel",
     "timed out after 5.5 s, and the kernel ignored the interrupt so it was stopped"),
    (f"{RED}Timeout of 60 seconds exceeded{RESET} while executing cell",
     "timed out after 60 s (the cell was interrupted)"),
    ("Kernel dead on test start", "not run: the kernel died in an earlier cell"),
    ("first paragraph\nstill first\n\nsecond paragraph", "first paragraph\nstill first"),
    (f"{RED}NameError{RESET}: x\n\nmore", "NameError: x"),
])
def test_nbval_failures_read_as_plain_sentences(text, friendly):
    assert nbval_message(text) == friendly


def test_nbval_fallback_is_clipped():
    assert len(nbval_message("z" * 4000)) == MESSAGE_LIMIT


def test_outputs_longer_than_the_limit_are_cut_and_marked():
    exact, over = "x" * OUTPUT_LIMIT, "y" * (OUTPUT_LIMIT + 1)
    content = {"name": "stdout", "text": over, "evalue": over,
               "data": {"text/plain": over, "image/png": exact, "count": 3},
               "traceback": [f"line {i}" for i in range(30)] + [over]}
    clip_content("error", content)
    assert content["text"] == "y" * OUTPUT_LIMIT + TRUNCATED
    assert content["evalue"] == "y" * OUTPUT_LIMIT + TRUNCATED
    assert content["data"] == {"text/plain": "y" * OUTPUT_LIMIT + TRUNCATED, "image/png": exact, "count": 3}
    assert content["traceback"][:-1] == [f"line {i}" for i in range(11, 30)]  # the last 20 lines
    assert content["traceback"][-1] == "y" * OUTPUT_LIMIT + TRUNCATED
    same = {"text": exact}
    clip_content("stream", same)
    assert same == {"text": exact}


@pytest.mark.parametrize("msg_type", ["stream", "display_data", "execute_result", "update_display_data", "error"])
def test_every_output_message_type_is_clipped(msg_type):
    content = {"text": "q" * (OUTPUT_LIMIT + 5)}
    clip_content(msg_type, content)
    assert content["text"].endswith(TRUNCATED)


def test_other_messages_and_odd_content_are_left_alone():
    status = {"text": "q" * (OUTPUT_LIMIT + 5)}
    clip_content("status", status)
    assert len(status["text"]) == OUTPUT_LIMIT + 5
    clip_content("stream", None)  # nothing to clip, no error
    odd = {"data": "not a dict", "traceback": "not a list"}
    clip_content("error", odd)
    assert odd == {"data": "not a dict", "traceback": "not a list"}


# ------------------------------------------------------------------ check: digests authors write


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("value, decimals, text", [
    (64, None, "64"), (np.int64(64), None, "64"), (True, None, "true"), (None, None, "null"),
    ("web-1", None, '"web-1"'), (3.05, 2, "3.05"), (np.float64(0.5), 3, "0.500"), (7, 1, "7.0"),
    ([1, 2], None, "[1,2]"), ((1, (2, 3)), None, "[1,[2,3]]"), (np.array([1, 2]), None, "[1,2]"),
    ({3, 1, 2}, None, "{1,2,3}"), (frozenset({"b", "a"}), None, '{"a","b"}'),
    ({"b": 1.25, "a": 2}, 1, '{"a":2.0,"b":1.2}'), ([0.5, (1.25,)], 1, "[0.5,[1.2]]"),
    ({0.25}, 1, "{0.2}"), ({2: "x", 1: "y"}, None, '{1:"y",2:"x"}'),
])
def test_a_digest_is_the_sha256_of_the_values_canonical_text(value, decimals, text):
    assert check.digest(value, decimals=decimals) == sha(text)


def test_a_number_that_is_not_whole_needs_decimals_and_odd_values_are_refused():
    with pytest.raises(ValueError, match="^pass decimals=N to compare a number that is not whole$"):
        check.digest(2.5)
    with pytest.raises(TypeError, match="cannot compare a complex"):
        check.digest(1j)
    assert check.digest(True) != check.digest(1)
    with pytest.raises(TypeError, match="bytes"):
        check.digest(b"ab")


def test_matches_accepts_one_unit_of_rounding_either_way_and_no_more():
    expected = check.digest(3.05, decimals=2)
    for value in (3.05, 3.04, 3.06, np.float64(3.0549)):
        check.matches(value, expected, decimals=2)
    for value in (3.03, 3.07):
        with pytest.raises(CheckFailed):
            check.matches(value, expected, decimals=2)
    # the window is one unit of the last decimal around the rounded answer: 2.85 <= x < 3.15 for 3.0
    expected = check.digest(3.0, decimals=1)
    for value in (2.851, 3.149):
        check.matches(value, expected, decimals=1)
    for value in (2.849, 3.151):
        with pytest.raises(CheckFailed):
            check.matches(value, expected, decimals=1)
    check.matches([0.5, 1.25], check.digest([0.5, 1.25], decimals=1), decimals=1)  # lists use decimals too


def test_a_wrong_answer_fails_with_the_hint_never_the_value():
    with pytest.raises(CheckFailed) as failed:
        check.matches(32, check.digest(64), hint="the biggest box within budget")
    assert str(failed.value) == "not right yet: the biggest box within budget"
    with pytest.raises(CheckFailed) as failed:
        check.matches(32, check.digest(64))
    assert str(failed.value) == "not right yet."
    assert failed.value._render_traceback_() == ["✗ not right yet."]


def test_matches_turns_uncomparable_answers_into_a_failure():
    for value in (object(), 2.5, 1j):
        with pytest.raises(CheckFailed, match="not right yet"):
            check.matches(value, check.digest(64))
    with pytest.raises(CheckFailed):
        check.matches(True, check.digest(1), decimals=0)  # a bool is not the number 1
    check.matches(["a", 1], check.digest(("a", 1)))
    check.matches(7, check.digest(7, decimals=1), decimals=1)


def test_close_compares_within_the_given_tolerances():
    check.close(np.float64(100.00005), 100)
    with pytest.raises(CheckFailed, match=r"^not right yet\.$"):
        check.close(100.001, 100)
    check.close(100.001, 100, rel=1e-5)
    check.close(0.001, 0, abs=0.01)
    with pytest.raises(CheckFailed, match="not right yet: round trips"):
        check.close(0.02, 0, abs=0.01, hint="round trips")
    for bad in ("many", None, [1, 2]):
        with pytest.raises(CheckFailed, match="not right yet"):
            check.close(bad, 1)


def test_number_accepts_numpy_and_names_what_is_wrong():
    assert check.number(np.int64(3), "servers", whole=True) == 3
    assert type(check.number(np.int64(3), whole=True)) is int
    assert check.number(np.float64(0.5)) == 0.5
    assert check.number(4) == 4

    class Scalar:  # a zero-dimensional value of another array library: item() but no tolist()
        def item(self):
            return 7

    assert check.number(Scalar(), whole=True) == 7
    cases = [(True, {}, "the answer should be a number, not True."),
             (math.inf, {}, "the answer should be a number, not inf."),
             (math.nan, {"name": "rps"}, "rps should be a number, not nan."),
             ("3", {"name": "rps"}, "rps should be a number, not '3'."),
             (2.5, {"name": "servers", "whole": True}, "servers should be a whole number, not 2.5."),
             (False, {"whole": True}, "the answer should be a whole number, not False.")]
    for value, kwargs, message in cases:
        with pytest.raises(CheckFailed) as failed:
            check.number(value, **kwargs)
        assert str(failed.value) == message


# ------------------------------------------------------------------ check: short reports in a notebook


class FakeShell:
    """The little of IPython's shell that the CHECK reports use."""

    def __init__(self):
        self.shown, self.registered, self.custom = [], [], None
        self.InteractiveTB = SimpleNamespace(structured_traceback=self.full_traceback)
        self.events = SimpleNamespace(register=lambda name, hook: self.registered.append((name, hook)))

    @staticmethod
    def full_traceback(etype, value, tb, tb_offset=None):
        return ["full traceback of", etype, value, tb, tb_offset]

    def _showtraceback(self, etype, value, stb):
        self.shown.append((etype, value, stb))

    def set_custom_exc(self, types, handler):
        self.custom = (types, handler)


def run_cell(source: str, success: bool = True):
    info = SimpleNamespace(raw_cell=source)
    check._before_cell(info)
    return SimpleNamespace(info=info, success=success)


@pytest.mark.parametrize("source, printed", [
    ("# CHECK 3.2 [2 pts]\nassert True", "✓ 3.2 passed (2 pts)\n"),
    ("\n\n  # CHECK q1 [1 pt]  \nassert True", "✓ q1 passed (1 pt)\n"),
    ("# CHECK 1.1\nassert True", "✓ 1.1 passed (1 pt)\n"),
    ("#CHECK 1.4 [ 3 pts ]", "✓ 1.4 passed (3 pts)\n"),
    ("# CHECK 2.1 [0 pts]", "✓ 2.1 passed (0 pts)\n"),
    ("rps = 12", ""),
    ("# CHECK -bad\nassert True", ""),
    ("x = 1\n# CHECK 1.1", ""),
    ("# CHECK 1.5\nx = 1\nassert x", "✓ 1.5 passed (1 pt)\n"),
    ("\n  \n# CHECK 1.1", ""),  # as parse_check: the header must be the first line that is not empty
    ("X  # CHECK 1.1", ""),
])
def test_a_passing_check_cell_says_so_with_its_points(source, printed, capsys):
    check._after_cell(run_cell(source))
    assert capsys.readouterr().out == printed


def test_a_failing_check_cell_prints_no_success_line(capsys):
    check._after_cell(run_cell("# CHECK 1.1\nassert False", success=False))
    check._after_cell(SimpleNamespace(info=SimpleNamespace(raw_cell=None), success=True))
    check._after_cell(SimpleNamespace(info=SimpleNamespace(), success=True))  # IPython versions without raw_cell
    assert capsys.readouterr().out == ""


def frames_of(source):
    name = f"<cell {abs(hash(source))}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # as IPython registers a cell
    try:
        exec(compile(source, name, "exec"), {})
    except AssertionError as error:
        return type(error), error, error.__traceback__


def test_a_failing_assert_in_a_check_cell_shows_its_message_alone():
    shell = FakeShell()
    run_cell("# CHECK 1.2 [2 pts]\nassert 1 == 2, 'peak(10) should be 30'")
    etype, value, tb = frames_of("assert 1 == 2, 'peak(10) should be 30'")
    assert check._short_failure(shell, etype, value, tb) == ["✗ 1.2: peak(10) should be 30"]
    etype, value, tb = frames_of("x = 1\nassert x == 2")
    assert check._short_failure(shell, etype, value, tb) == ["✗ 1.2: assertion failed: assert x == 2"]
    etype, value, tb = frames_of("def f():\n    assert 1 > 2\nf()")  # the line that failed, not the call
    assert check._short_failure(shell, etype, value, tb) == ["✗ 1.2: assertion failed: assert 1 > 2"]
    error = AssertionError()
    assert check._short_failure(shell, AssertionError, error, None) == ["✗ 1.2: assertion failed"]
    assert shell.shown[-1] == (AssertionError, error, ["✗ 1.2: assertion failed"])


def test_outside_check_cells_a_failure_keeps_ipythons_traceback():
    shell = FakeShell()
    run_cell("assert rps == 12")
    error, tb = AssertionError("x"), object()
    full = ["full traceback of", AssertionError, error, tb, 2]
    assert check._short_failure(shell, AssertionError, error, tb, tb_offset=2) == full
    assert shell.shown == [(AssertionError, error, full)]
    check._before_cell(SimpleNamespace())  # no raw_cell: treated as an ordinary cell
    assert check._short_failure(shell, AssertionError, error, tb)[0] == "full traceback of"


def test_enable_hooks_into_ipython_once(monkeypatch):
    import IPython

    shell = FakeShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert check.enable() is True
    assert shell.registered == [("pre_run_cell", check._before_cell), ("post_run_cell", check._after_cell)]
    assert shell.custom == ((AssertionError,), check._short_failure)
    assert check.enable() is True and len(shell.registered) == 2  # not twice
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert check.enable() is False
    monkeypatch.setitem(sys.modules, "IPython", None)  # plain Python: importing IPython fails
    assert check.enable() is False


def test_the_capstone_bill_passes_up_to_the_margin_over_the_reference():
    from chapter1.capstone.design import monthly_cost

    reference = float(monthly_cost(check.capstone_reference())["usd_per_month"].sum())
    check.capstone_cost(reference * 1.2)
    check.capstone_cost(reference * 1.29, margin=0.3)
    with pytest.raises(CheckFailed, match="^not right yet: cheaper$"):
        check.capstone_cost(reference * 1.21, hint="cheaper")
    with pytest.raises(CheckFailed, match=r"^not right yet\.$"):
        check.capstone_cost(reference * 1.01, margin=0)
    with pytest.raises(CheckFailed, match="usd_per_month should be a number"):
        check.capstone_cost("a lot")
    design = check.capstone_reference()
    design["web_servers"] = 0
    assert check.capstone_reference()["web_servers"] == 12  # a copy: the reference cannot be changed
