"""The notebook runner's bookkeeping without a kernel (chapter1.grading.nbcheck).

``run_notebook`` starts ``pytest --nbval-lax`` in a child process; here the child is a stand-in that
writes the recorder's lines and exits with a chosen status (or outlives the time limit), so what the
grader makes of a finished, crashed or stopped run is checked in milliseconds: outcomes by CHECK id,
"cell missing", "not finished", the runner's log tail, the limits in the kernelspec. The recorder
itself is fed pytest's hooks with made-up items and reports, and its file read back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import deque
from pathlib import Path
from queue import Empty
from types import SimpleNamespace

import pytest

from chapter1.grading import nbcheck, warm
from chapter1.grading.exercises import Check
from chapter1.grading.isolation import Isolation
from chapter1.grading.nbcheck import (
    MB,
    NOT_RUN,
    CellOutcome,
    KernelDied,
    OutputCap,
    Recorder,
    _cell_outcome,
    _exit_status,
    _kill_group,
    _read_results,
    _tail,
    apply_limits,
    main,
    run_notebook,
)


def entry(cell, first_line, outcome="passed", message=""):
    return {"cell": cell, "first_line": first_line, "outcome": outcome, "message": message}


class Child:
    """Stands in for the pytest child: records how it was started, writes the recorder's lines and a log."""

    def __init__(self, lines=(), returncode=1, hang=False, log=b""):
        self.lines, self.returncode, self.hang, self.log = lines, returncode, hang, log
        self.started, self.waits, self.killed = None, [], []

    def install(self, monkeypatch):
        child = self

        class Process:
            pid = 7001

            def wait(self, timeout=None):
                child.waits.append(timeout)
                if child.hang and len(child.waits) == 1:
                    return None  # still running after the timeout
                return child.returncode

        def start(argv, *, cwd, env, log, fresh):
            spec = Path(env["JUPYTER_PATH"].split(os.pathsep)[0]) / "kernels" / "chapter1-nbcheck" / "kernel.json"
            child.started = {"command": [*fresh, *argv], "kernel": json.loads(spec.read_text()), "cwd": cwd, "env": env}
            with open(env[nbcheck.RESULTS_ENV], "w") as results:
                results.write("".join(json.dumps(line) + "\n" for line in child.lines))
            with open(log, "ab") as out:
                out.write(child.log)
            return Process()

        monkeypatch.setattr(warm, "start", start)
        monkeypatch.setattr(nbcheck, "_kill_group", self.killed.append)
        return self


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "ann.ipynb"
    path.write_text("{}")
    return path


CHECKS = [Check("1.1", 2), Check("1.2", 1), Check("1.3", 3)]
LINES = [{"kernel_pid": 7002}, entry(0, "DAY = 86_400"), entry(1, "# CHECK 1.1 [2 pts]"),
         entry(2, "# CHECK 1.2", "failed", "peak(10) should be 30"), entry(3, "# CHECK 9 pts]", "passed"),
         entry(4, "print(x)", "failed", "NameError: x"), {"runner_peak_kb": 51200}]


def test_a_finished_run_is_scored_by_check_id(monkeypatch, notebook):
    child = Child(LINES, returncode=1).install(monkeypatch)
    run = run_notebook(notebook, timeout=7, memory_mb=300, file_mb=9, expected=CHECKS)
    assert run.error is None and run.path == notebook.resolve() and run.expected == CHECKS
    assert [(c.check_id, c.points, c.outcome, c.message, c.cell) for c in run.cells] == [
        (None, 0, "passed", "", 0), ("1.1", 2, "passed", "", 1), ("1.2", 1, "failed", "peak(10) should be 30", 2),
        (None, 0, "passed", "", 3),  # a malformed CHECK header grades nothing
        (None, 0, "failed", "NameError: x", 4), ("1.3", 3, "failed", "cell missing", None)]
    assert (run.score, run.max_score, run.runner_peak_mb) == (2, 6, 50.0)
    assert child.killed == [] and child.waits == [None]
    command = child.started["command"]
    assert command[:2] == [sys.executable, nbcheck.SCRIPT]
    assert command[2:command.index("--")] == ["--memory-mb", "300", "--file-mb", "9"]
    assert command[command.index("--nbval-cell-timeout") + 1] == "7" and command[-1] == str(notebook.resolve())
    assert child.started["cwd"] == notebook.parent.resolve()
    kernel = child.started["kernel"]
    assert kernel["argv"][:3] == [sys.executable, nbcheck.SCRIPT, "--kernel"]
    assert kernel["argv"][3:] == ["--memory-mb", "300", "--file-mb", "9", "--", "-f", "{connection_file}"]
    assert "interrupt_mode" not in kernel and kernel["display_name"] == "Python 3 (graded)"


def test_the_child_gets_a_clean_reproducible_environment(monkeypatch, notebook):
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    child = Child(LINES[:2], returncode=0).install(monkeypatch)
    run_notebook(notebook)
    env = child.started["env"]
    assert "PYTEST_ADDOPTS" not in env and nbcheck.IPC_ENV not in env
    assert env["PYTHONPATH"] == os.pathsep.join([str(Path(nbcheck.__file__).resolve().parents[2]), "/elsewhere"])
    assert (env["PYTHONHASHSEED"], env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"], env["NO_COLOR"]) == ("0", "1", "1")
    scratch = Path(env[nbcheck.RESULTS_ENV]).parent
    assert scratch.name.startswith("chapter1-nbcheck-") and not scratch.exists()  # removed after the run
    assert env["IPYTHONDIR"] == str(scratch / "ipython") and env["JUPYTER_RUNTIME_DIR"] == str(scratch / "runtime")
    assert child.started["kernel"]["argv"][3:] == ["--", "-f", "{connection_file}"]  # no limits asked for


def test_a_sandboxed_kernel_is_interrupted_by_message_and_talks_over_sockets(monkeypatch, notebook):
    child = Child(LINES[:2], returncode=0).install(monkeypatch)
    run_notebook(notebook, isolation=Isolation(None, True, ("/course/solutions",)))
    argv = child.started["kernel"]["argv"]
    setting = json.loads(argv[argv.index("--isolation") + 1])
    assert (setting["sandbox"], setting["hidden"], setting["folder"]) == (True, ["/course/solutions"],
                                                                         str(notebook.parent.resolve()))
    assert child.started["kernel"]["interrupt_mode"] == "message"
    assert child.started["env"][nbcheck.IPC_ENV] == str(notebook.parent.resolve() / ".k")
    child = Child(LINES[:2], returncode=0).install(monkeypatch)
    run_notebook(notebook, isolation=Isolation((65534, 65534)))  # another user, no sandbox: signals work
    assert "interrupt_mode" not in child.started["kernel"] and nbcheck.IPC_ENV not in child.started["env"]
    assert "--isolation" in child.started["kernel"]["argv"]
    child = Child(LINES[:2], returncode=0).install(monkeypatch)
    run_notebook(notebook, isolation=Isolation())  # no isolation at all
    assert "--isolation" not in child.started["kernel"]["argv"]


def test_a_run_stopped_at_its_time_limit_keeps_what_finished(monkeypatch, notebook):
    lines = [{"kernel_pid": 7002}, entry(0, "DAY = 86_400"), entry(1, "# CHECK 1.1 [2 pts]", "error", NOT_RUN),
             entry(2, "# CHECK 1.2", "error", NOT_RUN)]
    child = Child(lines, hang=True).install(monkeypatch)
    run = run_notebook(notebook, total_timeout=2.5, expected=CHECKS)
    error = "stopped after 2.5 s (the time limit for the whole notebook)"
    assert run.error == error and child.waits == [2.5, None]
    assert child.killed == [7001, 7002]  # the runner's process group, then the kernel's
    assert [(c.outcome, c.message) for c in run.cells] == [
        ("passed", ""), ("error", f"not finished: {error}"), ("error", f"not finished: {error}"),
        ("failed", "cell missing")]
    assert run.cells[1].check_id == "1.1" and run.cells[1].first_line == "# CHECK 1.1 [2 pts]"


def test_a_runner_that_crashed_says_so_with_its_log(monkeypatch, notebook):
    log = b"\x1b[31mstarting\x1b[0m\n\n" + b"".join(b"line %d\n" % i for i in range(6)) + b"MemoryError\n"
    child = Child(LINES[:3], returncode=-9, log=log).install(monkeypatch)
    run = run_notebook(notebook)
    assert run.error == "the grading process failed (exit status -9): line 3 | line 4 | line 5 | MemoryError"
    assert child.killed == [7001, 7002] and child.waits == [None, None]
    assert [c.outcome for c in run.cells] == ["passed", "passed"]  # finished cells keep their outcome


@pytest.mark.parametrize("returncode", [0, 1])
def test_a_runner_that_recorded_no_cell_failed_before_the_first(monkeypatch, notebook, returncode):
    child = Child([], returncode=returncode, log=b"ImportError: nbval\n").install(monkeypatch)
    run = run_notebook(notebook, expected=CHECKS[:1])
    assert run.error == (f"the grading process failed before any cell ran (exit status {returncode}): "
                         "ImportError: nbval")
    assert child.killed == [] and run.cells == [CellOutcome("1.1", 2, "failed", "cell missing")]


def test_a_notebook_without_code_cells_is_no_error(monkeypatch, notebook):
    Child([{"runner_peak_kb": 0}], returncode=5).install(monkeypatch)
    run = run_notebook(notebook)
    assert (run.error, run.cells, run.runner_peak_mb) == (None, [], None)


def test_bad_run_arguments_name_the_parameter(notebook, tmp_path):
    with pytest.raises(ValueError, match=r"^path 'nowhere.ipynb' is not a notebook file; pass the path of an "):
        run_notebook("nowhere.ipynb")
    with pytest.raises(ValueError, match="is not a notebook file"):
        run_notebook(tmp_path)
    for name, what in [("timeout", "a positive number of seconds"),
                       ("total_timeout", "a positive number of seconds or None"),
                       ("memory_mb", "a positive number of megabytes or None"),
                       ("file_mb", "a positive number of megabytes or None")]:
        for bad in (0, -2):
            with pytest.raises(ValueError, match=rf"^{name} must be {what}, got {bad}$"):
                run_notebook(notebook, **{name: bad})


def test_the_results_file_is_read_with_later_lines_winning_and_a_torn_line_skipped(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join([json.dumps(entry(1, "b", "error", NOT_RUN)), json.dumps(entry(0, "a")),
                               json.dumps({"kernel_pid": 9}), json.dumps(entry(1, "b", "failed", "boom")),
                               '{"cell": 2, "first']))
    assert _read_results(path) == {"kernel_pid": 9, "runner_peak_kb": None,
                                   "cells": [entry(0, "a"), entry(1, "b", "failed", "boom")]}
    assert _read_results(tmp_path / "none.jsonl") == {"kernel_pid": None, "runner_peak_kb": None, "cells": []}


def test_a_check_cell_is_known_by_its_first_line():
    assert _cell_outcome(entry(3, "# CHECK 2.1 [4 pts]", "failed", "m")) == CellOutcome("2.1", 4, "failed", "m", 3,
                                                                                      "# CHECK 2.1 [4 pts]")
    assert _cell_outcome(entry(0, "# CHECK")) == CellOutcome(None, 0, "passed", "", 0, "# CHECK")


def test_the_log_tail_is_its_last_four_lines_without_colour(tmp_path):
    log = tmp_path / "runner.log"
    log.write_bytes(b"x" * 5000 + b"\n\x1b[1ma\x1b[0m\n\nb\n  \nc\nd\ne\n")
    assert _tail(log) == "b | c | d | e"
    log.write_bytes(b"a\n" + b"y" * 900 + b"\n")
    assert _tail(log) == "a | " + "y" * 395 + "…"
    log.write_bytes(b"first\n" + b"z" * 3000)
    assert _tail(log) == "z" * 399 + "…"  # only the last 2,000 bytes are read
    assert _tail(tmp_path / "none.log") == ""


def item(nodeid, source, outputs=None, pid=4321):
    km = SimpleNamespace(provisioner=SimpleNamespace(pid=pid))
    return SimpleNamespace(nodeid=nodeid, cell=SimpleNamespace(source=source), test_outputs=outputs,
                           parent=SimpleNamespace(kernel=SimpleNamespace(km=km)))


def report(nodeid, when, result):
    return SimpleNamespace(nodeid=nodeid, when=when, passed=result == "passed", skipped=result == "skipped")


def test_the_recorder_writes_each_cells_outcome_as_the_run_goes(tmp_path):
    path = tmp_path / "results.jsonl"
    recorder = Recorder(str(path))
    assertion = [{"output_type": "stream"}, {"output_type": "error", "ename": "AssertionError",
                                             "evalue": "rps should be 100", "traceback": []}]
    interrupted = [{"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []}]
    cells = [item("nb::c0", "\n\n  DAY = 86_400  \nmore"), item("nb::c1", "# CHECK 1.1\nassert rps == 100", assertion),
             item("nb::c2", "while True: pass", interrupted), item("nb::c3", "big()"), item("nb::c4", "skip()"),
             item("nb::c5", "late()")]
    recorder.pytest_collection_modifyitems([SimpleNamespace(nodeid="other"), *cells])
    steps = [(cells[0], "setup", "passed", None), (cells[0], "call", "passed", None),
             (cells[1], "setup", "passed", None), (cells[1], "call", "failed", AssertionError("x")),
             (cells[2], "call", "failed", RuntimeError("Timeout of 3 seconds exceeded\n\nmore")),
             (cells[3], "setup", "failed", KernelDied("the kernel died while running this cell (killed by SIGKILL)")),
             (cells[4], "call", "skipped", None), (cells[0], "teardown", "failed", RuntimeError("late"))]
    for cell, when, result, error in steps:
        recorder.pytest_runtest_makereport(cell, SimpleNamespace(excinfo=error and SimpleNamespace(value=error)))
        recorder.pytest_runtest_logreport(report(cell.nodeid, when, result))
    recorder.pytest_runtest_logreport(report("other", "call", "failed"))  # not a notebook cell
    recorder.pytest_unconfigure(None)
    data = _read_results(path)
    assert data["kernel_pid"] == 4321 and data["runner_peak_kb"] > 1000
    assert [(c["first_line"], c["outcome"], c["message"]) for c in data["cells"]] == [
        ("DAY = 86_400", "passed", ""),
        ("# CHECK 1.1", "failed", "rps should be 100"),
        ("while True: pass", "failed", "timed out after 3 s (the cell was interrupted)"),
        ("big()", "error", "the kernel died while running this cell (killed by SIGKILL)"),
        ("skip()", "skipped", "skipped (NBVAL_SKIP)"),
        ("late()", "error", NOT_RUN)]
    assert sum('"kernel_pid"' in line for line in path.read_text().splitlines()) == 1
    assert [c["cell"] for c in data["cells"]] == [0, 1, 2, 3, 4, 5]


def test_a_failed_report_without_an_exception_keeps_its_phase(tmp_path):
    recorder = Recorder(str(tmp_path / "r.jsonl"))
    cells = [item("c0", "a"), item("c1", "b")]
    recorder.pytest_collection_modifyitems(cells)
    for cell, when in zip(cells, ("call", "setup")):
        recorder.pytest_runtest_makereport(cell, SimpleNamespace(excinfo=None))
        recorder.pytest_runtest_logreport(report(cell.nodeid, when, "failed"))
    recorder.pytest_unconfigure(None)
    assert [(c["outcome"], c["message"]) for c in _read_results(tmp_path / "r.jsonl")["cells"]] == [
        ("failed", ""), ("error", "")]


def test_the_exit_status_of_a_dead_kernel_is_named():
    def km(code):
        return SimpleNamespace(provisioner=SimpleNamespace(process=SimpleNamespace(poll=lambda: code)))

    assert _exit_status(km(-9)) == " (killed by SIGKILL)"
    assert _exit_status(km(-200)) == " (killed by 200)"
    assert _exit_status(km(3)) == " (exit status 3)" and _exit_status(km(0)) == " (exit status 0)"
    assert _exit_status(km(None)) == "" and _exit_status(SimpleNamespace()) == ""


def test_output_beyond_a_cells_or_the_notebooks_budget_is_dropped():
    cap = OutputCap(cell_limit=30, notebook_limit=45)
    stream = {"msg_type": "stream", "content": {"text": "x" * 6}}  # 18 bytes of JSON
    assert [cap.keep(stream) for _ in range(2)] == [True, False] and (cap.cell, cap.dropped) == (18, 1)
    assert cap.keep({"msg_type": "status", "content": {"text": "x" * 99}})  # never capped
    assert cap.keep({"msg_type": "error", "content": {"evalue": "x" * 99}})
    cap.new_cell()
    assert cap.keep(stream) and (cap.cell, cap.notebook) == (18, 36)
    assert not cap.keep({"msg_type": "display_data", "content": {"t": "y" * 2}})  # 45 < 36 + 11
    assert cap.keep({"msg_type": "clear_output", "content": {"t": ""}})  # exactly at the budget: 36 + 9
    assert (cap.notebook, cap.dropped) == (45, 2)
    default = OutputCap()
    assert (default.cell_limit, default.notebook_limit) == (2 * MB, 16 * MB)


def test_limits_are_checked_before_any_is_set(monkeypatch):
    import resource

    set_ = []
    monkeypatch.setattr(resource, "setrlimit", lambda name, values: set_.append((name, values)))
    with pytest.raises(ValueError, match=r"^--memory-mb must be a positive number of megabytes, got 0$"):
        apply_limits(memory_mb=0)
    with pytest.raises(ValueError, match=r"^--file-mb must be a positive number of megabytes, got -1$"):
        apply_limits(file_mb=-1)
    assert set_ == []
    apply_limits(memory_mb=300, file_mb=1.5)
    assert set_ == [(resource.RLIMIT_DATA, (300 * MB, 300 * MB)), (resource.RLIMIT_FSIZE, (int(1.5 * MB),) * 2),
                    (resource.RLIMIT_CORE, (0, 0))]


def test_the_script_refuses_unknown_options_and_probes_as_a_kernel_would(monkeypatch, capsys):
    limits = []
    monkeypatch.setattr(nbcheck, "apply_limits", lambda *values: limits.append(values))
    assert main(["--memory", "3", "--", "x"]) == 4 and main(["--memory-mb"]) == 4
    assert capsys.readouterr().err.splitlines()[0] == (
        "unknown options ['--memory', '3']; use --kernel, --memory-mb N, --file-mb N, then -- ARGS")
    assert limits == []
    assert main(["--probe", "--file-mb", "9", "--memory-mb", "300"]) == 0
    assert json.loads(capsys.readouterr().out) == {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
    assert limits == [(300, 9)]


def test_only_a_process_group_we_lead_is_killed():
    leader = subprocess.Popen(["sleep", "30"], start_new_session=True)
    member = subprocess.Popen(["sleep", "30"])  # in this process's group: never killed by pid
    try:
        _kill_group(member.pid)
        _kill_group(None)
        assert member.poll() is None
        _kill_group(leader.pid)
        assert leader.wait(5) == -signal.SIGKILL
        _kill_group(leader.pid)  # gone already: nothing happens
    finally:
        member.kill()
        member.wait()
        leader.kill()


class Kernel:
    """Stands in for nbval's RunningKernel: iopub messages waiting, a reply after some polls, alive or not."""

    def __init__(self, iopub=(), reply_after=0, alive=True, exit_code=None):
        self.iopub, self.polls, self.reply_after, self.interrupts = list(iopub), 0, reply_after, 0
        process = SimpleNamespace(poll=lambda: exit_code)
        self.km = SimpleNamespace(is_alive=lambda: alive, provisioner=SimpleNamespace(process=process))
        self.kc = SimpleNamespace(get_iopub_msg=self._next)

    def _next(self, timeout=None):
        if not self.iopub:
            raise Empty
        return self.iopub.pop(0)

    def await_reply(self, msg_id, timeout=None):
        self.polls += 1
        if self.polls <= self.reply_after:
            raise Empty
        return {"reply_to": msg_id}

    def get_message(self, stream, timeout=None):
        if stream == "iopub":
            return self._next()
        return {"stream": stream}

    def interrupt(self):
        self.interrupts += 1


@pytest.fixture
def patched(monkeypatch):
    """A RunningKernel class of our own, patched as the runner patches nbval's."""
    class Running(Kernel):
        pass

    monkeypatch.setattr(nbcheck, "KERNEL_POLL_SECONDS", 0.0)
    nbcheck._patch_running_kernel(Running)
    assert Running._chapter1_patched
    return Running


def stream(text):
    return {"msg_type": "stream", "content": {"name": "stdout", "text": text}}


def test_outputs_are_read_while_a_cell_runs_and_served_first(patched):
    kernel = patched([stream("a"), stream("b")], reply_after=3)
    assert kernel.await_reply("m1") == {"reply_to": "m1"} and kernel.polls == 4
    kernel.iopub.append(stream("c"))
    assert [kernel.get_message("iopub")["content"]["text"] for _ in range(3)] == ["a", "b", "c"]
    assert kernel.get_message("shell", timeout=1) == {"stream": "shell"}
    with pytest.raises(Empty):
        kernel.get_message("iopub")


def test_a_huge_output_is_clipped_and_a_cells_budget_starts_afresh(patched):
    kernel = patched([stream("x" * 300_000)])
    kernel.await_reply("m1")
    [kept] = nbcheck._state(kernel)["buffer"]
    assert len(kept["content"]["text"]) < 101_000
    assert kept["content"]["text"].endswith("output truncated by the grader]")
    state = nbcheck._state(kernel)
    assert nbcheck._state(kernel) is state and state["cap"].cell > 0
    kernel.get_message("iopub")
    kernel.await_reply("m2")
    assert state["cap"].cell == 0 and state["cap"].notebook > 100_000  # a new cell, the same notebook


def test_a_kernel_that_died_during_a_cell_is_noticed(patched):
    kernel = patched(reply_after=10**6, alive=False, exit_code=-9)
    with pytest.raises(KernelDied, match=r"^the kernel died while running this cell \(killed by SIGKILL\)$"):
        kernel.await_reply("m1")
    kernel = patched(reply_after=10**6, alive=True)
    with pytest.raises(Empty):
        kernel.await_reply("m1", timeout=0.05)  # nbval's cell timeout
    assert kernel.polls >= 2


def test_a_kernel_still_printing_after_its_interrupt_is_given_up(patched, monkeypatch):
    monkeypatch.setattr(nbcheck, "INTERRUPT_GRACE", 0.0)
    kernel = patched([stream("a"), stream("b")])
    kernel.await_reply("m1")
    kernel.interrupt()
    assert kernel.interrupts == 1 and nbcheck._state(kernel)["interrupted"] is not None
    assert kernel.get_message("iopub")["content"]["text"] == "a"  # what was read before is still served
    kernel.get_message("iopub")
    kernel.iopub.append(stream("c"))
    with pytest.raises(Empty):
        kernel.get_message("iopub")
    kernel.await_reply("m2")  # the next cell clears the interrupt
    assert kernel.get_message("iopub")["content"]["text"] == "c"


def test_messages_beyond_the_budget_are_skipped_when_read_late(patched):
    kernel = patched()
    nbcheck._state(kernel)["cap"] = OutputCap(cell_limit=40, notebook_limit=100)
    kernel.iopub += [stream("x" * 30), stream("y"), {"msg_type": "status", "content": {"execution_state": "idle"}}]
    assert kernel.get_message("iopub")["content"]["text"] == "y"
    assert kernel.get_message("iopub")["msg_type"] == "status"


def test_draining_stops_at_its_limit():
    kernel = Kernel([stream(str(i)) for i in range(5)])
    state = {"buffer": deque(), "cap": OutputCap()}
    nbcheck._drain(kernel, state, limit=3)
    assert [m["content"]["text"] for m in state["buffer"]] == ["0", "1", "2"] and len(kernel.iopub) == 2


def test_the_kernel_clips_outputs_before_sending_them(monkeypatch):
    from jupyter_client.session import Session

    sent = []
    monkeypatch.setattr(Session, "send", lambda *args, **kwargs: sent.append((args, kwargs)))
    nbcheck._cap_kernel_messages()
    session = object()
    Session.send(session, "iopub", "stream", {"name": "stdout", "text": "x" * 300_000}, {"parent": 1}, ident=b"k")
    Session.send(session, "iopub", {"header": {"msg_type": "error"}, "content": {"evalue": "e" * 300_000}})
    Session.send(session, "shell", "execute_reply", {"status": "ok"})
    (args, kwargs), (args2, _), (args3, _) = sent
    assert args[:3] == (session, "iopub", "stream") and args[4:] == ({"parent": 1},) and kwargs == {"ident": b"k"}
    assert len(args[3]["text"]) < 101_000 and len(args2[2]["content"]["evalue"]) < 101_000
    assert args3 == (session, "shell", "execute_reply", {"status": "ok"})


def test_the_kernel_starts_with_its_own_arguments(monkeypatch):
    from ipykernel import kernelapp

    launched = []
    monkeypatch.setattr(nbcheck, "_cap_kernel_messages", lambda: launched.append("capped"))
    monkeypatch.setattr(kernelapp, "launch_new_instance", lambda argv: launched.append(argv))
    monkeypatch.setattr(sys, "argv", ["nbcheck.py", "--kernel", "--", "-f", "c.json"])
    nbcheck._launch_kernel(["-f", "c.json"])
    assert launched == ["capped", ["-f", "c.json"]] and sys.argv == ["nbcheck.py", "-f", "c.json"]


def test_a_limit_below_one_megabyte_is_a_limit(monkeypatch):
    import resource

    set_ = []
    monkeypatch.setattr(resource, "setrlimit", lambda name, values: set_.append((name, values)))
    apply_limits(file_mb=0.5)
    assert set_[0] == (resource.RLIMIT_FSIZE, (MB // 2, MB // 2))


def test_an_isolated_kernel_is_prepared_then_sandboxed_then_dropped(monkeypatch):
    from chapter1.grading import isolation

    steps = []
    monkeypatch.setattr(isolation, "prepare", lambda config, args: steps.append(("prepare", config, args)) or
                        ["-f", "/k/.home/kernel.json"])
    monkeypatch.setattr(isolation, "sandboxed", lambda config, argv: ["bwrap", "--", *argv])
    monkeypatch.setattr(isolation, "bwrap", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(isolation, "drop", lambda config: steps.append(("drop", config)))
    monkeypatch.setattr(isolation, "settle", lambda config: steps.append(("settle", config)))
    monkeypatch.setattr(nbcheck.os, "execv", lambda path, argv: steps.append(("exec", path, argv)))
    setting = '{"sandbox": false, "folder": "/k"}'
    argv = ["--kernel", "--memory-mb", "9", "--isolation", setting, "--", "-f", "/run/c.json"]
    assert nbcheck._isolate(setting, {"--kernel"}, argv, ["-f", "/run/c.json"]) == ["-f", "/k/.home/kernel.json"]
    config = {"sandbox": False, "folder": "/k"}
    assert steps == [("prepare", config, ["-f", "/run/c.json"]), ("drop", config), ("settle", config)]
    steps.clear()
    setting = '{"sandbox": true, "folder": "/k"}'
    argv = ["--kernel", "--isolation", setting, "--", "-f", "/run/c.json"]
    nbcheck._isolate(setting, {"--kernel"}, argv, ["-f", "/run/c.json"])
    config = {"sandbox": True, "folder": "/k"}
    assert steps[:2] == [("prepare", config, ["-f", "/run/c.json"]), ("exec", "/usr/bin/bwrap", [
        "bwrap", "--", sys.executable, nbcheck.SCRIPT, "--kernel", "--isolation", setting, "--inside", "--", "-f",
        "/k/.home/kernel.json"])]
    steps.clear()
    monkeypatch.setattr(isolation, "bwrap", lambda: None)
    nbcheck._isolate(setting, {"--kernel"}, ["--probe", "--isolation", setting], [])  # no "--": all are options
    assert steps[1] == ("exec", "bwrap", ["bwrap", "--", sys.executable, nbcheck.SCRIPT, "--probe", "--isolation",
                                          setting, "--inside", "--", "-f", "/k/.home/kernel.json"])
    steps.clear()
    assert nbcheck._isolate(setting, {"--kernel", "--inside"}, argv, ["-f", "/k/.home/kernel.json"]) == [
        "-f", "/k/.home/kernel.json"]  # inside bubblewrap: prepared already
    assert steps == [("drop", config), ("settle", config)]


def test_the_script_becomes_a_kernel_isolated_first_when_asked(monkeypatch):
    calls = []
    monkeypatch.setattr(nbcheck, "apply_limits", lambda *values: calls.append(("limits", values)))
    monkeypatch.setattr(nbcheck, "_launch_kernel", lambda args: calls.append(("kernel", args)))
    monkeypatch.setattr(nbcheck, "_isolate", lambda setting, flags, argv, rest: calls.append(
        ("isolate", setting, sorted(flags), argv[-3:], rest)) or ["-f", "/home/k/kernel.json"])
    assert main(["--kernel", "--memory-mb", "300", "--", "-f", "/run/conn.json"]) == 0
    assert calls == [("limits", (300, None)), ("kernel", ["-f", "/run/conn.json"])]
    calls.clear()
    assert main(["--kernel", "--file-mb", "9", "--isolation", '{"user": null}', "--inside", "--", "-f", "c"]) == 0
    assert calls == [("limits", (None, 9)),
                     ("isolate", '{"user": null}', ["--inside", "--kernel"], ["--", "-f", "c"], ["-f", "c"]),
                     ("kernel", ["-f", "/home/k/kernel.json"])]


def test_the_runner_registers_its_recorder_only_when_started_by_run_notebook(monkeypatch, tmp_path):
    from nbval import kernel as nbval_kernel

    class Running(Kernel):
        pass

    class Manager:
        def __init__(self, *args, **kwargs):
            self.args, self.options = args, kwargs

    monkeypatch.setattr(nbval_kernel, "RunningKernel", Running)
    monkeypatch.setattr(nbval_kernel, "KernelManager", Manager)
    registered = []
    config = SimpleNamespace(pluginmanager=SimpleNamespace(register=lambda plugin, name: registered.append(
        (plugin, name))))
    monkeypatch.delenv(nbcheck.RESULTS_ENV, raising=False)
    nbcheck.pytest_configure(config)
    assert registered == [] and not hasattr(Running, "_chapter1_patched")
    monkeypatch.setenv(nbcheck.RESULTS_ENV, str(tmp_path / "results.jsonl"))
    monkeypatch.setenv(nbcheck.IPC_ENV, str(tmp_path / ".k"))
    nbcheck.pytest_configure(config)
    [(recorder, name)] = registered
    assert name == "chapter1-recorder" and recorder.path == tmp_path / "results.jsonl"
    assert nbcheck.RESULTS_ENV not in os.environ and nbcheck.IPC_ENV not in os.environ  # the kernel inherits neither
    assert Running._chapter1_patched and Running.await_reply is not Kernel.await_reply
    manager = nbval_kernel.KernelManager("python3", kernel_name="chapter1-nbcheck")
    assert manager.args == ("python3",)
    assert manager.options == {"transport": "ipc", "ip": str(tmp_path / ".k"), "kernel_name": "chapter1-nbcheck"}
    recorder._file.close()
    patched_once = Running.await_reply
    monkeypatch.setenv(nbcheck.RESULTS_ENV, str(tmp_path / "again.jsonl"))
    nbcheck.pytest_configure(config)
    assert Running.await_reply is patched_once  # patched once, not wrapped twice
    registered[-1][0]._file.close()


def test_the_script_runs_pytest_with_itself_as_the_plugin(monkeypatch):
    import pytest as pytest_module

    ran = []
    monkeypatch.setattr(pytest_module, "main", lambda args, plugins: ran.append((args, plugins)) or 1)
    monkeypatch.setattr(nbcheck, "apply_limits", lambda *values: ran.append(values))
    monkeypatch.delitem(sys.modules, "rfc3987_syntax", raising=False)
    monkeypatch.setattr(sys, "argv", ["nbcheck.py", "--memory-mb", "64", "--", "-q", "ann.ipynb"])
    assert main() == 1
    assert ran == [(64, None), (["-q", "ann.ipynb"], [nbcheck])]
    assert sys.modules["rfc3987_syntax"] is None  # nbformat's schema never needs that grammar compiled
