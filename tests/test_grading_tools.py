"""The instructor's tools around the grader, without nbgrader and without a kernel.

The nbgrader export (chapter1.grading.nbgrader): every cell's nbgrader metadata, grade ids that nbgrader
accepts, the files written (tests/test_nbgrader_export.py checks the result with nbgrader itself). The
notebook executor (chapter1.grading.execute) with nbclient's client replaced by one that fills in outputs:
what is written back, and what happens when a cell raises. The exercise generator's help and its
copy of a CHECK cell's visible part.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from chapter1.grading import execute as executing
from chapter1.grading import exercises, nbgrader, submissions
from chapter1.grading.nbgrader import _grade_id, export, to_nbgrader


def solution():
    answer = new_code_cell("x = 0\n  ### BEGIN SOLUTION  \nx = 1\n### END SOLUTION", id="answer",
                           execution_count=3, outputs=[new_output("stream", text="1")])
    return new_notebook(cells=[
        new_markdown_cell("# Title", id="title"),
        answer,
        new_code_cell("# CHECK 1.1 [2 pts]\nassert x == 1", id="check"),
        new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", id="why"),
        new_code_cell("print('x ### BEGIN SOLUTION')", id="plain"),
        new_raw_cell("### BEGIN SOLUTION", id="raw"),
        new_code_cell("# CHECK 1.2\nassert True", id="check-1_1"),
    ])


def test_each_kind_of_cell_gets_its_nbgrader_role():
    original = solution()
    out = to_nbgrader(original)
    metas = [cell.metadata["nbgrader"] for cell in out.cells]
    assert metas == [
        {"grade": False, "solution": False, "locked": True, "grade_id": "title", "schema_version": 3},
        {"grade": False, "solution": True, "locked": False, "grade_id": "answer", "schema_version": 3},
        {"grade": True, "solution": False, "locked": True, "grade_id": "check-1_1", "schema_version": 3, "points": 2},
        {"grade": True, "solution": True, "locked": False, "grade_id": "why", "schema_version": 3, "points": 0},
        {"grade": False, "solution": False, "locked": True, "grade_id": "plain", "schema_version": 3},
        {"grade": False, "solution": False, "locked": True, "grade_id": "raw", "schema_version": 3},
        {"grade": True, "solution": False, "locked": True, "grade_id": "check-1_2", "schema_version": 3,
         "points": 1}]
    assert [list(meta) for meta in metas][2] == ["grade", "solution", "locked", "grade_id", "schema_version",
                                                 "points"]
    assert (out.cells[1].outputs, out.cells[1].execution_count) == ([], None)  # a clean source notebook
    assert out.cells[1].source == original.cells[1].source
    assert "nbgrader" not in original.cells[0].metadata and original.cells[1].execution_count == 3
    nbformat.validate(out)


def test_grade_ids_are_unique_and_use_only_the_characters_nbgrader_accepts():
    taken = set()
    assert [_grade_id(text, taken) for text in ("check-1_1", "check-1_1", "check-1_1", "a.b c/é", "", "")] == [
        "check-1_1", "check-1_1-2", "check-1_1-3", "a-b-c--", "cell", "cell-2"]
    assert taken == {"check-1_1", "check-1_1-2", "check-1_1-3", "a-b-c--", "cell", "cell-2"}
    nb = new_notebook(cells=[new_code_cell("a", id="x"), new_code_cell("b", id="y")])
    nb.nbformat_minor = 4  # cells without ids
    del nb.cells[1]["id"]
    assert [c.metadata["nbgrader"]["grade_id"] for c in to_nbgrader(nb).cells] == ["x", "cell-1"]


def test_the_export_writes_one_assignment_per_chapter(tmp_path, capsys, monkeypatch):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    for name in ("02_b", "01_a"):
        nbformat.write(solution(), solutions / f"{name}.ipynb")
    (solutions / "notes.md").write_text("not a notebook")
    course = tmp_path / "course"
    assert export(solutions, course) == [course / "source" / "01_a" / "01_a.ipynb",
                                         course / "source" / "02_b" / "02_b.ipynb"]
    written = nbformat.read(course / "source" / "01_a" / "01_a.ipynb", as_version=4)
    assert written.cells[2].metadata["nbgrader"]["points"] == 2
    assert (course / "source" / "01_a" / "01_a.ipynb").read_text().endswith("}\n")
    assert export(solutions, course) == [course / "source" / "01_a" / "01_a.ipynb",
                                         course / "source" / "02_b" / "02_b.ipynb"]  # again, over the first
    assert nbgrader.main(["--to", "nbgrader", str(tmp_path / "out"), "--solutions", str(solutions)]) == 0
    assert capsys.readouterr().out == (f"wrote {tmp_path / 'out' / 'source' / '01_a' / '01_a.ipynb'}\n"
                                       f"wrote {tmp_path / 'out' / 'source' / '02_b' / '02_b.ipynb'}\n")
    with pytest.raises(SystemExit):
        nbgrader.main([str(tmp_path / "out")])  # --to is required
    monkeypatch.setattr(submissions, "DEFAULT_SOLUTIONS", solutions)  # the course's own, when none is given
    assert nbgrader.main(["--to", "nbgrader", str(tmp_path / "default")]) == 0
    assert (tmp_path / "default" / "source" / "02_b" / "02_b.ipynb").exists()


class Client:
    """Stands in for nbclient's NotebookClient: 'runs' each code cell by giving it an output and an
    execution timestamp, or raises as a failing cell would."""

    made = []

    def __init__(self, notebook, **options):
        self.notebook, self.options = notebook, options
        Client.made.append(self)

    def execute(self):
        for number, cell in enumerate(c for c in self.notebook.cells if c.cell_type == "code"):
            if "raise" in cell.source:
                raise CellExecutionError("ValueError: boom", "ValueError", "boom")
            cell.outputs = [new_output("stream", text=f"ran {number}\n")]
            cell.execution_count = number + 1
            cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00"}


@pytest.fixture
def client(monkeypatch):
    Client.made = []
    monkeypatch.setattr(executing, "NotebookClient", Client)
    return Client


def test_a_notebook_is_written_back_with_its_outputs_and_no_timestamps(client, tmp_path):
    path = tmp_path / "book" / "01.ipynb"
    path.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_markdown_cell("# A", id="a"), new_code_cell("x = 1", id="b")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "P"}}), path)
    executing.execute(str(path), timeout=42)
    written = nbformat.read(path, as_version=4)
    assert written.cells[1].outputs[0].text == "ran 0\n" and written.cells[1].execution_count == 1
    assert "execution" not in written.cells[1].metadata
    [made] = client.made
    assert made.options == {"timeout": 42, "kernel_name": "python3", "store_widget_state": True,
                            "resources": {"metadata": {"path": str(path.parent)}}}


def test_a_cell_that_raises_leaves_its_notebook_unwritten_and_the_others_run(client, tmp_path, capsys):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("raise ValueError('boom')", id="a")]), bad)
    nbformat.write(new_notebook(cells=[new_code_cell("y = 2", id="a")]), good)
    before = bad.read_bytes()
    assert executing.main([str(bad), str(good), "--timeout", "5"]) == 1
    out, err = capsys.readouterr()
    assert out == f"== {bad}\n== {good}\n"
    assert err.startswith(f"{bad}: a cell raised an error; the notebook was not written\n")
    assert bad.read_bytes() == before and nbformat.read(good, as_version=4).cells[0].execution_count == 1
    assert [made.options["timeout"] for made in client.made] == [5, 5]
    assert executing.main([str(good)]) == 0 and client.made[-1].options["timeout"] == 600
    executing.execute(good)
    assert client.made[-1].options["timeout"] == 600  # ten minutes a cell, unless told otherwise


@pytest.mark.parametrize("main, phrases", [
    (nbgrader.main, ["usage: python -m chapter1.exercises --to nbgrader ",
                     "Export the course's exercises as nbgrader source notebooks, for instructors who grade with "
                     "nbgrader.", "DIR nbgrader course folder (source/<chapter>/ is written)",
                     "--to {nbgrader} the format to write", "--solutions SOLUTIONS the course's solution notebooks"]),
    (executing.main, ["usage: python -m chapter1.grading.execute ",
                      "Execute notebooks in place, as they are committed: outputs and widget state kept, no "
                      "timestamps.", "--timeout TIMEOUT seconds a cell may run (default 600)"]),
])
def test_the_tools_say_how_they_are_called(main, phrases, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in phrases:
        assert phrase in text
    assert f"{phrases[1]} positional arguments:" in text  # the docstring's first line only


def test_the_generator_says_in_one_line_what_it_does(capsys):
    with pytest.raises(SystemExit):
        exercises.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ("Exercise notebooks: generate them from solution notebooks and read their CHECK cells. positional "
            "arguments:") in text  # the first line of the module's docstring, not all of it


def test_an_exercise_keeps_the_visible_part_of_a_check_as_written():
    source = "# CHECK 1.1\nassert rps > 0  \n### BEGIN HIDDEN TESTS\nassert rps == 100\n### END HIDDEN TESTS\n\n"
    nb = exercises.strip_solutions(new_notebook(cells=[new_code_cell(source, id="c")]))
    assert nb.cells[0].source == "# CHECK 1.1\nassert rps > 0  "  # only the blank lines after it are dropped
