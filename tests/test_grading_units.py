"""The grader's reading and restoring without a kernel: exercise stubs, CHECK headers, restored CHECK cells.

The toy chapter of ``grading_toy`` (three checks worth 2, 1 and 3 points) is generated into an
exercise, edited as a learner would, and restored, so every step a learner or instructor sees is
checked in well under a second per test. Points, gradebook and feedback: test_grading_gradebook.py.
"""

from __future__ import annotations

from pathlib import Path

import grading_toy
import nbformat
import pytest
from grading_toy import CHAPTER, by_id, code, exercise, solution
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from chapter1.grading import exercises as ex
from chapter1.grading.submissions import (
    Course,
    GradingError,
    _read_submission,
    _unique_id,
    find_submissions,
    identify_chapter,
    note_text,
    notes_summary,
    restore_checks,
)

course_dirs, course, chapter = grading_toy.course_dirs, grading_toy.course, grading_toy.chapter  # the toy course


@pytest.mark.parametrize("answer, stub", [
    ("rps = 10 * 3", "rps = None  # your answer here"),
    ("x, = f()", "x, = None,  # your answer here"),
    ("first, *rest = f()", "first, *rest = None,  # your answer here"),
    ("[only] = f()", "[only] = None,  # your answer here"),
    ("(a, b), c = f()", "(a, b), c = (None, None), None  # your answer here"),
    ("a, (b,) = f()", "a, (b,) = None, (None,)  # your answer here"),
    ("a = b = 3", "a = b = None  # your answer here"),
    ("a, b = c, d = f()", "a, b = c, d = None, None  # your answer here"),
    ("whole = b, c = f()", "whole = b, c = None, None  # your answer here"),
    ("total: int = 3", "total: int = None  # your answer here"),
    ("total: int", "# your code here"),
    ("import math\nprint(math.pi)", "# your code here"),
    ("def f(x): return x", "def f(x):\n    # your code here\n    return None"),
    ("def f(s='é→'): return s", "def f(s='é→'):\n    # your code here\n    return None"),
    ("class A:\n    pass\nwith open('x') as f:\n    pass", "# your code here"),
    ("@cache\ndef f(x):\n  '''Doc.'''\n  return x",
     "@cache\ndef f(x):\n  '''Doc.'''\n  # your code here\n  return None"),
    ("async def g():\n    await h()", "async def g():\n    # your code here\n    return None"),
])
def test_an_answer_region_becomes_a_stub_that_runs(answer, stub):
    cell = new_code_cell(f"### BEGIN SOLUTION\n{answer}\n### END SOLUTION", id="a")
    out = ex.strip_solutions(new_notebook(cells=[cell]))
    assert out.cells[0].source == stub
    namespace = {"cache": lambda f: f}
    exec(stub, namespace)  # a blank exercise runs clean
    assert all(namespace.get(name) is None for name in ("rps", "x", "first", "only", "a", "b", "c", "d"))
    assert namespace.get("rest", []) == []


def test_an_indented_region_keeps_its_indentation_and_an_empty_one_passes():
    source = "for i in range(3):\n    ### BEGIN SOLUTION\n    total = i\n    ### END SOLUTION\nprint(1)"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "for i in range(3):\n    total = None  # your answer here\nprint(1)"
    source = "if True:\n    ### BEGIN SOLUTION\n    ### END SOLUTION"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "if True:\n    pass  # your code here"
    source = "for i in r:\n    ### BEGIN SOLUTION\n    if i:\n        total = i\n    ### END SOLUTION"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "for i in r:\n    pass  # your code here"
    source = ("class A:\n    ### BEGIN SOLUTION\n    def f(self):\n        '''Doc.\n\n        More.'''\n"
              "        return 1\n    ### END SOLUTION")
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "class A:\n    def f(self):\n        '''Doc.\n\n        More.'''\n        # your code here\n        return None"
    source = "x = 1\n### BEGIN SOLUTION\n\n### END SOLUTION"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "x = 1\n# your code here"


def test_a_cell_with_two_regions_keeps_the_code_between_them():
    source = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n### BEGIN SOLUTION\nc = 3\n### END SOLUTION"
    out = ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0]
    assert out.source == "a = None  # your answer here\nb = 2\nc = None  # your answer here"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "nb, cell 0 (id a), line 2: '### BEGIN SOLUTION' inside another region"),
    ("x = 1\n### END SOLUTION", "nb, cell 0 (id a), line 2: '### END SOLUTION' without a '### BEGIN SOLUTION'"),
    ("x = 1\n### BEGIN SOLUTION\nx = 2", "line 2: '### BEGIN SOLUTION' is never closed by '### END SOLUTION'"),
    ("### BEGIN SOLUTION\nx = (\n### END SOLUTION", "lines 2-2: an answer region must hold whole Python"),
    ("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS",
     "hidden tests ('### BEGIN HIDDEN TESTS') belong in a CHECK cell"),
    ("# CHECK 1.1\n### BEGIN HIDDEN TESTS\nassert x", "nb, cell 0 (id a), line 2: '### BEGIN HIDDEN TESTS' is never"),
    ("# CHECK 1.1\n### END HIDDEN TESTS", "nb, cell 0 (id a), line 2: unmatched '### END HIDDEN TESTS'"),
    ("# CHECK 1.1\n### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS", "line 3: unmatched '### BEGIN HIDDEN"),
    ("# CHECK 1.1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "nb, cell 0 (id a): CHECK 1.1 holds an answer "
     "region; the grader restores CHECK cells verbatim, so put the answer in a cell before it"),
])
def test_malformed_markers_are_refused_with_where_they_are(source, message):
    with pytest.raises(ValueError) as refused:
        ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")]), name="nb")
    assert message in str(refused.value)


def test_an_error_names_the_notebook_cell_and_its_id():
    with pytest.raises(ValueError, match=r"^notebook, cell 1 \(id b\), line 1: '### END SOLUTION' without"):
        ex.strip_solutions(new_notebook(cells=[new_code_cell("x = 1", id="a"), new_code_cell("### END SOLUTION",
                                                                                          id="b")]))


def test_hidden_tests_leave_the_exercise_and_stay_in_the_graders_copy():
    source = "# CHECK 1.1\nassert x > 0\n### BEGIN HIDDEN TESTS\nassert x == 4\n### END HIDDEN TESTS\n\n"
    nb = new_notebook(cells=[new_code_cell(source, id="c", execution_count=3, outputs=[{"output_type": "stream",
                                                                                         "name": "stdout",
                                                                                         "text": "hi"}])])
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026"}
    nb.cells[0].metadata["tags"] = ["keep"]
    public = ex.strip_solutions(nb).cells[0]
    assert public.source == "# CHECK 1.1\nassert x > 0"
    assert public.outputs == [] and public.execution_count is None
    assert public.metadata == {"tags": ["keep"]}
    assert ex.strip_solutions(nb, keep_hidden=True).cells[0].source == source
    assert nb.cells[0].outputs and nb.cells[0].execution_count == 3  # the solution itself is untouched


def test_markdown_answers_become_a_placeholder_and_raw_cells_stay():
    nb = new_notebook(cells=[new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION\nEnd.", id="m"),
                             new_raw_cell("### BEGIN SOLUTION", id="r")])
    out = ex.strip_solutions(nb)
    assert [c.source for c in out.cells] == ["Why?\n*Your answer here.*\nEnd.", "### BEGIN SOLUTION"]
    with pytest.raises(ValueError, match=r"^ch, cell 0 \(id m\), line 2: '### BEGIN SOLUTION' is never closed"):
        ex.strip_solutions(new_notebook(cells=[new_markdown_cell("Why?\n### BEGIN SOLUTION", id="m")]), name="ch")
    for marker in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
        with pytest.raises(ValueError, match="belong in a CHECK cell only"):
            ex.strip_solutions(new_notebook(cells=[new_markdown_cell(f"Why?\n  {marker}", id="m")]))


def test_check_headers_are_read_or_refused():
    assert ex.parse_check("\n# CHECK 1.2 [2 pts]\nassert x") == ex.Check("1.2", 2)
    assert ex.parse_check("#CHECK q3 [1 pt]") == ex.Check("q3", 1)
    assert ex.parse_check("# CHECK a-b_c.d") == ex.Check("a-b_c.d", 1)
    assert ex.parse_check("# CHECK 1.5 [ 10 pts ]  ") == ex.Check("1.5", 10)
    assert ex.parse_check("x = 1\n# CHECK 1.1") is None
    assert ex.parse_check("\n  \n# CHECK 1.1") is None and ex.parse_check("X# CHECK 1.1") is None
    assert ex.parse_check("# CHECKS are below") is None and not ex.looks_like_check("# CHECKS")
    assert ex.looks_like_check("  # CHECK oops") and not ex.looks_like_check("x = 1  # CHECK")
    with pytest.raises(ValueError) as refused:
        ex.parse_check("# CHECK 1.2 [two pts]")
    assert str(refused.value) == ("malformed CHECK header '# CHECK 1.2 [two pts]': write '# CHECK <id>' or "
                                  "'# CHECK <id> [<points> pts]', e.g. '# CHECK 1.2 [2 pts]'")


def test_check_ids_must_be_unique_in_a_notebook():
    cells = [new_code_cell(f"# CHECK {i}", id=f"c{n}") for n, i in enumerate(["1.1", "1.2", "1.1", "1.2", "1.3"])]
    with pytest.raises(ValueError) as refused:
        ex.strip_solutions(new_notebook(cells=cells), name="ch")
    assert str(refused.value) == "ch: CHECK ids must be unique in a notebook; repeated: 1.1, 1.2"
    assert ex.checks(new_notebook(cells=cells[:2] + [new_markdown_cell("# CHECK 9")])) == [("1.1", 1), ("1.2", 1)]


def test_generated_exercise_is_tagged_and_stays_in_sync(course_dirs, tmp_path, capsys):
    solutions, exercises = course_dirs
    nb = exercise(course_dirs)
    assert nb.metadata["chapter1"] == {"chapter": CHAPTER, "source": f"solutions/{CHAPTER}.ipynb"}
    assert by_id(nb)["servers-answer"] == "servers, = None,  # your answer here"
    assert (exercises / f"{CHAPTER}.ipynb").read_text().endswith("}\n")
    assert ex.out_of_sync(solutions, exercises) == []
    assert ex.main([str(solutions), str(exercises), "--check"]) == 0
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "99_extra.ipynb").write_text("{}")
    problems = ex.out_of_sync(solutions, stale)
    assert problems == [f"{stale / (CHAPTER + '.ipynb')} is missing (generated from {solutions / CHAPTER}.ipynb)",
                        f"{stale / '99_extra.ipynb'} has no solution notebook {solutions / '99_extra.ipynb'}"]
    capsys.readouterr()
    assert ex.main([str(solutions), str(stale), "--check"]) == 1
    summary = "2 exercise notebook(s) out of sync; run `make exercises`"
    assert capsys.readouterr().out == "\n".join([*problems, summary]) + "\n"
    (stale / f"{CHAPTER}.ipynb").write_text((exercises / f"{CHAPTER}.ipynb").read_text().replace("None", "0"))
    assert f"{stale / (CHAPTER + '.ipynb')} differs from what" in ex.out_of_sync(solutions, stale)[0]
    fresh = tmp_path / "new" / "fresh"
    assert ex.main([str(solutions), str(fresh)]) == 0
    assert ex.main([str(solutions), str(fresh)]) == 0  # again, into the folder now there
    assert capsys.readouterr().out == f"wrote {fresh / (CHAPTER + '.ipynb')}\n" * 2
    assert ex.out_of_sync(solutions, fresh) == []
    assert ex.main([str(tmp_path / "none"), str(stale), "--check"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert ex.main([str(tmp_path / "none"), str(stale)]) == 2
    assert capsys.readouterr().err == (f"error: solutions_dir {str(tmp_path / 'none')!r} is not a folder; pass the "
                                       "folder that holds the NN_topic.ipynb solution notebooks\n")


@pytest.mark.parametrize("text, message", [
    ("not json", "not a readable notebook"),
    ("[1]", "not a notebook (top level is not an object)"),
    ('{"nbformat": 3}', "not a version 4 notebook (nbformat=3)"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid notebook"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "cells [0] have no id"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"id": "a", "cell_type": "code"}]}',
     "not a valid notebook"),
])
def test_a_broken_solution_notebook_is_named(tmp_path, text, message):
    """The author reads which file is broken and why."""
    path = tmp_path / "bad.ipynb"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        ex.read_notebook(path)


def test_a_clean_submission_is_restored_without_notes(chapter, course_dirs):
    nb = exercise(course_dirs)
    restored, notes = restore_checks(nb, chapter)
    assert notes == []
    assert [c.id for c in restored.cells] == [c.id for c in nb.cells]
    assert "assert rps == 100" in by_id(restored)["check-1-1"]  # the hidden part is back
    assert restored.metadata == {"kernelspec": solution().metadata.kernelspec, "chapter1": {"chapter": CHAPTER}}


def test_an_edited_check_is_replaced_and_noted(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells[5].source = "# CHECK 1.2\nassert True"
    nb.cells[5].outputs = [{"output_type": "stream", "name": "stdout", "text": "forged"}]
    nb.cells[5].metadata["tags"] = ["raises-exception"]
    restored, notes = restore_checks(nb, chapter)
    assert notes == [("edited", "1.2")]
    assert by_id(restored)["check-1-2"] == "# CHECK 1.2\nassert peak(10) == 30"
    assert all(not c.get("outputs") and not c.metadata for c in restored.cells)


def test_a_deleted_check_is_put_back_after_the_cell_before_it(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells = [c for c in nb.cells if c.id not in ("check-1-2", "check-1-1")]
    restored, notes = restore_checks(nb, chapter)
    assert notes == [("missing", "1.1"), ("missing", "1.2")]
    assert [c.id for c in restored.cells] == [c.id for c in exercise(course_dirs).cells]


def test_a_deleted_check_with_nothing_before_it_goes_last(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells = [c for c in nb.cells if c.id in ("check-1-2",)]
    for cell in nb.cells:
        cell.id = "renamed"
    restored, notes = restore_checks(nb, chapter)
    assert [c.id for c in restored.cells] == ["check-1-2", "check-1-3", "check-1-1"]
    assert ("missing", "1.1") in notes and ("no-answer", "1.2") in notes


def test_unknown_and_malformed_check_cells_are_dropped_not_fatal(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells.insert(2, new_code_cell("# CHECK 9.9 [50 pts]\nassert True", id="mine"))
    nb.cells.insert(3, new_code_cell("# CHECK oops [lots]\nassert True", id="mine2"))
    restored, notes = restore_checks(nb, chapter)
    assert notes == [("unknown", "'# CHECK 9.9 [50 pts]'"), ("unknown", "'# CHECK oops [lots]'")]
    assert "mine" not in by_id(restored) and "mine2" not in by_id(restored)
    assert note_text(notes[0]) == "dropped a cell headed '# CHECK 9.9 [50 pts]': not one of this chapter's checks"


def test_of_two_copies_the_one_after_the_answer_is_kept(chapter, course_dirs):
    nb = exercise(course_dirs)
    early = new_code_cell("# CHECK 1.3 [3 pts]\nassert True", id="early")
    nb.cells.insert(1, early)
    restored, notes = restore_checks(nb, chapter)
    assert notes == [("copy", "1.3")]
    assert [c.id for c in restored.cells if "CHECK 1.3" in c.source] == ["check-1-3"]
    nb = exercise(course_dirs)
    nb.cells = [c for c in nb.cells if c.id != "servers-answer"] + [new_code_cell("# CHECK 1.3 [3 pts]", id="z")]
    restored, notes = restore_checks(nb, chapter)  # no answer cell: the last copy is kept
    assert [c.id for c in restored.cells][-2:] == ["check-1-2", "check-1-3"]  # the course's cell, last
    assert notes == [("copy", "1.3"), ("edited", "1.3"), ("no-answer", "1.3")]


@pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning")  # a notebook as nbformat 4.4 wrote it
def test_a_missing_answer_cell_is_noted_by_id_or_by_shape(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells = [c for c in nb.cells if c.id != "peak-answer"]
    assert restore_checks(nb, chapter)[1] == [("no-answer", "1.2")]
    nb = exercise(course_dirs)
    for cell in nb.cells:
        del cell["id"]
    assert restore_checks(nb, chapter)[1] == []
    shaped = [c for c in nb.cells if "servers, = None" not in c.source]  # a later answer gone
    shaped.insert(5, new_markdown_cell("# CHECK 1.2\nnotes"))  # a Markdown cell headed like a check is no check
    del shaped[5]["id"]
    nb.cells = shaped
    assert restore_checks(nb, chapter)[1] == [("no-answer", "1.3")]
    nb.cells = [c for c in nb.cells if "rps = None" not in c.source]
    nb.cells[1].source = "   "
    assert restore_checks(nb, chapter)[1] == [("no-answer", "1.1"), ("no-answer", "1.3")]


def test_restored_cell_ids_are_valid_and_unique():
    taken = {"a"}
    assert _unique_id("a", {"a", "b"}, "b") == "b-2"
    assert _unique_id(None, set(), "Check 1.2") == "Check-1-2"
    assert _unique_id("b", taken, "x") == "b"
    assert _unique_id("a", taken, "cell 3!") == "cell-3-"
    assert _unique_id("a", taken, "cell 3!") == "cell-3--2"
    assert _unique_id(None, taken, "cell 3!") == "cell-3--3"
    assert _unique_id("x" * 65, taken, "y" * 70) == "y" * 60
    assert _unique_id("z" * 64, set(), "f") == "z" * 64
    assert taken == {"a", "b", "cell-3-", "cell-3--2", "cell-3--3", "y" * 60}
    assert _unique_id("a", {"a", "f", "f-2"}, "f") == "f-3"


def test_notes_read_as_sentences_and_sum_up_by_kind():
    assert note_text(("edited", "1.2")) == "CHECK 1.2 had been edited; the original check was used"
    assert note_text(("copy", "1.2")) == "dropped a second copy of CHECK 1.2"
    assert note_text(("no-answer", "1.3")) == "the answer cell before CHECK 1.3 is missing"
    notes = [("no-answer", "1.3"), ("copy", "1.1"), ("unknown", "'# CHECK x'"), ("copy", "1.2")]
    assert notes_summary(notes) == ["dropped copies of CHECK 1.1, 1.2", "dropped unknown CHECK cells '# CHECK x'",
                                    "answer cells missing before CHECK 1.3"]
    assert notes_summary([]) == []


def test_the_chapter_comes_from_metadata_then_the_file_name():
    nb = new_notebook(metadata={"chapter1": {"chapter": "02_other"}})
    assert identify_chapter(nb, Path("01_toy.ipynb"), [CHAPTER]) == "02_other"
    plain = new_notebook(metadata={"chapter1": "junk"})
    assert identify_chapter(plain, Path("ann-01_toy.ipynb"), [CHAPTER, "02_x"]) == CHAPTER
    with pytest.raises(GradingError) as none:
        identify_chapter(new_notebook(), Path("ann.ipynb"), ["02_x", CHAPTER])
    assert str(none.value) == ("cannot tell the chapter: no 'chapter1.chapter' metadata, and the file name "
                               "'ann.ipynb' names none of 01_toy, 02_x")
    with pytest.raises(GradingError, match="names more than one of 01_to, 01_toy"):
        identify_chapter(new_notebook(metadata={"chapter1": {"chapter": ""}}), Path("01_toy.ipynb"),
                         ["01_toy", "01_to"])


def test_paths_expand_into_one_submission_per_notebook(tmp_path):
    student = tmp_path / "ann"
    student.mkdir()
    (student / "a.ipynb").write_text("{}")
    (student / "notes.txt").write_text("")
    (student / ".ipynb_checkpoints").mkdir()
    (student / ".ipynb_checkpoints" / "a.ipynb").write_text("{}")
    klass = tmp_path / "class"
    for name in ("bo", "cy"):
        (klass / name).mkdir(parents=True)
        (klass / name / f"{name}.ipynb").write_text("{}")
    (klass / "bo" / "deep").mkdir()
    (klass / "bo" / "deep" / "b.ipynb").write_text("{}")
    (klass / "dee" / "week1").mkdir(parents=True)  # a student whose notebooks are all in a subfolder
    (klass / "dee" / "week1" / "d.ipynb").write_text("{}")
    (klass / "empty").mkdir()
    (tmp_path / "nobody").mkdir()
    found = find_submissions([student, klass, tmp_path / "nobody", "loose.ipynb"])
    assert [(s.student, Path(s.label).name) for s in found] == [
        ("ann", "a.ipynb"), ("bo", "bo.ipynb"), ("bo", "b.ipynb"), ("cy", "cy.ipynb"), ("dee", "d.ipynb"),
        ("nobody", "nobody"),
        ("loose", "loose.ipynb")]
    bo = klass / "bo"
    assert [s.path for s in found] == [student / "a.ipynb", bo / "bo.ipynb", bo / "deep" / "b.ipynb",
                                       klass / "cy" / "cy.ipynb", klass / "dee" / "week1" / "d.ipynb",
                                       tmp_path / "nobody", Path("loose.ipynb")]
    assert [s.student for s in find_submissions(["first.ipynb", student])] == ["first", "ann"]
    for name in ("s1", "s2", "s3", "s4"):
        (klass / f"{name}.ipynb").write_text("{}")
    (klass / "eve").mkdir()
    (klass / "eve" / "e.ipynb").write_text("{}")  # four folders, three named
    with pytest.raises(ValueError) as refused:
        find_submissions([klass])
    assert str(refused.value).startswith(f"{klass} holds both notebooks (s1.ipynb, s2.ipynb, s3.ipynb) and folders "
                                         "with notebooks (bo/, cy/, dee/): is it one student's folder or a class?")


def test_unreadable_submissions_become_error_messages(tmp_path):
    with pytest.raises(GradingError, match="^no .ipynb notebook in this folder$"):
        _read_submission(tmp_path)
    with pytest.raises(GradingError, match="^no such file$"):
        _read_submission(tmp_path / "none.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{oops")
    with pytest.raises(GradingError, match=r"^not a readable notebook \(NotJSONError: Notebook does not appear"):
        _read_submission(bad)
    nb = new_notebook(cells=[new_code_cell("x = 1", id="a")])
    nb.cells[0].source = ["x = 1"]  # a list, as a hand-edited file may hold, still reads (nbformat joins it)
    nbformat.write(nb, bad)
    assert _read_submission(bad).cells[0].source == "x = 1"
    bad.write_text(bad.read_text().replace('"cell_type": "code"', '"cell_type": "widget"'))
    with pytest.raises(GradingError, match="a cell of type 'widget' without text source"):
        _read_submission(bad)


def test_a_course_names_its_broken_and_unknown_chapters(tmp_path, course_dirs):
    with pytest.raises(ValueError) as refused:
        Course(tmp_path / "none")
    assert str(refused.value) == (f"solutions folder {str(tmp_path / 'none')!r} does not exist; pass --solutions "
                                  "DIR, the folder holding the course's NN_topic.ipynb solution notebooks")
    with pytest.raises(ValueError) as refused:
        Course(tmp_path)
    assert str(refused.value) == f"solutions folder {str(tmp_path)!r} holds no .ipynb notebook"
    (tmp_path / "02_broken.ipynb").write_text("{}")
    (tmp_path / CHAPTER).with_suffix(".ipynb").write_text((course_dirs[0] / f"{CHAPTER}.ipynb").read_text())
    course = Course(tmp_path)
    assert course.names == [CHAPTER, "02_broken"] and course.folder == tmp_path
    with pytest.raises(GradingError, match="the course's own notebook for 02_broken is broken: .*not a version 4") as e:
        course.chapter("02_broken")
    assert e.value.chapter == "02_broken"  # the error row still names the chapter
    with pytest.raises(GradingError) as unknown:
        course.chapter("03_none")
    assert str(unknown.value) == "chapter '03_none' is not in this course (chapters: 01_toy, 02_broken)"
    assert unknown.value.chapter == "03_none"


def test_cells_without_ids_are_listed_five_at_most(tmp_path):
    cells = ",".join('{"cell_type": "markdown", "metadata": {}, "source": ""}' for _ in range(7))
    path = tmp_path / "old.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [%s]}' % cells)
    with pytest.raises(ValueError) as refused:
        ex.read_notebook(path)
    assert str(refused.value) == (f"{path}: cells [0, 1, 2, 3, 4] have no id; save it with JupyterLab 4 "
                                  "(nbformat 4.5) so exercises keep stable cell ids")


def test_a_class_folder_with_jupyter_checkpoints_has_no_extra_student(tmp_path):
    """Notebooks once opened in the class folder leave .ipynb_checkpoints/ behind: it is nobody's work."""
    for name in ("bo", "cy"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "01_toy.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "01_toy-checkpoint.ipynb").write_text("{}")
    assert [s.student for s in find_submissions([tmp_path])] == ["bo", "cy"]


def test_a_notebook_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    import chapter1.grading.submissions as submissions

    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_MB", 1)
    path = tmp_path / "big.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1", id="a")]), path)
    path.write_text(path.read_text().ljust(1 << 20))  # exactly 1 MB: still read
    assert _read_submission(path).cells[0].source == "x = 1"
    path.write_text(path.read_text() + " " * 600_000)
    with pytest.raises(GradingError) as refused:
        _read_submission(path)
    assert str(refused.value) == ("the notebook is 2 MB (more than 1 MB); clear its outputs (Edit > Clear Outputs "
                                  "of All Cells), save and resubmit")


def test_a_check_pasted_with_its_hidden_part_is_not_an_edit(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells[3].source = chapter.check_cells()["1.1"].source
    assert "assert rps == 100" in nb.cells[3].source
    assert restore_checks(nb, chapter)[1] == []


def test_of_two_copies_after_the_answer_the_first_is_kept(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells.append(new_code_cell("# CHECK 1.3 [3 pts]\nassert True", id="late"))
    restored, notes = restore_checks(nb, chapter)
    assert notes == [("copy", "1.3")]
    assert [c.id for c in restored.cells] == [c.id for c in exercise(course_dirs).cells]


def test_an_unknown_check_is_noted_once_by_its_clipped_header(chapter, course_dirs):
    nb = exercise(course_dirs)
    header = "# CHECK 9.9 " + "x" * 80
    nb.cells += [new_code_cell(header, id="u1"), new_code_cell(header + "\nassert True", id="u2")]
    assert restore_checks(nb, chapter)[1] == [("unknown", repr(header[:60]))]


def test_a_chapter_keeps_the_hidden_checks_for_the_grader_and_the_public_ones_apart(chapter, course_dirs):
    assert (chapter.name, chapter.solutions) == (CHAPTER, course_dirs[0])
    assert chapter.checks == [("1.1", 2), ("1.2", 1), ("1.3", 3)]
    assert "assert rps == 100" in chapter.check_cells()["1.1"].source
    assert chapter.public["1.1"] == "# CHECK 1.1 [2 pts]\nassert rps > 0"
    assert chapter.answer_cells == {"intro": "1.1", "rps-answer": "1.1", "peak-answer": "1.2", "servers-answer": "1.3"}


def test_a_broken_course_notebook_is_named_in_the_problem(tmp_path):
    bad = new_notebook(cells=[code("# CHECK 1.1\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "c")])
    nbformat.write(bad, tmp_path / "02_bad.ipynb")
    assert Course(tmp_path).problems["02_bad"].startswith(f"{tmp_path / '02_bad.ipynb'}, cell 0 (id c): CHECK 1.1")


def test_a_markdown_heading_that_starts_with_check_is_not_a_graded_cell(tmp_path):
    nb = solution()
    nb.cells.insert(2, new_markdown_cell("# CHECK your units before you go on", id="tip"))
    nbformat.write(nb, tmp_path / f"{CHAPTER}.ipynb")
    chapter = Course(tmp_path).chapter(CHAPTER)
    assert chapter.answer_cells == {"intro": "1.1", "rps-answer": "1.1", "peak-answer": "1.2", "servers-answer": "1.3"}


def test_a_long_reading_error_is_cut_to_one_short_line(tmp_path):
    kind = "k" * 300
    path = tmp_path / "odd.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "%s", '
                    '"id": "a", "source": "", "metadata": {}}]}' % kind)
    with pytest.raises(GradingError) as refused:
        _read_submission(path)
    detail = f"a cell of type {kind!r} without text source"[:160]
    assert str(refused.value) == f"not a readable notebook (ValueError: {detail})"


def test_the_generators_help_names_the_command_and_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        ex.main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ["usage: python -m chapter1.exercises [-h] [--check] [--to {nbgrader}] solutions exercises",
                   "Exercise notebooks: generate them from solution notebooks and read their CHECK cells.",
                   "solutions folder of solution notebooks (with answers)",
                   "exercises folder of generated exercise notebooks",
                   "--check only report out-of-sync files; exit 1 if any",
                   "--to {nbgrader} instead: `--to nbgrader DIR` writes nbgrader source notebooks "
                   "(see grading/nbgrader.py)"]:
        assert phrase in text


def test_to_nbgrader_hands_the_whole_command_line_to_the_exporter(monkeypatch, tmp_path):
    import chapter1.grading.nbgrader as nbgrader

    seen = []
    monkeypatch.setattr(nbgrader, "main", lambda argv=None: seen.append(argv) or 0)
    assert ex.main(["--to", "nbgrader", str(tmp_path)]) == 0
    monkeypatch.setattr("sys.argv", ["python -m chapter1.exercises", "--to", "nbgrader", str(tmp_path)])
    assert ex.main() == 0
    assert seen == [["--to", "nbgrader", str(tmp_path)], None]  # None: the exporter reads sys.argv itself


def test_a_broken_solution_is_named_when_exercises_are_generated(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    bad = new_notebook(cells=[code("### BEGIN SOLUTION\nx = 1", "c")])
    nbformat.write(bad, tmp_path / "solutions" / "02_bad.ipynb")
    assert ex.main([str(tmp_path / "solutions"), str(tmp_path / "exercises")]) == 2
    where = tmp_path / "solutions" / "02_bad.ipynb"
    assert capsys.readouterr().err.startswith(f"error: {where}, cell 0 (id c), line 1")


def test_a_markdown_cell_headed_like_a_check_does_not_displace_it(chapter, course_dirs):
    nb = exercise(course_dirs)
    for at in (7, len(nb.cells)):  # just before the check (after its answer), and after it
        cells = list(nb.cells)
        cells.insert(at, new_markdown_cell("# CHECK 1.3 [3 pts]\nmy notes on this check", id="notes"))
        restored, notes = restore_checks(new_notebook(cells=cells, metadata=nb.metadata), chapter)
        assert notes == []
        assert "assert servers == 8" in by_id(restored)["check-1-3"]


def test_a_put_back_check_keeps_the_courses_cell_id_and_kernel(tmp_path):
    nb = solution()
    nb.cells[3].id = "first-check"
    del nb.metadata["kernelspec"]
    nbformat.write(nb, tmp_path / f"{CHAPTER}.ipynb")
    chapter = Course(tmp_path).chapter(CHAPTER)
    learner = ex.strip_solutions(nb)
    learner.cells = [c for c in learner.cells if c.id != "first-check"]
    restored, notes = restore_checks(learner, chapter)
    assert notes == [("missing", "1.1")]
    assert [c.id for c in restored.cells][3] == "first-check"
    assert restored.metadata == {"chapter1": {"chapter": CHAPTER}}  # no kernelspec rather than an invalid one


def test_a_check_pasted_over_its_answer_cell_is_a_dropped_copy(chapter, course_dirs):
    nb = exercise(course_dirs)
    nb.cells[2].source = "# CHECK 1.1 [2 pts]\nassert True"  # the answer cell, overwritten
    restored, notes = restore_checks(nb, chapter)
    assert notes == [("copy", "1.1"), ("no-answer", "1.1")]
    assert [c.id for c in restored.cells] == ["intro", "setup", "check-1-1", "peak-answer", "check-1-2",
                                              "servers-answer", "check-1-3"]


def test_hidden_tests_that_leave_a_block_empty_are_named(tmp_path):
    check = "# CHECK 1.1\nif True:\n    ### BEGIN HIDDEN TESTS\n    assert x\n    ### END HIDDEN TESTS"
    nbformat.write(new_notebook(cells=[code(check, "c")]), tmp_path / "03_empty.ipynb")
    problem = Course(tmp_path).problems["03_empty"]
    where = tmp_path / "03_empty.ipynb"
    assert problem == f"{where}, cell 0 (id c): the stub does not parse; check the region's indentation"


def test_a_region_whose_markers_sit_left_of_its_code_takes_the_codes_indentation():
    source = "for i in r:\n### BEGIN SOLUTION\n    total = i\n### END SOLUTION"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "for i in r:\n    total = None  # your answer here"
    source = "class A:\n    ### BEGIN SOLUTION\n    @staticmethod\n    def f():\n        return 1\n    ### END SOLUTION"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "class A:\n    @staticmethod\n    def f():\n        # your code here\n        return None"


def test_the_public_part_of_a_check_is_kept_around_its_hidden_lines():
    source = "# CHECK 1.1\n### BEGIN HIDDEN TESTS\nassert x == 4\n### END HIDDEN TESTS\nassert x > MAX"
    assert ex.strip_solutions(new_notebook(cells=[new_code_cell(source, id="a")])).cells[0].source == \
        "# CHECK 1.1\nassert x > MAX"


def test_a_cell_without_an_id_is_named_by_a_question_mark():
    nb = new_notebook(cells=[new_code_cell("### END SOLUTION", id="a")])
    del nb.cells[0]["id"]
    with pytest.raises(ValueError, match=r"^nb, cell 0 \(id \?\), line 1"):
        ex.strip_solutions(nb, name="nb")
