"""Notebooks are UTF-8 whatever the platform's default text encoding (Windows: cp1252).

Course text and learners' answers hold non-ASCII characters (Korean terms, "é", "→"). Python's default
encoding for files opened without one is the platform's; here that default is made cp1252, as on a
Windows machine, so a reader or writer that forgot ``encoding="utf-8"`` would garble the notebook.
"""

from __future__ import annotations

import io
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from chapter1.grading import exercises as ex
from chapter1.grading.submissions import _read_submission

TEXT = "# 로드밸런서 (load balancer) → café"


@pytest.fixture(autouse=True)
def windows_default(monkeypatch):
    """Files opened through pathlib without an encoding use cp1252."""
    original = io.text_encoding
    monkeypatch.setattr(io, "text_encoding", lambda encoding, stacklevel=2: original(encoding) if encoding
                        else "cp1252")


def notebook():
    return new_notebook(cells=[new_code_cell(f"### BEGIN SOLUTION\nx = '{TEXT}'\n### END SOLUTION", id="a")])


def test_a_notebook_is_written_and_read_back_as_utf8(tmp_path):
    path = tmp_path / "01_x.ipynb"
    ex.write_notebook(notebook(), path)
    assert TEXT in "".join(json.loads(path.read_bytes().decode("utf-8"))["cells"][0]["source"])
    assert TEXT in ex.read_notebook(path).cells[0].source


def test_a_submission_in_utf8_is_read_as_written(tmp_path):
    path = tmp_path / "ann.ipynb"
    path.write_bytes(nbformat.writes(notebook()).encode("utf-8"))
    assert TEXT in _read_submission(path).cells[0].source


def test_exercises_generated_from_utf8_solutions_are_in_sync(tmp_path):
    (tmp_path / "solutions").mkdir()
    nb = notebook()
    nb.cells.insert(0, new_code_cell(f"title = '{TEXT}'", id="t"))
    ex.write_notebook(nb, tmp_path / "solutions" / "01_x.ipynb")
    ex.generate(tmp_path / "solutions", tmp_path / "exercises")
    assert ex.out_of_sync(tmp_path / "solutions", tmp_path / "exercises") == []
    assert TEXT in (tmp_path / "exercises" / "01_x.ipynb").read_bytes().decode("utf-8")
