"""Grading one submission end to end without a kernel: reading, restoring, running under the limits, scoring.

``run_notebook`` (which starts a Jupyter kernel, seconds per notebook) is replaced by a stand-in that
runs the restored notebook's code cells in this process and reports one outcome per cell, as the real
runner does. Everything around it is the grader's own code: the spooled copy of the submission, the
kernel folder, the limits handed to the runner, the setup-cell preflight, the gradebook row.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import grading_kernel
import grading_toy
import nbformat
import pytest
from grading_kernel import ANSWERS, submit
from grading_toy import CHAPTER

import chapter1.grading.running as running
from chapter1.grading.isolation import IsolationError, plan
from chapter1.grading.nbcheck import CellOutcome, NotebookRun
from chapter1.grading.running import (
    Result,
    Settings,
    _grade_job,
    _Job,
    _Preflight,
    _prepare,
    _summary,
    grade_submission,
)
from chapter1.grading.submissions import Submission

course_dirs, course, chapter = grading_toy.course_dirs, grading_toy.course, grading_toy.chapter  # the toy course
kernel = grading_kernel.kernel


def test_a_full_submission_earns_every_point(course_dirs, course, kernel, tmp_path):
    submission = submit(course_dirs, tmp_path)
    result = grade_submission(submission, course, Settings(timeout=7, total_timeout=70, memory_mb=300, file_mb=9))
    assert (result.submission, result.chapter, result.status, result.grader_fault) == (submission, CHAPTER,
                                                                                       "graded", False)
    assert (result.points, result.total, result.maximum) == ({"1.1": 2, "1.2": 1, "1.3": 3}, 6, 6)
    assert result.message == "3/3 checks passed" and result.notes == []
    assert kernel.verified == [(course.folder.resolve(), False)]
    [call] = kernel.calls  # the first cell passed: no preflight run
    # the limits an instructor sets reach the runner, with the chapter's checks and the course's isolation
    assert {key: call[key] for key in ("timeout", "total_timeout", "memory_mb", "file_mb")} == {
        "timeout": 7, "total_timeout": 70, "memory_mb": 300, "file_mb": 9}
    assert call["expected"] == course.chapter(CHAPTER).checks
    assert call["isolation"] == plan(course.chapter(CHAPTER).solutions)
    # the kernel reads a copy named after the chapter in its own folder, beside the spooled submission
    assert call["path"].name == f"{CHAPTER}.ipynb" and call["path"].parent.parent.name.startswith("chapter1-grade-")
    assert call["temp"] == ["chapter1-grade", "chapter1-spool"]
    user = call["isolation"].user  # a root grader's kernel folder belongs to the kernel's user
    assert call["owner"] == (user[0] if user else os.getuid())
    assert not any(Path(tempfile.gettempdir()).iterdir())  # nothing is left behind


def test_a_hidden_check_catches_an_answer_the_visible_assert_lets_through(course_dirs, course, kernel, tmp_path):
    answers = {**ANSWERS, "rps-answer": "rps = 5"}
    edited = ("check-1-3", "# CHECK 1.3 [3 pts]\nassert True")
    result = grade_submission(submit(course_dirs, tmp_path, answers=answers, edit=edited), course)
    assert result.points == {"1.1": 0, "1.2": 1, "1.3": 3}
    assert result.message == "2/3 checks passed; edited CHECK 1.3 (originals used)"
    assert result.notes == [("edited", "1.3")]
    sources = kernel.calls[0]["sources"]
    assert "assert rps == 100" in sources[2] and sources[-1] == "# CHECK 1.3 [3 pts]\nassert servers == 8"


def test_the_chapter_is_told_by_the_file_name_when_the_metadata_is_missing(course_dirs, course, kernel, tmp_path):
    result = grade_submission(submit(course_dirs, tmp_path, name=f"bo-{CHAPTER}.ipynb", chapter_metadata=False),
                              course)
    assert (result.chapter, result.total) == (CHAPTER, 6)
    result = grade_submission(submit(course_dirs, tmp_path, name="cy.ipynb", chapter_metadata=False), course)
    assert (result.chapter, result.status, result.points) == ("", "error", {})
    assert result.message.startswith("cannot tell the chapter: no 'chapter1.chapter' metadata, and the file name "
                                     "'cy.ipynb' names none of 01_toy")
    assert len(kernel.calls) == 1  # an unreadable submission never reaches a kernel


def test_the_chapter_setting_refuses_a_notebook_of_another_chapter(course_dirs, course, tmp_path):
    submission = submit(course_dirs, tmp_path)
    row = _prepare(submission, course, Settings(chapter="02_other"), tmp_path, 0)
    assert isinstance(row, Result) and (row.submission, row.chapter, row.status) == (submission, CHAPTER, "error")
    assert row.message == f"this notebook is chapter {CHAPTER}, not 02_other (--chapter)"
    job = _prepare(submission, course, Settings(chapter=CHAPTER), tmp_path, 4)
    assert isinstance(job, _Job) and (job.submission, job.chapter.name, job.notes) == (submission, CHAPTER, [])
    assert job.notebook == tmp_path / "4.ipynb"
    restored = nbformat.read(job.notebook, as_version=4)
    assert "### BEGIN HIDDEN TESTS\nassert rps == 100" in restored.cells[3].source


def test_an_isolation_that_does_not_start_is_the_graders_fault(course_dirs, course, kernel, monkeypatch, tmp_path):
    def broken(folder, sandbox):
        raise IsolationError("--sandbox needs bubblewrap")

    monkeypatch.setattr(running, "verified", broken)
    submission = submit(course_dirs, tmp_path)
    result = grade_submission(submission, course, Settings(sandbox=True))
    assert (result.submission, result.chapter, result.status, result.grader_fault) == (submission, "", "error", True)
    assert result.message == "grader problem, not the student's: --sandbox needs bubblewrap"
    assert (result.points, kernel.calls) == ({}, [])


def test_a_failing_first_cell_runs_the_courses_setup_cells_once(course_dirs, course, chapter, kernel, tmp_path):
    kernel.fail_first = True  # the course itself does not import: every notebook's first cell fails
    limits = Settings(timeout=5, total_timeout=50, memory_mb=400, file_mb=8)
    preflight = _Preflight(limits)
    rows = [_grade_job(_prepare(submit(course_dirs, tmp_path, name=f"{who}.ipynb"), course, limits, tmp_path, i),
                       limits, preflight) for i, who in enumerate(("ann", "bo"))]
    for row in rows:
        assert (row.chapter, row.status, row.grader_fault, row.points) == (CHAPTER, "error", True, {})
        assert row.message == (
            "grader problem, not the student's: the course's own setup cells for 01_toy do not run with these "
            "settings; check --memory-mb, --timeout and the installation, then grade again "
            "(\"DAY = 86_400\": ModuleNotFoundError: No module named 'chapter1')")
    assert [row.submission.student for row in rows] == ["ann", "bo"]
    # ann's run, then the setup cells alone (once, under the same limits); bo's row is decided without a run
    assert len(kernel.calls) == 2
    setup = kernel.calls[1]
    assert (setup["sources"], setup["ids"]) == (["DAY = 86_400"], ["setup-0"])
    assert {key: setup[key] for key in ("timeout", "total_timeout", "memory_mb", "file_mb", "isolation")} == {
        "timeout": 5, "total_timeout": 50, "memory_mb": 400, "file_mb": 8, "isolation": kernel.calls[0]["isolation"]}
    assert setup["metadata"] == {"kernelspec": chapter.notebook.metadata["kernelspec"]}
    assert setup["path"].parent.parent.name.startswith("chapter1-preflight-")
    assert setup["owner"] == kernel.calls[0]["owner"]  # the same user as the graded run's kernel
    assert not (tmp_path / "0.ipynb").exists()  # ann's spooled copy is removed once run


def test_a_first_cell_that_fails_alone_is_the_students_fault(course_dirs, course, kernel, tmp_path):
    nb_path = submit(course_dirs, tmp_path).path
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[1].source = "DAY = 86_400 / undefined"
    nbformat.write(nb, nb_path)
    result = grade_submission(Submission("ann", nb_path, "ann.ipynb"), course)
    assert (result.status, result.grader_fault, result.total) == ("graded", False, 4)
    assert result.message.startswith("2/3 checks passed; 2 other cell(s) raised errors, first \"DAY = 86_400 / "
                                     "undefined\": NameError: name 'undefined' is not defined")
    assert len(kernel.calls) == 2  # the setup cells ran once and passed


def test_a_grader_bug_becomes_an_error_row_and_the_batch_goes_on(course_dirs, course, chapter, monkeypatch, tmp_path):
    def broken(*args):
        raise KeyError("cells")

    monkeypatch.setattr(running, "_run", broken)
    submission = submit(course_dirs, tmp_path)
    job = _prepare(submission, course, Settings(), tmp_path, 0)
    row = _grade_job(job, Settings(), _Preflight(Settings()))
    assert (row.submission, row.chapter, row.status, row.grader_fault) == (submission, CHAPTER, "error", False)
    assert row.message == "internal error while grading: KeyError: 'cells'"
    assert not job.notebook.exists()


def test_a_known_grader_problem_skips_the_run(course_dirs, course, kernel, tmp_path):
    submission = submit(course_dirs, tmp_path)
    preflight = _Preflight(Settings())
    preflight.verdicts[CHAPTER] = "grader problem: no kernel"
    row = _grade_job(_prepare(submission, course, Settings(), tmp_path, 0), Settings(), preflight)
    assert (row.submission, row.chapter, row.status, row.grader_fault) == (submission, CHAPTER, "error", True)
    assert (row.message, kernel.calls) == ("grader problem: no kernel", [])


def test_settings_accept_limits_below_one():
    assert Settings(timeout=0.5, total_timeout=0.25).timeout == 0.5


def cell(message, outcome="error", first_line="", index=0):
    return CellOutcome(None, 0, outcome, message, index, first_line)


def test_the_summary_names_the_first_death_and_two_timeouts(chapter):
    cells = [cell("the kernel died while running this cell", "failed", "a = 1", 0),
             cell("the kernel died while running this cell (killed)", "failed", "b = 1", 1),
             *(cell("timed out after 3 s", "failed", f"t{i} = 1", 2 + i) for i in range(3)),
             cell("not finished: the notebook took too long", "error", "late()", 5),
             cell("not run: grading stopped before this cell", "error", "later()", 6)]
    assert _summary(chapter, NotebookRun(Path("x"), cells), []) == (
        '0/3 checks passed; kernel died at "a = 1"; timed out at "t0 = 1"; timed out at "t1 = 1"')


def test_a_chapter_without_setup_cells_checks_that_a_kernel_starts(chapter, kernel):
    no_setup = replace(chapter, answer_cells={**chapter.answer_cells, "setup": "1.1"})  # its first cell is an answer
    assert _Preflight(Settings()).problem(no_setup) is None
    assert (kernel.calls[0]["sources"], kernel.calls[0]["ids"]) == (["pass"], ["setup-0"])


@pytest.mark.parametrize("run, detail", [
    (NotebookRun(Path("x"), []), "no cell ran"),
    (NotebookRun(Path("x"), [], "stopped after 5 s (the time limit for the whole notebook)"),
     "stopped after 5 s (the time limit for the whole notebook)"),
    (NotebookRun(Path("x"), [CellOutcome(None, 0, "passed", "", 0, "import chapter1")], "the grading process failed"),
     "the grading process failed"),
    (NotebookRun(Path("x"), [CellOutcome(None, 0, "failed", "MemoryError: " + "m" * 200, 0, "import chapter1")]),
     '"import chapter1": MemoryError: ' + "m" * 87 + "…"),  # clipped to 120 characters
])
def test_the_setup_cells_verdict_says_what_went_wrong(chapter, monkeypatch, run, detail):
    monkeypatch.setattr(running, "run_notebook", lambda *args, **kwargs: run)
    assert _Preflight(Settings()).problem(chapter) == (
        "grader problem, not the student's: the course's own setup cells for 01_toy do not run with these "
        f"settings; check --memory-mb, --timeout and the installation, then grade again ({detail})")
