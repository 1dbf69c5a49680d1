"""Grading on a Dask cluster without Dask and without a kernel (chapter1.grading.distributed).

Dask's ``distributed`` is replaced by a stand-in whose client runs each task at once in this process
(or fails it, as a dead worker would), and the kernel by the stand-in of ``grading_kernel``, so what
the grader sends, what a worker does with it and how rows come back are checked in milliseconds.
"""

from __future__ import annotations

import sys

import grading_kernel
import grading_toy
import nbformat
import pytest
from grading_kernel import submit
from grading_toy import CHAPTER

import chapter1.grading.distributed as distributed
from chapter1.grading.distributed import cluster, grade_on_cluster, grade_task, parse
from chapter1.grading.isolation import IsolationError, plan
from chapter1.grading.running import Settings, _prepare

course_dirs, course = grading_toy.course_dirs, grading_toy.course


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    distributed._preflight.cache_clear()  # a worker's preflight lives as long as its process
    return grading_kernel.install(monkeypatch, tmp_path, distributed)


class Future:
    def __init__(self, function, args, fail):
        self.function, self.args, self.fail = function, args, fail

    def result(self):
        if self.fail:
            raise OSError("worker tcp://10.0.0.7:4000 died")
        return self.function(*self.args)


class Dask:
    """Stands in for the ``distributed`` module: records clusters, clients and tasks."""

    def __init__(self, fail=(), unreachable=None):
        self.made, self.tasks, self.fail, self.unreachable = [], [], set(fail), unreachable
        dask = self

        class LocalCluster:
            def __init__(self, **options):
                dask.made.append(("cluster", options))

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                dask.made.append(("cluster closed",))

        class Client:
            def __init__(self, where, **options):
                if dask.unreachable:
                    raise dask.unreachable
                dask.made.append(("client", where if isinstance(where, str) else "local", options))

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                dask.made.append(("client closed",))

            def submit(self, function, *args, key, pure):
                dask.tasks.append((key, pure, args[0].notebook.exists()))
                return Future(function, args, len(dask.tasks) - 1 in dask.fail)

        self.LocalCluster, self.Client = LocalCluster, Client

    @staticmethod
    def as_completed(futures):
        return list(reversed(list(futures)))  # in an order other than the one sent


@pytest.fixture
def dask(monkeypatch):
    fake = Dask()
    monkeypatch.setattr(distributed, "_distributed", lambda: fake)
    return fake


def test_a_scheduler_is_an_address_or_a_local_cluster_of_1_to_256_workers(dask):
    assert parse("local:2") == ("local", 2) and parse(" local:256 ") == ("local", 256)
    assert parse("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    assert parse(" tcp://h:1 ") == ("address", "tcp://h:1")
    for bad in ("local:0", "local:257", "local:x", "local:"):
        with pytest.raises(ValueError, match=rf"^scheduler local:N needs N workers between 1 and 256; got {bad!r}$"):
            parse(bad)
    for bad in ("", "  ", None, 8786):
        with pytest.raises(ValueError, match=r"^scheduler must be a Dask scheduler address \(tcp://host:8786\) or "
                                             rf"local:N; got {bad!r}$"):
            parse(bad)


def test_without_dask_the_scheduler_option_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ValueError, match=r"^--scheduler needs Dask's distributed scheduler: pip install -e "
                                         r"'\.\[cluster\]' \(or pip install 'dask\[distributed\]'\)$"):
        parse("local:2")


def test_a_local_cluster_has_one_thread_per_worker_process_and_is_stopped(dask):
    with cluster("local:3") as client:
        assert dask.made == [("cluster", {"n_workers": 3, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None}), ("client", "local", {})]
        assert isinstance(client, dask.Client)
    assert dask.made[2:] == [("client closed",), ("cluster closed",)]


def test_a_remote_scheduler_is_given_30_seconds_and_named_when_unreachable(dask):
    with cluster("tcp://10.0.0.5:8786"):
        assert dask.made == [("client", "tcp://10.0.0.5:8786", {"timeout": 30})]
    dask.unreachable = OSError("connection refused")
    with pytest.raises(ValueError, match=r"^could not reach the Dask scheduler at 'tcp://10.0.0.5:8786' within 30 s "
                                         r"\(connection refused\)$"):
        with cluster("tcp://10.0.0.5:8786"):
            pass
    dask.unreachable = TimeoutError("timed out")
    with pytest.raises(ValueError, match=r"within 30 s \(timed out\)$"):
        with cluster("tcp://h:1"):
            pass


def jobs(course_dirs, course, tmp_path, names=("ann", "bo")):
    spool = tmp_path / "spool"
    spool.mkdir()
    return [(index, _prepare(submit(course_dirs, tmp_path, f"{name}.ipynb"), course, Settings(), spool, index))
            for index, name in enumerate(names)]


def test_each_submission_is_one_task_and_its_spooled_copy_is_removed_when_sent(course_dirs, course, kernel, dask,
                                                                                tmp_path):
    waiting = jobs(course_dirs, course, tmp_path)
    rows = list(grade_on_cluster(waiting, Settings(timeout=9), "local:2"))
    assert [(index, row.submission.student, row.total, row.status) for index, row in rows] == [
        (1, "bo", 6, "graded"), (0, "ann", 6, "graded")]
    keys = [key for key, _, _ in dask.tasks]
    assert [key.rsplit("-", 1)[1] for key in keys] == ["0", "1"] and len({key.rsplit("-", 2)[1] for key in keys}) == 1
    assert all(key.startswith("chapter1-grade-") and len(key.split("-")[2]) == 8 for key in keys)
    assert [(pure, on_disk) for _, pure, on_disk in dask.tasks] == [(False, False), (False, False)]
    assert {call["timeout"] for call in kernel.calls} == {9}
    assert dask.made[-2:] == [("client closed",), ("cluster closed",)]


def test_a_task_that_fails_on_its_worker_is_an_error_row_and_the_batch_goes_on(course_dirs, course, kernel, dask,
                                                                               tmp_path):
    dask.fail = {0}
    rows = dict(grade_on_cluster(jobs(course_dirs, course, tmp_path), Settings(), "local:1"))
    assert (rows[0].submission.student, rows[0].chapter, rows[0].status, rows[0].grader_fault) == (
        "ann", CHAPTER, "error", False)
    assert rows[0].message == "internal error while grading on the cluster: OSError: worker tcp://10.0.0.7:4000 died"
    assert (rows[1].status, rows[1].total) == ("graded", 6)


def test_a_worker_grades_the_text_it_is_sent_against_its_own_copy_of_the_course(course_dirs, course, kernel,
                                                                                 tmp_path):
    [(_, job)] = jobs(course_dirs, course, tmp_path, ("ann",))
    text = job.notebook.read_text()
    job.notebook.unlink()
    row = grade_task(job, text, Settings(memory_mb=500))
    assert (row.submission, row.chapter, row.total, row.status) == (job.submission, CHAPTER, 6, "graded")
    [call] = kernel.calls
    assert call["memory_mb"] == 500 and nbformat.reads(text, as_version=4).cells[3].source in call["sources"]
    assert call["spool_modes"] == ["0o700"]  # the worker's spool is its own
    assert kernel.verified == [(course_dirs[0].resolve(), False)]
    assert not any((tmp_path / "tmp").iterdir())  # the worker's spool is gone
    elsewhere = job.chapter.__class__(**{**job.chapter.__dict__, "solutions": tmp_path / "not-on-this-worker"})
    moved = job.__class__(job.submission, elsewhere, job.notebook, job.notes)
    grade_task(moved, text, Settings())
    assert kernel.verified[-1] == (distributed.DEFAULT_SOLUTIONS.resolve(), False)  # the worker's own course
    assert kernel.calls[-1]["isolation"] == plan(distributed.DEFAULT_SOLUTIONS)


def test_a_worker_whose_isolation_fails_reports_a_grader_problem(course_dirs, course, kernel, monkeypatch, tmp_path):
    def broken(folder, sandbox):
        raise IsolationError(f"no bubblewrap here (sandbox={sandbox})")

    monkeypatch.setattr(distributed, "verified", broken)
    [(_, job)] = jobs(course_dirs, course, tmp_path, ("ann",))
    row = grade_task(job, job.notebook.read_text(), Settings(sandbox=True))
    assert (row.submission, row.chapter, row.status, row.grader_fault, row.points) == (
        job.submission, CHAPTER, "error", True, {})
    assert row.message == "grader problem, not the student's: no bubblewrap here (sandbox=True)"
    assert kernel.calls == []
