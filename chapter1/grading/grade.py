"""Grade exercise notebooks: restore the real checks, run each submission on its own, keep a gradebook.

A learner checks one notebook and reads a score table::

    python -m chapter1.grade exercises/01_single_server.ipynb

An instructor grades a class (one file or one folder per student), two at a time::

    python -m chapter1.grade submissions/* --out gradebook.csv --feedback feedback --jobs 2

or on a Dask cluster, one task per submission (``--scheduler tcp://host:8786``, or ``local:N`` for N
worker processes here; see ``distributed``)::

    python -m chapter1.grade submissions/* --scheduler tcp://10.0.0.5:8786

For every submission the chapter is read from the notebook's metadata (the
file name is the fallback); the chapter's CHECK cells are put back exactly as
the course wrote them (edited ones restored, deleted ones re-inserted, unknown
ones dropped); then the notebook runs under ``pytest --nbval-lax`` in a
separate process, in a temporary folder, with per-cell and whole-notebook time
limits and a memory limit on the kernel. Only this (parent) process writes the
gradebook, atomically, after every submission. See docs/grading.md for what
this isolation does and does not protect against.

This module is the batch (``grade``) and the command line (``main``); the
other jobs live beside it: ``submissions`` (the course, reading and restoring
submissions), ``running`` (one submission run and scored), ``gradebook``
(the CSV, feedback and score table), ``nbcheck`` (the runner and kernel),
``warm`` (runners forked from a server that has their imports loaded).
Every public name is importable from here too.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable

from chapter1.grading.gradebook import (
    FIXED_COLUMNS,
    TAIL_COLUMNS,
    feedback_markdown,
    read_gradebook,
    score_table,
    write_feedback,
    write_gradebook,
)
from chapter1.grading.isolation import IsolationError
from chapter1.grading.running import (
    Result,
    Settings,
    _grade_job,
    _Job,
    _Preflight,
    _prepare,
    grade_submission,
    verified,
)
from chapter1.grading.submissions import (
    DEFAULT_SOLUTIONS,
    NOTES,
    Chapter,
    Course,
    GradingError,
    Submission,
    _text,
    find_submissions,
    identify_chapter,
    load_chapter,
    note_text,
    notes_summary,
    restore_checks,
)

__all__ = [
    "Settings", "Submission", "Chapter", "Course", "GradingError", "Result",
    "find_submissions", "identify_chapter", "restore_checks", "grade_submission", "grade",
    "write_gradebook", "read_gradebook", "write_feedback", "feedback_markdown", "score_table",
    "note_text", "notes_summary", "load_chapter", "main",
]
# Also kept importable from here, as when the grader was one module.
_REEXPORTED = (NOTES, FIXED_COLUMNS, TAIL_COLUMNS, Chapter, GradingError, Submission, find_submissions,
               identify_chapter, load_chapter, notes_summary, restore_checks, grade_submission,
               feedback_markdown, write_gradebook)
DEFAULT_SETTINGS = Settings()


def grade(
    paths: Iterable[Path | str],
    *,
    solutions: Path | str = DEFAULT_SOLUTIONS,
    out: Path | str | None = None,
    feedback: Path | str | None = None,
    jobs: int = 1,
    settings: Settings = DEFAULT_SETTINGS,
    progress: Callable[[int, int, Result], None] | None = None,
    scheduler: str | None = None,
) -> list[Result]:
    """Grade submissions (files, or folders one per student), ``jobs`` at a time; results in input order.

    Every submission is read and restored before any of them runs, so no
    submission's code can touch another's file before it is read; each
    restored notebook is written to a private spool folder at once, so the
    grader holds one submission in memory at a time, whatever the class size.
    The gradebook at ``out`` is rewritten atomically after every submission;
    feedback Markdown goes to ``feedback/<student>_<chapter>.md``.

    ``scheduler``: run each submission as one task on a Dask cluster instead (a scheduler's address, or
    ``"local:N"`` for a LocalCluster of N workers here); this process still writes every row.

    >>> grade(["submissions/alice", "submissions/bob"], out="gradebook.csv", jobs=2)  # doctest: +SKIP
    [Result(... status='graded' ...), Result(... status='error' ...)]
    """
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    if scheduler is not None:
        if jobs != 1:
            raise ValueError(f"jobs and scheduler are exclusive (the cluster's workers set how many run at once); "
                             f"got jobs={jobs!r} with scheduler={scheduler!r}")
        from chapter1.grading.distributed import parse

        parse(scheduler)
    course = Course(solutions)
    verified(course.folder.resolve(), settings.sandbox)  # kernels cannot read the solutions, or IsolationError
    submissions = find_submissions(paths)
    if not submissions:
        raise ValueError("no submissions given; pass notebook files or student folders")
    previous = read_gradebook(out) if out else []
    results: list[Result | None] = [None] * len(submissions)
    preflight = _Preflight(settings)
    done = 0

    def record(index: int, result: Result) -> None:
        nonlocal done
        results[index], done = result, done + 1
        if out:
            write_gradebook(out, [r for r in results if r is not None], course, previous)
        if progress:
            progress(done, len(submissions), result)

    with tempfile.TemporaryDirectory(prefix="chapter1-spool-", ignore_cleanup_errors=True) as spool:
        os.chmod(spool, 0o700)
        prepared = [_prepare(s, course, settings, Path(spool), i) for i, s in enumerate(submissions)]
        for index, item in enumerate(prepared):
            if isinstance(item, Result):
                record(index, item)
        waiting = [(index, item) for index, item in enumerate(prepared) if isinstance(item, _Job)]
        if scheduler is not None:
            from chapter1.grading.distributed import grade_on_cluster

            for index, result in grade_on_cluster(waiting, settings, scheduler):
                record(index, result)
            waiting = []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_job, item, settings, preflight): index for index, item in waiting}
            try:
                for future in as_completed(futures):
                    record(futures[future], future.result())
            except KeyboardInterrupt:  # keep the rows so far; start nothing new
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    if feedback:
        write_feedback(feedback, results)
    return results


def _progress_line(done: int, total: int, result: Result) -> None:
    score = f"{result.total}/{result.maximum}" if result.possible else "-"
    print(_text(f"[{done:>{len(str(total))}}/{total}] {result.submission.student:<16} {result.chapter or '?':<20} "
                f"{score:>7}  {result.status}: {result.message}"), flush=True)


def _positive(kind: type, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    """Command line (``python -m chapter1.grade`` or ``chapter1-grade``): exit 0 when all were graded, 1 if a
    submission could not be graded, 2 on bad options, 3 when the grader itself could not run the course's
    own setup cells with these settings (no kernel, ``import chapter1`` failing)."""
    parser = argparse.ArgumentParser(prog="chapter1-grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="notebook files, or folders (one per student) holding them")
    parser.add_argument("--out", default="gradebook.csv", help="gradebook CSV to write (default: gradebook.csv)")
    parser.add_argument("--feedback", metavar="DIR", help="write one Markdown feedback file per submission here")
    parser.add_argument("--jobs", type=_positive(int, "a whole number >= 1"), default=1,
                        help="submissions graded at the same time (default: 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on a Dask cluster, one task per submission: a scheduler's address "
                             "(tcp://host:8786), or local:N to start N worker processes here (needs the "
                             "[cluster] extra)")
    parser.add_argument("--timeout", type=_positive(float, "seconds > 0"), default=Settings.timeout,
                        help=f"time limit per cell, seconds (default: {Settings.timeout:g})")
    parser.add_argument("--total-timeout", type=_positive(float, "seconds > 0"), default=Settings.total_timeout,
                        help=f"time limit per notebook, seconds (default: {Settings.total_timeout:g})")
    parser.add_argument("--memory-mb", type=_positive(int, "megabytes > 0"), default=Settings.memory_mb,
                        help=f"memory limit of each kernel, MB (default: {Settings.memory_mb})")
    parser.add_argument("--file-mb", type=_positive(int, "megabytes > 0"), default=Settings.file_mb,
                        help=f"largest file a kernel may write, MB (default: {Settings.file_mb})")
    parser.add_argument("--solutions", default=str(DEFAULT_SOLUTIONS),
                        help="folder of the course's solution notebooks (default: the course's solutions/)")
    parser.add_argument("--chapter", help="only accept notebooks of this chapter, e.g. 01_single_server")
    parser.add_argument("--sandbox", action="store_true",
                        help="run each kernel under bubblewrap: no network, the file system read-only except its "
                             "own folder (needs the bwrap command)")
    args = parser.parse_args(argv)
    settings = Settings(timeout=args.timeout, total_timeout=args.total_timeout, memory_mb=args.memory_mb,
                        file_mb=args.file_mb, chapter=args.chapter, sandbox=args.sandbox)
    single = len(args.submissions) == 1 and not Path(args.submissions[0]).is_dir()
    try:
        results = grade(args.submissions, solutions=args.solutions, out=args.out, feedback=args.feedback,
                        jobs=args.jobs, settings=settings, progress=None if single else _progress_line,
                        scheduler=args.scheduler)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except IsolationError as error:
        print(f"error: grader problem: {error}", file=sys.stderr)
        return 3
    if single:
        print(_text(score_table(results[0])))
    errors = sum(result.status == "error" for result in results)
    print(f"{len(results) - errors} graded, {errors} could not be graded; gradebook: {args.out}"
          + (f"; feedback: {args.feedback}/" if args.feedback else ""))
    faults = list(dict.fromkeys(result.message for result in results if result.grader_fault))
    for fault in faults:
        print(f"error: {fault}", file=sys.stderr)
    return 3 if faults else 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
