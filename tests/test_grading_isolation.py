"""The kernel isolation's decisions without starting a kernel (chapter1.grading.isolation).

What mode a grader gets, which folders a kernel cannot cross, the bubblewrap command, the kernel's own
HOME and connection file, and how the grader reads its probe's answer (the probe's process replaced by a
made-up answer) are checked here in milliseconds; tests/test_isolation.py grades real notebooks in each mode.
The steps that change the process itself (``drop``, ``settle``, ``_hide``: user switch, mount namespace,
prctl) run only in a kernel and are covered there.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from chapter1.grading import isolation
from chapter1.grading.isolation import NOBODY, Isolation, IsolationError, kernel_folder, plan, readable, verify

ROOT = os.geteuid() == 0


@pytest.fixture
def crossable_tmp():
    """A folder under the temporary folder that every user can cross (pytest's own is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="chapter1-isolation-test-"))
    folder.chmod(0o711)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o700)
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()


def test_a_root_grader_hides_the_solutions_and_the_checkouts_history(tmp_path, monkeypatch):
    solutions = tmp_path / "course" / "solutions"
    solutions.mkdir(parents=True)
    (tmp_path / "course" / ".git").mkdir()
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0)
    found = plan(solutions)
    assert (found.user, found.sandbox, found.mode) == ((NOBODY, NOBODY), False, "user")
    assert found.hidden == (str(solutions.resolve()), str((tmp_path / "course" / ".git").resolve()))
    assert found.reach == tuple(isolation._course_paths())
    assert str(Path(isolation.__file__).resolve().parents[2]) in found.reach  # the checkout holding chapter1


def test_a_grader_that_is_not_root_runs_kernels_as_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)
    assert plan(tmp_path) == Isolation(None, False, (), ())
    assert plan(tmp_path).mode == "none"
    monkeypatch.setattr(isolation, "bwrap", lambda: "/usr/bin/bwrap")
    sandbox = plan(tmp_path, sandbox=True)
    assert (sandbox.user, sandbox.mode, sandbox.hidden, sandbox.reach) == (None, "sandbox", (str(tmp_path),), ())


def test_a_sandbox_without_bubblewrap_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    with pytest.raises(IsolationError, match=r"^--sandbox needs bubblewrap: install it \(Debian/Ubuntu: apt-get "
                                             r"install bubblewrap\) or grade without --sandbox$"):
        plan(tmp_path, sandbox=True)


def test_the_first_folder_a_user_cannot_cross_covers_what_it_needs(crossable_tmp):
    locked = crossable_tmp / "locked"
    (locked / "python" / "lib").mkdir(parents=True)
    (locked / "other").mkdir()
    locked.chmod(0o700)
    needed = [str(locked / "python" / "lib"), str(locked / "other"), str(crossable_tmp)]
    assert isolation.covers(needed, NOBODY) == {str(locked): needed[:2]}
    assert isolation.covers(needed, os.getuid()) == {}  # its owner crosses it
    locked.chmod(0o701)  # x for others: crossable without being listable
    assert isolation.covers(needed, NOBODY) == {}
    assert isolation._blocked(str(locked / "missing" / "deeper"), NOBODY) is None


def test_the_folders_between_two_are_made_crossable():
    assert isolation._crossable("/tmp", "/tmp/a/b/c") == ["--perms", "0755", "--dir", "/tmp/a",
                                                          "--perms", "0755", "--dir", "/tmp/a/b"]
    assert isolation._crossable("/tmp", "/tmp/a") == []


def after(command, *parts):
    """Whether ``parts`` appear in ``command`` one after the other."""
    return any(command[i:i + len(parts)] == list(parts) for i in range(len(command)))


def test_the_bubblewrap_command_leaves_only_the_kernels_folder_writable(crossable_tmp, tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "bwrap", lambda: "/usr/bin/bwrap")
    locked = crossable_tmp / "root-only"
    (locked / "python").mkdir(parents=True)
    locked.chmod(0o700)
    solutions, gone = tmp_path / "solutions", tmp_path / "gone"
    solutions.mkdir()
    folder = "/scratch/chapter1-grade-x/work"  # the kernel's temporary folder is /scratch here
    command = isolation.bwrap_command(Isolation((NOBODY, NOBODY), True, (str(solutions), str(gone)),
                                                (str(locked / "python"),)), Path(folder), tmp="/scratch")
    assert command[:5] == ["/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev"] and command[-1] == "--"
    for option in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"):
        assert option in command
    assert after(command, "--proc", "/proc") and after(command, "--tmpfs", "/scratch", "--perms", "0755", "--dir",
                                                       "/scratch/chapter1-grade-x", "--bind", folder, folder)
    assert command.index("--remount-ro") > command.index(folder)
    assert after(command, "--perms", "0755", "--tmpfs", str(locked))
    assert after(command, "--ro-bind", str(locked / "python"), str(locked / "python"), "--remount-ro", str(locked))
    assert after(command, "--perms", "0000", "--tmpfs", str(solutions), "--remount-ro", str(solutions))
    assert str(gone) not in command  # a hidden folder that does not exist is not mounted over
    assert after(command, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID") == ROOT


def test_a_hidden_folder_under_the_empty_tmp_needs_no_cover(monkeypatch, tmp_path):
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    tmp = str(tmp_path)
    (tmp_path / "solutions").mkdir()
    command = isolation.bwrap_command(Isolation(None, True, (tmp + "/solutions",)), tmp_path / "work", tmp=tmp)
    assert command[0] == "bwrap" and not after(command, "--perms", "0000")
    sandboxed = isolation.sandboxed({"user": None, "hidden": [tmp + "/solutions"], "folder": str(tmp_path / "w"),
                                     "tmp": tmp}, ["python", "nbcheck.py", "--inside"])
    assert sandboxed[-4:] == ["--", "python", "nbcheck.py", "--inside"] and after(sandboxed, "--tmpfs", tmp)


def test_the_hidden_folders_a_process_can_still_read_are_named(tmp_path):
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "01.ipynb").write_text("{}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "dirs" / "sub").mkdir(parents=True)
    paths = [str(tmp_path / name) for name in ("open", "empty", "missing", "dirs")]
    assert readable(paths) == [f"{paths[0]} (1 entries listed, 01.ipynb opened)", f"{paths[3]} (1 entries listed)"]


def test_a_kernel_folder_without_a_user_switch_is_plain_and_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for setting in (None, Isolation()):
        with kernel_folder("chapter1-x-", setting) as folder:
            assert folder.name == "work" and folder.parent.name.startswith("chapter1-x-") and folder.is_dir()
            (folder / "f").write_text("x")
        assert not folder.parent.exists()


@pytest.mark.skipif(not ROOT, reason="only root can give a folder to another user")
def test_a_kernel_folder_for_another_user_is_theirs_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with kernel_folder("chapter1-x-", Isolation((NOBODY, NOBODY))) as folder:
        info, outer = folder.stat(), folder.parent.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, NOBODY, 0o700)
        assert stat.S_IMODE(outer.st_mode) == 0o711 and len(folder.name) == 32
    assert not folder.parent.exists()


@pytest.fixture
def environ(monkeypatch):
    """Every variable ``prepare`` sets is put back after the test."""
    for name in [*isolation.kernel_environment(Path("/k")), "JPY_PARENT_PID"]:
        monkeypatch.setenv(name, "unset")
    return os.environ


def test_a_kernel_gets_its_own_home_and_copies_of_its_files(environ, tmp_path):
    grader = tmp_path / "grader"
    (grader / "ipython" / "profile_default").mkdir(parents=True)
    (grader / "ipython" / "profile_default" / "ipython_kernel_config.py").write_text("c.X = 1\n")
    (grader / "conn.json").write_text('{"key": "k"}')
    folder = tmp_path / "work"
    folder.mkdir()
    environ["IPYTHONDIR"] = str(grader / "ipython")
    user = (NOBODY, NOBODY) if ROOT else None
    args = isolation.prepare({"folder": str(folder), "user": user, "sandbox": True},
                             ["-m", "x", "-f", str(grader / "conn.json"), "--debug"])
    home = folder / ".home"
    assert args == ["-m", "x", "-f", str(home / "kernel.json"), "--debug"]
    assert (home / "kernel.json").read_text() == '{"key": "k"}'
    assert stat.S_IMODE((home / "kernel.json").stat().st_mode) == 0o600
    assert (home / "ipython/profile_default/ipython_kernel_config.py").read_text() == "c.X = 1\n"
    assert {name: environ[name] for name in ("HOME", "IPYTHONDIR", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                                             "XDG_DATA_HOME", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR")} == {
        "HOME": str(home), "IPYTHONDIR": str(home / "ipython"), "TMPDIR": str(home / "tmp"),
        "XDG_CACHE_HOME": str(home / "cache"), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "MPLCONFIGDIR": str(home / "config")}
    assert "JPY_PARENT_PID" not in environ  # in its own pid namespace its parent is pid 1
    assert environ["CHAPTER1_COMPILED_LOOPS"] == "long"  # its numba cache is new: short runs stay in Python
    for sub in ("", "ipython/profile_default", "tmp", "cache", "config", "data", "runtime"):
        assert (home / sub).is_dir()
        if user:
            assert ((home / sub).stat().st_uid, (home / "kernel.json").stat().st_gid) == user


def test_a_kernel_without_a_sandbox_or_a_connection_file_keeps_its_arguments(environ, tmp_path):
    environ["IPYTHONDIR"] = str(tmp_path / "nothing")
    assert isolation.prepare({"folder": str(tmp_path)}, ["--debug"]) == ["--debug"]
    assert environ["JPY_PARENT_PID"] == "unset" and environ["HOME"] == str(tmp_path / ".home")
    assert not (tmp_path / ".home" / "ipython/profile_default/ipython_kernel_config.py").exists()


class Probe:
    """Stands in for the isolated probe process: records its command, answers as told."""

    def __init__(self, returncode=0, stdout="", stderr="", error=None):
        self.answer = subprocess.CompletedProcess([], returncode, stdout, stderr)
        self.error, self.commands = error, []

    def __call__(self, command, **options):
        setting = json.loads(command[command.index("--isolation") + 1])
        self.commands.append((command, setting, Path(setting["folder"]).is_dir(), options))
        if self.error:
            raise self.error
        return self.answer


USER = Isolation((NOBODY, NOBODY), False, ("/course/solutions",))


@pytest.mark.parametrize("probe, message", [
    (Probe(5, stderr="x\nchapter1 isolation: refusing to start a kernel that can read /s (3 entries listed)\n"),
     f"kernels could read the course's answers: chapter1 isolation: refusing to start a kernel that can read /s "
     f"(3 entries listed). Make the solutions folder unreadable to uid {NOBODY} (chmod o-rwx), or grade with "
     f"--sandbox"),
    (Probe(1, stderr="PermissionError: " + "p" * 400), "the user isolation does not work on this machine (exit status "
                                                        "1: PermissionError: " + "p" * 283 + ")"),
    (Probe(1), "the user isolation does not work on this machine (exit status 1: )"),
    (Probe(0, stdout="hello"), "the isolated probe said nothing readable: 'hello'"),
    (Probe(0, stdout=""), "the isolated probe said nothing readable: ''"),
    (Probe(0, stdout='{"uid": 0, "gid": 0, "groups": []}\n'), f"the probe ran as uid 0, not {NOBODY}"),
    (Probe(0, stdout=f'{{"uid": {NOBODY}, "gid": 0, "groups": []}}\n'), f"the probe ran as uid {NOBODY}, not "
                                                                         f"{NOBODY}"),
    (Probe(error=OSError("no python")), "could not start an isolated probe (no python)"),
    (Probe(error=subprocess.TimeoutExpired("probe", 60)), "could not start an isolated probe (Command 'probe' timed "
                                                          "out after 60 seconds)"),
])
def test_the_probe_refuses_an_isolation_that_leaks_or_does_not_start(monkeypatch, probe, message):
    monkeypatch.setattr(isolation.subprocess, "run", probe)
    with pytest.raises(IsolationError) as raised:
        verify(USER, python="/opt/python")
    assert str(raised.value) == message


def test_a_probe_that_runs_as_the_kernels_user_passes(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    probe = Probe(0, stdout=f'noise\n{{"uid": {NOBODY}, "gid": {NOBODY}, "groups": []}}\n')
    monkeypatch.setattr(isolation.subprocess, "run", probe)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    verify(Isolation(None, True, ("/s",)))  # a sandbox without a user switch: any uid will do
    verify(USER, python="/opt/python")
    [(command, setting, existed, options), (command2, _, _, options2)] = probe.commands
    assert command2[:5] == ["/opt/python", str(Path(isolation.__file__).with_name("nbcheck.py")), "--probe",
                            "--isolation", command2[4]] and existed
    assert Path(setting["folder"]).parent.name.startswith("chapter1-probe-") and not any(tmp_path.iterdir())
    assert (setting["sandbox"], setting["hidden"]) == (True, ["/s"])
    assert options2["env"]["PYTHONPATH"] == os.pathsep.join([str(Path(isolation.__file__).resolve().parents[2]),
                                                             "/elsewhere"])
    assert (options2["timeout"], options2["capture_output"], options2["text"], options2["stdin"]) == (
        60, True, True, subprocess.DEVNULL)
    probe.commands.clear()
    verify(Isolation())  # no isolation: nothing to probe
    assert probe.commands == []


class Libc:
    """Stands in for the C library: records unshare, mount and prctl, and fails the calls it is told to."""

    def __init__(self, fail=()):
        self.calls, self.fail = [], set(fail)

    def unshare(self, flags):
        self.calls.append(("unshare", flags))
        return -1 if "unshare" in self.fail else 0

    def mount(self, source, target, kind, flags, data):
        self.calls.append(("mount", source, target, kind, flags, data))
        return -1 if target in self.fail or (source == b"none" and "private" in self.fail) else 0

    def prctl(self, option, *args):
        self.calls.append(("prctl", option, *args))
        return 0


@pytest.fixture
def libc(monkeypatch):
    fake = Libc()
    monkeypatch.setattr(isolation.ctypes, "CDLL", lambda *args, **kwargs: fake)
    monkeypatch.setattr(isolation.ctypes, "get_errno", lambda: errno.EPERM)
    return fake


RO = isolation.MS_RDONLY | isolation.MS_NOSUID | isolation.MS_NODEV


def test_hidden_folders_are_covered_read_only_in_a_private_mount_namespace(libc, tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "file").write_text("x")
    assert isolation._hide([str(tmp_path / "solutions"), str(tmp_path / "missing"), str(tmp_path / "file")]) is None
    assert libc.calls == [
        ("unshare", isolation.CLONE_NEWNS),
        ("mount", b"none", b"/", None, isolation.MS_REC | isolation.MS_PRIVATE, None),
        ("mount", b"tmpfs", os.fsencode(tmp_path / "solutions"), b"tmpfs", RO | isolation.MS_NOEXEC,
         b"size=4k,mode=0")]


@pytest.mark.parametrize("fail, problem", [
    ("unshare", "no private mount namespace (Operation not permitted)"),
    ("private", "cannot make mounts private (Operation not permitted)"),
    ("cover", "cannot cover {solutions} (Operation not permitted)"),
    ("reach", "[Errno 1] mount {locked}: Operation not permitted"),
])
def test_a_folder_that_cannot_be_hidden_is_named(libc, tmp_path, fail, problem):
    solutions, locked = tmp_path / "solutions", tmp_path / "locked"
    (locked / "python").mkdir(parents=True)
    solutions.mkdir()
    libc.fail = {{"cover": os.fsencode(solutions), "reach": os.fsencode(locked)}.get(fail, fail)}
    found = isolation._hide([str(solutions)], {str(locked): [str(locked / "python")]})
    assert found == problem.format(solutions=solutions, locked=locked)


def test_a_folder_the_kernel_cannot_cross_is_covered_and_what_it_needs_bound_back(libc, tmp_path):
    locked = tmp_path / "locked"
    (locked / "python" / "lib").mkdir(parents=True)
    (locked / "course").mkdir()
    isolation._reach(libc, {str(locked): [str(locked / "python" / "lib"), str(locked / "course")]})
    mounts = [call[1:] for call in libc.calls]
    assert mounts[0] == (b"tmpfs", os.fsencode(locked), b"tmpfs", isolation.MS_NOSUID | isolation.MS_NODEV,
                         b"mode=0755")
    for index, path in ((1, locked / "python" / "lib"), (3, locked / "course")):
        source, target, kind, flags, data = mounts[index]
        assert source.startswith(b"/proc/self/fd/") and (target, kind, flags, data) == (
            os.fsencode(path), None, isolation.MS_BIND | isolation.MS_REC, None)
        assert mounts[index + 1] == (None, os.fsencode(path), None, isolation.MS_REMOUNT | isolation.MS_BIND |
                                     isolation.MS_RDONLY | isolation.MS_REC, None)
    assert mounts[5] == (None, os.fsencode(locked), None, isolation.MS_REMOUNT | RO, b"mode=0755")
    assert len(mounts) == 6
    handles = [int(mount[0].rsplit(b"/", 1)[1]) for mount in (mounts[1], mounts[3])]
    for handle in handles:
        with pytest.raises(OSError):
            os.fstat(handle)  # each folder's handle is closed again


class Process:
    """Records the steps that change who this process is, instead of taking them."""

    def __init__(self, monkeypatch, euid=0):
        import resource

        self.steps = []
        monkeypatch.setattr(isolation.os, "geteuid", lambda: euid)
        monkeypatch.setattr(resource, "setrlimit", lambda name, value: self.steps.append(("rlimit", name, value)))
        for name in ("setgroups", "setgid", "setuid"):
            monkeypatch.setattr(isolation.os, name, lambda value, name=name: self.steps.append((name, value)))
        monkeypatch.setenv("USER", "root")
        monkeypatch.setenv("LOGNAME", "root")


def test_a_root_kernel_hides_the_answers_then_becomes_nobody(libc, monkeypatch, tmp_path, capsys):
    import resource

    process = Process(monkeypatch)
    (tmp_path / "solutions").mkdir()
    config = {"user": [NOBODY, NOBODY + 1], "hidden": [str(tmp_path / "solutions")], "reach": []}
    assert isolation.drop(config) is True
    assert process.steps == [("rlimit", resource.RLIMIT_NPROC, (512, 512)), ("setgroups", []),
                             ("setgid", NOBODY + 1), ("setuid", NOBODY)]  # the group first, while still root
    assert (os.environ["USER"], os.environ["LOGNAME"]) == ("nobody", "nobody")
    assert libc.calls[0] == ("unshare", isolation.CLONE_NEWNS) and libc.calls[2][2] == os.fsencode(
        tmp_path / "solutions")
    assert libc.calls[-1] == ("prctl", isolation.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    assert capsys.readouterr().err == ""
    libc.fail = {"unshare"}
    libc.calls.clear()
    isolation.drop(config)
    assert capsys.readouterr().err == ("chapter1 isolation: no private mount namespace (Operation not permitted); "
                                       "relying on file permissions\n")


def test_a_sandboxed_kernel_leaves_hiding_to_bubblewrap(libc, monkeypatch):
    process = Process(monkeypatch)
    assert isolation.drop({"user": [NOBODY, NOBODY], "hidden": ["/s"], "sandbox": True}) is True
    assert [call[0] for call in libc.calls] == ["prctl"] and process.steps[-1] == ("setuid", NOBODY)


@pytest.mark.parametrize("config, euid", [({"user": None, "hidden": ["/s"]}, 0), ({"user": [NOBODY, NOBODY]}, 1000)])
def test_without_a_user_switch_only_new_privileges_are_refused(libc, monkeypatch, config, euid):
    process = Process(monkeypatch, euid)
    assert isolation.drop(config) is False
    assert process.steps == [] and libc.calls == [("prctl", isolation.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)]
    assert os.environ["USER"] == "root"


def test_a_kernel_settles_in_its_folder_and_refuses_to_start_if_it_can_read_the_answers(libc, monkeypatch,
                                                                                        tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").mkdir()
    (tmp_path / "solutions").mkdir()
    isolation.settle({"folder": str(tmp_path / "work"), "hidden": [str(tmp_path / "solutions")]})
    assert Path.cwd() == tmp_path / "work" and libc.calls == [("prctl", isolation.PR_SET_DUMPABLE, 0, 0, 0, 0)]
    (tmp_path / "solutions" / "01.ipynb").write_text("{}")
    with pytest.raises(SystemExit) as stopped:
        isolation.settle({"folder": str(tmp_path / "work"), "hidden": [str(tmp_path / "solutions")]})
    assert stopped.value.code == isolation.PROBE_EXIT == 5
    assert capsys.readouterr().err == (f"chapter1 isolation: refusing to start a kernel that can read "
                                       f"{tmp_path / 'solutions'} (1 entries listed, 01.ipynb opened)\n")


def test_bubblewrap_is_found_on_the_path(monkeypatch, tmp_path):
    (tmp_path / "bwrap").write_text("#!/bin/sh\n")
    (tmp_path / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert isolation.bwrap() == str(tmp_path / "bwrap")
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert isolation.bwrap() is None


def test_a_checkout_under_the_temporary_folder_is_bound_back_with_its_answers_covered(monkeypatch, tmp_path):
    checkout = tmp_path / "co"
    (checkout / "solutions").mkdir(parents=True)
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    monkeypatch.setattr(isolation, "_course_paths", lambda: [str(checkout), "/usr"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    command = isolation.bwrap_command(Isolation(None, True, (str(checkout / "solutions"),)), tmp_path / "k" / "w")
    assert after(command, "--dev", "/dev", "--proc", "/proc")
    assert after(command, "--tmpfs", str(tmp_path), "--perms", "0755", "--dir", str(tmp_path / "k"), "--bind")
    assert after(command, "--ro-bind", str(checkout), str(checkout), "--remount-ro", str(tmp_path))
    assert after(command, "--perms", "0000", "--tmpfs", str(checkout / "solutions"), "--remount-ro")
    assert "/usr" not in command  # not under the temporary folder: the read-only root shows it already


def test_folders_are_covered_for_the_kernels_user_not_the_graders(crossable_tmp, monkeypatch):
    locked = crossable_tmp / "root-only"
    (locked / "python").mkdir(parents=True)
    locked.chmod(0o700)
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    reach = (str(locked / "python"),)
    as_grader = isolation.bwrap_command(Isolation(None, True, (), reach), Path("/s/k"), tmp="/s")
    as_nobody = isolation.bwrap_command(Isolation((NOBODY, os.getgid()), True, (), reach), Path("/s/k"), tmp="/s")
    assert str(locked) not in as_grader and after(as_nobody, "--perms", "0755", "--tmpfs", str(locked))
    config = {"user": [NOBODY, NOBODY], "hidden": [], "reach": list(reach), "folder": "/s/k", "tmp": "/s"}
    assert after(isolation.sandboxed(config, ["python"]), "--tmpfs", str(locked))
    assert str(locked) not in isolation.sandboxed({**config, "user": None}, ["python"])
    assert str(locked) not in isolation.sandboxed({**config, "reach": []}, ["python"])


def test_a_hidden_file_that_is_not_text_still_counts_as_read(tmp_path):
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "key.bin").write_bytes(b"\xff\xfe\x00")
    assert readable([str(tmp_path / "answers")]) == [f"{tmp_path / 'answers'} (1 entries listed, key.bin opened)"]
