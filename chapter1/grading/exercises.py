"""Exercise notebooks: generate them from solution notebooks and read their CHECK cells.

Authors write ``solutions/NN_topic.ipynb`` only. In code cells, each answer sits
between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line; the
generator replaces it with a stub that runs clean, so a blank exercise fails
only its graded cells. In Markdown cells (a reflection's model answer) the
region becomes a placeholder, ``*Your answer here.*``; such answers are not graded.
A graded cell starts with ``# CHECK <id> [<points> pts]``; its lines between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are left out of the exercise and put back by the grader.

Regenerate every exercise notebook (``make exercises``)::

    python -m chapter1.exercises solutions exercises

and list the ones that are out of date, exiting 1 if any are::

    python -m chapter1.exercises solutions exercises --check
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import nbformat

__all__ = [
    "Check",
    "parse_check",
    "checks",
    "strip_solutions",
    "exercise_notebook",
    "generate",
    "out_of_sync",
    "read_notebook",
    "write_notebook",
    "main",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
ANSWER_COMMENT = "# your answer here"
MARKDOWN_STUB = "*Your answer here.*"
CODE_STUB = "# your code here"
METADATA_KEY = "chapter1"

# "# CHECK 1.2", "# CHECK 1.2 [2 pts]", "# CHECK q3 [1 pt]"
_CHECK_PREFIX = re.compile(r"#\s*CHECK\b")
_CHECK_LINE = re.compile(
    r"#\s*CHECK\s+(?P<id>[A-Za-z0-9][\w.\-]*)"
    r"(?:\s+\[\s*(?P<points>\d+)\s*pts?\s*\])?\s*"
)
CHECK_EXAMPLE = "# CHECK 1.2 [2 pts]"


class Check(NamedTuple):
    """A graded cell: its exercise id and the points it is worth."""

    id: str
    points: int


# ---------------------------------------------------------------- CHECK cells


def _first_line(source: str) -> str:
    return source.lstrip("\n").split("\n", 1)[0].strip()


def looks_like_check(source: str) -> bool:
    """True when a cell's first line starts with ``# CHECK``, well formed or not.

    >>> looks_like_check("# CHECK oops\\nassert True")
    True
    """
    return bool(_CHECK_PREFIX.match(_first_line(source)))


def parse_check(source: str) -> Check | None:
    """Read the ``# CHECK <id> [<points> pts]`` header of a cell; None if it has none.

    >>> parse_check("# CHECK 1.2 [2 pts]\\nassert rps == 12")
    Check(id='1.2', points=2)
    >>> parse_check("rps = 12") is None
    True

    A first line that starts with ``# CHECK`` but is malformed raises
    ValueError, so a typo never turns a graded cell into an ungraded one.
    """
    line = _first_line(source)
    if not _CHECK_PREFIX.match(line):
        return None
    found = _CHECK_LINE.fullmatch(line)
    if found is None:
        raise ValueError(
            f"malformed CHECK header {line!r}: write '# CHECK <id>' or "
            f"'# CHECK <id> [<points> pts]', e.g. {CHECK_EXAMPLE!r}"
        )
    return Check(found["id"], int(found["points"] or 1))


def checks(nb) -> list[Check]:
    """The CHECK cells of a notebook, in order.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# CHECK 1.1\\nassert True")])
    >>> checks(nb)
    [Check(id='1.1', points=1)]
    """
    return [
        check
        for cell in nb.cells
        if cell.cell_type == "code" and (check := parse_check(cell.source)) is not None
    ]


def _require_unique_checks(nb, where: str) -> None:
    seen: set[str] = set()
    duplicates = [c.id for c in checks(nb) if c.id in seen or seen.add(c.id)]
    if duplicates:
        raise ValueError(
            f"{where}: CHECK ids must be unique in a notebook; "
            f"repeated: {', '.join(sorted(set(duplicates)))}"
        )


# ----------------------------------------------------------- answer regions


def _regions(lines: list[str], where: str) -> list[tuple[int, int]]:
    """(begin, end) line indexes of each BEGIN/END SOLUTION pair."""
    regions, begin = [], None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise ValueError(f"{where}, line {number + 1}: {BEGIN!r} inside another region; "
                                 f"close the first one with {END!r}")
            begin = number
        elif marker == END:
            if begin is None:
                raise ValueError(f"{where}, line {number + 1}: {END!r} without a {BEGIN!r} before it")
            regions.append((begin, number))
            begin = None
    if begin is not None:
        raise ValueError(f"{where}, line {begin + 1}: {BEGIN!r} is never closed by {END!r}")
    return regions


def _segment(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or ast.unparse(node)


def _none_like(target: ast.expr, nested: bool = False) -> str:
    """A value that unpacks into ``target``: None, or a tuple of them."""
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = [_none_like(e, True) for e in target.elts if not isinstance(e, ast.Starred)]
        inner = ", ".join(parts) + ("," if len(parts) == 1 else "")
        return f"({inner})" if nested else inner
    return "None"


def _assignment_stub(source: str, node: ast.Assign | ast.AnnAssign) -> list[str]:
    if isinstance(node, ast.AnnAssign):
        if node.value is None:
            return []
        target, annotation = _segment(source, node.target), _segment(source, node.annotation)
        return [f"{target}: {annotation} = None  {ANSWER_COMMENT}"]
    targets = " = ".join(_segment(source, t) for t in node.targets)
    shaped = next((t for t in node.targets if isinstance(t, (ast.Tuple, ast.List))), node.targets[0])
    return [f"{targets} = {_none_like(shaped)}  {ANSWER_COMMENT}"]


def _text_before(source: str, lineno: int, col_offset: int) -> str:
    """Source text up to a node's start (ast offsets count UTF-8 bytes)."""
    lines = source.split("\n")
    last = lines[lineno - 1].encode("utf-8")[:col_offset].decode("utf-8")
    return "\n".join(lines[:lineno - 1] + [last])


def _function_stub(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    first = node.body[0]
    before = _text_before(source, first.lineno, first.col_offset).split("\n")
    header = "\n".join(before[start - 1:]).rstrip().split("\n")
    inline = before[-1].strip() != ""  # e.g. "def f(x): return x"
    indent = " " * (node.col_offset + 4 if inline else first.col_offset)
    body = []
    if ast.get_docstring(node, clean=False) is not None:
        body += (indent + _segment(source, first)).split("\n")
    return header + body + [indent + CODE_STUB, indent + "return None"]


# What each kind of top-level statement in an answer region leaves behind;
# any other statement is dropped.
STUBS = {
    ast.Assign: _assignment_stub,
    ast.AnnAssign: _assignment_stub,
    ast.FunctionDef: _function_stub,
    ast.AsyncFunctionDef: _function_stub,
}


def _stub(region: str) -> list[str]:
    """Stub lines (unindented) for one answer region's dedented source."""
    return [line for node in ast.parse(region).body
            for line in STUBS.get(type(node), lambda *_: [])(region, node)]


def _indent_of(lines: list[str], default: str) -> str:
    indents = [re.match(r"[ \t]*", line).group() for line in lines if line.strip()]
    return min(indents, key=len) if indents else default


def _strip_source(source: str, where: str) -> str:
    lines = source.split("\n")
    regions = _regions(lines, where)
    for begin, end in reversed(regions):
        body = lines[begin + 1:end]
        indent = _indent_of(body, default=re.match(r"[ \t]*", lines[begin]).group())
        try:
            stub = _stub(textwrap.dedent("\n".join(body)))
        except SyntaxError as error:
            raise ValueError(
                f"{where}, lines {begin + 2}-{end}: an answer region must hold whole "
                f"Python statements ({error.msg}, line {error.lineno} of the region)"
            ) from None
        if not stub:
            stub = [f"pass  {CODE_STUB}" if indent else CODE_STUB]
        lines[begin:end + 1] = [indent + line if line else line for line in stub]
    return "\n".join(lines)


def _compiles(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _hidden_regions(lines: list[str], where: str) -> list[tuple[int, int]]:
    """(begin, end) line indexes of each BEGIN/END HIDDEN TESTS pair."""
    regions, begin = [], None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker == HIDDEN_BEGIN and begin is None:
            begin = number
        elif marker == HIDDEN_END and begin is not None:
            regions.append((begin, number))
            begin = None
        elif marker in (HIDDEN_BEGIN, HIDDEN_END):
            raise ValueError(f"{where}, line {number + 1}: unmatched {marker!r}")
    if begin is not None:
        raise ValueError(f"{where}, line {begin + 1}: {HIDDEN_BEGIN!r} is never closed by {HIDDEN_END!r}")
    return regions


def _strip_markdown(source: str, where: str) -> str:
    """A Markdown cell with each answer region replaced by :data:`MARKDOWN_STUB` (a reflection to write).

    >>> _strip_markdown("Why?\\n### BEGIN SOLUTION\\nBecause.\\n### END SOLUTION", "cell")
    'Why?\\n*Your answer here.*'
    """
    lines = source.split("\n")
    for begin, end in reversed(_regions(lines, where)):
        lines[begin:end + 1] = [MARKDOWN_STUB]
    return "\n".join(lines)


def _strip_cell(cell, where: str, keep_hidden: bool = False):
    if cell.cell_type == "markdown":
        if any(line.strip() in (HIDDEN_BEGIN, HIDDEN_END) for line in cell.source.split("\n")):
            raise ValueError(f"{where}: hidden tests ({HIDDEN_BEGIN!r}) belong in a CHECK cell only")
        cell.source = _strip_markdown(cell.source, where)
        return cell
    if cell.cell_type != "code":
        return cell
    check = parse_check(cell.source)
    stripped = _strip_source(cell.source, where)
    if check is not None and stripped != cell.source:
        raise ValueError(f"{where}: CHECK {check.id} holds an answer region; the grader restores "
                         "CHECK cells verbatim, so put the answer in a cell before it")
    hidden = _hidden_regions(stripped.split("\n"), where)
    if hidden and check is None:
        raise ValueError(f"{where}: hidden tests ({HIDDEN_BEGIN!r}) belong in a CHECK cell only")
    if hidden and not keep_hidden:
        lines = stripped.split("\n")
        for begin, end in reversed(hidden):
            del lines[begin:end + 1]
        stripped = "\n".join(lines).rstrip("\n")
    if _compiles(cell.source) and not _compiles(stripped):
        raise ValueError(f"{where}: the stub does not parse; check the region's indentation")
    cell.source = stripped
    cell.outputs = []
    cell.execution_count = None
    cell.metadata.pop("execution", None)  # timestamps of the solution's run: noise in a blank exercise
    return cell


def strip_solutions(nb, *, name: str = "notebook", keep_hidden: bool = False):
    """A copy of a solution notebook with answers replaced by stubs and outputs cleared.

    The hidden part of each CHECK cell (between ``### BEGIN HIDDEN TESTS`` and
    ``### END HIDDEN TESTS``) is dropped too, unless ``keep_hidden`` (the
    grader's copy, which runs the whole check).

    >>> cell = nbformat.v4.new_code_cell("### BEGIN SOLUTION\\nrps = 10 * 3\\n### END SOLUTION")
    >>> strip_solutions(nbformat.v4.new_notebook(cells=[cell])).cells[0].source
    'rps = None  # your answer here'
    """
    out = copy.deepcopy(nb)
    _require_unique_checks(out, name)
    for index, cell in enumerate(out.cells):
        _strip_cell(cell, f"{name}, cell {index} (id {cell.get('id', '?')})", keep_hidden)
    return out


# ------------------------------------------------------------- files and CLI


def read_notebook(path: Path | str):
    """Read a notebook without inventing anything (cell ids must already be there).

    >>> read_notebook("solutions/01_single_server.ipynb")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable notebook ({error})") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        raise ValueError(f"{path}: not a version 4 notebook (nbformat={data.get('nbformat')!r})"
                         if isinstance(data, dict) else f"{path}: not a notebook (top level is not an object)")
    missing = [i for i, cell in enumerate(data.get("cells", [])) if "id" not in cell]
    if missing:
        raise ValueError(f"{path}: cells {missing[:5]} have no id; save it with JupyterLab 4 "
                         "(nbformat 4.5) so exercises keep stable cell ids")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        raise ValueError(f"{path}: not a valid notebook ({error.message})") from None
    return nb


def write_notebook(nb, path: Path | str) -> None:
    """Write a notebook byte-stably: nbformat's layout (indent 1, sorted keys), final newline."""
    text = nbformat.writes(nb)
    Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8", newline="\n")


def _notebook_text(nb) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def exercise_notebook(solution_path: Path | str):
    """The exercise notebook generated from one solution notebook (answers stripped, tagged).

    >>> exercise_notebook("solutions/01_single_server.ipynb").metadata["chapter1"]  # doctest: +SKIP
    {'chapter': '01_single_server', 'source': 'solutions/01_single_server.ipynb'}
    """
    path = Path(solution_path)
    nb = strip_solutions(read_notebook(path), name=str(path))
    nb.metadata[METADATA_KEY] = {"chapter": path.stem, "source": f"solutions/{path.name}"}
    return nb


def _solution_paths(solutions_dir: Path | str) -> list[Path]:
    folder = Path(solutions_dir)
    if not folder.is_dir():
        raise ValueError(f"solutions_dir {str(folder)!r} is not a folder; pass the folder "
                         "that holds the NN_topic.ipynb solution notebooks")
    return sorted(folder.glob("*.ipynb"))


def generate(solutions_dir: Path | str, exercises_dir: Path | str) -> list[Path]:
    """Regenerate ``exercises_dir/X.ipynb`` from every ``solutions_dir/X.ipynb``; return the paths written.

    >>> generate("solutions", "exercises")  # doctest: +SKIP
    [PosixPath('exercises/01_single_server.ipynb')]
    """
    out_dir = Path(exercises_dir)
    notebooks = [(path, exercise_notebook(path)) for path in _solution_paths(solutions_dir)]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, nb in notebooks:
        target = out_dir / path.name
        write_notebook(nb, target)
        written.append(target)
    return written


def out_of_sync(solutions_dir: Path | str, exercises_dir: Path | str) -> list[str]:
    """Describe each exercise notebook that differs from what its solution generates ([] if in sync).

    >>> out_of_sync("solutions", "exercises")  # doctest: +SKIP
    []
    """
    out_dir = Path(exercises_dir)
    problems = []
    sources = _solution_paths(solutions_dir)
    for path in sources:
        target = out_dir / path.name
        if not target.exists():
            problems.append(f"{target} is missing (generated from {path})")
        elif target.read_text(encoding="utf-8") != _notebook_text(exercise_notebook(path)):
            problems.append(f"{target} differs from what {path} generates")
    names = {path.name for path in sources}
    problems += [f"{extra} has no solution notebook {Path(solutions_dir) / extra.name}"
                 for extra in sorted(out_dir.glob("*.ipynb")) if extra.name not in names]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate exercises, or with ``--check`` list the out-of-sync ones."""
    parser = argparse.ArgumentParser(prog="python -m chapter1.exercises", description=__doc__.split("\n")[0])
    parser.add_argument("solutions", help="folder of solution notebooks (with answers)")
    parser.add_argument("exercises", help="folder of generated exercise notebooks")
    parser.add_argument("--check", action="store_true", help="only report out-of-sync files; exit 1 if any")
    parser.add_argument("--to", choices=["nbgrader"],
                        help="instead: `--to nbgrader DIR` writes nbgrader source notebooks (see grading/nbgrader.py)")
    if "--to" in (sys.argv[1:] if argv is None else argv):
        from chapter1.grading.nbgrader import main as export

        return export(argv)
    args = parser.parse_args(argv)
    if not args.check:
        return report_written(lambda: generate(args.solutions, args.exercises))
    try:
        problems = out_of_sync(args.solutions, args.exercises)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} exercise notebook(s) out of sync; run `make exercises`")
    return 1 if problems else 0


def report_written(write) -> int:
    """Run ``write()``, which returns the paths it wrote, and print them; on bad input print the error, exit 2."""
    try:
        for path in write():
            print(f"wrote {path}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
