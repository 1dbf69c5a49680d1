"""``python -m chapter1.exercises --to nbgrader DIR``, checked with nbgrader's own tools.

nbgrader is optional (``pip install -e '.[nbgrader]'``); the checks that need it skip with a message
when it is missing. ``CHAPTER1_NBGRADER_PYTHON`` may name a Python that has nbgrader (another venv),
so the course's own environment need not hold nbgrader's dependencies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chapter1.exercises import exercise_notebook, main
from chapter1.grading.nbgrader import to_nbgrader

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))


def nbgrader_python() -> str:
    given = os.environ.get("CHAPTER1_NBGRADER_PYTHON")
    if given:
        return given
    if importlib.util.find_spec("nbgrader") is not None:
        return sys.executable
    pytest.skip("nbgrader is not installed: pip install -e '.[nbgrader]' (or set CHAPTER1_NBGRADER_PYTHON "
                "to a Python that has it) to check the export with nbgrader's own tools")


def test_every_cell_gets_nbgrader_metadata():
    nb = to_nbgrader(nbformat.read(SOLUTIONS[0], as_version=4))
    metas = [cell.metadata["nbgrader"] for cell in nb.cells]
    assert len({m["grade_id"] for m in metas}) == len(metas)
    tests = [m for cell, m in zip(nb.cells, metas) if cell.source.startswith("# CHECK")]
    assert tests and all(m["grade"] and m["locked"] and m["points"] > 0 for m in tests)
    assert any(m["solution"] for m in metas)
    assert all(m["locked"] for m in metas if not (m["solution"] or m["grade"]))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The nbgrader course folder: exported source, then every chapter's student version generated."""
    python = nbgrader_python()
    folder = tmp_path_factory.mktemp("nbgrader")
    assert main(["--to", "nbgrader", str(folder), "--solutions", str(REPO / "solutions")]) == 0
    kernels = folder / "jupyter" / "kernels" / "python3"  # nbgrader's kernel: this environment's Python
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    env = {**os.environ, "JUPYTER_PATH": str(folder / "jupyter"),
           "PATH": os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")])}
    for solution in SOLUTIONS:
        done = subprocess.run([python, "-m", "nbgrader", "generate_assignment", solution.stem, "--force"],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    return folder, python, env


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_nbgraders_student_version_matches_the_exercise(course, solution):
    """Read-only cells and CHECK cells (hidden parts removed) are the exercise's; only answers differ
    (nbgrader writes ``raise NotImplementedError()`` where the course writes a runnable stub)."""
    folder, _, _ = course
    released = nbformat.read(folder / "release" / solution.stem / solution.name, as_version=4)
    exercise = exercise_notebook(solution)
    assert [c.get("id") for c in released.cells] == [c.get("id") for c in exercise.cells]
    for ours, theirs in zip(exercise.cells, released.cells):
        meta = theirs.metadata["nbgrader"]
        if meta["solution"]:
            continue
        assert theirs.source.rstrip() == ours.source.rstrip(), meta["grade_id"]
        assert "HIDDEN TESTS" not in theirs.source


def validate(course, notebook: Path, invert: bool) -> dict:
    folder, python, env = course
    script = ("import json, sys\nfrom nbgrader.validator import Validator\n"
              "results = Validator(invert=sys.argv[2] == 'invert').validate(sys.argv[1])\n"
              "print(json.dumps({k: [c['source'] for c in v] if isinstance(v, list) else v "
              "for k, v in results.items()}))")
    done = subprocess.run([python, "-c", script, str(notebook), "invert" if invert else "plain"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_nbgrader_validate_passes_the_solution_and_fails_every_check_of_the_blank(course):
    folder, _, _ = course
    chapter = SOLUTIONS[0].stem
    assert validate(course, folder / "source" / chapter / f"{chapter}.ipynb", invert=False) == {}
    blank = validate(course, folder / "release" / chapter / f"{chapter}.ipynb", invert=True)
    # A reflection (Markdown, 0 points, graded by hand) counts as "passed" for nbgrader; no CHECK may.
    assert not [source for source in blank.get("passed", []) if source.startswith("# CHECK")], blank
