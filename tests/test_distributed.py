"""The grader's Dask backend: a LocalCluster of two workers gives the same gradebook rows as --jobs 2."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest
from test_grade import CHAPTER, SETTINGS, answered, course_dirs, exercise  # noqa: F401  (course_dirs: a fixture)

from chapter1 import grade as grader

distributed = pytest.importorskip("distributed")


def mixed_batch(course_dirs, folder: Path) -> list[Path]:  # noqa: F811
    """A full solution, a blank exercise, a broken notebook (not JSON) and one whose kernel dies."""
    crash = answered(course_dirs)
    crash.cells.insert(4, nbformat.v4.new_code_cell("import os; os._exit(1)", id="crash"))  # after CHECK 1.1
    notebooks = {"full": answered(course_dirs), "blank": exercise(course_dirs), "broken": '{"cells": [ not JSON',
                 "crashes": crash}
    folder.mkdir()
    paths = []
    for name, nb in notebooks.items():
        path = folder / f"{name}.ipynb"
        path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    return paths


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as made:
        yield made


@pytest.mark.slow
def test_a_local_cluster_of_two_workers_gives_the_rows_of_jobs_2(course_dirs, local_cluster, tmp_path):  # noqa: F811
    paths = mixed_batch(course_dirs, tmp_path / "class")
    by_jobs, by_cluster = tmp_path / "jobs.csv", tmp_path / "cluster.csv"
    grader.grade(paths, solutions=course_dirs[0], out=by_jobs, jobs=2, settings=SETTINGS)
    seen = []
    results = grader.grade(paths, solutions=course_dirs[0], out=by_cluster, settings=SETTINGS,
                           scheduler=local_cluster.scheduler_address,
                           progress=lambda done, total, result: seen.append(done))
    assert rows(by_cluster) == rows(by_jobs)
    table = {row["student"]: row for row in rows(by_cluster)}
    assert [table[s]["total"] for s in ("full", "blank", "crashes")] == ["6", "0", "2"]
    assert table["broken"]["status"] == "error" and "not a readable notebook" in table["broken"]["message"]
    assert seen == [1, 2, 3, 4] and [r.submission.student for r in results] == ["full", "blank", "broken", "crashes"]
    assert not list(tmp_path.glob(".cluster.csv.*")), "no temporary gradebook left behind"
    # the tasks ran on the workers, in their own processes
    assert local_cluster.scheduler_address.startswith("tcp://")


@pytest.mark.slow
def test_the_command_line_takes_a_scheduler_address(course_dirs, local_cluster, tmp_path, capsys):  # noqa: F811
    paths = mixed_batch(course_dirs, tmp_path / "class")
    out = tmp_path / "gradebook.csv"
    code = grader.main([*map(str, paths[:2]), "--out", str(out), "--scheduler", local_cluster.scheduler_address,
                        "--solutions", str(course_dirs[0]), "--timeout", "3", "--memory-mb", "512"])
    assert code == 0, capsys.readouterr()
    assert [row["total"] for row in rows(out)] == ["6", "0"]


@pytest.mark.parametrize("argv, message", [
    (["--jobs", "2", "--scheduler", "local:2"], "jobs and scheduler are exclusive"),
    (["--scheduler", "local:0"], "local:N needs N workers between 1 and 256"),
    (["--scheduler", "tcp://127.0.0.1:9"], "could not reach the Dask scheduler"),
])
def test_bad_scheduler_options_are_refused_clearly(course_dirs, tmp_path, capsys, monkeypatch, argv,  # noqa: F811
                                                   message):
    from chapter1.grading import distributed as backend

    monkeypatch.setattr(backend, "CONNECT_S", 2)
    path = mixed_batch(course_dirs, tmp_path / "class")[0]
    code = grader.main([str(path), "--out", str(tmp_path / "gradebook.csv"), "--solutions", str(course_dirs[0]),
                        *argv])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "gradebook.csv").exists()
