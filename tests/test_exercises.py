"""The course's own exercises: in sync with solutions/, full marks for solutions, zero for blanks.

The notebooks go through the grader (``chapter1.grade``), as a learner's would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chapter1.exercises import checks, out_of_sync, read_notebook
from chapter1.grade import Course, Settings, Submission, grade_submission

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR, EXERCISES_DIR = ROOT / "solutions", ROOT / "exercises"
SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*.ipynb"))
SETTINGS = Settings(timeout=120, total_timeout=900)


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


def graded(path: Path):
    result = grade_submission(Submission(path.parent.name, path, str(path)), Course(SOLUTIONS_DIR), SETTINGS)
    assert (result.status, result.chapter) == ("graded", path.stem), result.message
    return result


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.stem)
def test_solution_earns_full_marks(solution):
    result = graded(solution)
    failing = {key: c.message for key, c in result.run.checks.items() if not c.passed}
    assert failing == {}, f"checks failing in {solution.name}: {failing}"
    assert [(c.first_line, c.message) for c in result.run.other_failures] == []
    assert result.total == result.maximum == sum(c.points for c in checks(read_notebook(solution)))
    assert result.notes == []


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.stem)
def test_blank_exercise_fails_every_check_and_nothing_else(solution):
    exercise = EXERCISES_DIR / solution.name
    result = graded(exercise)
    passing = sorted(key for key, c in result.run.checks.items() if c.outcome != "failed")
    assert passing == [], f"checks of blank {exercise.name} that do not fail (vacuous?): {passing}"
    assert [(c.first_line, c.message) for c in result.run.other_failures] == []
    assert result.total == 0 and result.notes == []
