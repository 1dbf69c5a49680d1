"""Grade exercise notebooks: restore the real checks, run each submission on its own, keep a gradebook.

A learner checks one notebook and reads a score table::

    python -m chapter1.grade exercises/01_single_server.ipynb

An instructor grades a class (one file or one folder per student), two at a time::

    python -m chapter1.grade submissions/* --out gradebook.csv --feedback feedback --jobs 2

For every submission the chapter is read from the notebook's metadata (the
file name is the fallback); the chapter's CHECK cells are put back exactly as
the course wrote them (edited ones restored, deleted ones re-inserted, unknown
ones dropped); then the notebook runs under ``pytest --nbval-lax`` in a
separate process, in a temporary folder, with per-cell and whole-notebook time
limits and a memory limit on the kernel. Only this (parent) process writes the
gradebook, atomically, after every submission. See docs/grading.md for what
this isolation does and does not protect against.
"""

from __future__ import annotations

import argparse
import copy
import csv
import io
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from chapter1.grading.exercises import (
    METADATA_KEY,
    Check,
    checks,
    looks_like_check,
    parse_check,
    read_notebook,
    strip_solutions,
)
from chapter1.grading.nbcheck import NotebookRun, run_notebook

__all__ = [
    "Settings", "Submission", "Chapter", "Course", "GradingError", "Result",
    "find_submissions", "identify_chapter", "restore_checks", "grade_submission", "grade",
    "write_gradebook", "read_gradebook", "write_feedback", "feedback_markdown", "score_table",
    "note_text", "notes_summary", "main",
]

DEFAULT_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
MAX_NOTEBOOK_MB = 100
MESSAGE_LIMIT = 300
FIXED_COLUMNS = ("student", "chapter", "submission")
TAIL_COLUMNS = ("total", "max", "status", "message")
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SURROGATE = re.compile("[\ud800-\udfff]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>#|~])")
NEW_CELL = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}

# What restoring the checks found, as (kind, subject) notes: how feedback says each one,
# and how the gradebook message sums up all notes of a kind.
NOTES = {
    "edited": ("CHECK {} had been edited; the original check was used", "edited CHECK {} (originals used)"),
    "missing": ("CHECK {} was missing; it was put back", "missing CHECK {} (put back)"),
    "copy": ("dropped a second copy of CHECK {}", "dropped copies of CHECK {}"),
    "unknown": ("dropped a cell headed {}: not one of this chapter's checks", "dropped unknown CHECK cells {}"),
    "no-answer": ("the answer cell before CHECK {} is missing", "answer cells missing before CHECK {}"),
}


def note_text(note: tuple[str, str]) -> str:
    """How feedback words one note.

    >>> note_text(("missing", "1.2"))
    'CHECK 1.2 was missing; it was put back'
    """
    kind, subject = note
    return NOTES[kind][0].format(subject)


def notes_summary(notes: list[tuple[str, str]]) -> list[str]:
    """The notes summed up by kind, for the gradebook message.

    >>> notes_summary([("missing", "1.1"), ("edited", "1.2"), ("missing", "1.3")])
    ['edited CHECK 1.2 (originals used)', 'missing CHECK 1.1, 1.3 (put back)']
    """
    return [summary.format(", ".join(subject for k, subject in notes if k == kind))
            for kind, (_, summary) in NOTES.items() if any(k == kind for k, _ in notes)]


class GradingError(Exception):
    """A submission that cannot be graded; the message goes into its gradebook row."""

    def __init__(self, message: str, chapter: str = ""):
        super().__init__(message)
        self.chapter = chapter


@dataclass(frozen=True)
class Settings:
    """Limits for running one submission (seconds and megabytes), and an optional chapter to insist on."""

    timeout: float = 60
    total_timeout: float = 600
    memory_mb: int = 2048
    file_mb: int = 256
    chapter: str | None = None

    def __post_init__(self):
        for name in ("timeout", "total_timeout", "memory_mb", "file_mb"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class Submission:
    """One notebook to grade, and whose it is."""

    student: str
    path: Path
    label: str  # the path as the instructor gave it; the gradebook's "submission" column


# ------------------------------------------------------------------ the course


@dataclass(frozen=True)
class Chapter:
    """A chapter's pristine exercise notebook, its checks, and which cells hold answers."""

    name: str
    notebook: nbformat.NotebookNode
    checks: list[Check]
    answer_cells: dict[str, str]  # cell id -> the CHECK id right after it
    public: dict[str, str] = field(default_factory=dict)  # CHECK id -> its source in the exercise (no hidden part)

    def check_cells(self) -> dict[str, nbformat.NotebookNode]:
        """CHECK id -> the cell exactly as the course wrote it."""
        return {check.id: cell for cell in self.notebook.cells
                if cell.cell_type == "code" and (check := parse_check(cell.source)) is not None}


def _answer_cells(solution, exercise) -> dict[str, str]:
    """Cells whose answers were stripped, each mapped to the CHECK that follows it."""
    answers, pending = {}, []
    for original, stripped in zip(solution.cells, exercise.cells):
        if original.source != stripped.source:
            pending.append(stripped.id)
        check = parse_check(stripped.source) if stripped.cell_type == "code" else None
        if check is not None:
            answers.update(dict.fromkeys(pending, check.id))
            pending = []
    return answers


def load_chapter(path: Path) -> Chapter:
    """Read one solution notebook into a Chapter (raises ValueError if the notebook is malformed).

    The chapter's notebook keeps the hidden part of each CHECK cell (what the
    grader runs); ``public`` holds each CHECK cell as the exercise shows it."""
    solution = read_notebook(path)
    graded = strip_solutions(solution, name=str(path), keep_hidden=True)
    exercise = strip_solutions(solution, name=str(path))
    public = {check.id: cell.source for cell in exercise.cells
              if cell.cell_type == "code" and (check := parse_check(cell.source)) is not None}
    return Chapter(path.stem, graded, checks(graded), _answer_cells(solution, graded), public)


class Course:
    """The chapters of a solutions folder; a chapter whose notebook is broken is kept as a problem."""

    def __init__(self, solutions_dir: Path | str = DEFAULT_SOLUTIONS):
        folder = Path(solutions_dir)
        if not folder.is_dir():
            raise ValueError(f"solutions folder {str(folder)!r} does not exist; pass --solutions DIR, "
                             "the folder holding the course's NN_topic.ipynb solution notebooks")
        self.folder = folder
        self.chapters: dict[str, Chapter] = {}
        self.problems: dict[str, str] = {}
        for path in sorted(folder.glob("*.ipynb")):
            try:
                self.chapters[path.stem] = load_chapter(path)
            except ValueError as error:
                self.problems[path.stem] = str(error)
        if not self.chapters and not self.problems:
            raise ValueError(f"solutions folder {str(folder)!r} holds no .ipynb notebook")

    @property
    def names(self) -> list[str]:
        return sorted({*self.chapters, *self.problems})

    def chapter(self, name: str) -> Chapter:
        if name in self.problems:
            raise GradingError(f"the course's own notebook for {name} is broken: {self.problems[name]}", name)
        if name not in self.chapters:
            raise GradingError(f"chapter {name!r} is not in this course (chapters: {', '.join(self.names)})", name)
        return self.chapters[name]


# ------------------------------------------------------------------ submissions


def _notebooks(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*.ipynb") if recursive else folder.glob("*.ipynb")
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.relative_to(folder).parts and p.is_file())


def _student_folder(folder: Path) -> list[Submission]:
    student = folder.resolve().name
    notebooks = _notebooks(folder, recursive=True)
    return [Submission(student, nb, str(nb)) for nb in notebooks] or [Submission(student, folder, str(folder))]


def find_submissions(paths: Iterable[Path | str]) -> list[Submission]:
    """Expand the paths given into submissions, in order.

    A file is one submission (the student is its name without ``.ipynb``); a
    folder with notebooks in it is one student's (named after the folder); a
    folder whose notebooks are all in subfolders is a class: one student per
    subfolder.

    >>> find_submissions(["alice.ipynb"])
    [Submission(student='alice', path=PosixPath('alice.ipynb'), label='alice.ipynb')]
    """
    found = []
    for given in map(Path, paths):
        if not given.is_dir():
            found.append(Submission(given.stem, given, str(given)))
            continue
        loose = _notebooks(given, recursive=False)
        folders = sorted(sub.name for sub in given.iterdir() if sub.is_dir() and _notebooks(sub, recursive=True)
                         and sub.name != ".ipynb_checkpoints")
        if loose and folders:
            raise ValueError(
                f"{given} holds both notebooks ({', '.join(p.name for p in loose[:3])}) and folders with notebooks "
                f"({', '.join(f + '/' for f in folders[:3])}): is it one student's folder or a class? For a class, "
                f"move the loose notebooks into their students' folders (or out of {given}); for one student, "
                f"pass the notebooks themselves ({given}/*.ipynb)")
        if loose or not folders:
            found += _student_folder(given)
        else:
            students = sorted(sub for sub in given.iterdir() if sub.is_dir() and _notebooks(sub, recursive=True))
            found += [s for sub in students for s in _student_folder(sub)]
    return found


def _read_submission(path: Path) -> nbformat.NotebookNode:
    if path.is_dir():
        raise GradingError("no .ipynb notebook in this folder")
    if not path.is_file():
        raise GradingError("no such file")
    size_mb = path.stat().st_size / (1 << 20)
    if size_mb > MAX_NOTEBOOK_MB:
        raise GradingError(f"the notebook is {size_mb:.0f} MB (more than {MAX_NOTEBOOK_MB} MB); "
                           "clear its outputs (Edit > Clear Outputs of All Cells), save and resubmit")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        for cell in nb.cells:
            if cell.cell_type not in NEW_CELL or not isinstance(cell.source, str):
                raise ValueError(f"a cell of type {cell.cell_type!r} without text source")
    except Exception as error:  # any malformed input becomes an error row
        first = str(error).strip().split("\n")[0][:160]
        raise GradingError(f"not a readable notebook ({type(error).__name__}: {first})") from None
    return nb


def identify_chapter(nb, path: Path, chapters: Iterable[str]) -> str:
    """The chapter a notebook belongs to: its ``chapter1.chapter`` metadata, else the chapter named in its file name.

    >>> identify_chapter(nbformat.v4.new_notebook(), Path("bob-01_single_server.ipynb"), ["01_single_server"])
    '01_single_server'
    """
    meta = nb.metadata.get(METADATA_KEY)
    name = meta.get("chapter") if isinstance(meta, dict) else None
    if isinstance(name, str) and name:
        return name
    chapters = sorted(chapters)
    matches = [chapter for chapter in chapters if chapter in path.name]
    if len(matches) == 1:
        return matches[0]
    raise GradingError(f"cannot tell the chapter: no '{METADATA_KEY}.chapter' metadata, and the file name "
                       f"{path.name!r} names {'none' if not matches else 'more than one'} of {', '.join(chapters)}")


# ------------------------------------------------------------------ restoring the checks


def _clean_cell(cell, cell_id: str):
    """A fresh cell with the same type, source and id: no outputs, no metadata (so no nbval tags)."""
    return NEW_CELL[cell.cell_type](_text(cell.source), id=cell_id)


def _unique_id(wanted: str | None, taken: set[str], fallback: str) -> str:
    fallback = re.sub(r"[^a-zA-Z0-9_-]", "-", fallback)[:60]
    for candidate in (wanted, fallback):
        if isinstance(candidate, str) and CELL_ID.fullmatch(candidate) and candidate not in taken:
            taken.add(candidate)
            return candidate
    number = 2
    while f"{fallback}-{number}" in taken:
        number += 1
    taken.add(f"{fallback}-{number}")
    return f"{fallback}-{number}"


def _text(value: str) -> str:
    """A string that can be written as UTF-8: lone surrogates (from JSON escapes or file names) become U+FFFD.

    >>> _text("ok " + chr(0xD800) + " done") == "ok \\ufffd done"
    True
    """
    return SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _check_of(cell) -> Check | None:
    try:
        return parse_check(cell.source)
    except ValueError:
        return None


def _kept_copies(nb, chapter: Chapter, canonical: dict) -> dict[str, int]:
    """CHECK id -> the index of the copy to keep: the first one after the check's answer cells,
    else (answers not found) the last one."""
    copies: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and looks_like_check(cell.source):
            check = _check_of(cell)
            if check is not None and check.id in canonical:
                copies.setdefault(check.id, []).append(index)
    kept = {}
    for check_id, positions in copies.items():
        answers = [i for i, cell in enumerate(nb.cells) if chapter.answer_cells.get(cell.get("id")) == check_id]
        after = [i for i in positions if answers and i > max(answers)]
        kept[check_id] = after[0] if after else positions[-1]
    return kept


def restore_checks(nb, chapter: Chapter) -> tuple[nbformat.NotebookNode, list[tuple[str, str]]]:
    """The notebook to grade: learner cells kept (outputs cleared), the chapter's CHECK cells as the course wrote them.

    Edited CHECK cells are replaced, deleted ones re-inserted after the cell
    that precedes them in the course notebook, and cells headed ``# CHECK``
    that are not the chapter's are dropped. Of several copies of one check,
    the first after its answer cell is kept (the last, when the answer cell
    cannot be found). Returns the notebook and (kind, subject) notes on what
    was found (see NOTES), each note once.
    """
    canonical = chapter.check_cells()
    kept = _kept_copies(nb, chapter, canonical)
    cells, notes, taken = [], [], set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and looks_like_check(cell.source):
            check = _check_of(cell)
            if check is None or check.id not in canonical:
                notes.append(("unknown", repr(_text(cell.source).strip().split("\n")[0][:60])))
            elif kept[check.id] != index:
                notes.append(("copy", check.id))
            else:
                original = canonical[check.id]
                if cell.source not in (original.source, chapter.public.get(check.id)):
                    notes.append(("edited", check.id))
                cells.append(_clean_cell(original, _unique_id(original.id, taken, f"check-{index}")))
            continue
        cells.append(_clean_cell(cell, _unique_id(cell.get("id"), taken, f"cell-{index}")))
    for check in chapter.checks:
        if check.id not in kept:
            original = canonical[check.id]
            position = _insertion_point(cells, chapter.notebook.cells, original)
            cells.insert(position, _clean_cell(original, _unique_id(original.id, taken, f"check-{check.id}")))
            notes.append(("missing", check.id))
    notes += [("no-answer", check_id) for check_id in _missing_answers(nb, cells, chapter)]
    metadata = {"kernelspec": copy.deepcopy(chapter.notebook.metadata.get("kernelspec", {})),
                METADATA_KEY: {"chapter": chapter.name}}
    return new_notebook(cells=cells, metadata=metadata), list(dict.fromkeys(notes))


def _missing_answers(nb, cells: list, chapter: Chapter) -> list[str]:
    """CHECK ids whose answer cell is gone. By cell id when the submission has ids; a notebook
    without them (nbformat 4.4 and older, some exports) is judged by its shape: a check with an
    answer in the course but no code cell of the learner's between it and the check before it."""
    expecting = dict.fromkeys(chapter.answer_cells.values())
    if all(isinstance(cell.get("id"), str) for cell in nb.cells):
        present = {cell.id for cell in cells}
        return list(dict.fromkeys(check_id for cell_id, check_id in chapter.answer_cells.items()
                                  if cell_id not in present))
    missing, learner_code = [], False
    for cell in cells:
        check = _check_of(cell) if cell.cell_type == "code" else None
        if check is None:
            learner_code = learner_code or (cell.cell_type == "code" and cell.source.strip() != "")
            continue
        if check.id in expecting and not learner_code:
            missing.append(check.id)
        learner_code = False
    return missing


def _insertion_point(cells: list, course_cells: list, original) -> int:
    """Just after the submission's copy of the nearest course cell that precedes ``original``."""
    position = {cell.id: i for i, cell in enumerate(cells)}
    before = [c.id for c in course_cells[:[c.id for c in course_cells].index(original.id)]]
    for cell_id in reversed(before):
        if cell_id in position:
            return position[cell_id] + 1
    return len(cells)


# ------------------------------------------------------------------ grading


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


def _run(chapter: Chapter, notebook: Path, settings: Settings) -> NotebookRun:
    with tempfile.TemporaryDirectory(prefix="chapter1-grade-", ignore_cleanup_errors=True) as folder:
        work = Path(folder) / "work"
        work.mkdir()
        path = work / f"{chapter.name}.ipynb"
        shutil.copyfile(notebook, path)
        return run_notebook(path, timeout=settings.timeout, total_timeout=settings.total_timeout,
                            memory_mb=settings.memory_mb, file_mb=settings.file_mb, expected=chapter.checks)


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
                          metadata={"kernelspec": copy.deepcopy(chapter.notebook.metadata.get("kernelspec", {}))})
        with tempfile.TemporaryDirectory(prefix="chapter1-preflight-", ignore_cleanup_errors=True) as folder:
            path = Path(folder) / f"{chapter.name}.ipynb"
            nbformat.write(nb, path)
            run = run_notebook(path, timeout=self.settings.timeout, total_timeout=self.settings.total_timeout,
                               memory_mb=self.settings.memory_mb, file_mb=self.settings.file_mb)
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


def grade(
    paths: Iterable[Path | str],
    *,
    solutions: Path | str = DEFAULT_SOLUTIONS,
    out: Path | str | None = None,
    feedback: Path | str | None = None,
    jobs: int = 1,
    settings: Settings = Settings(),
    progress: Callable[[int, int, Result], None] | None = None,
) -> list[Result]:
    """Grade submissions (files, or folders one per student), ``jobs`` at a time; results in input order.

    Every submission is read and restored before any of them runs, so no
    submission's code can touch another's file before it is read; each
    restored notebook is written to a private spool folder at once, so the
    grader holds one submission in memory at a time, whatever the class size.
    The gradebook at ``out`` is rewritten atomically after every submission;
    feedback Markdown goes to ``feedback/<student>_<chapter>.md``.

    >>> grade(["submissions/alice", "submissions/bob"], out="gradebook.csv", jobs=2)  # doctest: +SKIP
    [Result(... status='graded' ...), Result(... status='error' ...)]
    """
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    course = Course(solutions)
    submissions = find_submissions(paths)
    if not submissions:
        raise ValueError("no submissions given; pass notebook files or student folders")
    previous = read_gradebook(out) if out else []
    results: list[Result | None] = [None] * len(submissions)
    preflight = _Preflight(settings)
    done = 0

    def record(index: int, result: Result) -> None:
        nonlocal done
        results[index], done = result, done + 1
        if out:
            write_gradebook(out, [r for r in results if r is not None], course, previous)
        if progress:
            progress(done, len(submissions), result)

    with tempfile.TemporaryDirectory(prefix="chapter1-spool-", ignore_cleanup_errors=True) as spool:
        os.chmod(spool, 0o700)
        prepared = [_prepare(s, course, settings, Path(spool), i) for i, s in enumerate(submissions)]
        for index, item in enumerate(prepared):
            if isinstance(item, Result):
                record(index, item)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_job, item, settings, preflight): index
                       for index, item in enumerate(prepared) if isinstance(item, _Job)}
            try:
                for future in as_completed(futures):
                    record(futures[future], future.result())
            except KeyboardInterrupt:  # keep the rows so far; start nothing new
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    if feedback:
        write_feedback(feedback, results)
    return results


# ------------------------------------------------------------------ gradebook


def read_gradebook(path: Path | str) -> list[dict[str, str]]:
    """Rows of an existing gradebook ([] if there is none), so a new run keeps them."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not set(FIXED_COLUMNS) <= set(reader.fieldnames):
            raise ValueError(f"{path} exists but is not a gradebook (no {', '.join(FIXED_COLUMNS)} columns); "
                             "pass another --out path")
        return list(reader)


def _cell(value: str) -> str:
    """A gradebook cell that a spreadsheet shows as text: one that would start a formula gets a leading quote.

    >>> print(_cell('=HYPERLINK("http://x")'), _cell("-1+2"), _cell("ann"))
    '=HYPERLINK("http://x") '-1+2 ann
    """
    value = _text(value)
    return "'" + value if value[:1] in FORMULA_STARTS else value


def _row(result: Result) -> dict[str, str]:
    row = {"student": result.submission.student, "chapter": result.chapter,
           "submission": result.submission.label}
    row.update({check_id: str(points) for check_id, points in result.points.items()})
    row.update({"total": str(result.total), "max": str(result.maximum) if result.possible else "",
                "status": result.status, "message": result.message})
    return {key: _cell(value) for key, value in row.items()}


def _check_columns(course: Course, rows: list[dict[str, str]]) -> list[str]:
    ordered = [c.id for name in course.names if name in course.chapters for c in course.chapters[name].checks]
    used = {key for row in rows for key in row} - set(FIXED_COLUMNS) - set(TAIL_COLUMNS)
    return [key for key in dict.fromkeys(ordered) if key in used] + sorted(used - set(ordered))


def write_gradebook(path: Path | str, results: list[Result], course: Course,
                    previous: list[dict[str, str]] = ()) -> None:
    """Write the gradebook CSV atomically: earlier rows kept (a re-graded submission's row replaced in place)."""
    fresh = {(r["student"], r["submission"]): r for r in map(_row, results)}
    rows = [fresh.pop((old.get("student"), old.get("submission")), old) for old in previous]
    rows += list(fresh.values())
    columns = [*FIXED_COLUMNS, *_check_columns(course, rows), *TAIL_COLUMNS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomically(Path(path), buffer.getvalue())


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ feedback


def _cell_result(outcome) -> str:
    return "passed" if outcome.passed else f"{outcome.outcome}: {outcome.message}"


def _md(text: str) -> str:
    """Student text made inert in Markdown: special characters escaped, later lines indented into the list item.

    >>> print(_md("wrong\\n\\n**Score: 10 / 10**"))
    wrong
      \\*\\*Score: 10 / 10\\*\\*
    """
    lines = [MARKDOWN_SPECIAL.sub(r"\\\1", line).replace("&", "&amp;") for line in _text(text).split("\n")]
    return "\n".join([lines[0]] + ["  " + line for line in lines[1:] if line.strip()])


def feedback_markdown(result: Result) -> str:
    """Feedback for one learner: score, each check's result, the assert message of each failing one.

    >>> print(feedback_markdown(Result(Submission("ann", Path("a.ipynb"), "a.ipynb"), "", "error", "no such file")))
    # Feedback for ann
    <BLANKLINE>
    **Could not grade a.ipynb**: no such file
    <BLANKLINE>
    """
    student, label = _md(result.submission.student), _md(result.submission.label)
    title = f"# {result.chapter}: feedback for {student}" if result.chapter else f"# Feedback for {student}"
    if result.run is None:
        return f"{title}\n\n**Could not grade {label}**: {_md(result.message)}\n"
    lines = [title, "", f"**Score: {result.total} / {result.maximum}** ({result.status}) for {label}", ""]
    if result.run.error:
        lines += [f"Grading stopped early: {_md(result.run.error)}.", ""]
    lines += ["| Check | Points | Result |", "|:--|--:|:--|"]
    outcomes = result.run.checks
    for check_id, possible in result.possible.items():
        verdict = "passed" if outcomes[check_id].passed else outcomes[check_id].outcome
        lines.append(f"| {check_id} | {result.points[check_id]} / {possible} | {verdict} |")
    failing = [(i, outcomes[i]) for i in result.possible if not outcomes[i].passed]
    if failing:
        lines += ["", "## To revisit", ""] + [f"- **{i}**: {_md(o.message or o.outcome)}" for i, o in failing]
    if result.run.other_failures:
        lines += ["", "## Other cells that did not run cleanly", ""]
        lines += [f"- {_md(o.first_line[:80])}: {_md(o.message)}" for o in result.run.other_failures]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {_md(note_text(note))}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _feedback_names(results: list[Result]) -> list[str]:
    names, seen = [], set()
    for result in results:
        stem = "_".join(part for part in (result.submission.student, result.chapter) if part)
        stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "submission"
        name, number = f"{stem}.md", 2
        while name in seen:
            name, number = f"{stem}-{number}.md", number + 1
        seen.add(name)
        names.append(name)
    return names


def write_feedback(folder: Path | str, results: list[Result]) -> list[Path]:
    """Write ``<student>_<chapter>.md`` for every result into ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, result in zip(_feedback_names(results), results):
        _write_atomically(folder / name, feedback_markdown(result))
        paths.append(folder / name)
    return paths


# ------------------------------------------------------------------ terminal


def score_table(result: Result) -> str:
    """A plain-text score table for the terminal.

    >>> print(score_table(Result(Submission("ann", Path("a.ipynb"), "a.ipynb"), "", "error", "no such file")))
    a.ipynb: could not grade: no such file
    """
    if result.run is None:
        return f"{result.submission.label}: could not grade: {result.message}"
    outcomes = result.run.checks
    rows = [("CHECK", "POINTS", "RESULT")]
    rows += [(i, f"{result.points[i]}/{p}", _cell_result(outcomes[i])) for i, p in result.possible.items()]
    rows.append(("TOTAL", f"{result.total}/{result.maximum}", result.status))
    width = [max(len(row[k]) for row in rows) for k in range(2)]
    lines = [f"{result.submission.label} ({result.chapter})"]
    lines += [f"  {a:<{width[0]}}  {b:>{width[1]}}  {c}" for a, b, c in rows]
    if result.run.error:
        lines.append(f"  stopped early: {result.run.error}")
    lines += [f"  other cell failed: {_where(o)}: {o.message}" for o in result.run.other_failures]
    lines += [f"  note: {note_text(note)}" for note in result.notes]
    return "\n".join(lines)


def _progress_line(done: int, total: int, result: Result) -> None:
    score = f"{result.total}/{result.maximum}" if result.possible else "-"
    print(_text(f"[{done:>{len(str(total))}}/{total}] {result.submission.student:<16} {result.chapter or '?':<20} "
                f"{score:>7}  {result.status}: {result.message}"), flush=True)


def _positive(kind: type, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    """Command line (``python -m chapter1.grade`` or ``chapter1-grade``): exit 0 when all were graded, 1 if a
    submission could not be graded, 2 on bad options, 3 when the grader itself could not run the course's
    own setup cells with these settings (no kernel, ``import chapter1`` failing)."""
    parser = argparse.ArgumentParser(prog="chapter1-grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="notebook files, or folders (one per student) holding them")
    parser.add_argument("--out", default="gradebook.csv", help="gradebook CSV to write (default: gradebook.csv)")
    parser.add_argument("--feedback", metavar="DIR", help="write one Markdown feedback file per submission here")
    parser.add_argument("--jobs", type=_positive(int, "a whole number >= 1"), default=1,
                        help="submissions graded at the same time (default: 1)")
    parser.add_argument("--timeout", type=_positive(float, "seconds > 0"), default=Settings.timeout,
                        help=f"time limit per cell, seconds (default: {Settings.timeout:g})")
    parser.add_argument("--total-timeout", type=_positive(float, "seconds > 0"), default=Settings.total_timeout,
                        help=f"time limit per notebook, seconds (default: {Settings.total_timeout:g})")
    parser.add_argument("--memory-mb", type=_positive(int, "megabytes > 0"), default=Settings.memory_mb,
                        help=f"memory limit of each kernel, MB (default: {Settings.memory_mb})")
    parser.add_argument("--file-mb", type=_positive(int, "megabytes > 0"), default=Settings.file_mb,
                        help=f"largest file a kernel may write, MB (default: {Settings.file_mb})")
    parser.add_argument("--solutions", default=str(DEFAULT_SOLUTIONS),
                        help="folder of the course's solution notebooks (default: the course's solutions/)")
    parser.add_argument("--chapter", help="only accept notebooks of this chapter, e.g. 01_single_server")
    args = parser.parse_args(argv)
    settings = Settings(timeout=args.timeout, total_timeout=args.total_timeout, memory_mb=args.memory_mb,
                        file_mb=args.file_mb, chapter=args.chapter)
    single = len(args.submissions) == 1 and not Path(args.submissions[0]).is_dir()
    try:
        results = grade(args.submissions, solutions=args.solutions, out=args.out, feedback=args.feedback,
                        jobs=args.jobs, settings=settings, progress=None if single else _progress_line)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if single:
        print(_text(score_table(results[0])))
    errors = sum(result.status == "error" for result in results)
    print(f"{len(results) - errors} graded, {errors} could not be graded; gradebook: {args.out}"
          + (f"; feedback: {args.feedback}/" if args.feedback else ""))
    faults = list(dict.fromkeys(result.message for result in results if result.grader_fault))
    for fault in faults:
        print(f"error: {fault}", file=sys.stderr)
    return 3 if faults else 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
