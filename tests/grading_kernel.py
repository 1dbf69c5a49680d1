"""A stand-in for the grader's kernel runner, and a learner's submission of the toy chapter, for kernel-free tests.

``FakeKernel`` replaces ``run_notebook`` (which starts a Jupyter kernel, seconds per notebook): it runs the
restored notebook's code cells with ``exec`` in this process and reports one outcome per cell, as the
real runner does, and records what it was given (the notebook, its folder, the limits).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from grading_toy import exercise

import chapter1.grading.running as running
from chapter1.grading.exercises import parse_check
from chapter1.grading.nbcheck import CellOutcome, NotebookRun
from chapter1.grading.submissions import Submission

ANSWERS = {"rps-answer": "rps = 864_000 * 10 / DAY", "peak-answer": "def peak(rate):\n    return 3 * rate",
           "servers-answer": "servers, = [8]"}


class FakeKernel:
    """Stands in for ``run_notebook``: runs each code cell with ``exec`` and records what it was given."""

    def __init__(self, fail_first=False):
        self.calls, self.fail_first, self.pause = [], fail_first, 0.0

    def __call__(self, path, **limits):
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        self.calls.append({"path": path, "sources": [c.source for c in nb.cells if c.cell_type == "code"],
                           "ids": [c.id for c in nb.cells if c.cell_type == "code"], "metadata": dict(nb.metadata),
                           "temp": sorted(p.name.rsplit("-", 1)[0] for p in Path(tempfile.gettempdir()).iterdir()),
                           "owner": path.parent.stat().st_uid,
                           "spool_modes": [oct(p.stat().st_mode & 0o777) for p in Path(tempfile.gettempdir()).iterdir()
                                           if p.name.startswith("chapter1-spool-")],
                           **limits})
        if self.calls[1:]:
            time.sleep(self.pause)  # every run after the first takes this long
        namespace, cells = {}, []
        for index, source in enumerate(self.calls[-1]["sources"]):
            check = parse_check(source)
            try:
                if self.fail_first and index == 0:
                    raise ModuleNotFoundError("No module named 'chapter1'")
                exec(source, namespace)
                result, message = "passed", ""
            except Exception as error:  # a cell that raises fails, as in a kernel
                result, message = "failed", f"{type(error).__name__}: {error}"
            cells.append(CellOutcome(check.id if check else None, check.points if check else 0, result, message,
                                     index, source.split("\n")[0]))
        return NotebookRun(path, cells, expected=list(limits.get("expected") or []))


def install(monkeypatch, tmp_path, *callers):
    """The stand-in kernel, a private temp folder, and the kernel isolation taken as verified (by running and
    by every module of ``callers`` that imported ``verified``)."""
    fake = FakeKernel()
    monkeypatch.setattr(running, "run_notebook", fake)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    fake.verified = []
    for module in (running, *callers):
        monkeypatch.setattr(module, "verified", lambda folder, sandbox: fake.verified.append((folder, sandbox)))
    return fake


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    return install(monkeypatch, tmp_path)


def submit(course_dirs, tmp_path, name="ann.ipynb", answers=ANSWERS, edit=None, chapter_metadata=True):
    """A learner's exercise notebook: the answers filled in, optionally a CHECK cell edited."""
    nb = exercise(course_dirs)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
        if edit and cell.id == edit[0]:
            cell.source = edit[1]
    if not chapter_metadata:
        nb.metadata.pop("chapter1", None)
    path = tmp_path / name
    nbformat.write(nb, path)
    return Submission(name.split(".")[0], path, name)
