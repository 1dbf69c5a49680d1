"""The course's own exercises: in sync with solutions/, full marks for solutions, zero for blanks."""

from __future__ import annotations

from pathlib import Path

import pytest

from chapter1.exercises import checks, out_of_sync, read_notebook
from chapter1.nbcheck import run_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR, EXERCISES_DIR = ROOT / "solutions", ROOT / "exercises"
SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 120


def test_solutions_folder_holds_notebooks():
    assert SOLUTIONS, (
        f"{SOLUTIONS_DIR} holds no notebook: each chapter's exercises are written as "
        "solutions/NN_topic.ipynb and generated with `make exercises`"
    )


def test_exercises_are_in_sync_with_solutions():
    problems = out_of_sync(SOLUTIONS_DIR, EXERCISES_DIR)
    assert problems == [], "\n".join(problems + ["run `make exercises` and commit exercises/"])


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.stem)
def test_every_solution_has_checks(solution):
    assert checks(read_notebook(solution)), f"{solution.name} has no '# CHECK <id> [<points> pts]' cell"


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.stem)
def test_solution_earns_full_marks(solution):
    expected = checks(read_notebook(solution))
    run = run_notebook(solution, timeout=CELL_TIMEOUT, expected=expected)
    failing = {key: c.message for key, c in run.checks.items() if not c.passed}
    assert run.error is None, run.error
    assert failing == {}, f"checks failing in {solution.name}: {failing}"
    assert [(c.cell, c.first_line, c.message) for c in run.other_failures] == []
    assert (run.score, run.max_score) == (sum(c.points for c in expected),) * 2


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.stem)
def test_blank_exercise_fails_every_check_and_nothing_else(solution):
    exercise = EXERCISES_DIR / solution.name
    expected = checks(read_notebook(solution))
    run = run_notebook(exercise, timeout=CELL_TIMEOUT, expected=expected)
    assert run.error is None, run.error
    passing = sorted(key for key, c in run.checks.items() if c.outcome != "failed")
    assert passing == [], f"checks of blank {exercise.name} that do not fail (vacuous?): {passing}"
    assert [(c.cell, c.first_line, c.message) for c in run.other_failures] == []
    assert run.score == 0
