"""A toy course for the grader's kernel-free tests: one chapter, three checks worth 2, 1 and 3 points.

The solution notebook is written to a temporary folder and exercises are generated from it, per test
(a few milliseconds), so every test runs the generator and the course reader itself.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chapter1.grading import exercises as ex
from chapter1.grading.submissions import Course

CHAPTER = "01_toy"


def code(source: str, cell_id: str):
    return new_code_cell(textwrap.dedent(source).strip("\n"), id=cell_id)


def solution():
    return new_notebook(cells=[
        new_markdown_cell("# Toy\nWhy?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", id="intro"),
        code("DAY = 86_400", "setup"),
        code("### BEGIN SOLUTION\nrps = 864_000 * 10 / DAY\n### END SOLUTION", "rps-answer"),
        code("# CHECK 1.1 [2 pts]\nassert rps > 0\n### BEGIN HIDDEN TESTS\nassert rps == 100\n"
             "### END HIDDEN TESTS", "check-1-1"),
        code("### BEGIN SOLUTION\ndef peak(rate):\n    return 3 * rate\n### END SOLUTION", "peak-answer"),
        code("# CHECK 1.2\nassert peak(10) == 30", "check-1-2"),
        code("### BEGIN SOLUTION\nservers, = [8]\n### END SOLUTION", "servers-answer"),
        code("# CHECK 1.3 [3 pts]\nassert servers == 8", "check-1-3"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture
def course_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    nbformat.write(solution(), root / "solutions" / f"{CHAPTER}.ipynb")
    ex.generate(root / "solutions", root / "exercises")
    return root / "solutions", root / "exercises"


@pytest.fixture
def course(course_dirs):
    return Course(course_dirs[0])


@pytest.fixture
def chapter(course):
    return course.chapter(CHAPTER)


def exercise(course_dirs):
    return nbformat.read(course_dirs[1] / f"{CHAPTER}.ipynb", as_version=4)


def by_id(nb):
    return {cell.id: cell.source for cell in nb.cells}
