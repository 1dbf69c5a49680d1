"""Grading a class without a kernel: the batch (``grade``) and the command line (``main``) of chapter1.grading.grade.

The kernel runner is the stand-in of ``grading_kernel``, so the whole batch (reading every submission
first, rows in input order, the gradebook rewritten as rows arrive, feedback files, exit codes and the
limits given on the command line) is checked in milliseconds.
"""

from __future__ import annotations

import csv
import sys

import grading_kernel
import grading_toy
import pytest
from grading_kernel import ANSWERS, submit
from grading_toy import CHAPTER

import chapter1.grading.distributed as distributed
import chapter1.grading.grade as grading
from chapter1.grading.grade import _progress_line, grade, main
from chapter1.grading.isolation import IsolationError
from chapter1.grading.running import Result, _grade_job, _Preflight
from chapter1.grading.submissions import Submission

course_dirs = grading_toy.course_dirs


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    return grading_kernel.install(monkeypatch, tmp_path, grading)


@pytest.fixture
def three(course_dirs, tmp_path):
    """ann answers everything, bo gets 1.1 wrong, cy's notebook names no chapter (an error row)."""
    (tmp_path / "class").mkdir()
    return [submit(course_dirs, tmp_path / "class", "ann.ipynb").path,
            submit(course_dirs, tmp_path / "class", "bo.ipynb", answers={**ANSWERS, "rps-answer": "rps = 5"}).path,
            submit(course_dirs, tmp_path / "class", "cy.ipynb", chapter_metadata=False).path]


def rows(path):
    with open(path, newline="") as handle:
        return [{key: row[key] for key in ("student", "total", "status")} for row in csv.DictReader(handle)]


def test_a_class_is_graded_in_input_order_with_a_gradebook_and_feedback(course_dirs, kernel, three, tmp_path):
    seen = []
    out, feedback = tmp_path / "gradebook.csv", tmp_path / "feedback"
    results = grade(three, solutions=course_dirs[0], out=out, feedback=feedback,
                    progress=lambda done, total, result: seen.append((done, total, result.submission.student,
                                                                       [row["student"] for row in rows(out)])))
    assert [(r.submission.student, r.total, r.status) for r in results] == [
        ("ann", 6, "graded"), ("bo", 4, "graded"), ("cy", 0, "error")]
    # cy's error row is known before any kernel runs; the gradebook is rewritten before each report
    assert seen == [(1, 3, "cy", ["cy"]), (2, 3, "ann", ["ann", "cy"]), (3, 3, "bo", ["ann", "bo", "cy"])]
    assert rows(out) == [{"student": "ann", "total": "6", "status": "graded"},
                         {"student": "bo", "total": "4", "status": "graded"},
                         {"student": "cy", "total": "0", "status": "error"}]
    assert sorted(p.name for p in feedback.iterdir()) == [f"ann_{CHAPTER}.md", f"bo_{CHAPTER}.md", "cy.md"]
    assert len(kernel.calls) == 2 and kernel.verified == [(course_dirs[0].resolve(), False)]
    assert kernel.calls[0]["spool_modes"] == ["0o700"]  # no kernel's user can list the restored notebooks


def test_rows_of_an_earlier_gradebook_are_kept(course_dirs, kernel, three, tmp_path):
    out = tmp_path / "gradebook.csv"
    grade(three[:1], solutions=course_dirs[0], out=out)
    grade(three[1:2], solutions=course_dirs[0], out=out)
    assert [row["student"] for row in rows(out)] == ["ann", "bo"]


def test_an_interrupted_batch_keeps_its_rows_and_starts_nothing_new(course_dirs, kernel, three, tmp_path):
    def stop(done, total, result):
        raise KeyboardInterrupt

    kernel.pause = 0.3  # bo's run is still going when the batch stops: di's has not started
    third = submit(course_dirs, tmp_path / "class", "di.ipynb").path
    out = tmp_path / "gradebook.csv"
    with pytest.raises(KeyboardInterrupt):
        grade([*three[:2], third], solutions=course_dirs[0], out=out, progress=stop)
    assert [row["student"] for row in rows(out)] == ["ann"]
    assert len(kernel.calls) <= 2  # di's notebook never ran


def test_bad_batch_options_name_the_parameter(course_dirs, kernel, three, tmp_path):
    for jobs in (0, 1.5, "2"):
        with pytest.raises(ValueError, match=rf"^jobs must be a whole number of at least 1, got {jobs!r}$"):
            grade(three, solutions=course_dirs[0], jobs=jobs)
    with pytest.raises(ValueError, match=r"^jobs and scheduler are exclusive \(the cluster's workers set how many run "
                                         r"at once\); got jobs=2 with scheduler='local:2'$"):
        grade(three, solutions=course_dirs[0], jobs=2, scheduler="local:2")
    with pytest.raises(ValueError, match="^scheduler must be a Dask scheduler address"):
        grade(three, solutions=course_dirs[0], scheduler=" ")
    with pytest.raises(ValueError, match="^no submissions given; pass notebook files or student folders$"):
        grade([], solutions=course_dirs[0])
    assert kernel.calls == []


def test_a_cluster_grades_the_jobs_and_this_process_writes_the_rows(course_dirs, kernel, three, monkeypatch,
                                                                    tmp_path):
    sent = []

    def cluster(waiting, settings, scheduler):
        sent.append(([index for index, _ in waiting], scheduler))
        for index, job in reversed(waiting):
            yield index, _grade_job(job, settings, _Preflight(settings))

    monkeypatch.setattr(distributed, "_distributed", lambda: None)  # Dask itself is not needed here
    monkeypatch.setattr(distributed, "grade_on_cluster", cluster)
    out = tmp_path / "gradebook.csv"
    results = grade(three, solutions=course_dirs[0], out=out, scheduler="tcp://10.0.0.5:8786")
    assert sent == [([0, 1], "tcp://10.0.0.5:8786")]
    assert [r.total for r in results] == [6, 4, 0] and len(kernel.calls) == 2  # nothing graded twice
    assert [row["student"] for row in rows(out)] == ["ann", "bo", "cy"]


def test_the_progress_line_shows_score_status_and_message(capsys):
    ann = Result(Submission("ann", None, "ann.ipynb"), CHAPTER, "graded", "3/3 checks passed", {"1.1": 2},
                 {"1.1": 2, "1.2": 4})
    cy = Result(Submission("cy", None, "cy.ipynb"), "", "error", "no such file")
    _progress_line(3, 12, ann)
    _progress_line(12, 12, cy)
    assert capsys.readouterr().out == (
        "[ 3/12] ann              01_toy                   2/6  graded: 3/3 checks passed\n"
        "[12/12] cy               ?                          -  error: no such file\n")


def test_the_command_line_grades_one_notebook_and_prints_its_score_table(course_dirs, kernel, three, tmp_path,
                                                                         capsys):
    out = tmp_path / "book.csv"
    code = main([str(three[0]), "--solutions", str(course_dirs[0]), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and rows(out)[0]["total"] == "6"
    assert "1.1" in printed and "[" not in printed.splitlines()[0]  # a score table, no progress lines
    assert printed.endswith(f"1 graded, 0 could not be graded; gradebook: {out}\n")
    [call] = kernel.calls  # the defaults reach the kernel
    assert (call["timeout"], call["total_timeout"], call["memory_mb"], call["file_mb"]) == (60, 600, 2048, 256)


def test_the_command_line_passes_its_limits_and_exits_1_on_an_error_row(course_dirs, kernel, three, tmp_path,
                                                                        capsys):
    out, feedback = tmp_path / "book.csv", tmp_path / "fb"
    code = main([*map(str, three), "--solutions", str(course_dirs[0]), "--out", str(out), "--feedback",
                 str(feedback), "--timeout", "7.5", "--total-timeout", "70", "--memory-mb", "300", "--file-mb", "9",
                 "--chapter", CHAPTER, "--jobs", "2"])
    printed = capsys.readouterr().out.splitlines()
    assert code == 1
    assert printed[0].startswith("[1/3] cy ") and len(printed) == 4
    assert printed[-1] == f"2 graded, 1 could not be graded; gradebook: {out}; feedback: {feedback}/"
    assert {(c["timeout"], c["total_timeout"], c["memory_mb"], c["file_mb"]) for c in kernel.calls} == {
        (7.5, 70, 300, 9)}


def test_the_command_line_tells_a_grader_problem_by_exit_code_3(course_dirs, kernel, three, monkeypatch, tmp_path,
                                                                capsys):
    def broken(folder, sandbox):
        raise IsolationError(f"no bubblewrap (sandbox={sandbox})")

    monkeypatch.setattr(grading, "verified", broken)
    assert main([str(three[0]), "--solutions", str(course_dirs[0]), "--sandbox", "--out",
                 str(tmp_path / "g.csv")]) == 3
    assert capsys.readouterr().err == "error: grader problem: no bubblewrap (sandbox=True)\n"


def test_setup_cells_that_fail_for_every_student_exit_3_with_the_fault_once(course_dirs, kernel, three, tmp_path,
                                                                           capsys):
    kernel.fail_first = True
    code = main([*map(str, three[:2]), "--solutions", str(course_dirs[0]), "--out", str(tmp_path / "g.csv")])
    err = capsys.readouterr().err.splitlines()
    assert code == 3 and len(err) == 1
    assert err[0].startswith("error: grader problem, not the student's: the course's own setup cells for 01_toy")


def test_bad_command_line_values_exit_2_and_name_the_option(course_dirs, kernel, tmp_path, capsys):
    for option, value, what in [("--timeout", "0", "seconds > 0"), ("--total-timeout", "nan", "seconds > 0"),
                                ("--jobs", "1.5", "a whole number >= 1"), ("--memory-mb", "-3", "megabytes > 0"),
                                ("--file-mb", "x", "megabytes > 0")]:
        with pytest.raises(SystemExit) as stopped:
            main(["a.ipynb", option, value])
        assert stopped.value.code == 2
        assert f"argument {option}: expected {what}, got {value!r}" in capsys.readouterr().err
    assert main(["a.ipynb", "--solutions", str(course_dirs[0]), "--jobs", "2", "--scheduler", "local:2"]) == 2
    assert capsys.readouterr().err.startswith("error: jobs and scheduler are exclusive")
    assert kernel.calls == []


def test_a_batch_without_a_gradebook_or_feedback_only_returns_rows(course_dirs, kernel, three, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    [row] = grade(three[:1], solutions=course_dirs[0])
    assert (row.total, row.status) == (6, "graded")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "tmp"]  # no gradebook, no feedback folder


def test_a_class_folder_gets_progress_lines_and_the_default_gradebook(course_dirs, kernel, three, tmp_path,
                                                                      monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for path in three:  # one folder per student
        (tmp_path / "room" / path.stem).mkdir(parents=True)
        path.rename(tmp_path / "room" / path.stem / path.name)
    assert main([str(tmp_path / "room"), "--solutions", str(course_dirs[0])]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert [line[:9] for line in printed[:3]] == ["[1/3] cy ", "[2/3] ann", "[3/3] bo "]
    assert printed[-1] == "2 graded, 1 could not be graded; gradebook: gradebook.csv"
    assert [row["student"] for row in rows(tmp_path / "gradebook.csv")] == ["ann", "bo", "cy"]


def test_the_help_names_every_option_and_its_default(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert stopped.value.code == 0 and text.startswith("usage: chapter1-grade ")
    assert text.endswith(
        "[SUBMISSION ...] Grade exercise notebooks: restore the real checks, run each submission on its own, keep a "
        "gradebook. positional arguments: SUBMISSION notebook files, or folders (one per student) holding them "
        "options: -h, --help show this help message and exit "
        "--out OUT gradebook CSV to write (default: gradebook.csv) "
        "--feedback DIR write one Markdown feedback file per submission here "
        "--jobs JOBS submissions graded at the same time (default: 1) "
        "--scheduler ADDRESS grade on a Dask cluster, one task per submission: a scheduler's address "
        "(tcp://host:8786), or local:N to start N worker processes here (needs the [cluster] extra) "
        "--timeout TIMEOUT time limit per cell, seconds (default: 60) "
        "--total-timeout TOTAL_TIMEOUT time limit per notebook, seconds (default: 600) "
        "--memory-mb MEMORY_MB memory limit of each kernel, MB (default: 2048) "
        "--file-mb FILE_MB largest file a kernel may write, MB (default: 256) "
        "--solutions SOLUTIONS folder of the course's solution notebooks (default: the course's solutions/) "
        "--chapter CHAPTER only accept notebooks of this chapter, e.g. 01_single_server "
        "--sandbox run each kernel under bubblewrap: no network, the file system read-only except its own folder "
        "(needs the bwrap command)")


def test_limits_below_one_are_accepted_on_the_command_line(course_dirs, kernel, three, tmp_path):
    main([str(three[0]), "--solutions", str(course_dirs[0]), "--out", str(tmp_path / "g.csv"), "--timeout", "0.5",
          "--total-timeout", "0.25"])
    assert (kernel.calls[0]["timeout"], kernel.calls[0]["total_timeout"]) == (0.5, 0.25)


def test_each_progress_line_is_flushed_so_a_pipe_shows_it_at_once(monkeypatch):
    class Pipe:
        def __init__(self):
            self.events = []

        def write(self, text):
            self.events.append(("write", text))

        def flush(self):
            self.events.append(("flush",))

    pipe = Pipe()
    monkeypatch.setattr(sys, "stdout", pipe)
    _progress_line(1, 2, Result(Submission("cy", None, "cy.ipynb"), "", "error", "no such file"))
    assert pipe.events[-1] == ("flush",) and pipe.events[0][1].startswith("[1/2] cy")
