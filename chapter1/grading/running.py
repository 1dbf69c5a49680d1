"""Run one submission: its restored notebook in its own process and folder, under the limits, into a Result.

``_prepare`` reads and restores a submission into a private spool folder;
``_grade_job`` runs it and scores it; ``_Preflight`` tells a grader problem
(no kernel starts, the course does not import) from a student's.
"""

from __future__ import annotations

import copy
import functools
import math
import shutil
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from chapter1.grading.exercises import parse_check
from chapter1.grading.isolation import Isolation, IsolationError, kernel_folder, plan, verify
from chapter1.grading.nbcheck import NotebookRun, run_notebook
from chapter1.grading.submissions import (
    DEFAULT_SOLUTIONS,
    Chapter,
    Course,
    GradingError,
    Submission,
    _read_submission,
    identify_chapter,
    notes_summary,
    restore_checks,
)

__all__ = ["Settings", "Result", "grade_submission"]

MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class Settings:
    """Limits for running one submission (seconds and megabytes), and an optional chapter to insist on."""

    timeout: float = 60
    total_timeout: float = 600
    memory_mb: int = 2048
    file_mb: int = 256
    chapter: str | None = None
    sandbox: bool = False   # run each kernel under bubblewrap (no network, read-only file system)

    def __post_init__(self):
        for name in ("timeout", "total_timeout", "memory_mb", "file_mb"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")



@dataclass
class Result:
    """One gradebook row, with what is needed for feedback."""

    submission: Submission
    chapter: str
    status: str                      # "graded" or "error"
    message: str
    points: dict[str, int] = field(default_factory=dict)     # CHECK id -> points earned
    possible: dict[str, int] = field(default_factory=dict)   # CHECK id -> points possible
    run: NotebookRun | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)   # (kind, subject), see NOTES
    grader_fault: bool = False       # the grader's settings or installation failed, not the submission

    @property
    def total(self) -> int:
        return sum(self.points.values())

    @property
    def maximum(self) -> int:
        return sum(self.possible.values())


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _where(outcome) -> str:
    return f'"{outcome.first_line[:50]}"' if outcome.first_line else f"cell {outcome.cell}"


def _summary(chapter: Chapter, run: NotebookRun, notes: list[tuple[str, str]]) -> str:
    """The gradebook message: checks passed, then whatever went wrong, shortest first."""
    outcomes = run.checks
    passed = sum(outcomes[c.id].passed for c in chapter.checks if c.id in outcomes)
    parts = [f"{passed}/{len(chapter.checks)} checks passed"]
    if run.error:
        parts.append(run.error)
    problems = [c for c in run.cells if c.outcome in ("failed", "error")]
    died = [c for c in problems if c.message.startswith("the kernel died")]
    timed_out = [c for c in problems if c.message.startswith("timed out")]
    parts += [f"kernel died at {_where(c)}" for c in died[:1]]
    parts += [f"timed out at {_where(c)}" for c in timed_out[:2]]
    others = [c for c in run.other_failures
              if c not in died and c not in timed_out and not c.message.startswith(("not run", "not finished"))]
    if others:
        parts.append(f"{len(others)} other cell(s) raised errors, first {_where(others[0])}: {others[0].message}")
    return _clip("; ".join(parts + notes_summary(notes)))


@dataclass(frozen=True)
class _Job:
    """A submission read and restored, ready to run; the restored notebook waits on disk, not in memory."""

    submission: Submission
    chapter: Chapter
    notebook: Path
    notes: list[tuple[str, str]]


def _prepare(submission: Submission, course: Course, settings: Settings, spool: Path, index: int) -> _Job | Result:
    """Read, identify and restore a submission, and write the result to ``spool``; an unusable one
    becomes its error row right away. Only one submission is in memory at a time."""
    try:
        nb = _read_submission(submission.path)
        name = identify_chapter(nb, submission.path, course.names)
        if settings.chapter and name != settings.chapter:
            raise GradingError(f"this notebook is chapter {name}, not {settings.chapter} (--chapter)", name)
        chapter = course.chapter(name)
        restored, notes = restore_checks(nb, chapter)
        del nb
        path = spool / f"{index}.ipynb"
        nbformat.write(restored, path)
        return _Job(submission, chapter, path, notes)
    except GradingError as error:
        return Result(submission, error.chapter, "error", _clip(str(error)))


@functools.lru_cache(maxsize=None, typed=True)
def isolation(solutions: Path, sandbox: bool) -> Isolation:
    """How kernels run for this course (see chapter1.grading.isolation); raises IsolationError when
    ``sandbox`` is asked for and bubblewrap is missing."""
    return plan(solutions, sandbox)


@functools.lru_cache(maxsize=None, typed=True)
def verified(solutions: Path, sandbox: bool) -> Isolation:
    """The isolation, once checked by a probe started as a kernel is; raises IsolationError when kernels
    could read the solutions or the isolation does not start on this machine."""
    found = isolation(solutions, sandbox)
    verify(found)
    return found


def _isolation(chapter: Chapter, settings: Settings) -> Isolation:
    return isolation((chapter.solutions or DEFAULT_SOLUTIONS).resolve(), settings.sandbox)


def _run(chapter: Chapter, notebook: Path, settings: Settings) -> NotebookRun:
    isolated = _isolation(chapter, settings)
    with kernel_folder("chapter1-grade-", isolated) as work:
        path = work / f"{chapter.name}.ipynb"
        shutil.copyfile(notebook, path)
        return run_notebook(path, timeout=settings.timeout, total_timeout=settings.total_timeout,
                            memory_mb=settings.memory_mb, file_mb=settings.file_mb, expected=chapter.checks,
                            isolation=isolated)


def _setup_cells(chapter: Chapter) -> list:
    """The course notebook's code cells before its first answer or CHECK cell (its imports)."""
    setup = []
    for cell in chapter.notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.id in chapter.answer_cells or parse_check(cell.source) is not None:
            break
        setup.append(cell)
    return setup


class _Preflight:
    """Tells a grader problem from a student's: when a run's first cell fails, the chapter's own
    setup cells are run once (per chapter, under the same limits); if they fail too, the settings
    or the installation are at fault (no kernel starts, ``import chapter1`` fails) and no row of
    that chapter is scored."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.verdicts: dict[str, str | None] = {}

    def known(self, chapter: Chapter) -> str | None:
        return self.verdicts.get(chapter.name)

    def problem(self, chapter: Chapter) -> str | None:
        with self.lock:
            if chapter.name not in self.verdicts:
                self.verdicts[chapter.name] = self._check(chapter)
            return self.verdicts[chapter.name]

    def _check(self, chapter: Chapter) -> str | None:
        cells = [new_code_cell(cell.source, id=f"setup-{i}") for i, cell in enumerate(_setup_cells(chapter))]
        nb = new_notebook(cells=cells or [new_code_cell("pass", id="setup-0")],
                          metadata={key: copy.deepcopy(value) for key, value in chapter.notebook.metadata.items()
                                    if key == "kernelspec"})  # none rather than an invalid empty one
        isolated = _isolation(chapter, self.settings)
        with kernel_folder("chapter1-preflight-", isolated) as folder:
            path = folder / f"{chapter.name}.ipynb"
            nbformat.write(nb, path)
            run = run_notebook(path, timeout=self.settings.timeout, total_timeout=self.settings.total_timeout,
                               memory_mb=self.settings.memory_mb, file_mb=self.settings.file_mb, isolation=isolated)
        failed = [cell for cell in run.cells if not cell.passed]
        if run.error is None and run.cells and not failed:
            return None
        detail = run.error or (f"{_where(failed[0])}: {failed[0].message}" if failed else "no cell ran")
        return (f"grader problem, not the student's: the course's own setup cells for {chapter.name} do not run "
                f"with these settings; check --memory-mb, --timeout and the installation, then grade again "
                f"({_clip(detail, 120)})")


def _suspicious(run: NotebookRun) -> bool:
    """The run's first cell did not pass (or nothing ran): maybe the grader's fault, not the student's."""
    first = next((cell for cell in run.cells if cell.cell == 0), None)
    return first is None or not first.passed or (run.error or "").startswith("the grading process failed")


def grade_submission(submission: Submission, course: Course, settings: Settings = Settings()) -> Result:
    """Grade one submission; never raises: anything that goes wrong becomes an "error" row.

    >>> grade_submission(Submission("alice", Path("alice.ipynb"), "alice.ipynb"), Course())  # doctest: +SKIP
    Result(submission=..., chapter='01_single_server', status='graded', message='5/5 checks passed', ...)
    """
    try:
        verified(course.folder.resolve(), settings.sandbox)
    except IsolationError as error:
        return Result(submission, "", "error", _clip(f"grader problem, not the student's: {error}"), grader_fault=True)
    with tempfile.TemporaryDirectory(prefix="chapter1-spool-", ignore_cleanup_errors=True) as spool:
        job = _prepare(submission, course, settings, Path(spool), 0)
        return job if isinstance(job, Result) else _grade_job(job, settings, _Preflight(settings))


def _grade_job(job: _Job, settings: Settings, preflight: _Preflight) -> Result:
    chapter = job.chapter
    problem = preflight.known(chapter)
    if problem:
        return Result(job.submission, chapter.name, "error", _clip(problem), grader_fault=True)
    try:
        run = _run(chapter, job.notebook, settings)
        problem = preflight.problem(chapter) if _suspicious(run) else None
    except Exception as error:  # a grader bug must not stop the batch
        detail = traceback.format_exception_only(type(error), error)[-1].strip()
        return Result(job.submission, chapter.name, "error", _clip(f"internal error while grading: {detail}"))
    finally:
        job.notebook.unlink(missing_ok=True)
    if problem:
        return Result(job.submission, chapter.name, "error", _clip(problem), grader_fault=True)
    outcomes = run.checks
    points = {c.id: c.points if c.id in outcomes and outcomes[c.id].passed else 0 for c in chapter.checks}
    status = "error" if run.error else "graded"
    return Result(job.submission, chapter.name, status, _summary(chapter, run, job.notes), points,
                  {c.id: c.points for c in chapter.checks}, run, job.notes)
