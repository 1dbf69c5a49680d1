"""Run one notebook under ``pytest --nbval-lax`` and report each cell by its CHECK id.

nbval makes one test item per code cell; its cell numbers change between nbval
versions, so this module keys everything on the ``# CHECK <id>`` header
instead. It is two things at once:

* ``run_notebook(path)`` runs this file as a script in a separate process,
  under an optional wall-clock limit; there it runs pytest with itself as a
  plugin, which records per cell its outcome and a short message (the assert
  message, not a coloured traceback) into a JSON file after every cell, so a
  run that dies half-way still tells which cells passed; the parent reads
  the CHECK ids from the cells' first lines;
* the same script with ``--kernel`` is the kernel that pytest starts (via a
  kernelspec in a temporary folder): it sets the resource limits on itself
  before it becomes an IPython kernel, and clips every output it sends.

The two child processes import only the standard library, pytest, nbval and
ipykernel, and (to isolate a kernel) ``chapter1.grading.isolation``, which uses
only the standard library; never the course library (pandas, altair): a kernel
pays for that only if its notebook asks for it. With ``--isolation`` the kernel
is isolated before it starts (another user, hidden solutions, bubblewrap).

>>> run = run_notebook("solutions/01_single_server.ipynb")  # doctest: +SKIP
>>> run.score, run.max_score  # doctest: +SKIP
(10, 10)
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]  # run as a script: keep the package's modules from shadowing the standard library

import json
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Iterable

from chapter1.grading.feedback import ANSI, clip, clip_content, describe_error, nbval_message

if TYPE_CHECKING:
    from chapter1.grading.exercises import Check
    from chapter1.grading.isolation import Isolation

IPC_PREFIX = ".k"  # as chapter1.grading.isolation.IPC_PREFIX

__all__ = ["CellOutcome", "NotebookRun", "run_notebook", "describe_error", "clip_content", "apply_limits",
           "OUTCOMES", "main"]

RESULTS_ENV = "CHAPTER1_NBCHECK_RESULTS"
IPC_ENV = "CHAPTER1_NBCHECK_IPC"   # a sandboxed kernel talks over Unix sockets at this path prefix
OUTCOMES = ("passed", "failed", "skipped", "error")
MB = 1 << 20
NOT_RUN = "not run: grading stopped before this cell"
PYTEST_FINISHED = (0, 1, 5)  # all passed, some failed, no code cells at all
KERNEL_POLL_SECONDS = 0.5   # how often a running cell checks that its kernel is alive
CELL_OUTPUT_LIMIT = 2 * MB          # bytes of output kept per cell (the rest is dropped)
NOTEBOOK_OUTPUT_LIMIT = 16 * MB     # ... and per notebook
INTERRUPT_GRACE = 5.0       # seconds a cell may go on after its timeout's interrupt before the kernel is stopped
CAPPED_TYPES = ("stream", "display_data", "execute_result", "update_display_data", "clear_output")

@dataclass(frozen=True)
class CellOutcome:
    """What happened to one code cell: its CHECK id (None for ordinary cells), points, outcome, message."""

    check_id: str | None
    points: int
    outcome: str
    message: str = ""
    cell: int | None = None      # position among the notebook's code cells
    first_line: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass
class NotebookRun:
    """The per-cell outcomes of one notebook run, and the score they add up to."""

    path: Path
    cells: list[CellOutcome]
    error: str | None = None     # the run itself broke: wall-clock timeout, runner crash
    seconds: float = 0.0
    expected: list[Check] = field(default_factory=list)
    runner_peak_mb: float | None = None   # the pytest process's peak resident memory

    @property
    def checks(self) -> dict[str, CellOutcome]:
        """CHECK id -> outcome (the first cell with that id wins)."""
        found: dict[str, CellOutcome] = {}
        for cell in self.cells:
            if cell.check_id is not None:
                found.setdefault(cell.check_id, cell)
        return found

    @property
    def other_failures(self) -> list[CellOutcome]:
        """Ordinary (non-CHECK) cells that did not pass or skip."""
        return [c for c in self.cells if c.check_id is None and c.outcome in ("failed", "error")]

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks.values() if c.passed)

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks.values())


# ------------------------------------------------------- the pytest plugin


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running."""


def _exit_status(km) -> str:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code is None:
        return ""
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        return f" (killed by {name})"
    return f" (exit status {code})"


class OutputCap:
    """Output budget of one kernel's run: bytes of output kept per cell and per notebook.

    Output messages beyond either budget are dropped (lax mode never compares
    outputs; an ``error`` and the ``status`` messages are always kept), so a
    cell that prints without end costs the runner a bounded amount of memory.

    >>> cap = OutputCap(cell_limit=30, notebook_limit=45)  # a message costs its JSON length: 18 here
    >>> [cap.keep({"msg_type": "stream", "content": {"text": "x" * 6}}) for _ in range(3)]
    [True, False, False]
    >>> cap.new_cell(); cap.keep({"msg_type": "stream", "content": {"text": "y" * 6}})
    True
    >>> cap.keep({"msg_type": "stream", "content": {"text": "z"}}), cap.dropped
    (False, 3)
    """

    def __init__(self, cell_limit: int = CELL_OUTPUT_LIMIT, notebook_limit: int = NOTEBOOK_OUTPUT_LIMIT):
        self.cell_limit, self.notebook_limit = cell_limit, notebook_limit
        self.cell = self.notebook = self.dropped = 0

    def new_cell(self) -> None:
        self.cell = 0

    def keep(self, msg: dict) -> bool:
        if msg.get("msg_type") not in CAPPED_TYPES:
            return True
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.cell + size > self.cell_limit or self.notebook + size > self.notebook_limit:
            self.dropped += 1
            return False
        self.cell, self.notebook = self.cell + size, self.notebook + size
        return True


def _state(kernel) -> dict:
    """Per-kernel bookkeeping kept on nbval's RunningKernel: drained messages, output budget, interrupt time."""
    state = kernel.__dict__.get("_chapter1")
    if state is None:
        from collections import deque

        state = kernel.__dict__["_chapter1"] = {"buffer": deque(), "cap": OutputCap(), "interrupted": None}
    return state


def _drain(kernel, state, limit: int = 2000) -> None:
    """Move the iopub messages already waiting into the buffer (clipped, within budget)."""
    for _ in range(limit):
        try:
            msg = kernel.kc.get_iopub_msg(timeout=0)
        except Empty:
            return
        clip_content(msg.get("msg_type", ""), msg.get("content"))
        if state["cap"].keep(msg):
            state["buffer"].append(msg)


def _patch_running_kernel(running) -> None:
    """Make nbval's RunningKernel drain outputs while a cell runs, notice a dead kernel at once,
    and stop a kernel that keeps running (and printing) after it was interrupted.

    nbval reads a cell's outputs only once the cell is done, waiting a fixed 5 s
    for each; a cell printing thousands of lines fills the iopub queue, messages
    (the final ``idle`` among them) are lost and nbval reports a timeout. Here
    the wait for the reply reads iopub as it goes; nbval's later reads are
    served from that buffer first.
    """
    await_reply, get_message, interrupt = running.await_reply, running.get_message, running.interrupt

    def await_reply_draining(self, msg_id, timeout=None):
        state = _state(self)
        state["cap"].new_cell()
        state["interrupted"] = None
        deadline = None if timeout is None else time.monotonic() + timeout
        next_alive_check = time.monotonic() + KERNEL_POLL_SECONDS
        while True:
            _drain(self, state)
            try:
                return await_reply(self, msg_id, timeout=0.01)
            except Empty:
                pass
            now = time.monotonic()
            if now >= next_alive_check:
                next_alive_check = now + KERNEL_POLL_SECONDS
                if not self.km.is_alive():
                    raise KernelDied("the kernel died while running this cell" + _exit_status(self.km)) from None
            if deadline is not None and now >= deadline:
                raise Empty

    def get_message_buffered(self, stream, timeout=None):
        if stream != "iopub":
            return get_message(self, stream, timeout=timeout)
        state = _state(self)
        while True:
            if state["buffer"]:
                return state["buffer"].popleft()
            if state["interrupted"] is not None and time.monotonic() > state["interrupted"] + INTERRUPT_GRACE:
                raise Empty  # still running (and printing) after the interrupt: nbval stops the kernel
            msg = get_message(self, stream, timeout=timeout)
            clip_content(msg.get("msg_type", ""), msg.get("content"))
            if state["cap"].keep(msg):
                return msg

    def interrupt_noted(self):
        _state(self)["interrupted"] = time.monotonic()
        return interrupt(self)

    running.await_reply, running.get_message, running.interrupt = (
        await_reply_draining, get_message_buffered, interrupt_noted)
    running._chapter1_patched = True


def _cap_kernel_messages() -> None:
    """In the kernel: clip outputs before they are serialised, so a huge print costs little downstream."""
    from jupyter_client.session import Session

    send = Session.send

    def send_clipped(self, stream, msg_or_type, content=None, *args, **kwargs):
        if isinstance(msg_or_type, dict):
            clip_content(msg_or_type.get("header", {}).get("msg_type", ""), msg_or_type.get("content"))
        else:
            clip_content(msg_or_type, content)
        return send(self, stream, msg_or_type, content, *args, **kwargs)

    Session.send = send_clipped


def _kernel_pid(item) -> int | None:
    km = getattr(getattr(item.parent, "kernel", None), "km", None)
    return getattr(getattr(km, "provisioner", None), "pid", None)


class Recorder:
    """Pytest plugin object: appends every code cell's outcome to a JSON-lines file as the run goes.

    Each line is one cell's entry (or the kernel's pid, or the runner's peak
    memory); a later line for the same cell replaces the earlier one. Appending
    keeps the cost of a run linear in its number of cells, and a run that dies
    half-way leaves every line written so far.
    """

    def __init__(self, path: str):
        self.path = Path(path)
        self.cells: dict[str, dict] = {}
        self.kernel_pid: int | None = None
        self._last = (None, None)
        self._file = open(self.path, "a", encoding="utf-8")

    def write(self, entry: dict) -> None:
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def pytest_collection_modifyitems(self, items):
        cells = [item for item in items if hasattr(item, "cell")]
        for index, item in enumerate(cells):
            self.cells[item.nodeid] = {
                "cell": index,
                "first_line": item.cell.source.lstrip("\n").split("\n", 1)[0].strip()[:200],
                "outcome": "error",
                "message": NOT_RUN,
            }
        self._file.write("".join(json.dumps(entry) + "\n" for entry in self.cells.values()))
        self._file.flush()

    def pytest_unconfigure(self, config):
        self.write({"runner_peak_kb": _peak_kb()})
        self._file.close()

    def _outcome(self, item, call, report) -> tuple[str, str]:
        if report.passed:
            return "passed", ""
        if report.skipped and not hasattr(report, "wasxfail"):
            return "skipped", "skipped (NBVAL_SKIP)"
        excinfo = call.excinfo
        if excinfo is None:
            return ("failed" if report.when == "call" else "error"), ""
        outputs = getattr(item, "test_outputs", None) or []
        error = next((o for o in reversed(outputs) if o.get("output_type") == "error"), None)
        if isinstance(excinfo.value, KernelDied):
            message = str(excinfo.value)
        elif error is not None and error.get("ename") != "KeyboardInterrupt":
            message = describe_error(error["ename"], error.get("evalue", ""), error.get("traceback", []))
        else:
            message = nbval_message(str(excinfo.value))
        return ("failed" if report.when == "call" else "error"), message

    def pytest_runtest_makereport(self, item, call):
        """Keep the item and call of the report about to be logged (pytest logs it right after)."""
        self._last = (item, call)

    def pytest_runtest_logreport(self, report):
        entry = self.cells.get(report.nodeid)
        if entry is None or report.when == "teardown":
            return
        item, call = self._last
        if report.when == "setup":
            if self.kernel_pid is None:
                self.kernel_pid = _kernel_pid(item)
                self.write({"kernel_pid": self.kernel_pid})
            if report.passed:
                return
        entry["outcome"], entry["message"] = self._outcome(item, call, report)
        self.write(entry)


def pytest_configure(config):
    """Register the recorder when this run was started by ``run_notebook``."""
    path = os.environ.pop(RESULTS_ENV, None)  # popped: the kernel, started later, does not inherit it
    if not path:
        return
    from nbval import kernel as nbval_kernel

    running = nbval_kernel.RunningKernel
    if not getattr(running, "_chapter1_patched", False):
        _patch_running_kernel(running)
    ipc = os.environ.pop(IPC_ENV, None)
    if ipc:  # the kernel has its own network namespace: no TCP between it and the runner
        manager = nbval_kernel.KernelManager

        class IpcKernelManager(manager):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, transport="ipc", ip=ipc, **kwargs)

        nbval_kernel.KernelManager = IpcKernelManager
    config.pluginmanager.register(Recorder(path), "chapter1-recorder")


# ------------------------------------------------------------- the kernel

KERNEL_NAME = "chapter1-nbcheck"
SCRIPT = str(Path(__file__).resolve())
IPYTHON_CONFIG = """\
c.InteractiveShell.colors = "nocolor"
c.HistoryManager.enabled = False
"""
# option -> (resource name, what it limits); values are megabytes.
LIMITS = {
    "--memory-mb": ("RLIMIT_DATA", "heap and private mappings"),
    "--file-mb": ("RLIMIT_FSIZE", "size of any file written"),
}


def _limit_args(memory_mb: int | None, file_mb: int | None) -> list[str]:
    values = dict(zip(LIMITS, (memory_mb, file_mb)))
    return [part for option, value in values.items() if value is not None for part in (option, str(value))]


def apply_limits(memory_mb: int | None = None, file_mb: int | None = None) -> None:
    """Set hard resource limits on this process and everything it starts; switch core dumps off.

    ``memory_mb`` caps the data segment (RLIMIT_DATA: heap and private
    mappings) and ``file_mb`` the size of any file written (RLIMIT_FSIZE).
    RLIMIT_AS is not used: the V8 engine inside vl-convert reserves tens of GB
    of address space it never touches, so an address-space limit would crash
    chart rendering. Hard limits cannot be raised again by the limited code.

    >>> apply_limits(memory_mb=2048)  # doctest: +SKIP
    """
    import resource

    for (option, (name, _)), megabytes in zip(LIMITS.items(), (memory_mb, file_mb)):
        if megabytes is None:
            continue
        if not megabytes > 0:
            raise ValueError(f"{option} must be a positive number of megabytes, got {megabytes!r}")
        limit = int(megabytes * MB)
        resource.setrlimit(getattr(resource, name), (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _kernelspec(folder: Path, memory_mb: int | None, file_mb: int | None, isolation: str | None = None) -> None:
    """A kernelspec that starts this file with ``--kernel``, the limits and the isolation (JSON)."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, SCRIPT, "--kernel", *_limit_args(memory_mb, file_mb),
            *(["--isolation", isolation] if isolation else []), "--", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (graded)", "language": "python",
              "metadata": {"debugger": False}}
    if isolation and json.loads(isolation).get("sandbox"):
        # a signal would reach bubblewrap, not the kernel: ask the kernel to interrupt itself
        kernel["interrupt_mode"] = "message"
    (spec / "kernel.json").write_text(json.dumps(kernel, indent=1), encoding="utf-8")


def _launch_kernel(kernel_args: list[str]) -> None:
    """Become an IPython kernel whose outputs are clipped (limits are already set)."""
    _cap_kernel_messages()
    from ipykernel import kernelapp

    sys.argv = [sys.argv[0], *kernel_args]
    kernelapp.launch_new_instance(argv=kernel_args)


# ------------------------------------------------------------- the runner


def _environment(scratch: Path, results: Path) -> dict[str, str]:
    package_root = str(Path(__file__).resolve().parents[2])
    ipython = scratch / "ipython" / "profile_default"
    ipython.mkdir(parents=True)
    (ipython / "ipython_kernel_config.py").write_text(IPYTHON_CONFIG, encoding="utf-8")
    hidden = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    env.update({
        RESULTS_ENV: str(results),
        "PYTHONPATH": os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p),
        "JUPYTER_PATH": os.pathsep.join(p for p in (str(scratch / "jupyter"), env.get("JUPYTER_PATH")) if p),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONHASHSEED": "0",
        "IPYTHONDIR": str(scratch / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "NO_COLOR": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def _pytest_args(notebook: Path, scratch: Path, timeout: float) -> list[str]:
    ini = scratch / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    return [
        "-c", str(ini), "--rootdir", str(notebook.parent), "--noconftest",
        "-p", "no:cacheprovider", "-p", "nbval.plugin",
        "--nbval-lax", "--nbval-kernel-name", KERNEL_NAME, "--nbval-cell-timeout", str(timeout),
        "--color=no", "-q", "--tb=line", "-W", "ignore",
        str(notebook),
    ]


def _kill_group(pid: int | None) -> None:
    """SIGKILL a process group we started, if it still exists."""
    if not pid:
        return
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - limit))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line for line in ANSI.sub("", text).split("\n") if line.strip()]
    return clip(" | ".join(lines[-4:]), 400)


def _read_results(results: Path) -> dict:
    """The recorder's lines folded into {"kernel_pid", "runner_peak_kb", "cells"} (a torn last line is skipped)."""
    data: dict = {"kernel_pid": None, "runner_peak_kb": None}
    cells: dict[int, dict] = {}
    try:
        with open(results, encoding="utf-8") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if "cell" in entry:
                    cells[entry["cell"]] = entry
                else:
                    data.update(entry)
    except OSError:
        pass
    data["cells"] = [cells[index] for index in sorted(cells)]
    return data


def _require_positive(value, name: str, what: str) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{name} must be {what}, got {value!r}")


def _peak_kb():
    """This process's peak resident memory (kB) since it started this program.

    Linux's ``ru_maxrss`` keeps the peak of the process it was forked from (exec carries it over), so
    a runner forked from a large parent would report the parent's size; ``VmHWM`` is this program's own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_notebook(
    path: Path | str,
    *,
    timeout: float = 60,
    total_timeout: float | None = None,
    memory_mb: int | None = None,
    file_mb: int | None = None,
    expected: Iterable[Check] | None = None,
    isolation: Isolation | None = None,
) -> NotebookRun:
    """Run a notebook under ``pytest --nbval-lax`` in a separate process; outcomes keyed by CHECK id.

    ``timeout`` limits each cell (seconds), ``total_timeout`` the whole run;
    ``memory_mb``/``file_mb`` are hard limits set on the kernel process.
    ``expected`` lists the CHECK cells the notebook ought to have: any that
    is absent counts as failed with the message "cell missing". ``isolation``
    (see chapter1.grading.isolation) says as which user and in what sandbox the
    kernel runs; the notebook's folder is then the kernel's own.

    >>> run = run_notebook("exercises/01_single_server.ipynb", timeout=30)  # doctest: +SKIP
    >>> run.checks["1.1"].outcome, run.checks["1.1"].message  # doctest: +SKIP
    ('failed', 'peak_rps should be a number of requests per second, not None.')
    """
    notebook = Path(path).resolve()
    if not notebook.is_file():
        raise ValueError(f"path {str(path)!r} is not a notebook file; pass the path of an .ipynb file")
    _require_positive(timeout, "timeout", "a positive number of seconds")
    _require_positive(total_timeout, "total_timeout", "a positive number of seconds or None")
    _require_positive(memory_mb, "memory_mb", "a positive number of megabytes or None")
    _require_positive(file_mb, "file_mb", "a positive number of megabytes or None")
    started = time.monotonic()
    error = None
    isolated = isolation is not None and isolation.mode != "none"
    with tempfile.TemporaryDirectory(prefix="chapter1-nbcheck-", ignore_cleanup_errors=True) as name:
        scratch = Path(name)
        results, log_path = scratch / "results.jsonl", scratch / "runner.log"
        _kernelspec(scratch / "jupyter", memory_mb, file_mb, isolation.argument(notebook.parent) if isolated else None)
        argv = [*_limit_args(memory_mb, file_mb), "--", *_pytest_args(notebook, scratch, timeout)]
        env = _environment(scratch, results)
        if isolated and isolation.sandbox:
            env[IPC_ENV] = str(notebook.parent / IPC_PREFIX)
        log_path.touch(mode=0o600)
        from chapter1.grading import warm  # (not at the top: this file is also the kernel's launcher)

        process = warm.start(argv, cwd=notebook.parent, env=env, log=log_path, fresh=[sys.executable, SCRIPT])
        returncode = process.wait(total_timeout)
        if returncode is None:
            error = f"stopped after {total_timeout:g} s (the time limit for the whole notebook)"
        data = _read_results(results)
        if returncode in (0, 1) and not data["cells"]:  # nothing recorded: it failed before the first cell
            error = f"the grading process failed before any cell ran (exit status {returncode}): {_tail(log_path)}"
        if returncode not in PYTEST_FINISHED:
            _kill_group(process.pid)
            _kill_group(data.get("kernel_pid"))
            process.wait()
            if error is None:
                error = f"the grading process failed (exit status {returncode}): {_tail(log_path)}"
    cells = [_cell_outcome(entry) for entry in data.get("cells", [])]
    if error is not None:
        cells = [_interrupted(cell, error) for cell in cells]
    run = NotebookRun(notebook, cells, error, time.monotonic() - started, list(expected or []))
    if data.get("runner_peak_kb"):
        run.runner_peak_mb = data["runner_peak_kb"] / 1024
    return _add_missing(run)


def _cell_outcome(entry: dict) -> CellOutcome:
    from chapter1.grading.exercises import parse_check

    try:
        check = parse_check(entry["first_line"])
    except ValueError:  # a malformed "# CHECK" header grades nothing
        check = None
    return CellOutcome(check.id if check else None, check.points if check else 0,
                       entry["outcome"], entry["message"], entry["cell"], entry["first_line"])


def _interrupted(cell: CellOutcome, error: str) -> CellOutcome:
    if cell.message != NOT_RUN:
        return cell
    return CellOutcome(cell.check_id, cell.points, "error", f"not finished: {error}", cell.cell, cell.first_line)


def _add_missing(run: NotebookRun) -> NotebookRun:
    present = run.checks
    for check in run.expected:
        if check.id not in present:
            run.cells.append(CellOutcome(check.id, check.points, "failed", "cell missing"))
    return run


FLAGS = ("--kernel", "--probe", "--inside")


def _isolate(setting: str, flags: set[str], argv: list[str], kernel_args: list[str]) -> list[str]:
    """Isolate this process as chapter1.grading.isolation says; returns the kernel's arguments.

    As the grader's user, prepare the kernel's folder (for a sandbox, then start this script again inside
    bubblewrap with ``--inside``); drop to the kernel's user (nothing opened as root stays open: the
    launcher holds no file); settle in. The kernel's own modules are all imported after the drop."""
    from chapter1.grading import isolation

    config = json.loads(setting)
    options = argv[:argv.index("--")] if "--" in argv else argv
    if "--inside" not in flags:
        kernel_args = isolation.prepare(config, kernel_args)
        if config.get("sandbox"):
            again = [sys.executable, SCRIPT, *options, "--inside", "--", *kernel_args]
            os.execv(isolation.bwrap() or "bwrap", isolation.sandboxed(config, again))
    isolation.drop(config)
    isolation.settle(config)
    return kernel_args


def main(argv: list[str] | None = None) -> int:
    """``nbcheck.py -- PYTEST ARGS`` runs pytest with this module as a plugin (the runner);
    ``nbcheck.py --kernel [--memory-mb N] [--file-mb N] [--isolation JSON] -- KERNEL ARGS`` becomes the
    kernel; ``--probe --isolation JSON`` isolates itself as a kernel would and says as whom it runs."""
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    options, rest = argv[:split], argv[split + 1:]
    flags = {flag for flag in FLAGS if flag in options}
    options = [part for part in options if part not in FLAGS]
    limits = dict(zip(options[::2], options[1::2]))
    setting = limits.pop("--isolation", None)
    if len(options) % 2 or set(limits) - set(LIMITS):
        print(f"unknown options {options}; use --kernel, {', '.join(f'{o} N' for o in LIMITS)}, then -- ARGS",
              file=sys.stderr)
        return 4
    apply_limits(*(int(limits[o]) if o in limits else None for o in LIMITS))
    if setting:
        rest = _isolate(setting, flags, argv, rest)
    if "--probe" in flags:
        from chapter1.grading.isolation import probe

        print(json.dumps(probe()))
        return 0
    if "--kernel" in flags:
        _launch_kernel(rest)
        return 0
    # nbval imports nbformat, whose jsonschema imports rfc3987_syntax when it is installed; that
    # compiles a grammar (over 1 s of CPU) for the "iri" format that notebook schemas never use.
    sys.modules.setdefault("rfc3987_syntax", None)
    import pytest

    return int(pytest.main(rest, plugins=[sys.modules[__name__]]))


if __name__ == "__main__":
    sys.exit(main())
