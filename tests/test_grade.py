"""The autograder on a toy course: bad input, tampering, isolation, gradebook, feedback.

One batch (module fixture) grades every prepared submission two at a time;
each test then checks the row of one submission. The toy chapter uses only
the standard library, so these tests do not depend on the real course.
"""

from __future__ import annotations

import csv
import json
import re
import textwrap
import time
import tracemalloc
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chapter1 import grade as grader
from chapter1.exercises import generate
from chapter1.grade import (
    Course,
    GradingError,
    Result,
    Settings,
    Submission,
    feedback_markdown,
    find_submissions,
    identify_chapter,
    read_gradebook,
    restore_checks,
    score_table,
    write_gradebook,
)

CHAPTER = "01_toy"
MEMORY_MB = 512
SETTINGS = Settings(timeout=3, total_timeout=60, memory_mb=MEMORY_MB, file_mb=64)


def code(source: str, cell_id: str, **kwargs):
    return new_code_cell(textwrap.dedent(source).strip("\n"), id=cell_id, **kwargs)


# Answers by cell id: the solution's, and a few wrong ones.
RIGHT = {
    "rps-answer": "users = 864_000\nrps = users * 10 / DAY",
    "peak-answer": "def peak(rate, factor=3):\n    return rate * factor",
    "servers-answer": "servers = math.ceil(peak(rps) / 40)",
}
WRONG = {
    "rps-answer": "users = 1\nrps = users * 10 / DAY",
    "peak-answer": "def peak(rate, factor=3):\n    return rate * 2",
    "servers-answer": "servers = 7",
}
POINTS = {"1.1": 2, "1.2": 1, "1.3": 3}


def toy_solution():
    def answer(cell_id):
        return code(f"### BEGIN SOLUTION\n{RIGHT[cell_id]}\n### END SOLUTION", cell_id)

    return new_notebook(
        cells=[
            new_markdown_cell("# A toy chapter\nRequests, peaks and servers.", id="intro"),
            code("import math\nDAY = 86_400", "setup"),
            answer("rps-answer"),
            code('# CHECK 1.1 [2 pts]\nassert rps == 100, f"expected 100 requests/s, got {rps}: revisit part 1"',
                 "check-1-1"),
            answer("peak-answer"),
            code('# CHECK 1.2\nassert peak(10) == 30, f"peak(10) should be 30, got {peak(10)}"', "check-1-2"),
            answer("servers-answer"),
            code("# CHECK 1.3 [3 pts]\nassert servers == 8", "check-1-3"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


@pytest.fixture(scope="module")
def course_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    solutions, exercises = root / "solutions", root / "exercises"
    solutions.mkdir()
    nbformat.write(toy_solution(), solutions / f"{CHAPTER}.ipynb")
    generate(solutions, exercises)
    return solutions, exercises


def exercise(course_dirs):
    return nbformat.read(course_dirs[1] / f"{CHAPTER}.ipynb", as_version=4)


def answered(course_dirs, answers=RIGHT, **overrides):
    """The exercise notebook with answers filled in (by cell id); overrides replace whole cells' source."""
    nb = exercise(course_dirs)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
        if cell.id in overrides:
            cell.source = overrides[cell.id]
    return nb


def insert_after(nb, cell_id, *cells):
    at = [c.id for c in nb.cells].index(cell_id) + 1
    nb.cells[at:at] = list(cells)
    return nb


def without(nb, *cell_ids):
    nb.cells = [c for c in nb.cells if c.id not in cell_ids]
    return nb


CHECK_12 = '# CHECK 1.2\nassert peak(10) == 30, f"peak(10) should be 30, got {peak(10)}"'


def without_ids(nb) -> str:
    """The notebook as nbformat 4.4 wrote it: no cell ids."""
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        del cell["id"]
    return json.dumps(data)


def with_surrogate(nb) -> str:
    """The notebook's JSON with a lone surrogate (an escape JSON allows) in a comment of the setup cell."""
    [setup] = [cell for cell in nb.cells if cell.id == "setup"]
    setup.source += "  # SURROGATE"
    return nbformat.writes(nb).replace("SURROGATE", "\\ud800")


def submissions(course_dirs, folder: Path, gradebook: Path):
    """Every prepared submission: name -> notebook (or raw text), in batch order."""
    right_but = lambda *ids, **kw: answered(course_dirs, {**RIGHT, **{i: WRONG[i] for i in ids}}, **kw)  # noqa: E731
    bomb = code("""
        import resource
        assert resource.getrlimit(resource.RLIMIT_DATA) == (MEMORY << 20, MEMORY << 20)
        def grow():
            hog = []
            for _ in range(400):
                hog.append(bytearray(50 << 20))
        grow()
    """.replace("MEMORY", str(MEMORY_MB)), "bomb")
    vandal = code(f"""
        import glob, os, shutil
        assert "chapter1-grade-" in os.getcwd(), "not in a grading folder: refusing to delete anything"
        for path in glob.glob("*") + glob.glob("../*") + [{str(gradebook)!r}] + glob.glob({str(folder)!r} + "/*"):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.remove(path)
    """, "vandal")
    huge_saved = answered(course_dirs)
    huge_saved.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 20_000_000)]
    huge_saved.cells[1].execution_count = 1
    unnamed = answered(course_dirs)
    del unnamed.metadata["chapter1"]
    other = answered(course_dirs)
    other.metadata["chapter1"]["chapter"] = "02_other"

    # wrong peak() but the right number of servers; CHECK 1.2 edited, tagged to ignore errors
    tampered_edit = right_but("peak-answer", **{"servers-answer": "servers = 8",
                                                "check-1-2": "# CHECK 1.2\nassert True"})
    [check_12] = [cell for cell in tampered_edit.cells if cell.id == "check-1-2"]
    check_12.metadata["tags"] = ["raises-exception"]
    return {
        "good": answered(course_dirs),
        "partial": right_but("peak-answer"),
        "blank": exercise(course_dirs),
        "invalid_json": '{"cells": [ this is not JSON',
        "other_chapter": other,
        "missing_answers": without(answered(course_dirs), "peak-answer", "servers-answer"),
        "infinite_loop": answered(course_dirs, **{"peak-answer": "def peak(rate, factor=3):\n    while True: pass"}),
        "kernel_crash": insert_after(answered(course_dirs), "check-1-1", code("import os; os._exit(1)", "crash")),
        "memory_bomb": insert_after(answered(course_dirs), "check-1-1", bomb),
        "sys_exit": insert_after(answered(course_dirs), "check-1-2", code("import sys\nsys.exit('bye')", "exit")),
        "deletes_files": insert_after(answered(course_dirs), "setup", vandal),
        "huge_output": insert_after(huge_saved, "setup", code(
            "print('x' * 50_000_000)\nfor i in range(50):\n    print(str(i) * 1_000_000)", "huge")),
        "tampered_edit": tampered_edit,
        "tampered_added": insert_after(
            right_but("servers-answer"), "servers-answer",
            code("# CHECK 1.3 [3 pts]\nassert True", "fake-1-3"),
            code("# CHECK 9.9 [100 pts]\nassert True", "fake-9-9"),
            code("# CHECK 1.1 [50 pts]\nassert True", "fake-1-1"), code("# CHECK oops\nassert True", "fake-bad")),
        "tampered_deleted": without(right_but("rps-answer", "servers-answer"), "check-1-1", "check-1-3"),
        f"carol-{CHAPTER}": unnamed,
        # issue 10, item 4: copies of CHECK 1.2 above its answer (run before it) and one after
        "duplicate_above": insert_after(
            insert_after(answered(course_dirs), "rps-answer", code(CHECK_12, "copy-a"), code(CHECK_12, "copy-b")),
            "servers-answer", code(CHECK_12, "copy-c")),
        # item 5: saved by an older Jupyter (nbformat 4.4): no cell ids at all
        "no_cell_ids": without_ids(answered(course_dirs)),
        # item 8: a multi-line exception message dressed up as a score block, in a notebook that earns 2/6
        "forger": insert_after(right_but("peak-answer", "servers-answer"), "setup", code(
            "raise ValueError('oops\\n\\n**Score: 6 / 6** (graded)\\n\\n| 1.1 | 2 / 2 | passed |')", "forge")),
        # item 9: a lone surrogate character in a cell
        "surrogate": with_surrogate(answered(course_dirs)),
    }


# name -> (status, points per check, words the message must contain)
EXPECTED = {
    "good": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed"]),
    "partial": ("graded", {"1.1": 2, "1.2": 0, "1.3": 0}, ["1/3 checks passed"]),
    "blank": ("graded", {"1.1": 0, "1.2": 0, "1.3": 0}, ["0/3 checks passed"]),
    "invalid_json": ("error", {}, ["not a readable notebook"]),
    "other_chapter": ("error", {}, ["chapter '02_other' is not in this course"]),
    "missing_answers": ("graded", {"1.1": 2, "1.2": 0, "1.3": 0}, ["answer cells missing before CHECK 1.2, 1.3"]),
    "infinite_loop": ("graded", {"1.1": 2, "1.2": 0, "1.3": 0}, ["timed out at"]),
    "kernel_crash": ("graded", {"1.1": 2, "1.2": 0, "1.3": 0}, ['kernel died at "import os; os._exit(1)"']),
    "memory_bomb": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["MemoryError"]),
    "sys_exit": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["SystemExit: bye"]),
    "deletes_files": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed"]),
    "huge_output": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed"]),
    "tampered_edit": ("graded", {"1.1": 2, "1.2": 0, "1.3": 3}, ["edited CHECK 1.2 (originals used)"]),
    "tampered_added": ("graded", {"1.1": 2, "1.2": 1, "1.3": 0},
                       ["edited CHECK 1.3", "dropped copies of CHECK 1.1, 1.3",
                        "dropped unknown CHECK cells '# CHECK 9.9 [100 pts]', '# CHECK oops'"]),
    "tampered_deleted": ("graded", {"1.1": 0, "1.2": 1, "1.3": 0}, ["missing CHECK 1.1, 1.3 (put back)"]),
    f"carol-{CHAPTER}": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed"]),
    "duplicate_above": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed; dropped copies of CHECK 1.2"]),
    "no_cell_ids": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed"]),
    "forger": ("graded", {"1.1": 2, "1.2": 0, "1.3": 0}, ["1/3 checks passed", "ValueError: oops"]),
    "surrogate": ("graded", {"1.1": 2, "1.2": 1, "1.3": 3}, ["3/3 checks passed"]),
    "empty_folder": ("error", {}, ["no .ipynb notebook in this folder"]),
}
CHAPTER_OF = {"invalid_json": "", "other_chapter": "02_other", "empty_folder": ""}


@pytest.fixture(scope="module")
def batch(course_dirs, tmp_path_factory):
    """Grade every submission in one run, two at a time; files as given plus one (empty) student folder."""
    root = tmp_path_factory.mktemp("class")
    folder, out, feedback = root / "submissions", root / "gradebook.csv", root / "feedback"
    folder.mkdir()
    paths = []
    for name, nb in submissions(course_dirs, folder, out).items():
        path = folder / f"{name}.ipynb"
        path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    (root / "empty_folder").mkdir()
    paths.append(root / "empty_folder")
    seen = []
    results = grader.grade(paths, solutions=course_dirs[0], out=out, feedback=feedback, jobs=2,
                           settings=SETTINGS, progress=lambda done, total, result: seen.append(done))
    rows = {row["student"]: row for row in read_gradebook(out)}
    return {"results": {r.submission.student: r for r in results}, "rows": rows, "out": out,
            "feedback": feedback, "progress": seen}


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_each_submission_gets_the_right_row(batch, name):
    status, points, words = EXPECTED[name]
    row = batch["rows"][name]
    assert (row["status"], row["chapter"]) == (status, CHAPTER_OF.get(name, CHAPTER))
    assert {key: int(row[key]) for key in POINTS if row[key] != ""} == points
    assert int(row["total"]) == sum(points.values())
    for word in words:
        assert word in row["message"], row["message"]


@pytest.mark.slow
def test_batch_has_one_row_per_submission_in_order(batch):
    assert list(batch["rows"]) == list(EXPECTED)
    assert batch["progress"] == list(range(1, len(EXPECTED) + 1))
    with open(batch["out"], newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["student", "chapter", "submission", "1.1", "1.2", "1.3", "total", "max", "status", "message"]
    assert {row["max"] for row in batch["rows"].values() if row["status"] == "graded"} == {"6"}
    assert not list(batch["out"].parent.glob(".gradebook.csv.*")), "no temporary gradebook left behind"


@pytest.mark.slow
def test_tampered_copies_score_what_their_answers_earn(batch):
    totals = [batch["results"][name].total for name in ("tampered_edit", "tampered_added", "tampered_deleted")]
    assert totals == [5, 3, 1]


@pytest.mark.slow
def test_timed_out_and_crashed_checks_explain_themselves(batch):
    loop = batch["results"]["infinite_loop"].run.checks
    assert loop["1.2"].message == "timed out after 3 s (the cell was interrupted)"
    crash = batch["results"]["kernel_crash"].run
    assert crash.checks["1.2"].message == "not run: the kernel died in an earlier cell"
    assert crash.other_failures[0].message == "the kernel died while running this cell (exit status 1)"


@pytest.mark.slow
def test_the_memory_limit_reaches_the_kernel(batch):
    # the bomb cell also asserts that the kernel inherited RLIMIT_DATA; only its MemoryError may fail
    [failure] = batch["results"]["memory_bomb"].run.other_failures
    assert failure.message == "MemoryError"


@pytest.mark.slow
def test_feedback_gives_assert_messages_without_ansi(batch):
    files = sorted(path.name for path in batch["feedback"].iterdir())
    assert len(files) == len(EXPECTED) and "partial_01_toy.md" in files
    text = (batch["feedback"] / "partial_01_toy.md").read_text()
    assert "**Score: 2 / 6**" in text
    assert "| 1.2 | 0 / 1 | failed |" in text
    assert "- **1.2**: peak(10) should be 30, got 20" in text
    assert "- **1.3**: assertion failed: assert servers == 8" in text
    everything = "".join(path.read_text() for path in batch["feedback"].iterdir())
    assert "\x1b" not in everything and "Traceback" not in everything
    assert "Could not grade" in (batch["feedback"] / "invalid_json.md").read_text()


@pytest.mark.slow
def test_single_notebook_prints_a_score_table(course_dirs, tmp_path, capsys):
    path = tmp_path / "dana.ipynb"
    nbformat.write(answered(course_dirs, {**RIGHT, "servers-answer": WRONG["servers-answer"]}), path)
    code_ = grader.main([str(path), "--solutions", str(course_dirs[0]), "--out", str(tmp_path / "g.csv"),
                         "--timeout", "5", "--memory-mb", str(MEMORY_MB)])
    printed = capsys.readouterr().out
    assert code_ == 0
    assert f"{path} (01_toy)" in printed
    assert re.search(r"\n  1\.1 +2/2  passed\n", printed)
    assert re.search(r"\n  1\.3 +0/3  failed: assertion failed: assert servers == 8\n", printed)
    assert re.search(r"\n  TOTAL +3/6  graded\n", printed)
    assert "1 graded, 0 could not be graded" in printed


@pytest.mark.slow
def test_whole_notebook_time_limit_gives_an_error_row(course_dirs, tmp_path):
    slow = answered(course_dirs, **{"setup": "import math, time\nDAY = 86_400\ntime.sleep(2.5)"})
    insert_after(slow, "rps-answer", code("time.sleep(2.5)", "nap"))
    nbformat.write(slow, tmp_path / "slow.ipynb")
    [result] = grader.grade([tmp_path / "slow.ipynb"], solutions=course_dirs[0], out=tmp_path / "g.csv",
                            settings=Settings(timeout=5, total_timeout=4, memory_mb=MEMORY_MB))
    assert result.status == "error"
    assert "stopped after 4 s" in result.message
    assert result.run.checks["1.3"].message.startswith("not finished: stopped after 4 s")


# ------------------------------------------------------------------ no kernel needed below


@pytest.fixture
def course(course_dirs):
    return Course(course_dirs[0])


def sources(nb):
    return [(cell.id, cell.source) for cell in nb.cells]


def test_restore_keeps_learner_cells_and_puts_checks_back_in_place(course, course_dirs):
    nb = without(answered(course_dirs), "check-1-1", "check-1-3")
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    restored, notes = restore_checks(nb, course.chapter(CHAPTER))
    pristine = exercise(course_dirs)
    assert [cell.id for cell in restored.cells] == [cell.id for cell in pristine.cells]
    assert restored.cells[2].source == RIGHT["rps-answer"] and restored.cells[2].outputs == []
    assert notes == [("missing", "1.1"), ("missing", "1.3")]


def test_restore_without_matching_cell_ids_appends_missing_checks(course):
    nb = new_notebook(cells=[new_code_cell("rps = 100", id="mine")])
    restored, _ = restore_checks(nb, course.chapter(CHAPTER))
    assert [cell.source.split("\n")[0] for cell in restored.cells] == [
        "rps = 100", "# CHECK 1.1 [2 pts]", "# CHECK 1.2", "# CHECK 1.3 [3 pts]"]


def test_restore_drops_metadata_tags_and_keeps_ids_unique(course, course_dirs):
    nb = answered(course_dirs)
    nb.cells[2].metadata["tags"] = ["raises-exception"]
    nb.cells[4].id = nb.cells[2].id
    restored, _ = restore_checks(nb, course.chapter(CHAPTER))
    ids = [cell.id for cell in restored.cells]
    assert len(ids) == len(set(ids))
    assert all("tags" not in cell.metadata for cell in restored.cells)
    nbformat.validate(restored)


def test_identify_chapter_prefers_metadata_then_file_name():
    chapters = ["01_toy", "02_more"]
    tagged = new_notebook(metadata={"chapter1": {"chapter": "02_more"}})
    assert identify_chapter(tagged, Path("01_toy.ipynb"), chapters) == "02_more"
    assert identify_chapter(new_notebook(), Path("bob_02_more (1).ipynb"), chapters) == "02_more"
    with pytest.raises(GradingError, match="cannot tell the chapter.*'homework.ipynb' names none of 01_toy, 02_more"):
        identify_chapter(new_notebook(), Path("homework.ipynb"), chapters)


def test_chapter_filter_and_broken_course_notebook_give_error_rows(course_dirs, tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / f"{CHAPTER}.ipynb").write_bytes((course_dirs[0] / f"{CHAPTER}.ipynb").read_bytes())
    (solutions / "02_broken.ipynb").write_text("{}")
    nb = answered(course_dirs)
    nbformat.write(nb, tmp_path / "a.ipynb")
    nb.metadata["chapter1"]["chapter"] = "02_broken"
    nbformat.write(nb, tmp_path / "b.ipynb")
    results = grader.grade([tmp_path / "a.ipynb", tmp_path / "b.ipynb"], solutions=solutions,
                           settings=Settings(chapter="02_broken"))
    assert [(r.status, r.chapter) for r in results] == [("error", CHAPTER), ("error", "02_broken")]
    assert results[0].message == "this notebook is chapter 01_toy, not 02_broken (--chapter)"
    assert results[1].message.startswith("the course's own notebook for 02_broken is broken")


def test_find_submissions_expands_student_and_class_folders(tmp_path):
    (tmp_path / "ann" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "class" / "cy" / "week1").mkdir(parents=True)
    (tmp_path / "class" / "di").mkdir()
    (tmp_path / "class" / "empty").mkdir()
    for name in ("ann/01_toy.ipynb", "ann/.ipynb_checkpoints/01_toy-checkpoint.ipynb", "bo.ipynb",
                 "class/cy/week1/01_toy.ipynb", "class/di/01_toy.ipynb", "class/di/02_more.ipynb"):
        (tmp_path / name).write_text("{}")
    found = find_submissions([tmp_path / "ann", tmp_path / "bo.ipynb", tmp_path / "ghost.ipynb",
                              tmp_path / "class"])
    assert [(s.student, s.path.name) for s in found] == [
        ("ann", "01_toy.ipynb"), ("bo", "bo.ipynb"), ("ghost", "ghost.ipynb"),
        ("cy", "01_toy.ipynb"), ("di", "01_toy.ipynb"), ("di", "02_more.ipynb")]


def fake_result(student, points, status="graded", message="ok"):
    return Result(Submission(student, Path(f"{student}.ipynb"), f"{student}.ipynb"), CHAPTER, status, message,
                  points, {key: POINTS[key] for key in points})


def test_gradebook_is_rewritten_atomically_and_keeps_earlier_rows(course, tmp_path):
    out = tmp_path / "gradebook.csv"
    write_gradebook(out, [fake_result("ann", {"1.1": 2, "1.2": 0, "1.3": 3}), fake_result("bo", {}, "error", "x")],
                    course)
    previous = read_gradebook(out)
    write_gradebook(out, [fake_result("bo", {"1.1": 2, "1.2": 1, "1.3": 0}, message='says "hi", twice')],
                    course, previous)
    rows = read_gradebook(out)
    assert [(r["student"], r["total"], r["max"], r["status"]) for r in rows] == [
        ("ann", "5", "6", "graded"), ("bo", "3", "6", "graded")]
    assert rows[1]["message"] == 'says "hi", twice'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv"]


def test_a_file_that_is_not_a_gradebook_is_not_overwritten(course_dirs, tmp_path):
    (tmp_path / "notes.csv").write_text("name,score\nann,3\n")
    with pytest.raises(ValueError, match="is not a gradebook"):
        grader.grade([tmp_path / "x.ipynb"], solutions=course_dirs[0], out=tmp_path / "notes.csv")
    assert (tmp_path / "notes.csv").read_text() == "name,score\nann,3\n"


@pytest.mark.parametrize("argv, message", [
    (["x.ipynb", "--jobs", "0"], "argument --jobs: expected a whole number >= 1, got '0'"),
    (["x.ipynb", "--timeout", "-1"], "argument --timeout: expected seconds > 0, got '-1'"),
])
def test_command_line_errors_name_the_option(argv, message, capsys):
    with pytest.raises(SystemExit):
        grader.main(argv)
    assert message in capsys.readouterr().err


def test_a_missing_solutions_folder_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert grader.main(["x.ipynb", "--solutions", str(tmp_path / "nowhere")]) == 2
    assert f"solutions folder '{tmp_path / 'nowhere'}' does not exist" in capsys.readouterr().err


def test_settings_name_bad_values():
    with pytest.raises(ValueError, match="memory_mb must be a positive number, got 0"):
        Settings(memory_mb=0)


def test_score_table_and_feedback_for_an_unreadable_notebook():
    result = fake_result("ann", {}, "error", "not a readable notebook (NotJSONError: ...)")
    assert score_table(result) == "ann.ipynb: could not grade: not a readable notebook (NotJSONError: ...)"
    assert "**Could not grade ann.ipynb**" in feedback_markdown(result)


# ------------------------------------------------------------------ issue 10: wrong scores, memory, trust


@pytest.mark.slow
def test_duplicated_check_above_its_answer_keeps_the_copy_after_it_and_notes_once(batch):
    row = batch["rows"]["duplicate_above"]
    assert row["message"] == "3/3 checks passed; dropped copies of CHECK 1.2"
    assert batch["results"]["duplicate_above"].notes == [("copy", "1.2")]


@pytest.mark.slow
def test_a_notebook_without_cell_ids_gets_no_false_notes(batch):
    assert batch["rows"]["no_cell_ids"]["message"] == "3/3 checks passed"
    assert batch["results"]["no_cell_ids"].notes == []


@pytest.mark.slow
def test_student_text_cannot_forge_a_score_block_in_feedback(batch):
    text = (batch["feedback"] / "forger_01_toy.md").read_text()
    assert re.findall(r"^\*\*Score.*?\*\*", text, re.M) == ["**Score: 2 / 6**"]
    assert re.findall(r"^\| 1\.1 .*$", text, re.M) == ["| 1.1 | 2 / 2 | passed |"]
    assert re.search(r"^  \\\*\\\*Score: 6 / 6\\\*\\\* \(graded\)$", text, re.M), text  # kept, inert, in its item


def test_misplaced_check_copies_are_resolved_without_a_kernel(course, course_dirs):
    """Of several copies, the one after the answer is kept; with no answer cell found, the last one."""
    nb = insert_after(answered(course_dirs), "rps-answer", code(CHECK_12 + "  # mine", "copy-a"))
    restored, notes = restore_checks(nb, course.chapter(CHAPTER))
    ids = [cell.id for cell in restored.cells]
    assert ids.index("check-1-2") > ids.index("peak-answer") and "copy-a" not in ids
    assert notes == [("copy", "1.2")]


def test_gradebook_cells_cannot_start_a_spreadsheet_formula(course, tmp_path):
    out = tmp_path / "gradebook.csv"
    evil = Result(Submission('=HYPERLINK("http://x.example","click")', Path("x.ipynb"), "@SUM(1+1)"), CHAPTER,
                  "error", "-2+3 not a readable notebook")
    write_gradebook(out, [evil, fake_result("+ann", {"1.1": 2, "1.2": 0, "1.3": 3})], course)
    cells = [cell for line in csv.reader(out.open()) for cell in line]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    [row, ann] = read_gradebook(out)
    assert (row["student"], row["submission"], row["message"]) == (
        "'=HYPERLINK(\"http://x.example\",\"click\")", "'@SUM(1+1)", "'-2+3 not a readable notebook")
    write_gradebook(out, [fake_result("+ann", {"1.1": 2, "1.2": 1, "1.3": 3})], course, read_gradebook(out))
    assert [(r["student"], r["total"]) for r in read_gradebook(out)] == [(row["student"], "0"), ("'+ann", "6")]


def test_a_class_folder_with_a_stray_notebook_is_refused(tmp_path, capsys):
    for name in ("class/ann/01_toy.ipynb", "class/bo/01_toy.ipynb", "class/01_toy.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    with pytest.raises(ValueError, match=r"holds both notebooks \(01_toy.ipynb\) and folders with notebooks "
                                         r"\(ann/, bo/\).*move the loose notebooks into their students' folders"):
        find_submissions([tmp_path / "class"])
    assert grader.main([str(tmp_path / "class"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "holds both notebooks" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "NaN"])
def test_non_finite_limits_are_bad_options(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        grader.main(["x.ipynb", "--timeout", value])
    assert exit_.value.code == 2
    assert f"argument --timeout: expected seconds > 0, got '{value}'" in capsys.readouterr().err


def test_results_are_recorded_in_time_linear_in_the_cells(tmp_path):
    """The runner appends one line per cell; rewriting all results per cell made 4,000 cells take 53 s."""
    from types import SimpleNamespace as NS

    from chapter1.grading.nbcheck import Recorder, _read_results

    cells = 20_000
    recorder = Recorder(str(tmp_path / "results.jsonl"))
    items = [NS(nodeid=f"nb::Cell {i}", cell=NS(source=f"x = {i}")) for i in range(cells)]
    started = time.monotonic()
    recorder.pytest_collection_modifyitems(items)
    for item in items:
        recorder.pytest_runtest_makereport(item, NS(excinfo=None))
        recorder.pytest_runtest_logreport(NS(nodeid=item.nodeid, when="call", passed=True, skipped=False))
    recorder.pytest_unconfigure(None)
    assert time.monotonic() - started < 5
    data = _read_results(tmp_path / "results.jsonl")
    assert [c["outcome"] for c in data["cells"]] == ["passed"] * cells and data["runner_peak_kb"] > 0


def test_the_parent_holds_one_submission_at_a_time(course_dirs, tmp_path, monkeypatch):
    """Restored notebooks wait on disk: the grader's peak memory does not grow with the class."""
    from chapter1.grading.nbcheck import CellOutcome, NotebookRun

    def fake_run(chapter, notebook, settings):
        cells = [CellOutcome(None, 0, "passed", "", 0, "import math")]
        cells += [CellOutcome(c.id, c.points, "passed", "", i + 1, "") for i, c in enumerate(chapter.checks)]
        return NotebookRun(notebook, cells)

    monkeypatch.setattr("chapter1.grading.running._run", fake_run)
    big = answered(course_dirs)
    big.cells[1].source += "\n# " + "x" * (8 << 20)
    peaks = {}
    for students in (1, 6):
        folder = tmp_path / f"class{students}"
        folder.mkdir()
        for k in range(students):
            nbformat.write(big, folder / f"s{k}.ipynb")
        tracemalloc.start()
        results = grader.grade(sorted(folder.iterdir()), solutions=course_dirs[0], settings=SETTINGS)
        peaks[students] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert [r.total for r in results] == [6] * students
    assert peaks[6] < peaks[1] + (8 << 20), peaks


@pytest.mark.slow
def test_a_cell_printing_many_flushed_lines_does_not_lose_the_kernel(course_dirs, tmp_path):
    """Issue 10, item 1: 12,000 flushed lines (a few seconds of work) once read as a 5 s timeout and 2/10."""
    nb = insert_after(answered(course_dirs), "setup", code(
        "for i in range(12_000):\n    print('exploring', i, flush=True)", "explore"))
    nbformat.write(nb, tmp_path / "explorer.ipynb")
    [result] = grader.grade([tmp_path / "explorer.ipynb"], solutions=course_dirs[0],
                            settings=Settings(timeout=60, total_timeout=120, memory_mb=MEMORY_MB))
    assert (result.status, result.total, result.message) == ("graded", 6, "3/3 checks passed")


@pytest.mark.slow
def test_a_cell_that_ignores_interrupts_and_floods_is_stopped_at_its_deadline(course_dirs, tmp_path):
    """Item 2: the kernel is stopped soon after the cell's timeout; the runner's memory stays under the limit."""
    flood = code("""
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            print('x' * 1000, flush=True)
    """, "flood")
    nbformat.write(insert_after(answered(course_dirs), "check-1-1", flood), tmp_path / "flood.ipynb")
    started = time.monotonic()
    [result] = grader.grade([tmp_path / "flood.ipynb"], solutions=course_dirs[0],
                            settings=Settings(timeout=3, total_timeout=60, memory_mb=MEMORY_MB))
    assert time.monotonic() - started < 40
    assert (result.status, result.points) == ("graded", {"1.1": 2, "1.2": 0, "1.3": 0})
    [failure] = [c for c in result.run.other_failures if c.first_line == "import signal"]
    assert failure.message == "timed out after 3 s, and the kernel ignored the interrupt so it was stopped"
    assert result.run.runner_peak_mb < MEMORY_MB / 2


def heavy_course(tmp_path):
    """The toy course with a setup cell that needs about 300 MB (as the real course's imports need memory)."""
    nb = toy_solution()
    nb.cells[1].source = "import math\nDAY = 86_400\n_libraries = bytearray(300 << 20)"
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(nb, solutions / f"{CHAPTER}.ipynb")
    generate(solutions, tmp_path / "exercises")
    return solutions, tmp_path / "exercises"


@pytest.mark.slow
@pytest.mark.parametrize("memory_mb, what", [(20, "no kernel starts"), (200, "the setup cell fails")])
def test_a_misconfigured_grader_gives_error_rows_and_exit_3(tmp_path, capsys, memory_mb, what):
    solutions, exercises = heavy_course(tmp_path)
    folder = tmp_path / "class"
    for student in ("ann", "bo"):
        (folder / student).mkdir(parents=True)
        (folder / student / f"{CHAPTER}.ipynb").write_bytes((exercises / f"{CHAPTER}.ipynb").read_bytes())
    code_ = grader.main([str(folder), "--solutions", str(solutions), "--out", str(tmp_path / "g.csv"),
                         "--memory-mb", str(memory_mb), "--timeout", "20"])
    rows = read_gradebook(tmp_path / "g.csv")
    assert code_ == 3, what
    assert [(r["student"], r["status"], r["total"]) for r in rows] == [("ann", "error", "0"), ("bo", "error", "0")]
    assert all(r["message"].startswith("grader problem, not the student's") for r in rows)
    assert "check --memory-mb" in capsys.readouterr().err
    assert grader.main([str(folder), "--solutions", str(solutions), "--out", str(tmp_path / "ok.csv"),
                        "--memory-mb", "1024", "--timeout", "20"]) == 0
