"""Grade a class on a Dask cluster: each submission one task, the gradebook written by the client alone.

    python -m chapter1.grade submissions/* --scheduler tcp://10.0.0.5:8786   # workers already running
    python -m chapter1.grade submissions/* --scheduler local:2               # a LocalCluster of 2 workers here

The client (this process) reads and restores every submission as ``--jobs`` does, then sends each
restored notebook to the cluster as one task. The task runs the same per-submission function as
``--jobs`` (:func:`chapter1.grading.running._grade_job`) on a worker: the notebook in its own kernel
process, folder and limits, under the worker machine's isolation. Results come back to the client,
which writes every row of the gradebook itself, atomically, as each one arrives.

Every worker machine needs the course installed (the same checkout and version) and a Jupyter
kernel. A worker hides its own checkout's ``solutions/`` folder from kernels (or the client's, when
the workers share its file system) and refuses to grade when it cannot. Dask is optional:
``pip install -e '.[cluster]'``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import traceback
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

from chapter1.grading.isolation import IsolationError
from chapter1.grading.running import Result, Settings, _clip, _grade_job, _Job, _Preflight, verified
from chapter1.grading.submissions import DEFAULT_SOLUTIONS

__all__ = ["cluster", "grade_on_cluster", "grade_task", "parse"]

LOCAL = re.compile(r"local:(\d+)")
CONNECT_S = 30


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ValueError("--scheduler needs Dask's distributed scheduler: pip install -e '.[cluster]' "
                         "(or pip install 'dask[distributed]')") from None
    return distributed


def parse(scheduler: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, else ``("address", scheduler)``; ValueError for what cannot be either,
    or when Dask's distributed scheduler is not installed.

    >>> parse("local:2"), parse("tcp://10.0.0.5:8786")
    (('local', 2), ('address', 'tcp://10.0.0.5:8786'))
    """
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"scheduler must be a Dask scheduler address (tcp://host:8786) or local:N; got {scheduler!r}")
    _distributed()
    scheduler = scheduler.strip()
    local = LOCAL.fullmatch(scheduler)
    if scheduler.startswith("local:"):
        if not (local and 1 <= int(local.group(1)) <= 256):
            raise ValueError(f"scheduler local:N needs N workers between 1 and 256; got {scheduler!r}")
        return "local", int(local.group(1))
    return "address", scheduler


@contextlib.contextmanager
def cluster(scheduler: str) -> Iterator[object]:
    """A Dask client for ``scheduler``: ``local:N`` starts a LocalCluster of N one-thread worker processes on
    this machine (stopped afterwards); anything else is a running scheduler's address (``tcp://host:8786``).

    >>> with cluster("local:1") as client:  # doctest: +SKIP
    ...     len(client.scheduler_info()["workers"])
    1
    """
    kind, where = parse(scheduler)
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if kind == "local":
            made = stack.enter_context(distributed.LocalCluster(
                n_workers=where, threads_per_worker=1, processes=True, dashboard_address=None))
            client = stack.enter_context(distributed.Client(made))
        else:
            try:
                client = stack.enter_context(distributed.Client(where, timeout=CONNECT_S))
            except (OSError, TimeoutError) as error:
                raise ValueError(f"could not reach the Dask scheduler at {where!r} within {CONNECT_S} s "
                                 f"({error})") from None
        yield client


@functools.lru_cache(maxsize=None, typed=True)
def _preflight(settings: Settings) -> _Preflight:
    """One preflight per worker process and settings (it remembers, per chapter, whether the course's own
    setup cells run)."""
    return _Preflight(settings)


def grade_task(job: _Job, text: str, settings: Settings) -> Result:
    """On a worker: grade one restored submission (``text``, the notebook as JSON) with the same function as
    ``--jobs``; an isolation problem on this machine becomes a grader-fault row.

    >>> grade_task(job, restored_json, Settings())  # doctest: +SKIP
    Result(... status='graded', message='5/5 checks passed' ...)
    """
    chapter = job.chapter
    solutions = chapter.solutions if chapter.solutions and Path(chapter.solutions).is_dir() else DEFAULT_SOLUTIONS
    chapter = replace(chapter, solutions=Path(solutions))
    try:
        verified(Path(solutions).resolve(), settings.sandbox)
    except IsolationError as error:
        return Result(job.submission, chapter.name, "error", _clip(f"grader problem, not the student's: {error}"),
                      grader_fault=True)
    with tempfile.TemporaryDirectory(prefix="chapter1-spool-", ignore_cleanup_errors=True) as spool:
        os.chmod(spool, 0o700)
        path = Path(spool) / "submission.ipynb"
        path.write_text(text, encoding="utf-8")
        return _grade_job(replace(job, chapter=chapter, notebook=path), settings, _preflight(settings))


def grade_on_cluster(jobs: Iterable[tuple[int, _Job]], settings: Settings, scheduler: str
                     ) -> Iterator[tuple[int, Result]]:
    """Send each (index, job) to the cluster as one task; yield (index, result) as tasks finish.

    Each restored notebook is read from the client's spool and removed from it when its task is sent. A task
    that fails on the worker (the worker died, say) becomes an error row; the batch goes on.
    """
    distributed = _distributed()
    batch = uuid.uuid4().hex[:8]
    with cluster(scheduler) as client:
        futures = {}
        for index, job in jobs:
            text = job.notebook.read_text(encoding="utf-8")
            job.notebook.unlink(missing_ok=True)
            future = client.submit(grade_task, job, text, settings, key=f"chapter1-grade-{batch}-{index}", pure=False)
            futures[future] = (index, job)
        for future in distributed.as_completed(futures):
            index, job = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # the task or its worker failed: one error row, not a stopped batch
                detail = traceback.format_exception_only(type(error), error)[-1].strip()
                result = Result(job.submission, job.chapter.name, "error",
                                _clip(f"internal error while grading on the cluster: {detail}"))
            yield index, result
