"""Keep a graded kernel away from the course's answers and the grader's files.

Three modes (see docs/grading.md, "Isolation", for what each prevents and what it does not):

* ``none``: the grader is not root and ``--sandbox`` was not given; the kernel runs as the
  grader's user (it can read whatever that user can, the solutions included);
* ``user``: the grader runs as root; each kernel starts as root only long enough to hide the
  solutions folder (and its checkout's ``.git``) under an empty read-only tmpfs in a private mount
  namespace, copy its connection file into its own folder, and then drops to uid/gid 65534 with
  no supplementary groups, in a folder (mode 0700, owned by 65534) that holds only the submission;
* ``sandbox`` (``--sandbox``): as above, and the kernel runs under bubblewrap: no network (a new
  network namespace), no other processes in sight (a new pid namespace), the whole file system
  read-only except the kernel's folder, an empty read-only ``/tmp``, and the hidden folders empty.

Before a batch, ``verify`` starts a probe exactly as a kernel is started and has it try to list and
open the solution notebooks; a grader whose kernels could read them refuses to grade.

The kernel side (``prepare``, ``sandboxed``, ``drop``, ``settle``) imports only the standard library: ``nbcheck.py
--kernel`` calls it before it becomes a kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Isolation", "IsolationError", "plan", "kernel_folder", "bwrap_command", "prepare", "sandboxed", "drop",
           "settle", "verify", "NOBODY"]

NOBODY = 65534               # uid and gid the kernels of a root grader run as
PROCESS_LIMIT = 512          # RLIMIT_NPROC of that user: a fork bomb stops there
HOME = ".home"               # the kernel's HOME, IPYTHONDIR, TMPDIR ... inside its folder
IPC_PREFIX = ".k"            # the kernel's sockets (sandbox: ipc transport) inside its folder
PROBE_EXIT = 5               # the probe (or a kernel) found a hidden folder readable


class IsolationError(RuntimeError):
    """The kernels would not be isolated as promised (for example, they could read the solutions)."""


@dataclass(frozen=True)
class Isolation:
    """How kernels run: as which user, under bubblewrap or not, and which folders they must not read."""

    user: tuple[int, int] | None = None     # (uid, gid) the kernel drops to; None: the grader's own user
    sandbox: bool = False                   # run each kernel under bubblewrap
    hidden: tuple[str, ...] = ()            # folders the kernel must not read (absolute paths)
    reach: tuple[str, ...] = ()             # folders the kernel needs (its Python, the course) to make reachable

    @property
    def mode(self) -> str:
        return "sandbox" if self.sandbox else "user" if self.user else "none"

    def argument(self, folder: Path) -> str:
        """The JSON the kernel launcher reads: this isolation and the kernel's folder."""
        return json.dumps({**asdict(self), "folder": str(folder), "tmp": os.path.realpath(tempfile.gettempdir())})


def _checkout_git(solutions: Path) -> list[str]:
    """The ``.git`` of the checkout holding ``solutions`` (its history holds the answers too)."""
    for parent in solutions.parents:
        if (parent / ".git").exists():
            return [str(parent / ".git")]
    return []


def plan(solutions: Path | str, sandbox: bool = False) -> Isolation:
    """The isolation this process can give: a user switch when it is root, bubblewrap when asked."""
    solutions = Path(solutions).resolve()
    hidden = tuple(dict.fromkeys([str(solutions), *_checkout_git(solutions)]))
    user = (NOBODY, NOBODY) if os.geteuid() == 0 else None
    if sandbox and not bwrap():
        raise IsolationError("--sandbox needs bubblewrap: install it (Debian/Ubuntu: apt-get install bubblewrap) "
                             "or grade without --sandbox")
    reach = tuple(_course_paths()) if user else ()
    return Isolation(user, sandbox, hidden if (user or sandbox) else (), reach)


def _blocked(path: str, uid: int) -> str | None:
    """The first folder on the way to ``path`` that ``uid`` cannot cross (not its own, no x for others)."""
    current = "/"
    for part in Path(path).parts[1:]:
        current = os.path.join(current, part)
        try:
            info = os.stat(current)
        except OSError:
            return None
        if info.st_uid != uid and not info.st_mode & 0o001:
            return current
    return None


def covers(reach: list[str], uid: int) -> dict[str, list[str]]:
    """Folders the kernel's user cannot cross -> the needed folders below them. Such a folder (say a
    root-only /root holding pyenv's Python) is covered by an empty tmpfs, and the needed folders bound
    back read-only, so the kernel reaches its Python and nothing else there."""
    found: dict[str, list[str]] = {}
    for path in reach:
        blocked = _blocked(path, uid)
        if blocked:
            found.setdefault(blocked, []).append(path)
    return found


def bwrap() -> str | None:
    return shutil.which("bwrap")


@contextlib.contextmanager
def kernel_folder(prefix: str, isolation: Isolation | None):
    """A fresh folder for one kernel: ``<tmp>/<prefix>XXXX/work`` without a user switch; with one, a
    folder owned by that user (mode 0700) under a root-owned folder it can cross but not list."""
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as outer:
        if isolation is None or isolation.user is None:
            folder = Path(outer) / "work"
            folder.mkdir()
        else:
            os.chmod(outer, 0o711)
            folder = Path(outer) / secrets.token_hex(16)
            folder.mkdir(mode=0o700)
            os.chown(folder, *isolation.user)
        yield folder


def _crossable(top: str, path: str) -> list[str]:
    """bubblewrap options that create the folders between ``top`` and ``path`` crossable (mode 0755)."""
    between = reversed(Path(path).relative_to(top).parents[:-1])
    return [part for sub in between for part in ("--perms", "0755", "--dir", str(Path(top) / sub))]


def _course_paths() -> list[str]:
    """What a kernel needs to run the course: Python (its prefixes) and the checkout holding ``chapter1``."""
    needed = (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable), Path(__file__).resolve().parents[2])
    return list(dict.fromkeys(os.path.realpath(p) for p in needed))


def bwrap_command(isolation: Isolation, folder: Path, tmp: str | None = None) -> list[str]:
    """The bubblewrap prefix that runs a kernel in ``folder``: no network, its own pid namespace, the file
    system read-only except ``folder``, an empty read-only temporary folder ``tmp``, the hidden folders empty."""
    tmp = tmp or os.path.realpath(tempfile.gettempdir())
    # Python and the course may live under the temporary folder too (a checkout in /tmp): bound back read-only.
    course = [p for p in _course_paths() if p.startswith(tmp + os.sep)]
    command = [bwrap() or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
               "--tmpfs", tmp, *_crossable(tmp, str(folder)), "--bind", str(folder), str(folder),
               *[part for path in course for part in (*_crossable(tmp, path), "--ro-bind", path, path)],
               "--remount-ro", tmp]
    if os.geteuid() == 0:  # only what the kernel needs to drop to its user
        command += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    for cover, paths in covers(list(isolation.reach), isolation.user[0] if isolation.user else os.getuid()).items():
        command += ["--perms", "0755", "--tmpfs", cover]
        for path in paths:
            command += [*_crossable(cover, path), "--ro-bind", path, path]
        command += ["--remount-ro", cover]
    for path in isolation.hidden:
        under_tmp = path == tmp or path.startswith(tmp + os.sep)
        bound_back = any(path == p or path.startswith(p + os.sep) for p in course)
        if (bound_back or not under_tmp) and os.path.isdir(path):
            command += ["--perms", "0000", "--tmpfs", path, "--remount-ro", path]
    return [*command, "--"]  # the kernel enters its folder once it is its user (root without caps cannot)


# ------------------------------------------------------------------ in the kernel, before it starts

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 38, 4


def _mount(libc, source, target, kind, flags, data=None) -> None:
    if libc.mount(source and os.fsencode(source), os.fsencode(target), kind, flags, data) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}: {os.strerror(ctypes.get_errno())}")


def _reach(libc, covers_: dict[str, list[str]]) -> None:
    """Cover each uncrossable folder with a tmpfs and bind the needed folders back (read-only)."""
    for cover, paths in covers_.items():
        handles = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in paths]
        _mount(libc, "tmpfs", cover, b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755")
        for path, handle in zip(paths, handles):
            mask = os.umask(0o022)  # the folders on the way stay crossable whatever the grader's umask (077 too)
            try:
                os.makedirs(path, mode=0o755, exist_ok=True)
            finally:
                os.umask(mask)
            _mount(libc, f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
            _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC)
            os.close(handle)
        _mount(libc, None, cover, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, b"mode=0755")


def _hide(paths: list[str], reach: dict[str, list[str]] | None = None) -> str | None:
    """In a private mount namespace (needs root): make the needed folders reachable (see ``covers``)
    and cover each hidden folder with an empty read-only tmpfs. Returns why it could not, or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return f"no private mount namespace ({os.strerror(ctypes.get_errno())})"
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"cannot make mounts private ({os.strerror(ctypes.get_errno())})"
    try:
        _reach(libc, reach or {})
    except OSError as error:
        return str(error)
    for path in paths:
        if os.path.isdir(path) and libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs",
                                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                              b"size=4k,mode=0") != 0:
            return f"cannot cover {path} ({os.strerror(ctypes.get_errno())})"
    return None


def readable(paths: list[str]) -> list[str]:
    """The hidden folders (or files in them) this process can still read."""
    found = []
    for path in paths:
        try:
            names = os.listdir(path)
        except OSError:
            continue
        opened = []
        for name in names[:20]:
            with contextlib.suppress(OSError), open(os.path.join(path, name), "rb") as handle:
                handle.read(1)
                opened.append(name)
        if names:
            found.append(f"{path} ({len(names)} entries listed" + (f", {opened[0]} opened)" if opened else ")"))
    return found


def _kernel_home(folder: Path, user: tuple[int, int] | None) -> Path:
    home = folder / HOME
    for sub in ("", "ipython/profile_default", "tmp", "cache", "config", "data", "runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
        if user:
            os.chown(home / sub, *user)
    return home


def _own_copy(source: str, target: Path, user: tuple[int, int] | None) -> None:
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)
    if user:
        os.chown(target, *user)


def kernel_environment(home: Path) -> dict[str, str]:
    """The variables :func:`prepare` sets for a kernel whose HOME is ``home``.

    >>> sorted(kernel_environment(Path("/k")))[:3]
    ['CHAPTER1_COMPILED_LOOPS', 'HOME', 'IPYTHONDIR']
    """
    return {
        "HOME": str(home), "IPYTHONDIR": str(home / "ipython"), "TMPDIR": str(home / "tmp"),
        "XDG_CACHE_HOME": str(home / "cache"), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "MPLCONFIGDIR": str(home / "config"),
        "CHAPTER1_COMPILED_LOOPS": "long",  # (numba's cache is new in this HOME: compiling costs more than it saves)
    }


def prepare(config: dict, kernel_args: list[str]) -> list[str]:
    """Before the kernel is isolated (as the grader's user, root or not): give it its own HOME, and copies
    of its connection file and IPython configuration, in its folder; returns the kernel's arguments."""
    folder, user = Path(config["folder"]), tuple(config["user"]) if config.get("user") else None
    home = _kernel_home(folder, user)
    old_ipython = os.environ.get("IPYTHONDIR")
    if old_ipython:
        config_file = Path(old_ipython) / "profile_default" / "ipython_kernel_config.py"
        if config_file.is_file():
            _own_copy(str(config_file), home / "ipython/profile_default/ipython_kernel_config.py", user)
    if "-f" in kernel_args:
        index = kernel_args.index("-f") + 1
        _own_copy(kernel_args[index], home / "kernel.json", user)
        kernel_args = [*kernel_args[:index], str(home / "kernel.json"), *kernel_args[index + 1:]]
    os.environ.update(kernel_environment(home))
    if config.get("sandbox"):
        os.environ.pop("JPY_PARENT_PID", None)  # in its own pid namespace the kernel's parent is pid 1
    return kernel_args


def sandboxed(config: dict, argv: list[str]) -> list[str]:
    """The command that runs ``argv`` (this launcher again, with ``--inside``) under bubblewrap."""
    isolation = Isolation(tuple(config["user"]) if config.get("user") else None, True, tuple(config["hidden"]),
                          tuple(config.get("reach", [])))
    return [*bwrap_command(isolation, Path(config["folder"]), config.get("tmp")), *argv]


def drop(config: dict) -> bool:
    """As root: hide the folders (unless bubblewrap did) and make the kernel's Python reachable, set a
    process limit and no new privileges, and become the user (uid, gid, no supplementary groups).
    Returns whether the user changed."""
    user, hidden = config.get("user"), list(config.get("hidden", []))
    libc = ctypes.CDLL(None, use_errno=True)
    changed = bool(user) and os.geteuid() == 0
    if changed:
        if not config.get("sandbox"):
            problem = _hide(hidden, covers(list(config.get("reach", [])), user[0]))
            if problem:
                print(f"chapter1 isolation: {problem}; relying on file permissions", file=sys.stderr)
        import resource

        resource.setrlimit(resource.RLIMIT_NPROC, (PROCESS_LIMIT, PROCESS_LIMIT))
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
        os.environ["USER"] = os.environ["LOGNAME"] = "nobody"
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # no set-user-ID program gives the privileges back
    return changed


def settle(config: dict) -> None:
    """In the isolated process itself: not traceable by other kernels of the same user, in its folder;
    exit (status PROBE_EXIT) if a hidden folder is still readable."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.chdir(config["folder"])
    leaks = readable(list(config.get("hidden", [])))
    if leaks:
        print(f"chapter1 isolation: refusing to start a kernel that can read {'; '.join(leaks)}", file=sys.stderr)
        sys.exit(PROBE_EXIT)


def probe() -> dict:
    """What an isolated process can do (run by ``verify`` after ``enter``)."""
    return {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}


# ------------------------------------------------------------------ in the grader


def verify(isolation: Isolation, python: str = sys.executable) -> None:
    """Start a probe as a kernel is started and raise IsolationError if it can read a hidden folder
    (or could not start at all)."""
    if isolation.mode == "none":
        return
    script = str(Path(__file__).resolve().with_name("nbcheck.py"))
    with kernel_folder("chapter1-probe-", isolation) as folder:
        command = [python, script, "--probe", "--isolation", isolation.argument(folder)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")) if p)}
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise IsolationError(f"could not start an isolated probe ({error})") from None
    detail = (done.stderr.strip().splitlines() or [""])[-1]
    if done.returncode == PROBE_EXIT:
        raise IsolationError(f"kernels could read the course's answers: {detail}. Make the solutions folder "
                             f"unreadable to uid {NOBODY} (chmod o-rwx), or grade with --sandbox")
    if done.returncode != 0:
        raise IsolationError(f"the {isolation.mode} isolation does not work on this machine "
                             f"(exit status {done.returncode}: {detail[:300]})")
    try:
        seen = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise IsolationError(f"the isolated probe said nothing readable: {done.stdout[-200:]!r}") from None
    if isolation.user and (seen["uid"], seen["gid"]) != tuple(isolation.user):
        raise IsolationError(f"the probe ran as uid {seen['uid']}, not {isolation.user[0]}")
