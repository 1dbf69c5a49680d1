"""Kernels cannot read the solutions: a root grader's kernels run as uid 65534 with the solutions hidden,
and ``--sandbox`` (bubblewrap) also takes away the network and every writable folder but the kernel's own.

Each mode grades a copy of the chapter 01 solution with hostile cells added (read the solutions, list the
checkout's history, write outside the kernel's folder, connect to a socket on this machine): the hostile
cells must fail where the mode promises it, and the honest answers must still score full marks.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import stat
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from chapter1 import grade as grader
from chapter1.grading import isolation, running
from chapter1.grading.grade import Settings

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "01_single_server.ipynb"


def bwrap_or_skip():
    if shutil.which("bwrap"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("bubblewrap (bwrap) is missing on CI: .ci/run installs the Debian package bubblewrap")
    pytest.skip("bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap); --sandbox is untested here")


def root_or_skip():
    if os.geteuid() != 0:
        pytest.skip("kernels switch to uid 65534 only when the grader runs as root; this test runs as "
                    f"uid {os.geteuid()}")


def hostile(tmp_path: Path, port: int, outside: Path) -> Path:
    """The chapter 01 solution with hostile cells after its setup cell, as a student's submission."""
    nb = nbformat.read(SOLUTION, as_version=4)
    cells = {
        "read": f"# attack: read solutions\nopen({str(SOLUTION)!r}).read()",
        "git": f"# attack: read history\nimport os\nassert 'HEAD' in os.listdir({str(REPO / '.git')!r}), 'hidden'",
        "repo": f"# attack: write repo\nopen({str(REPO / 'chapter1' / 'escaped.txt')!r}, 'w').write('x')",
        "outside": f"# attack: write outside\nopen({str(outside)!r}, 'w').write('x')",
        "net": f"# attack: network\nimport socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).close()",
        "who": "# attack: who\nimport os\nprint(os.getuid(), os.getcwd())",
    }
    nb.cells[1:1] = [new_code_cell(source, id=f"attack-{name}") for name, source in cells.items()]
    path = tmp_path / "mallory-01_single_server.ipynb"
    nbformat.write(nb, path)
    return path


def outcomes(result) -> dict[str, str]:
    return {c.first_line.removeprefix("# attack: "): c.outcome + ": " + c.message
            for c in result.run.cells if c.first_line.startswith("# attack:")}


def grade_hostile(tmp_path, sandbox: bool):
    listener = socket.create_server(("127.0.0.1", 0))
    outside = Path("/var/tmp") / f"chapter1-escaped-{secrets.token_hex(4)}.txt"
    try:
        path = hostile(tmp_path, listener.getsockname()[1], outside)
        [result] = grader.grade([path], out=tmp_path / "g.csv",
                                settings=Settings(timeout=60, total_timeout=300, sandbox=sandbox))
        return result, outcomes(result), outside.exists()
    finally:
        listener.close()
        outside.unlink(missing_ok=True)
        (REPO / "chapter1" / "escaped.txt").unlink(missing_ok=True)


@pytest.mark.slow
def test_a_root_graders_kernel_runs_as_nobody_and_cannot_read_the_solutions(tmp_path):
    root_or_skip()
    result, seen, wrote_outside = grade_hostile(tmp_path, sandbox=False)
    assert result.status == "graded" and result.total == result.maximum > 0, result.message
    assert seen["read solutions"].startswith("failed: PermissionError"), seen
    assert seen["read history"].startswith("failed: PermissionError"), seen
    # A checkout under a folder nobody may cross (a clone in `mktemp -d`) reaches the kernel bound read-only.
    reached_read_only = bool(isolation.covers([str(REPO)], isolation.NOBODY))
    denied = "failed: OSError: [Errno 30] Read-only file system" if reached_read_only else "failed: PermissionError"
    assert seen["write repo"].startswith(denied), seen
    assert seen["who"] == "passed: ", seen
    # What this mode does not prevent (docs/grading.md says so): world-writable folders, the network.
    assert wrote_outside and seen["write outside"] == "passed: ", seen
    assert seen["network"] == "passed: ", seen


@pytest.mark.slow
def test_the_sandbox_takes_away_solutions_network_and_writes_outside_the_kernels_folder(tmp_path):
    bwrap_or_skip()
    result, seen, wrote_outside = grade_hostile(tmp_path, sandbox=True)
    assert result.status == "graded" and result.total == result.maximum > 0, result.message
    assert seen["read solutions"].startswith("failed: "), seen
    assert seen["read history"].startswith("failed: "), seen
    assert "Read-only file system" in seen["write repo"], seen
    assert "Read-only file system" in seen["write outside"] and not wrote_outside, seen
    assert seen["network"].startswith("failed: ") and "Error" in seen["network"], seen


@pytest.mark.slow
def test_the_sandbox_still_interrupts_a_cell_at_its_timeout(tmp_path):
    """A sandboxed kernel is interrupted (not lost) at a cell's timeout, and later checks still pass."""
    bwrap_or_skip()
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells[1:1] = [new_code_cell("while True:\n    pass", id="spin")]
    path = tmp_path / "spin-01_single_server.ipynb"
    nbformat.write(nb, path)
    [result] = grader.grade([path], out=tmp_path / "g.csv",
                            settings=Settings(timeout=8, total_timeout=300, sandbox=True))
    assert result.status == "graded" and result.total == result.maximum > 0, result.message
    [spin] = [c for c in result.run.cells if c.first_line == "while True:"]
    assert spin.message == "timed out after 8 s (the cell was interrupted)"


def test_sandbox_without_bubblewrap_is_a_grader_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    running.isolation.cache_clear()
    running.verified.cache_clear()
    try:
        with pytest.raises(isolation.IsolationError, match="apt-get install bubblewrap"):
            isolation.plan(REPO / "solutions", sandbox=True)
        notebook = tmp_path / "ann-01_single_server.ipynb"
        notebook.write_bytes(SOLUTION.read_bytes())
        assert grader.main([str(notebook), "--sandbox", "--out", str(tmp_path / "g.csv")]) == 3
        assert "needs bubblewrap" in capsys.readouterr().err
    finally:
        running.isolation.cache_clear()
        running.verified.cache_clear()


def test_folders_a_kernel_cannot_cross_are_found(tmp_path):
    locked = tmp_path / "locked"
    (locked / "python" / "lib").mkdir(parents=True)
    locked.chmod(0o700)
    tmp_path.chmod(0o755)
    found = isolation.covers([str(locked / "python" / "lib")], uid=isolation.NOBODY)
    blocked = [folder for folder in found if Path(folder) in (locked, *locked.parents)]
    assert blocked and found[blocked[-1]] == [str(locked / "python" / "lib")]
    assert not stat.S_IMODE(locked.stat().st_mode) & 0o001


def test_the_kernel_folder_is_its_users_alone(tmp_path):
    root_or_skip()
    plan = isolation.plan(REPO / "solutions")
    with isolation.kernel_folder("chapter1-test-", plan) as folder:
        info, parent = folder.stat(), folder.parent.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o700)
        assert stat.S_IMODE(parent.st_mode) == 0o711 and parent.st_uid == 0
        assert len(folder.name) == 32  # not guessable by another kernel of the same user
