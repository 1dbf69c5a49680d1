"""Start the grader's runners warm: forks of a server that has already imported pytest, nbval and jupyter_client.

A fresh runner interpreter spends about 0.35 s of CPU on those imports before its notebook's first cell,
a sixth of grading a chapter-01 notebook.  The warm server (this file, run as a script) imports them once
and forks one runner per notebook, in a session of its own, with the folder, environment and log a fresh
process would have had; it reports each runner's pid and, when it ends, its exit status.  The server
leaves with the grader (its standard input closes).  Where there is no fork (Windows), each runner is
a fresh interpreter, as before.

>>> runner = start(["--", "--version"], cwd=".", env=dict(os.environ), log="/tmp/log", fresh=[])  # doctest: +SKIP
>>> runner.wait(10)  # doctest: +SKIP
0
"""

import atexit
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

if __name__ == "__main__" and sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]  # run as a script: keep the package's modules from shadowing the standard library

SCRIPT = str(Path(__file__).resolve())
LOST = 255  # the exit status reported when the server went away before its runner ended
_server, _lock = None, threading.Lock()


def start(argv, *, cwd, env, log, fresh):
    """The runner ``nbcheck.main(argv)`` started in ``cwd`` with exactly ``env``, its output appended to ``log``,
    in a new session; ``fresh`` (an interpreter and nbcheck's path) starts it where nothing can be forked."""
    if hasattr(os, "fork"):
        request = {"argv": list(argv), "cwd": str(cwd), "env": dict(env), "log": str(log)}
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(_address(env))
            connection.sendall(json.dumps(request).encode() + b"\n")
            return Forked(connection)
        except (OSError, ValueError, RuntimeError):  # no server (or it failed): a fresh interpreter grades as well
            pass
    with open(log, "ab") as out:
        return Fresh(subprocess.Popen([*fresh, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True))


class Forked:
    """A runner forked by the warm server: ``pid``, and ``wait(timeout)`` giving its exit status (negative: the
    signal that ended it), or None if it is still running after ``timeout`` seconds."""

    def __init__(self, connection):
        self.connection, self.status = connection, None
        self.pid = int(self._line())

    def wait(self, timeout=None):
        if self.status is None:
            if not select.select([self.connection], [], [], timeout)[0]:
                return None
            line = self._line()
            self.status = int(line) if line.strip() else LOST
            self.connection.close()
        return self.status

    def _line(self):
        data = b""
        while not data.endswith(b"\n"):
            chunk = self.connection.recv(64)
            if not chunk:
                break
            data += chunk
        return data.decode()


class Fresh:
    """A runner in a fresh interpreter, with the same ``pid`` and ``wait(timeout)``."""

    def __init__(self, process):
        self.process, self.pid = process, process.pid

    def wait(self, timeout=None):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def _address(env):
    """The warm server's socket, started on first use (one per grader process)."""
    global _server
    with _lock:
        if _server is None or _server[0].poll() is not None:
            folder = tempfile.mkdtemp(prefix="chapter1-warm-")
            address = os.path.join(folder, "runner.sock")
            keep = ("PYTHONPATH", "PYTHONHASHSEED", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONDONTWRITEBYTECODE")
            settings = {**os.environ, **{name: env[name] for name in keep if name in env}}
            process = subprocess.Popen([sys.executable, SCRIPT, address], cwd=folder, env=settings,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if process.stdout.readline() != b"ready\n":
                raise RuntimeError("the grader's warm runner server did not start; see the messages above")
            _server = (process, address)
            atexit.register(_stop, process)
        return _server[1]


def _stop(process):
    """Close the server's input, so it leaves, and wait for it (its CPU then counts as the grader's children's)."""
    process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def serve(address):
    """Listen at ``address``; fork a runner for each request; report its pid, then its exit status."""
    import chapter1.grading._runner_imports  # noqa: F401  (pytest, nbval, jupyter_client: once, here)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(16)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the grader, which closes this server's input
    signal.set_wakeup_fd(wake_w)
    events = selectors.DefaultSelector()
    for source in (listener, wake_r, sys.stdin):
        events.register(source, selectors.EVENT_READ)
    waiting = {}  # runner pid -> the connection to tell its exit status
    print("ready", flush=True)
    while True:
        for key, _ in events.select():
            if key.fileobj is sys.stdin and not os.read(sys.stdin.fileno(), 1024):
                return  # the grader has gone
            if key.fileobj is wake_r:
                os.read(wake_r, 1024)
            if key.fileobj is listener:
                connection, _ = listener.accept()
                request = json.loads(connection.makefile("r", encoding="utf-8").readline())
                pid = os.fork()
                if pid == 0:
                    _runner(request, [listener, connection, *waiting.values()])
                _in_a_session_of_its_own(pid)
                connection.sendall(f"{pid}\n".encode())
                waiting[pid] = connection
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if not pid:
                break
            if pid in waiting:
                connection = waiting.pop(pid)
                connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                connection.close()


def _in_a_session_of_its_own(pid, limit_s=5.0):
    """Wait until the runner forked as ``pid`` leads a session of its own (its first step), so that the pid the grader
    is told names a process group it can kill whole, however soon; or until the runner has ended."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if os.getsid(pid) == pid or os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                return
        except (ChildProcessError, ProcessLookupError):
            return
        time.sleep(0.0002)


def _runner(request, sockets):
    """In the fork: become what ``Popen(..., cwd, env, stdout=log, start_new_session=True)`` would have run."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter (and its kernel)
        for s in sockets:
            s.close()
        os.setsid()  # a process group of its own, which the grader kills whole on a timeout
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        out, nothing = os.open(request["log"], os.O_WRONLY | os.O_APPEND), os.open(os.devnull, os.O_RDONLY)
        for fd, target in ((nothing, 0), (out, 1), (out, 2)):
            os.dup2(fd, target)
        from chapter1.grading import nbcheck

        code = nbcheck.main(request["argv"])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - into the runner's log, as a fresh interpreter would print it
        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1])
