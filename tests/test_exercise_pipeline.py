"""The exercise pipeline on tiny synthetic notebooks: stripping, sync, CHECK parsing, running."""

from __future__ import annotations

import keyword
import textwrap

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chapter1 import exercises
from chapter1.exercises import Check, checks, generate, out_of_sync, parse_check, strip_solutions
from chapter1.nbcheck import describe_error, run_notebook


def code(source: str, **kwargs):
    return new_code_cell(textwrap.dedent(source).strip("\n"), **kwargs)


def toy_solution():
    """A small chapter: a given cell, two answer cells, three checks."""
    return new_notebook(
        cells=[
            new_markdown_cell("# Toy chapter\nHow many requests per second?"),
            code("DAY = 86_400"),
            code("""
                ### BEGIN SOLUTION
                users = 864_000
                rps = users * 10 / DAY
                ### END SOLUTION
            """),
            code("""
                # CHECK 1.1 [2 pts]
                assert rps == 100, f"expected 100 requests/s, got {rps}: revisit 'users to requests'"
            """),
            code('''
                def peak(rate, factor=3):
                    """Peak rate."""
                    ### BEGIN SOLUTION
                    return rate * factor
                    ### END SOLUTION
            '''),
            code("""
                # CHECK 1.2
                assert peak(10) == 30, f"peak(10) should be 30, got {peak(10)}"
            """),
            code("""
                # CHECK 1.3 [1 pt]
                assert peak(1, factor=2) == 2
            """),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


@pytest.fixture
def course(tmp_path):
    solutions, exercises_dir = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(toy_solution(), solutions / "01_toy.ipynb")
    return solutions, exercises_dir


# ------------------------------------------------------------------ CHECK headers

CHECK_CASES = [
    ("# CHECK 1.2 [2 pts]\nassert x", Check("1.2", 2)),
    ("# CHECK 1.2\nassert x", Check("1.2", 1)),
    ("# CHECK q3 [1 pt]", Check("q3", 1)),
    ("#CHECK 4.1 [10 pts]", Check("4.1", 10)),
    ("  # CHECK 2.1a  [3pts]  \nassert y", Check("2.1a", 3)),
    ("\n# CHECK ex-7", Check("ex-7", 1)),
    ("x = 1\n# CHECK 1.2", None),
    ("# CHECKS are below", None),
    ("# check 1.2", None),
    ("", None),
]


@pytest.mark.parametrize("source, expected", CHECK_CASES)
def test_parse_check(source, expected):
    assert parse_check(source) == expected


@pytest.mark.parametrize("source", ["# CHECK", "# CHECK 1.2 [two pts]", "# CHECK 1.2 [2 points]", "# CHECK 1.2 2 pts"])
def test_malformed_check_header_is_an_error_with_an_example(source):
    with pytest.raises(ValueError, match=r"malformed CHECK header.*# CHECK 1\.2 \[2 pts\]"):
        parse_check(source)


def test_checks_lists_graded_cells_in_order():
    assert checks(toy_solution()) == [Check("1.1", 2), Check("1.2", 1), Check("1.3", 1)]


# ------------------------------------------------------------------ stripping


def stripped_source(source: str) -> str:
    return strip_solutions(new_notebook(cells=[code(source)])).cells[0].source


STRIP_CASES = {
    "assignment": ("### BEGIN SOLUTION\nrps = 3 * 4\n### END SOLUTION", "rps = None  # your answer here"),
    "annotated": ("### BEGIN SOLUTION\nrps: float = 3.0\n### END SOLUTION", "rps: float = None  # your answer here"),
    "tuple": ("### BEGIN SOLUTION\na, (b, c) = 1, (2, 3)\n### END SOLUTION",
              "a, (b, c) = None, (None, None)  # your answer here"),
    "chained": ("### BEGIN SOLUTION\na = b = 2\n### END SOLUTION", "a = b = None  # your answer here"),
    "other statements dropped": ("### BEGIN SOLUTION\nprint(1)\nfor i in range(2):\n    pass\n### END SOLUTION",
                                 "# your code here"),
    "kept around the region": ("import math\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nprint(x)",
                               "import math\nx = None  # your answer here\nprint(x)"),
    "function": ("### BEGIN SOLUTION\ndef f(a, *, b=2):\n    return a + b\n### END SOLUTION",
                 "def f(a, *, b=2):\n    # your code here\n    return None"),
    "one-line function": ("### BEGIN SOLUTION\ndef f(a): return a\n### END SOLUTION",
                          "def f(a):\n    # your code here\n    return None"),
    "docstring kept": ('### BEGIN SOLUTION\ndef f(a):\n    """Twice a."""\n    return 2 * a\n### END SOLUTION',
                       'def f(a):\n    """Twice a."""\n    # your code here\n    return None'),
    "indented region": ("def f(a):\n    ### BEGIN SOLUTION\n    return a\n    ### END SOLUTION",
                        "def f(a):\n    pass  # your code here"),
    "markers less indented than the answer": ("def f(a):\n### BEGIN SOLUTION\n    return a\n### END SOLUTION",
                                              "def f(a):\n    pass  # your code here"),
    "indented assignment": ("for i in range(2):\n    ### BEGIN SOLUTION\n    x = i\n    ### END SOLUTION",
                            "for i in range(2):\n    x = None  # your answer here"),
    "two regions": ("### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n### BEGIN SOLUTION\nc = 3\n### END SOLUTION",
                    "a = None  # your answer here\nb = 2\nc = None  # your answer here"),
}


@pytest.mark.parametrize("source, expected", STRIP_CASES.values(), ids=STRIP_CASES.keys())
def test_strip_rules(source, expected):
    assert stripped_source(source) == expected


@pytest.mark.parametrize("source, expected", STRIP_CASES.values(), ids=STRIP_CASES.keys())
def test_every_stub_runs_clean(source, expected):
    exec(compile(stripped_source(source), "<stub>", "exec"), {})


def test_strip_clears_outputs_keeps_ids_and_markdown():
    nb = toy_solution()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nb.cells[1].execution_count = 4
    out = strip_solutions(nb)
    assert [c.id for c in out.cells] == [c.id for c in nb.cells]
    assert out.cells[0] == nb.cells[0]
    assert all(c.outputs == [] and c.execution_count is None for c in out.cells if c.cell_type == "code")
    assert nb.cells[1].execution_count == 4, "the input notebook must not be modified"
    assert "BEGIN SOLUTION" not in nbformat.writes(out)


def test_blank_exercise_fails_only_its_checks_without_a_kernel():
    namespace, failed = {}, []
    for cell in strip_solutions(toy_solution()).cells:
        if cell.cell_type != "code":
            continue
        try:
            exec(cell.source, namespace)
        except AssertionError:
            failed.append(parse_check(cell.source).id)
    assert failed == ["1.1", "1.2", "1.3"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), st.integers()),
                min_size=1, max_size=6))
def test_stubbed_assignments_define_every_name_as_none(assignments):
    assignments = [(name, value) for name, value in assignments if not keyword.iskeyword(name)]
    body = "\n".join(f"{name} = {value}" for name, value in assignments)
    namespace = {}
    exec(stripped_source(f"### BEGIN SOLUTION\n{body}\n### END SOLUTION"), namespace)
    assert all(namespace[name] is None for name, _ in assignments)


STRIP_ERRORS = {
    "unclosed": ("### BEGIN SOLUTION\nx = 1", "never closed"),
    "END without BEGIN": ("x = 1\n### END SOLUTION", "without a"),
    "nested": ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION", "inside another"),
    "partial statement": ("x = (1 +\n### BEGIN SOLUTION\n2)\n### END SOLUTION", "whole Python statements"),
    "answer inside a CHECK cell": ("# CHECK 1.1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nassert x",
                                   "holds an answer"),
}


@pytest.mark.parametrize("source, message", STRIP_ERRORS.values(), ids=STRIP_ERRORS.keys())
def test_bad_regions_are_errors_naming_the_cell(source, message):
    with pytest.raises(ValueError, match=message) as raised:
        strip_solutions(new_notebook(cells=[new_code_cell(source, id="cell-a")]), name="solutions/x.ipynb")
    assert "solutions/x.ipynb, cell 0 (id cell-a)" in str(raised.value)


def test_markdown_answer_regions_become_a_placeholder():
    # A reflection's model answer sits in a Markdown cell; the exercise keeps the question, not the answer.
    solution = new_markdown_cell("**Your answer:**\n\n### BEGIN SOLUTION\nThe queue grows: *secret*.\n"
                                 "### END SOLUTION\n\nThen move on.", id="reflect")
    out = strip_solutions(new_notebook(cells=[solution, code("x = 1")]))
    assert out.cells[0].source == "**Your answer:**\n\n*Your answer here.*\n\nThen move on."
    assert out.cells[0].id == "reflect" and "secret" not in nbformat.writes(out)
    assert solution.source.count("secret") == 1, "the input notebook must not be modified"
    # a blank reflection runs nothing, so it neither fails nor scores: only CHECK cells are graded
    assert checks(out) == []


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nan answer", "never closed"),
    ("an answer\n### END SOLUTION", "without a"),
    ("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS", "belong in a CHECK cell only"),
])
def test_bad_markdown_regions_are_errors_naming_the_cell(source, message):
    with pytest.raises(ValueError, match=message) as raised:
        strip_solutions(new_notebook(cells=[new_markdown_cell(source, id="md")]), name="solutions/x.ipynb")
    assert "solutions/x.ipynb, cell 0 (id md)" in str(raised.value)


def test_duplicate_check_ids_are_an_error():
    nb = new_notebook(cells=[code("# CHECK 1.1\nassert True"), code("# CHECK 1.1 [2 pts]\nassert True")])
    with pytest.raises(ValueError, match="repeated: 1.1"):
        strip_solutions(nb)


# ------------------------------------------------------------------ files and sync


def test_generate_writes_tagged_byte_stable_notebooks(course):
    solutions, exercises_dir = course
    [written] = generate(solutions, exercises_dir)
    assert written == exercises_dir / "01_toy.ipynb"
    first = written.read_bytes()
    assert first.endswith(b"}\n") and b'\n "cells": [\n  {\n' in first
    generate(solutions, exercises_dir)
    assert written.read_bytes() == first
    nb = nbformat.read(written, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["chapter1"] == {"chapter": "01_toy", "source": "solutions/01_toy.ipynb"}
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_out_of_sync_detects_drift(course):
    solutions, exercises_dir = course
    generate(solutions, exercises_dir)
    assert out_of_sync(solutions, exercises_dir) == []

    nb = nbformat.read(solutions / "01_toy.ipynb", as_version=4)
    nb.cells[1].source = "DAY = 24 * 3600"
    nbformat.write(nb, solutions / "01_toy.ipynb")
    assert out_of_sync(solutions, exercises_dir) == [
        f"{exercises_dir / '01_toy.ipynb'} differs from what {solutions / '01_toy.ipynb'} generates"]

    (exercises_dir / "01_toy.ipynb").unlink()
    (exercises_dir / "02_orphan.ipynb").write_text("{}")
    assert out_of_sync(solutions, exercises_dir) == [
        f"{exercises_dir / '01_toy.ipynb'} is missing (generated from {solutions / '01_toy.ipynb'})",
        f"{exercises_dir / '02_orphan.ipynb'} has no solution notebook {solutions / '02_orphan.ipynb'}",
    ]


def test_cli_regenerates_and_checks(course, capsys):
    solutions, exercises_dir = course
    assert exercises.main([str(solutions), str(exercises_dir), "--check"]) == 1
    assert "is missing" in capsys.readouterr().out
    assert exercises.main([str(solutions), str(exercises_dir)]) == 0
    assert exercises.main([str(solutions), str(exercises_dir), "--check"]) == 0


def test_cli_reports_a_bad_solution_without_a_traceback(course, capsys):
    solutions, exercises_dir = course
    (solutions / "02_broken.ipynb").write_text("{not json")
    assert exercises.main([str(solutions), str(exercises_dir)]) == 2
    assert "02_broken.ipynb: not a readable notebook" in capsys.readouterr().err


def test_notebooks_without_cell_ids_are_refused(course):
    solutions, _ = course
    nb = nbformat.read(solutions / "01_toy.ipynb", as_version=4)
    text = nbformat.writes(nb).replace(f'"id": "{nb.cells[0].id}",', "")
    (solutions / "01_toy.ipynb").write_text(text)
    with pytest.raises(ValueError, match=r"cells \[0\] have no id"):
        exercises.read_notebook(solutions / "01_toy.ipynb")


def test_missing_solutions_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="solutions_dir .*nowhere.* is not a folder"):
        generate(tmp_path / "nowhere", tmp_path / "exercises")


# ------------------------------------------------------------------ running notebooks


def test_describe_error_prefers_the_assert_message():
    traceback = ["\x1b[31m---------\x1b[0m",
                 "\x1b[0;32m----> 2\x1b[0m \x1b[38;5;28;01massert\x1b[39;00m x \x1b[38;5;241m==\x1b[39m 3"]
    assert describe_error("AssertionError", "", traceback) == "assertion failed: assert x == 3"
    assert describe_error("AssertionError", "expected 3") == "expected 3"
    assert describe_error("ZeroDivisionError", "division by zero") == "ZeroDivisionError: division by zero"
    assert describe_error("AssertionError", "x" * 5000).endswith("…")


@pytest.mark.slow
def test_run_notebook_reports_each_check_by_id(course):
    solutions, exercises_dir = course
    generate(solutions, exercises_dir)
    solved = run_notebook(solutions / "01_toy.ipynb", timeout=20)
    assert (solved.score, solved.max_score, solved.other_failures, solved.error) == (4, 4, [], None)

    blank = run_notebook(exercises_dir / "01_toy.ipynb", timeout=20)
    assert {key: c.outcome for key, c in blank.checks.items()} == {"1.1": "failed", "1.2": "failed", "1.3": "failed"}
    assert blank.checks["1.1"].message == "expected 100 requests/s, got None: revisit 'users to requests'"
    assert blank.checks["1.3"].message == "assertion failed: assert peak(1, factor=2) == 2"
    assert (blank.score, blank.max_score, blank.other_failures) == (0, 4, [])


@pytest.mark.slow
def test_run_notebook_reports_other_failures_and_missing_checks(tmp_path):
    nb = new_notebook(cells=[
        code("x = 1"),
        code("1 / 0"),
        code("# CHECK 2.1 [3 pts]\nassert x == 1"),
    ])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    run = run_notebook(tmp_path / "nb.ipynb", timeout=20, expected=[Check("2.1", 3), Check("2.2", 2)])
    [failure] = run.other_failures
    assert (failure.cell, failure.outcome, failure.message) == (1, "failed", "ZeroDivisionError: division by zero")
    assert run.checks["2.1"].passed
    assert (run.checks["2.2"].outcome, run.checks["2.2"].message) == ("failed", "cell missing")
    assert (run.score, run.max_score) == (3, 5)


def test_run_notebook_names_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="is not a notebook file"):
        run_notebook(tmp_path / "absent.ipynb")
    (tmp_path / "nb.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, got 0"):
        run_notebook(tmp_path / "nb.ipynb", timeout=0)


# ------------------------------------------------------------ hidden tests and answer-free checks

HIDDEN_CHECK = textwrap.dedent('''\
    # CHECK 3.2 [2 pts]
    check.matches(big_cores, "sha256:a68b412c4282555f15546cf6e1fc42893b7e07f271557ceb021821098dd66c1b", hint="h")
    ### BEGIN HIDDEN TESTS
    assert big_cores == 64, f"big_cores = {big_cores!r}"
    ### END HIDDEN TESTS''')


def hidden_solution():
    return new_notebook(cells=[
        new_code_cell("from chapter1.grading import check", id="setup"),
        new_code_cell("### BEGIN SOLUTION\nbig_cores = 64\n### END SOLUTION", id="answer"),
        new_code_cell(HIDDEN_CHECK, id="check"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_hidden_tests_are_left_out_of_the_exercise_and_kept_for_the_grader(tmp_path):
    exercise = strip_solutions(hidden_solution())
    assert exercise.cells[2].source == HIDDEN_CHECK.split("\n### BEGIN")[0]
    assert "64" not in exercise.cells[2].source.replace("sha256:a68b412c", "")
    assert strip_solutions(hidden_solution(), keep_hidden=True).cells[2].source == HIDDEN_CHECK

    from chapter1.grade import load_chapter, restore_checks

    nbformat.write(hidden_solution(), tmp_path / "03_toy.ipynb")
    chapter = load_chapter(tmp_path / "03_toy.ipynb")
    restored, notes = restore_checks(exercise, chapter)
    assert restored.cells[2].source == HIDDEN_CHECK and notes == []   # put back, and not "edited"


@pytest.mark.parametrize("source, message", [
    ("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS", "belong in a CHECK cell only"),
    ("# CHECK 1.1\n### BEGIN HIDDEN TESTS\nassert x", "is never closed"),
    ("# CHECK 1.1\n### END HIDDEN TESTS", "unmatched"),
])
def test_bad_hidden_regions_are_errors(source, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(new_notebook(cells=[new_code_cell(source, id="c")]))


def test_check_helpers_confirm_without_revealing():
    import numpy as np

    from chapter1.grading import check

    check.matches(np.int64(64), check.digest(64))
    check.matches(3.0499, check.digest(3.05, decimals=2), decimals=2)          # one unit off is accepted
    check.matches(["ip_hash", "random"], check.digest(["ip_hash", "random"]))
    check.close(np.float64(2.0), 2.0 + 1e-9)
    assert check.number(np.float32(0.5)) == 0.5 and check.number(np.int32(3), whole=True) == 3
    for wrong in (63, 3.2, None, "64"):
        with pytest.raises(check.CheckFailed) as failure:
            check.matches(wrong, check.digest(64), hint="the biggest box within budget")
        assert str(failure.value) == "not right yet: the biggest box within budget"
        assert "64" not in str(failure.value)
    with pytest.raises(check.CheckFailed, match="servers should be a whole number, not 2.5"):
        check.number(2.5, "servers", whole=True)


def test_a_learner_sees_a_tick_or_the_hint_without_a_traceback():
    from nbclient import NotebookClient

    nb = new_notebook(cells=[
        new_code_cell("from chapter1.grading import check\nbig_cores = 64", id="a"),
        new_code_cell(HIDDEN_CHECK.split("\n### BEGIN")[0], id="b"),
        new_code_cell("# CHECK 3.3\nassert big_cores == 3, 'revisit section 2'", id="c"),
    ])
    NotebookClient(nb, allow_errors=True, kernel_name="python3").execute()
    assert nb.cells[1].outputs[0]["text"] == "✓ 3.2 passed (2 pts)\n"
    [error] = nb.cells[2].outputs
    assert (error["ename"], error["traceback"]) == ("AssertionError", ["✗ 3.3: revisit section 2"])
    assert describe_error(error["ename"], error["evalue"], error["traceback"]) == "revisit section 2"
