"""Export the course's exercises as nbgrader source notebooks, for instructors who grade with nbgrader.

    python -m chapter1.exercises --to nbgrader DIR [--solutions solutions]

writes ``DIR/source/<chapter>/<chapter>.ipynb`` for every solution notebook (one nbgrader
assignment per chapter): the course's solution notebook with nbgrader's cell metadata.

* a code cell with an answer region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``, nbgrader's own
  markers) is an autograded answer (``solution``), with its cell id as ``grade_id``;
* a Markdown cell with an answer region (a reflection) is a manually graded answer worth 0 points
  (nbgrader wants points on a graded cell; set them in the formgrader if you grade reflections);
* a ``# CHECK <id> [n pts]`` cell is an autograder test (``grade``, ``locked``) worth its points, with
  ``grade_id`` ``check-<id>``; its hidden part keeps nbgrader's own ``### BEGIN HIDDEN TESTS`` markers;
* every other cell is read-only (``locked``).

``nbgrader generate_assignment <chapter>`` then writes the student version (nbgrader puts its own
``raise NotImplementedError()`` where the course puts a runnable stub) and ``nbgrader autograde``
grades it. See docs/grading.md, "nbgrader".
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

from chapter1.grading.exercises import BEGIN, parse_check, read_notebook, report_written, write_notebook

__all__ = ["to_nbgrader", "export", "main"]

SCHEMA_VERSION = 3
GRADE_ID = re.compile(r"[^a-zA-Z0-9_-]")


def _grade_id(text: str, taken: set[str]) -> str:
    wanted = GRADE_ID.sub("-", text) or "cell"
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted}-{number}", number + 1
    taken.add(name)
    return name


def _has_answer(source: str) -> bool:
    return any(line.strip() == BEGIN for line in source.split("\n"))


def to_nbgrader(solution):
    """A copy of a solution notebook with nbgrader's cell metadata (see the module's docstring).

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("### BEGIN SOLUTION\\nx = 1\\n### END SOLUTION", id="answer"),
    ...     nbformat.v4.new_code_cell("# CHECK 1.1 [2 pts]\\nassert x == 1", id="check")])
    >>> [cell.metadata.nbgrader for cell in to_nbgrader(nb).cells]  # doctest: +NORMALIZE_WHITESPACE
    [{'grade': False, 'solution': True, 'locked': False, 'grade_id': 'answer', 'schema_version': 3},
     {'grade': True, 'solution': False, 'locked': True, 'grade_id': 'check-1_1', 'schema_version': 3,
      'points': 2}]
    """
    out = copy.deepcopy(solution)
    taken: set[str] = set()
    for index, cell in enumerate(out.cells):
        check = parse_check(cell.source) if cell.cell_type == "code" else None
        answer = cell.cell_type in ("code", "markdown") and _has_answer(cell.source)
        if check is not None:
            meta = {"grade": True, "solution": False, "locked": True,
                    "grade_id": _grade_id("check-" + check.id.replace(".", "_"), taken), "points": check.points}
        elif answer and cell.cell_type == "markdown":
            meta = {"grade": True, "solution": True, "locked": False, "points": 0}
        elif answer:
            meta = {"grade": False, "solution": True, "locked": False}
        else:
            meta = {"grade": False, "solution": False, "locked": True}
        meta.setdefault("grade_id", _grade_id(cell.get("id") or f"cell-{index}", taken))
        meta["schema_version"] = SCHEMA_VERSION
        order = ("grade", "solution", "locked", "grade_id", "schema_version", "points")
        cell.metadata["nbgrader"] = {key: meta[key] for key in order if key in meta}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return out


def export(solutions_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write ``out_dir/source/<chapter>/<chapter>.ipynb`` for every solution notebook; return the paths."""
    written = []
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        target = Path(out_dir) / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_notebook(to_nbgrader(read_notebook(path)), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m chapter1.exercises --to nbgrader DIR [--solutions DIR]``."""
    from chapter1.grading.submissions import DEFAULT_SOLUTIONS

    parser = argparse.ArgumentParser(prog="python -m chapter1.exercises --to nbgrader",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--to", choices=["nbgrader"], required=True, help="the format to write")
    parser.add_argument("folder", metavar="DIR", help="nbgrader course folder (source/<chapter>/ is written)")
    parser.add_argument("--solutions", default=str(DEFAULT_SOLUTIONS), help="the course's solution notebooks")
    args = parser.parse_args(argv)
    return report_written(lambda: export(args.solutions, args.folder))
