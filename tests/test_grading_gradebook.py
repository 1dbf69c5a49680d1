"""The grader's scores without a kernel: points from cell outcomes, gradebook rows, feedback and score tables.

Made-up cell outcomes for the toy chapter of ``grading_toy`` are scored the way the grader scores a
real run (``_grade_job`` with the run replaced), so points, the gradebook CSV and the feedback text
are checked without starting a kernel.
"""

from __future__ import annotations

import csv
from pathlib import Path

import grading_toy
import pytest
from grading_toy import CHAPTER

from chapter1.grading.gradebook import (
    _cell,
    _feedback_names,
    feedback_markdown,
    read_gradebook,
    score_table,
    write_feedback,
    write_gradebook,
)
from chapter1.grading.nbcheck import CellOutcome, NotebookRun
from chapter1.grading.running import Result, Settings, _clip, _grade_job, _Job, _summary, _suspicious
from chapter1.grading.submissions import (
    Course,
    Submission,
    _text,
)

course_dirs, course, chapter = grading_toy.course_dirs, grading_toy.course, grading_toy.chapter  # the toy course


def outcome(check_id, points, result="passed", message="", cell=None, first_line=""):
    return CellOutcome(check_id, points, result, message, cell, first_line)


def graded(chapter, tmp_path, cells, error=None, notes=(), student="ann", setup_problem=None):
    """Score made-up cell outcomes the way the grader scores a real run (the course's setup cells known
    to run, or known to fail with ``setup_problem``: no kernel is started)."""
    run = NotebookRun(tmp_path / "x.ipynb", cells, error)
    notebook = tmp_path / f"{student}.ipynb"
    notebook.write_text("{}")
    job = _Job(Submission(student, notebook, f"{student}.ipynb"), chapter, notebook, list(notes))
    import chapter1.grading.running as running

    preflight = running._Preflight(Settings())
    preflight.verdicts[chapter.name] = setup_problem
    saved, running._run = running._run, lambda *args: run
    try:
        return _grade_job(job, Settings(), preflight)
    finally:
        running._run = saved


def test_each_passed_check_earns_its_own_points(chapter, tmp_path):
    result = graded(chapter, tmp_path, [
        outcome(None, 0, cell=0, first_line="DAY = 86_400"),
        outcome("1.1", 2, cell=1), outcome("1.2", 1, "failed", "peak(10) should be 30", cell=2),
        outcome("1.3", 3, cell=3)])
    assert result.points == {"1.1": 2, "1.2": 0, "1.3": 3}
    assert result.possible == {"1.1": 2, "1.2": 1, "1.3": 3}
    assert (result.total, result.maximum, result.status) == (5, 6, "graded")
    assert result.message == "2/3 checks passed"
    assert not (tmp_path / "ann.ipynb").exists()  # the spooled notebook is removed


def test_a_run_that_broke_is_an_error_row_with_its_reason(chapter, tmp_path):
    cells = [outcome(None, 0, cell=0), outcome("1.1", 2, cell=1),
             outcome("1.2", 1, "error", "timed out after 3 s", cell=2, first_line="# CHECK 1.2"),
             outcome(None, 0, "error", "the kernel died (out of memory)", cell=3),
             outcome(None, 0, "failed", "NameError: x", cell=4, first_line="print(x)"),
             outcome(None, 0, "failed", "not run: grading stopped", cell=5)]
    result = graded(chapter, tmp_path, cells, error="the notebook took longer than 600 s",
                    notes=[("edited", "1.3")])
    assert result.status == "error" and result.total == 2
    assert result.message == ("1/3 checks passed; the notebook took longer than 600 s; kernel died at cell 3; "
                              'timed out at "# CHECK 1.2"; 1 other cell(s) raised errors, first "print(x)": '
                              "NameError: x; edited CHECK 1.3 (originals used)")


def test_a_grader_problem_gives_an_error_row_and_no_score(chapter, tmp_path):
    result = graded(chapter, tmp_path, [outcome("1.1", 2, cell=0)], setup_problem="grader problem: " + "m" * 400)
    assert (result.status, result.grader_fault, result.points, result.run) == ("error", True, {}, None)
    assert result.message == ("grader problem: " + "m" * 400)[:299] + "…"


def test_messages_are_clipped_to_one_short_line():
    assert _clip("a  b\n c") == "a b c"
    assert _clip("x" * 300) == "x" * 300
    assert _clip("x" * 301) == "x" * 299 + "…"


def test_a_run_whose_first_cell_failed_is_suspicious():
    assert _suspicious(NotebookRun(Path("x"), []))
    assert _suspicious(NotebookRun(Path("x"), [outcome(None, 0, "failed", cell=0)]))
    assert not _suspicious(NotebookRun(Path("x"), [outcome(None, 0, cell=0), outcome(None, 0, "failed", cell=1)]))
    assert _suspicious(NotebookRun(Path("x"), [outcome(None, 0, cell=0)], "the grading process failed: x"))
    assert not _suspicious(NotebookRun(Path("x"), [outcome(None, 0, cell=0)], "the notebook took too long"))


def test_settings_name_the_bad_limit():
    for name in ("timeout", "total_timeout", "memory_mb", "file_mb"):
        for bad in (0, -1, float("inf"), "5"):
            with pytest.raises(ValueError, match=f"^{name} must be a positive number, got "):
                Settings(**{name: bad})


def test_summary_counts_only_the_chapters_checks(chapter):
    run = NotebookRun(Path("x"), [outcome("1.1", 2), outcome("9.9", 5), outcome("1.3", 3, "failed")])
    assert _summary(chapter, run, []) == "1/3 checks passed"


def test_the_gradebook_has_a_column_per_check_in_course_order(course, chapter, tmp_path):
    ann = graded(chapter, tmp_path, [outcome("1.1", 2), outcome("1.2", 1), outcome("1.3", 3, "failed")])
    bo = Result(Submission("=bo", Path("bo.ipynb"), "bo.ipynb"), "", "error", "-no such file")
    out = tmp_path / "book" / "gradebook.csv"
    old = {"student": "zed", "chapter": CHAPTER, "submission": "zed.ipynb", "0.9": "4", "total": "4"}
    write_gradebook(out, [ann, bo], course, [old, {"student": "ann", "submission": "ann.ipynb", "total": "0"}])
    lines = out.read_text().splitlines()
    assert lines[0] == "student,chapter,submission,1.1,1.2,1.3,0.9,total,max,status,message"
    assert lines[1:] == ["zed,01_toy,zed.ipynb,,,,4,4,,,", "ann,01_toy,ann.ipynb,2,1,0,,3,6,graded,2/3 checks passed",
                         "'=bo,,bo.ipynb,,,,,0,,error,'-no such file"]
    assert [row["student"] for row in read_gradebook(out)] == ["zed", "ann", "'=bo"]
    assert list(tmp_path.glob("book/.*.tmp")) == []
    assert read_gradebook(tmp_path / "none.csv") == []
    (tmp_path / "notes.csv").write_text("name,mark\nann,3\n")
    with pytest.raises(ValueError) as refused:
        read_gradebook(tmp_path / "notes.csv")
    assert str(refused.value) == (f"{tmp_path / 'notes.csv'} exists but is not a gradebook (no student, chapter, "
                                  "submission columns); pass another --out path")
    (tmp_path / "bare.csv").write_bytes(b"student,chapter,submission\r\nann,01_toy,\"a\r\nb.ipynb\"\r\n")
    assert read_gradebook(tmp_path / "bare.csv") == [  # as a spreadsheet saves it: CRLF, a quoted line break
        {"student": "ann", "chapter": "01_toy", "submission": "a\r\nb.ipynb"}]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_no_gradebook_cell_starts_a_formula(start):
    assert _cell(start + "1") == "'" + start + "1"
    assert _cell("a" + start) == "a" + start
    assert _cell("") == ""


def test_feedback_lists_each_check_and_what_to_revisit(chapter, tmp_path):
    cells = [outcome(None, 0, cell=0), outcome("1.1", 2, cell=1),
             outcome("1.2", 1, "failed", "peak(10) should be 30\n**Score: 9 / 9**", cell=2),
             outcome("1.3", 3, "error", "", cell=3),
             outcome(None, 0, "error", "NameError: x", cell=4, first_line="print(x) " + "y" * 100)]
    result = graded(chapter, tmp_path, cells, error="stopped", notes=[("missing", "1.1")])
    result.chapter = CHAPTER
    assert feedback_markdown(result) == "\n".join([
        "# 01_toy: feedback for ann", "", "**Score: 2 / 6** (error) for ann.ipynb", "",
        "Grading stopped early: stopped.", "",
        "| Check | Points | Result |", "|:--|--:|:--|", "| 1.1 | 2 / 2 | passed |", "| 1.2 | 0 / 1 | failed |",
        "| 1.3 | 0 / 3 | error |", "", "## To revisit", "",
        "- **1.2**: peak(10) should be 30", "  \\*\\*Score: 9 / 9\\*\\*", "- **1.3**: error", "",
        "## Other cells that did not run cleanly", "", f"- print(x) {'y' * 71}: NameError: x", "",
        "## Notes", "", "- CHECK 1.1 was missing; it was put back", ""])
    assert score_table(result) == "\n".join([
        "ann.ipynb (01_toy)", "  CHECK  POINTS  RESULT", "  1.1       2/2  passed",
        "  1.2       0/1  failed: peak(10) should be 30\n**Score: 9 / 9**", "  1.3       0/3  error: ",
        "  TOTAL     2/6  error", "  stopped early: stopped",
        f'  other cell failed: "print(x) {"y" * 41}": NameError: x',
        "  note: CHECK 1.1 was missing; it was put back"])


def test_a_clean_run_has_no_extra_sections(chapter, tmp_path):
    result = graded(chapter, tmp_path, [outcome("1.1", 2), outcome("1.2", 1), outcome("1.3", 3)], student="<b>&")
    text = feedback_markdown(result)
    assert text.startswith("# 01_toy: feedback for \\<b\\>&amp;\n") and text.endswith("| 1.3 | 3 / 3 | passed |\n")
    assert "##" not in text and "stopped" not in text
    assert score_table(result).splitlines()[-1] == "  TOTAL     6/6  graded"


def test_feedback_files_are_named_after_student_and_chapter(tmp_path):
    def result(student, chapter):
        return Result(Submission(student, Path("a"), "a"), chapter, "error", "no such file")

    results = [result("ann", CHAPTER), result("ann", CHAPTER), result("ann", CHAPTER), result("../b c", ""),
               result("", ""), result(".", ""), result("Xu", "")]
    assert _feedback_names(results) == ["ann_01_toy.md", "ann_01_toy-2.md", "ann_01_toy-3.md", "b_c.md",
                                        "submission.md", "submission-2.md", "Xu.md"]
    paths = write_feedback(tmp_path / "fb" / "chapter", results[:2])
    assert write_feedback(tmp_path / "fb" / "chapter", results[:1]) == [paths[0]]  # the folder may exist
    assert [p.name for p in paths] == ["ann_01_toy.md", "ann_01_toy-2.md"]
    assert paths[0].parent == tmp_path / "fb" / "chapter"
    assert paths[0].read_text() == "# 01_toy: feedback for ann\n\n**Could not grade a**: no such file\n"
    unknown = feedback_markdown(result("ann", ""))  # the chapter could not be told
    assert unknown == "# Feedback for ann\n\n**Could not grade a**: no such file\n"


def test_text_from_a_submission_is_written_as_utf8():
    assert _text("ok " + chr(0xDFFF)) == "ok \ufffd"
    assert _text(3) == 3
    with open(Path("/dev/null"), "w", newline="") as sink:
        csv.writer(sink).writerow([_text(chr(0xD800))])


def test_an_empty_file_at_the_gradebook_path_is_not_taken_for_one(tmp_path):
    (tmp_path / "gradebook.csv").write_text("")
    with pytest.raises(ValueError, match="exists but is not a gradebook"):
        read_gradebook(tmp_path / "gradebook.csv")


def test_a_failed_gradebook_write_leaves_the_old_file_and_no_temporary(course, chapter, tmp_path, monkeypatch):
    out = tmp_path / "gradebook.csv"
    out.write_text("student,chapter,submission\n")
    renamed = []

    def broken(source, target):
        renamed.append((Path(source), Path(target)))
        raise OSError("disk full")

    monkeypatch.setattr("chapter1.grading.gradebook.os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_gradebook(out, [], course)
    assert out.read_text() == "student,chapter,submission\n"
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.csv"]
    # the new text was written to a hidden file beside the gradebook, so the rename is atomic (one file system)
    [(source, target)] = renamed
    assert target == out and source.parent == tmp_path
    assert source.name.startswith(".gradebook.csv.") and source.name.endswith(".tmp")
    monkeypatch.undo()
    nested = tmp_path / "term" / "week" / "gradebook.csv"
    write_gradebook(nested, [], course)
    assert nested.read_bytes() == b"student,chapter,submission,total,max,status,message\n"


def test_a_course_of_broken_notebooks_is_still_a_course(tmp_path, course):
    (tmp_path / "02_broken.ipynb").write_text("{}")
    assert Course(tmp_path).names == ["02_broken"]
    course.problems["00_broken"] = "not a notebook"  # a broken chapter has no check columns
    try:
        write_gradebook(tmp_path / "gradebook.csv", [], course, [{"student": "a", "submission": "a", "z": "1",
                                                                  "y": "2"}])
    finally:
        del course.problems["00_broken"]
    data = (tmp_path / "gradebook.csv").read_bytes()
    assert data == b"student,chapter,submission,y,z,total,max,status,message\na,,a,2,1,,,,\n"


def test_blank_lines_of_a_message_are_dropped_from_feedback(chapter, tmp_path):
    result = graded(chapter, tmp_path, [outcome("1.1", 2), outcome("1.2", 1, "failed", "a\n\n  \nb"),
                                        outcome("1.3", 3)])
    assert feedback_markdown(result).endswith("## To revisit\n\n- **1.2**: a\n  b\n")


def test_an_unreadable_submission_is_an_error_row_without_a_chapter(course, tmp_path):
    from chapter1.grading.running import _prepare

    row = _prepare(Submission("ann", tmp_path / "none.ipynb", "none.ipynb"), course, Settings(), tmp_path, 0)
    assert (row.chapter, row.status, row.message) == ("", "error", "no such file")
