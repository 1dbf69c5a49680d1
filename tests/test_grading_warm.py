"""The grader's runners start warm: each a fork of one server, yet in its own session, folder, environment and log,
with its exit status reported as a fresh process's would be (and the same where nothing can be forked)."""

import json
import os
import signal
import sys
import time

import pytest

from chapter1.grading import nbcheck, warm

PROBE = """
import json, os, time

def test_probe():
    with open(os.environ["PROBE_OUT"], "w") as out:
        json.dump({"cwd": os.getcwd(), "leader": os.getsid(0) == os.getpid(), "env": dict(os.environ)}, out)
    time.sleep(float(os.environ["PROBE_SLEEP"]))
    assert os.environ["PROBE_PASS"] == "yes"
"""


@pytest.fixture(params=["forked", "fresh"])
def mode(request, monkeypatch):
    if request.param == "fresh":  # as where there is no fork
        monkeypatch.delattr(warm.os, "fork")
    return request.param


def start(tmp_path, passes="yes", sleep=0):
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    log = tmp_path / "runner.log"
    log.write_text("before\n")
    env = {"PATH": os.environ["PATH"], "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PROBE_OUT": str(tmp_path / "seen.json"),
           "PROBE_PASS": passes, "PROBE_SLEEP": str(sleep)}
    argv = ["--", "-c", str(tmp_path / "pytest.ini"), "-p", "no:cacheprovider", "-q", "test_probe.py"]
    return warm.start(argv, cwd=tmp_path, env=env, log=log, fresh=[sys.executable, nbcheck.SCRIPT]), log, env


def test_a_runner_works_in_its_folder_session_and_environment_and_appends_to_its_log(tmp_path, mode):
    runner, log, env = start(tmp_path)
    assert runner.wait(120) == 0
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["cwd"] == str(tmp_path) and seen["leader"]
    ours = {k: v for k, v in seen["env"].items() if k in env or not (k.startswith("PYTEST_") or k == "LC_CTYPE")}
    assert ours == env  # exactly what it was given (pytest adds PYTEST_*, a fresh Python in a C locale LC_CTYPE)
    text = log.read_text()
    assert text.startswith("before\n") and "1 passed" in text


def test_a_failing_run_reports_pytests_exit_status(tmp_path, mode):
    runner, log, _ = start(tmp_path, passes="no")
    assert runner.wait(120) == 1 and "1 failed" in log.read_text()


def test_a_runner_still_running_waits_then_reports_the_signal_that_ended_it(tmp_path, mode):
    runner, _, _ = start(tmp_path, sleep=60)
    assert runner.wait(0.5) is None
    probed(tmp_path)
    os.killpg(runner.pid, signal.SIGKILL)  # its own process group, as the grader kills it on a timeout
    assert runner.wait(30) == -signal.SIGKILL
    assert runner.wait() == -signal.SIGKILL  # asked again: the same answer


def test_the_pid_a_forked_runner_reports_leads_its_own_session_at_once(tmp_path):
    runner, _, _ = start(tmp_path, sleep=60)
    assert os.getsid(runner.pid) == runner.pid and os.getpgid(runner.pid) == runner.pid
    os.killpg(runner.pid, signal.SIGKILL)  # at once, as a grader whose time-out has run out would
    assert runner.wait(30) == -signal.SIGKILL


def probed(folder):
    """Wait until the runner's notebook check runs (its probe writes seen.json): it is in its own session by then."""
    for _ in range(1_200):
        if (folder / "seen.json").exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"the runner never ran its check in {folder}")


def test_a_server_that_went_away_is_reported_and_started_again(tmp_path):
    runner, _, _ = start(tmp_path, sleep=60)
    probed(tmp_path)  # (killed earlier, a runner not yet in a session of its own has no group to kill below)
    server = warm._server[0]
    server.kill()
    server.wait()
    assert runner.wait(30) == warm.LOST  # its runner's end can no longer be known: reported as a failure
    os.killpg(runner.pid, signal.SIGKILL)
    (tmp_path / "again").mkdir()
    again, _, _ = start(tmp_path / "again")
    assert again.wait(120) == 0 and warm._server[0] is not server


def test_without_a_server_a_fresh_interpreter_runs_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "_server", None)
    monkeypatch.setattr(warm, "SCRIPT", str(tmp_path / "missing.py"))  # the server cannot start
    runner, log, _ = start(tmp_path)
    assert isinstance(runner, warm.Fresh) and runner.wait(120) == 0 and "1 passed" in log.read_text()
