"""The gradebook (CSV) and feedback (Markdown per submission, a score table in the terminal).

Only the parent grader writes them, atomically; text that comes from a
submission is neutralised (no spreadsheet formulas, no Markdown structure).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

from chapter1.grading.running import Result, _where
from chapter1.grading.submissions import Course, _text, note_text

__all__ = ["read_gradebook", "write_gradebook", "feedback_markdown", "write_feedback", "score_table"]

FIXED_COLUMNS = ("student", "chapter", "submission")
TAIL_COLUMNS = ("total", "max", "status", "message")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>#|~])")


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

    >>> from chapter1.grading.submissions import Submission
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

    >>> from chapter1.grading.submissions import Submission
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
