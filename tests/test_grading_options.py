"""What the grader's command line options and files promise an instructor, without a kernel: the course's own
solutions by default, ``--chapter`` refusing another chapter's notebook, ``--feedback`` writing one file per
submission, a gradebook in UTF-8 whatever the machine's locale, a broken notebook's reason on one line, the
sandboxed kernel's real bubblewrap command, and exercise stubs that keep a docstring as the author wrote it.
"""

from __future__ import annotations

import csv
import json
import locale
import sys
from collections import deque
from types import SimpleNamespace

import grading_kernel
import grading_toy
import nbformat
import pytest
from grading_kernel import submit
from grading_toy import CHAPTER
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_grading_cluster import Dask, jobs
from test_grading_runner import Kernel, stream

import chapter1.grading.grade as grading
from chapter1.grading import distributed, isolation, nbcheck
from chapter1.grading.distributed import grade_on_cluster
from chapter1.grading.exercises import strip_solutions
from chapter1.grading.grade import main
from chapter1.grading.gradebook import read_gradebook, write_gradebook
from chapter1.grading.nbcheck import OutputCap
from chapter1.grading.nbgrader import to_nbgrader
from chapter1.grading.running import Result, Settings
from chapter1.grading.submissions import Course, GradingError, Submission, _read_submission

course_dirs = grading_toy.course_dirs


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    return grading_kernel.install(monkeypatch, tmp_path, grading)


def rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_without_solutions_the_course_grades_against_its_own(course_dirs, kernel, tmp_path, monkeypatch):
    monkeypatch.setattr(grading, "DEFAULT_SOLUTIONS", course_dirs[0])
    ann = submit(course_dirs, tmp_path, "ann.ipynb").path
    assert main([str(ann), "--out", str(tmp_path / "book.csv")]) == 0
    assert [(row["student"], row["total"], row["status"]) for row in rows(tmp_path / "book.csv")] == [
        ("ann", "6", "graded")]


def test_the_chapter_option_refuses_a_notebook_of_another_chapter(course_dirs, kernel, tmp_path):
    ann = submit(course_dirs, tmp_path, "ann.ipynb").path
    out = tmp_path / "book.csv"
    assert main([str(ann), "--solutions", str(course_dirs[0]), "--out", str(out), "--chapter", "02_other"]) == 1
    [row] = rows(out)
    assert (row["status"], row["message"]) == ("error", f"this notebook is chapter {CHAPTER}, not 02_other (--chapter)")
    assert kernel.calls == []  # refused before any kernel runs


def test_the_feedback_option_writes_one_markdown_file_per_submission(course_dirs, kernel, tmp_path):
    (tmp_path / "class").mkdir()
    notebooks = [str(submit(course_dirs, tmp_path / "class", f"{name}.ipynb").path) for name in ("ann", "bo")]
    feedback = tmp_path / "feedback"
    assert main([*notebooks, "--solutions", str(course_dirs[0]), "--out", str(tmp_path / "book.csv"),
                 "--feedback", str(feedback)]) == 0
    written = sorted(p.name for p in feedback.iterdir())
    assert written == [f"ann_{CHAPTER}.md", f"bo_{CHAPTER}.md"]
    assert "6" in (feedback / f"ann_{CHAPTER}.md").read_text(encoding="utf-8")


@pytest.fixture
def ascii_locale():
    """The machine's locale encodes text as ASCII (a POSIX locale without UTF-8)."""
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        if locale.getpreferredencoding(False).lower().replace("-", "") == "utf8":
            pytest.skip("the C locale is UTF-8 here")
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


def test_a_gradebook_of_korean_names_is_utf8_whatever_the_locale(course_dirs, tmp_path, ascii_locale):
    course = Course(course_dirs[0])
    out = tmp_path / "book.csv"
    student = Submission("김지우", None, "김지우.ipynb")
    write_gradebook(out, [Result(student, CHAPTER, "error", "no such file")], course)
    assert "김지우,01_toy,김지우.ipynb" in out.read_bytes().decode("utf-8")
    [row] = read_gradebook(out)
    assert (row["student"], row["submission"], row["message"]) == ("김지우", "김지우.ipynb", "no such file")


def test_a_notebook_that_cannot_be_read_is_reported_by_the_first_line_of_its_reason(tmp_path):
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps({"nbformat": "four\nsecond line", "cells": []}))
    with pytest.raises(GradingError) as refused:
        _read_submission(path)
    assert str(refused.value) == "not a readable notebook (NBFormatError: Unsupported nbformat version four)"


def test_a_markdown_cell_that_reads_like_a_check_is_not_graded_by_nbgrader():
    nb = new_notebook(cells=[new_markdown_cell("# CHECK 1.1 [2 pts]\nA heading, not a check", id="title"),
                             new_code_cell("# CHECK 1.1 [2 pts]\nassert True", id="check")])
    title, check = (cell.metadata.nbgrader for cell in to_nbgrader(nb).cells)
    assert title == {"grade": False, "solution": False, "locked": True, "grade_id": "title", "schema_version": 3}
    assert (check["grade"], check["points"], check["grade_id"]) == (True, 2, "check-1_1")


def test_a_sandboxed_kernel_starts_again_under_bubblewrap_with_its_folder_writable(monkeypatch):
    started = []
    monkeypatch.setattr(isolation, "prepare", lambda config, args: ["-f", "/k/.home/kernel.json"])
    monkeypatch.setattr(isolation, "bwrap", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(nbcheck.os, "execv", lambda path, argv: started.append((path, argv)))
    monkeypatch.setattr(isolation, "drop", lambda config: None)
    monkeypatch.setattr(isolation, "settle", lambda config: None)
    setting = json.dumps({"user": None, "sandbox": True, "hidden": ["/course/solutions"], "reach": [],
                          "folder": "/s/k", "tmp": "/s"})
    argv = ["--kernel", "--isolation", setting, "--", "-f", "/run/c.json"]
    nbcheck._isolate(setting, {"--kernel"}, argv, ["-f", "/run/c.json"])
    [(path, command)] = started
    assert path == "/usr/bin/bwrap" and command[0] == "/usr/bin/bwrap"
    text = " ".join(command)
    assert "--unshare-net" in command and "--tmpfs /s " in text and "--bind /s/k /s/k" in text
    assert command[command.index("--") + 1:] == [sys.executable, nbcheck.SCRIPT, "--kernel", "--isolation", setting,
                                                 "--inside", "--", "-f", "/k/.home/kernel.json"]


def test_an_indented_function_stub_keeps_its_docstring_as_written():
    source = ('if True:\n    ### BEGIN SOLUTION\n    def area(w, h):\n        """The area of a rectangle.\n\n'
              '        Width times height, in square metres.\n        """\n        return w * h\n    ### END SOLUTION')
    [cell] = strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")]), name="t").cells
    assert cell.source == ('if True:\n    def area(w, h):\n        """The area of a rectangle.\n\n'
                           '        Width times height, in square metres.\n        """\n        # your code here\n'
                           '        return None')
    nbformat.validate(new_notebook(cells=[cell]))


def test_output_that_exactly_fills_a_budget_is_kept():
    message = {"msg_type": "stream", "content": {"text": "x" * 6}}  # 18 bytes of JSON
    assert OutputCap(cell_limit=18, notebook_limit=100).keep(message)
    assert OutputCap(cell_limit=100, notebook_limit=18).keep(message)
    assert not OutputCap(cell_limit=17, notebook_limit=100).keep(message)


def test_the_runner_finds_a_kernels_pid_or_says_there_is_none():
    # a kernel that never started (no kernel, no manager, no provisioner) leaves the pid unknown, not a crash
    item = SimpleNamespace
    assert nbcheck._kernel_pid(item(parent=item())) is None
    assert nbcheck._kernel_pid(item(parent=item(kernel=item()))) is None
    assert nbcheck._kernel_pid(item(parent=item(kernel=item(km=item())))) is None
    assert nbcheck._kernel_pid(item(parent=item(kernel=item(km=item(provisioner=item()))))) is None
    assert nbcheck._kernel_pid(item(parent=item(kernel=item(km=item(provisioner=item(pid=4321)))))) == 4321


def recorded(tmp_path, cells, steps):
    """Cells collected, then (cell, phase, result, error) reported, as the runner's recorder sees a run."""
    recorder = nbcheck.Recorder(str(tmp_path / "r.jsonl"))
    recorder.pytest_collection_modifyitems(cells)
    for cell, when, result, error in steps:
        recorder.pytest_runtest_makereport(cell, SimpleNamespace(excinfo=error and SimpleNamespace(value=error)))
        recorder.pytest_runtest_logreport(SimpleNamespace(nodeid=cell.nodeid, when=when, passed=result == "passed",
                                                          skipped=result in ("skipped", "xfail"), **(
                                                              {"wasxfail": ""} if result == "xfail" else {})))
    recorder.pytest_unconfigure(None)
    return nbcheck._read_results(tmp_path / "r.jsonl")


def test_each_failing_cell_is_reported_by_what_the_learner_needs(tmp_path):
    def cell(nodeid, source, outputs=None):
        extra = {} if outputs is None else {"test_outputs": outputs}
        return SimpleNamespace(nodeid=nodeid, cell=SimpleNamespace(source=source), parent=SimpleNamespace(), **extra)

    traceback = ["Traceback", "----> 3 assert rps == 100", "AssertionError"]
    cells = [cell("c0", "# CHECK 1.1\nassert rps == 100\nprint(rps)",
                  [{"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": traceback}]),
             cell("c1", "XY = load()\nmore", [{"output_type": "error", "ename": "NameError"}]),
             cell("c2", "x" * 250), cell("c3", "maybe()"), cell("c4", "never()"),
             cell("c5", "assert ok", [{"output_type": "error", "ename": "AssertionError"}])]
    data = recorded(tmp_path, cells, [(cells[0], "call", "failed", AssertionError()),
                                      (cells[1], "call", "failed", NameError()),
                                      (cells[2], "call", "failed", RuntimeError("Kernel dead on test start")),
                                      (cells[3], "call", "xfail", RuntimeError("expected to fail")),
                                      (cells[4], "setup", "passed", None),  # the run ended before its call
                                      (cells[5], "call", "failed", AssertionError())])
    assert [(c["first_line"], c["outcome"], c["message"]) for c in data["cells"]] == [
        ("# CHECK 1.1", "failed", "assertion failed: assert rps == 100"),
        ("XY = load()", "failed", "NameError"),
        ("x" * 200, "failed", "not run: the kernel died in an earlier cell"),
        ("maybe()", "failed", "expected to fail"),
        ("never()", "error", nbcheck.NOT_RUN),
        ("assert ok", "failed", "assertion failed")]  # no message, no traceback: still a sentence
    assert data["kernel_pid"] is None  # these cells' kernel is not known


def test_the_runners_peak_memory_is_its_own_high_water_mark(monkeypatch):
    def high_water():
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    before = high_water()
    assert nbcheck._peak_kb() in {before, high_water()}  # VmHWM itself (it only grows: read before and after)

    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(nbcheck, "open", no_proc, raising=False)
    import resource

    assert nbcheck._peak_kb() == resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # without /proc: getrusage


class Asked(Kernel):
    """The stand-in running kernel, noting the timeout of every read and poll."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked, self.polled, self.drained = [], [], []
        self.kc = SimpleNamespace(get_iopub_msg=self._drained)

    def _drained(self, timeout=None):
        self.drained.append(timeout)
        return self._next()

    def await_reply(self, msg_id, timeout=None):
        self.polled.append(timeout)
        return super().await_reply(msg_id, timeout)

    def get_message(self, stream, timeout=None):
        self.asked.append((self, stream, timeout))
        return super().get_message(stream, timeout)


@pytest.fixture
def running():
    class Running(Asked):
        pass

    nbcheck._patch_running_kernel(Running)  # with the runner's own poll interval and interrupt grace
    return Running


def test_a_running_cell_is_polled_without_blocking_and_nbvals_reads_pass_through(running):
    # the reply comes on the third poll, well within the first alive check (0.5 s): a kernel that reports itself
    # dead is not asked, and every poll and drain returns at once
    kernel = running([stream("a")], reply_after=2, alive=False)
    assert kernel.await_reply("m1") == {"reply_to": "m1"}
    assert kernel.polled == [0.01] * 3 and set(kernel.drained) == {0}
    assert kernel.get_message("shell", timeout=7) == {"stream": "shell"}
    assert kernel.asked == [(kernel, "shell", 7)]
    kernel.iopub.append(stream("x" * 300_000))  # printed after the reply: read late, clipped all the same
    assert kernel.get_message("iopub", timeout=3)["content"]["text"] == "a"
    late = kernel.get_message("iopub", timeout=3)["content"]["text"]
    assert len(late) < 101_000 and kernel.asked[-1] == (kernel, "iopub", 3)


def test_a_drain_moves_at_most_two_thousand_messages():
    kernel = Kernel([stream(str(i)) for i in range(2_001)])
    state = {"buffer": deque(), "cap": OutputCap()}
    nbcheck._drain(kernel, state)
    assert len(state["buffer"]) == 2_000 and len(kernel.iopub) == 1


def test_an_interrupted_cell_keeps_its_grace_and_the_next_cell_starts_clean(running, monkeypatch):
    kernel = running()
    kernel.await_reply("m1")
    kernel.interrupt()
    kernel.iopub.append(stream("still printing"))
    assert kernel.get_message("iopub")["content"]["text"] == "still printing"  # within the 5 s grace
    monkeypatch.setattr(nbcheck, "INTERRUPT_GRACE", 0.0)
    kernel.await_reply("m2")  # the next cell: its output read late is not cut off by the old interrupt
    kernel.iopub.append(stream("next"))
    assert kernel.get_message("iopub")["content"]["text"] == "next"


@pytest.fixture
def cluster_kernel(monkeypatch, tmp_path):
    distributed._preflight.cache_clear()  # a worker's preflight lives as long as its process
    return grading_kernel.install(monkeypatch, tmp_path, distributed)


def test_a_submission_in_korean_is_graded_on_a_cluster_whatever_the_locale(course_dirs, cluster_kernel, tmp_path,
                                                                         monkeypatch, ascii_locale):
    fake = Dask()
    monkeypatch.setattr(distributed, "_distributed", lambda: fake)
    [(index, job)] = jobs(course_dirs, Course(course_dirs[0]), tmp_path, ("ann",))
    nb = nbformat.read(job.notebook, as_version=4)
    nb.cells.append(new_markdown_cell("제 답은 위에 있습니다.", id="note"))  # "my answer is above"
    nbformat.write(nb, job.notebook)
    [(_, row)] = grade_on_cluster([(index, job)], Settings(), "local:1")
    assert (row.status, row.total) == ("graded", 6)
    [call] = cluster_kernel.calls
    assert call["path"].suffix == ".ipynb"  # nbval collects notebooks by this suffix only


def test_a_failed_runs_log_is_told_by_its_last_lines_in_plain_text(tmp_path):
    # the message quotes the end of the runner's log: its last 2,000 bytes, colours off, broken bytes replaced
    log = tmp_path / "runner.log"
    log.write_bytes(b"Z" + b"W" + b"y" * 1_999)
    assert nbcheck._tail(log).startswith("Wyyy")
    log.write_bytes(b"start\n\x1b[31mKernelDied\x1b[0m: gone \xff\n")
    assert nbcheck._tail(log) == "start | KernelDied: gone \ufffd"
    assert nbcheck._tail(tmp_path / "missing.log") == ""


def test_a_cell_the_run_did_not_finish_keeps_its_check_and_place():
    cell = nbcheck.CellOutcome("1.1", 2, "error", nbcheck.NOT_RUN, 3, "# CHECK 1.1 [2 pts]")
    assert nbcheck._interrupted(cell, "out of time") == nbcheck.CellOutcome(
        "1.1", 2, "error", "not finished: out of time", 3, "# CHECK 1.1 [2 pts]")
    done = nbcheck.CellOutcome("1.2", 1, "passed", "", 4, "# CHECK 1.2")
    assert nbcheck._interrupted(done, "out of time") is done


def test_a_notebook_is_run_by_nbval_in_lax_mode_with_the_graders_limits_only(tmp_path):
    # an empty pytest.ini in the runner's scratch folder and no conftest: a course's or a student's pytest settings
    # never reach the run; lax mode (outputs not compared), the cell time limit, the grader's kernel, plain text
    notebook = tmp_path / "class" / "01_toy.ipynb"
    args = nbcheck._pytest_args(notebook, tmp_path, 7.5)
    assert args[:2] == ["-c", str(tmp_path / "pytest.ini")] and (tmp_path / "pytest.ini").read_text() == "[pytest]\n"
    assert args[args.index("--rootdir") + 1] == str(notebook.parent) and "--noconftest" in args
    assert [args[i + 1] for i, a in enumerate(args) if a == "-p"] == ["no:cacheprovider", "nbval.plugin"]
    assert "--nbval-lax" in args and args[args.index("--nbval-cell-timeout") + 1] == "7.5"
    assert args[args.index("--nbval-kernel-name") + 1] == nbcheck.KERNEL_NAME
    assert {"--color=no", "-q", "--tb=line"} <= set(args) and args[args.index("-W") + 1] == "ignore"
    assert args[-1] == str(notebook) and len(args) == 20
