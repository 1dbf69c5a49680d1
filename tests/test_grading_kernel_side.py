"""The kernel side of the isolation for real, without a kernel: a forked child of the test takes the steps a
root grader's kernel launcher takes (``drop``, ``settle``) with the real C library, in its own mount namespace,
and reports what it can see; and the launcher's choices that a stand-in C library shows in milliseconds.

A root grader's kernel must end as uid 65534 in its folder, unable to read the answers, able to reach its Python
under a folder it could not cross (whatever the grader's umask), with no way back to privileges.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import subprocess
import tempfile
import traceback
from pathlib import Path

import pytest
from test_grading_isolation import Libc, Process

from chapter1.grading import isolation
from chapter1.grading.isolation import NOBODY, Isolation, IsolationError

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="only root can switch users and mount")
PR_GET_DUMPABLE = 3


def in_child(work):
    """Run ``work()`` in a forked child and return what it returned (JSON), or raise with the child's error."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child reports through the pipe)
        os.close(read)
        try:
            answer, code = json.dumps(work()), 0
        except BaseException:  # noqa: BLE001 - every failure goes back to the parent as text
            answer, code = traceback.format_exc(), 1
        with os.fdopen(write, "w") as out:
            out.write(answer)
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as source:
        answer = source.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise AssertionError(f"the child failed:\n{answer}")
    return json.loads(answer)


@pytest.fixture
def machine():
    """A folder every user can cross, holding open answers, a root-only folder with a Python inside, and the
    kernel's own folder (owned by 65534, mode 0700)."""
    top = Path(tempfile.mkdtemp(prefix="chapter1-kernel-side-"))
    top.chmod(0o711)
    (top / "solutions").mkdir(mode=0o755)
    (top / "solutions" / "01_toy.ipynb").write_text("{}")
    (top / "solutions" / "01_toy.ipynb").chmod(0o644)  # readable by anyone, unless hidden
    lib = top / "locked" / "python" / "lib"
    lib.mkdir(parents=True)
    (lib / "site.py").write_text("")
    for folder in (lib.parent, lib):
        folder.chmod(0o755)
    (top / "locked").chmod(0o700)
    (top / "kernel").mkdir(mode=0o700)
    if ROOT:
        os.chown(top / "kernel", NOBODY, NOBODY)
    yield top
    shutil.rmtree(top)


@needs_root
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_root_kernel_ends_as_nobody_blind_to_the_answers_where_a_stand_in_would_refuse(machine, umask,
                                                                                          monkeypatch):
    lib = machine / "locked" / "python" / "lib"
    config = {"user": [NOBODY, NOBODY], "hidden": [str(machine / "solutions")], "reach": [str(lib)],
              "folder": str(machine / "kernel")}
    with monkeypatch.context() as patched:  # a C library that only records: the same steps, nothing hidden
        libc = Libc()
        patched.setattr(isolation.ctypes, "CDLL", lambda *args, **kwargs: libc)
        Process(patched)
        patched.chdir(machine)
        assert isolation.drop(config) is True
        covered = [call[2] for call in libc.calls if call[0] == "mount" and call[3] == b"tmpfs"]
        assert covered == [os.fsencode(machine / "locked"), os.fsencode(machine / "solutions")]
        with pytest.raises(SystemExit):
            isolation.settle(config)  # the answers are still readable: the kernel refuses to start

    def kernel():
        os.umask(umask)
        changed = isolation.drop(config)
        isolation.settle(config)  # exits with PROBE_EXIT if the answers were still readable
        seen = {"changed": changed, "ids": [os.getuid(), os.getgid(), os.getgroups()], "cwd": os.getcwd(),
                "python": os.listdir(lib)}
        for name, path in (("answers", machine / "solutions"), ("locked", machine / "locked")):
            try:
                seen[name] = os.listdir(path)
            except PermissionError:
                seen[name] = "denied"
        status = Path("/proc/self/status").read_text()
        seen["no_new_privs"] = status.split("NoNewPrivs:")[1].split()[0]
        seen["dumpable"] = ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        return seen

    seen = in_child(kernel)
    assert seen["changed"] is True and seen["ids"] == [NOBODY, NOBODY, []]
    assert seen["cwd"] == str(machine / "kernel")
    assert seen["answers"] == "denied"          # an empty tmpfs of mode 0 over the solutions
    assert seen["python"] == ["site.py"]        # bound back read-only under the covered root-only folder
    assert seen["locked"] == ["python"]         # the cover shows the way to it and nothing else
    assert (seen["no_new_privs"], seen["dumpable"]) == ("1", 0)
    assert os.listdir(machine / "solutions") == ["01_toy.ipynb"]  # the grader's own view is untouched


@needs_root
def test_a_kernel_that_cannot_hide_the_answers_gives_the_systems_reason_as_a_stand_in_does(machine, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(isolation.ctypes, "CDLL", lambda *args, **kwargs: Libc(fail={"unshare"}))
        patched.setattr(isolation.ctypes, "get_errno", lambda: errno.EPERM)
        stand_in = isolation._hide([str(machine / "solutions")])

    def as_nobody():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return isolation._hide([str(machine / "solutions")])

    assert in_child(as_nobody) == stand_in == "no private mount namespace (Operation not permitted)"


def test_a_needed_path_that_is_not_a_folder_is_refused_before_anything_is_covered(monkeypatch, tmp_path):
    libc = Libc()
    monkeypatch.setattr(isolation.ctypes, "CDLL", lambda *args, **kwargs: libc)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "python").write_text("")
    problem = isolation._hide([], {str(tmp_path / "locked"): [str(tmp_path / "locked" / "python")]})
    assert problem == f"[Errno 20] Not a directory: '{tmp_path / 'locked' / 'python'}'"
    assert [call[0] for call in libc.calls] == ["unshare", "mount"] and libc.calls[1][2] == b"/"  # no tmpfs


@needs_root
def test_only_folders_the_kernels_user_cannot_cross_are_covered(monkeypatch):
    libc = Libc()
    monkeypatch.setattr(isolation.ctypes, "CDLL", lambda *args, **kwargs: libc)
    top = Path(tempfile.mkdtemp(prefix="chapter1-kernel-side-"))
    try:
        top.chmod(0o711)
        for name in ("locked", "own"):
            (top / name / "python").mkdir(parents=True)
            (top / name).chmod(0o700)
        os.chown(top / "own", NOBODY, 0)  # the kernel's user owns it (its group is another)
        Process(monkeypatch)
        config = {"user": [NOBODY, NOBODY + 1], "hidden": [], "reach": [str(top / "locked" / "python"),
                                                                      str(top / "own" / "python")]}
        assert isolation.drop(config) is True
        covered = [call[2] for call in libc.calls if call[0] == "mount" and call[3] == b"tmpfs"]
        assert covered == [os.fsencode(top / "locked")]
        libc.calls.clear()
        assert isolation.drop({"user": [NOBODY, NOBODY]}) is True  # nothing to hide or to reach: no cover
        assert not [call for call in libc.calls if call[0] == "mount" and call[3] == b"tmpfs"]
    finally:
        shutil.rmtree(top)


def test_a_kernel_refusing_to_start_names_every_folder_it_can_read(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(isolation.ctypes, "CDLL", lambda *args, **kwargs: Libc())
    (tmp_path / "work").mkdir()
    for name in ("solutions", "git"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "HEAD").write_text("x")
    with pytest.raises(SystemExit):
        isolation.settle({"folder": str(tmp_path / "work"), "hidden": [str(tmp_path / "solutions"),
                                                                      str(tmp_path / "git")]})
    assert capsys.readouterr().err == (
        f"chapter1 isolation: refusing to start a kernel that can read {tmp_path / 'solutions'} (1 entries listed, "
        f"HEAD opened); {tmp_path / 'git'} (1 entries listed, HEAD opened)\n")
    isolation.settle({"folder": str(tmp_path / "work")})  # nothing hidden: it settles in its folder
    assert Path.cwd() == tmp_path / "work"


def test_the_probe_opens_at_most_twenty_entries_of_a_folder_it_can_list(monkeypatch, tmp_path):
    # twenty sub-folders (which cannot be opened as files) listed before the one file: the probe stops trying
    # at twenty, so a huge answers folder cannot stall a kernel's start, and the folder is named all the same
    for k in range(20):
        (tmp_path / f"d{k:02}").mkdir()
    (tmp_path / "z.ipynb").write_text("{}")
    listdir = os.listdir
    monkeypatch.setattr(isolation.os, "listdir", lambda path: sorted(listdir(path)))
    assert isolation.readable([str(tmp_path)]) == [f"{tmp_path} (21 entries listed)"]
    (tmp_path / "d19").rmdir()
    assert isolation.readable([str(tmp_path)]) == [f"{tmp_path} (20 entries listed, z.ipynb opened)"]


@needs_root
def test_a_kernels_copies_belong_to_its_user_and_a_second_start_finds_its_home(monkeypatch, tmp_path):
    grader = tmp_path / "grader"
    (grader / "ipython" / "profile_default").mkdir(parents=True)
    (grader / "ipython" / "profile_default" / "ipython_kernel_config.py").write_text("c.X = 1\n")
    (grader / "conn.json").write_text("{}")
    for name in isolation.kernel_environment(tmp_path):  # (each put back after the test)
        monkeypatch.setenv(name, str(grader / "ipython") if name == "IPYTHONDIR" else "unset")
    folder = tmp_path / "work"
    folder.mkdir()
    config = {"folder": str(folder), "user": [NOBODY, NOBODY]}
    for _ in range(2):  # a kernel started again in its folder (a restart) finds its home there
        monkeypatch.setenv("IPYTHONDIR", str(grader / "ipython"))
        isolation.prepare(config, ["-f", str(grader / "conn.json")])
    home = folder / ".home"
    for copy in (home / "kernel.json", home / "ipython/profile_default/ipython_kernel_config.py"):
        info = copy.stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (NOBODY, NOBODY, 0o600), copy


def test_a_hidden_folder_under_the_empty_tmp_is_left_to_it_beside_a_course_bound_back(monkeypatch, tmp_path):
    # the checkout (tmp/co) is bound back into the empty temporary folder; answers elsewhere under it (tmp/other)
    # are hidden by the empty tmp itself and need no cover of their own
    (tmp_path / "co").mkdir()
    (tmp_path / "other" / "solutions").mkdir(parents=True)
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    monkeypatch.setattr(isolation, "_course_paths", lambda: [str(tmp_path / "co")])
    hidden = str(tmp_path / "other" / "solutions")
    command = isolation.bwrap_command(Isolation(None, True, (hidden,)), tmp_path / "work", tmp=str(tmp_path))
    assert "--ro-bind" in command and str(tmp_path / "co") in command and hidden not in command


def test_a_sandboxed_probe_started_without_a_jupyter_parent_is_prepared(monkeypatch, tmp_path):
    # the grader's probe is started by subprocess, not by Jupyter: there is no JPY_PARENT_PID to drop
    for name in isolation.kernel_environment(tmp_path):  # (each put back after the test)
        monkeypatch.setenv(name, str(tmp_path / "none"))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    assert isolation.prepare({"folder": str(tmp_path), "sandbox": True}, ["--probe"]) == ["--probe"]
    assert "JPY_PARENT_PID" not in os.environ and os.environ["HOME"] == str(tmp_path / ".home")


def test_the_kernel_is_told_the_graders_temporary_folder(tmp_path):
    # the launcher sets the kernel's own TMPDIR before it builds the bubblewrap command: the grader's is passed on
    setting = json.loads(Isolation(None, True, ("/s",)).argument(tmp_path / "k"))
    assert (setting["folder"], setting["tmp"]) == (str(tmp_path / "k"), os.path.realpath(tempfile.gettempdir()))


@needs_root
def test_the_probe_starts_in_a_folder_of_the_kernels_user_and_its_failures_are_named(monkeypatch, tmp_path):
    owners = []

    def probe(stdout):
        def run(command, **options):
            owners.append(os.stat(json.loads(command[command.index("--isolation") + 1])["folder"]).st_uid)
            return subprocess.CompletedProcess(command, 0, stdout, "")
        return run

    user = Isolation((NOBODY, 4242), False, ("/s",))
    monkeypatch.setattr(isolation.subprocess, "run", probe(f'{{"uid": {NOBODY}, "gid": 4242, "groups": []}}'))
    isolation.verify(user)
    assert owners == [NOBODY]  # the probe, as the kernel's user, can enter its folder
    monkeypatch.setattr(isolation.subprocess, "run", probe('{"uid": 1000, "gid": 4242, "groups": []}'))
    with pytest.raises(IsolationError, match=rf"^the probe ran as uid 1000, not {NOBODY}$"):
        isolation.verify(user)
    monkeypatch.setattr(isolation.subprocess, "run", probe("w" * 100 + "x" * 200))
    with pytest.raises(IsolationError) as raised:
        isolation.verify(user)
    assert str(raised.value) == f"the isolated probe said nothing readable: {'x' * 200!r}"  # its last 200 characters
