"""Read and restore submissions: the course's chapters, which notebooks are whose, and the CHECK cells put back.

``Course`` reads the solutions folder once (the parent grader's only read of
it); ``find_submissions`` expands the paths an instructor gives into one
``Submission`` per notebook; ``restore_checks`` returns the notebook to grade,
with the chapter's CHECK cells exactly as the course wrote them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

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

__all__ = [
    "Submission", "Chapter", "Course", "GradingError", "load_chapter", "find_submissions",
    "identify_chapter", "restore_checks", "note_text", "notes_summary", "NOTES",
]

DEFAULT_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
MAX_NOTEBOOK_MB = 100
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SURROGATE = re.compile("[\ud800-\udfff]")
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
    solutions: Path | None = None  # the folder the chapter was read from (kernels must not read it)

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
    return Chapter(path.stem, graded, checks(graded), _answer_cells(solution, graded), public, path.parent)


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
            students = sorted(sub for sub in given.iterdir() if sub.is_dir() and sub.name in folders)
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
    metadata = {METADATA_KEY: {"chapter": chapter.name}}
    if "kernelspec" in chapter.notebook.metadata:  # an empty kernelspec would not be a valid notebook
        metadata["kernelspec"] = copy.deepcopy(chapter.notebook.metadata["kernelspec"])
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
