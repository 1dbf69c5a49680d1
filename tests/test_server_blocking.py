"""Thread per request (blocking=True): the worker is held while the backend answers, and a client whose time-out
has passed by the end of the server's own work is not passed on."""

import numpy as np
import pytest

import chapter1 as c
from chapter1.core.architecture import Architecture


def test_a_blocking_worker_is_busy_through_the_backend_call_and_a_late_request_is_not_passed_on():
    """One worker of 125 ms, time-out 125 ms, a 62.5 ms database.  0.0 and 0.5 end their own work exactly at
    their time-out (not past it), call the database and answer at 187.5 ms; 0.5625 waits while the worker is
    held through that call, ends its own work 250 ms after arriving, and times out without a database call."""
    web = c.Server(name="web", workers=1, service_time_ms=125, distribution="constant", timeout_ms=125,
                   backend=c.Database(workers=1, service_time_ms=62.5, distribution="constant"), blocking=True)

    class Placed(c.Workload):
        def arrival_times(self, rng, n):
            return np.asarray([0, 0.5, 0.5625], dtype=float)

    result = c.simulate(Architecture("blocking", (web,), dns=None), Placed.from_rate(1), requests=3, seed=0)
    requests, rows = result.requests, result.components.set_index("component")
    assert list(requests["status"]) == ["ok", "ok", "timeout"]
    assert list(requests["latency_ms"]) == [187.5, 187.5, 125.0]
    assert list(requests["web_wait_ms"]) == [0.0, 0.0, 125.0]
    assert (rows.loc["web", "served"], rows.loc["database", "served"]) == (3, 2)
    busy = 0.1875 + 0.0625  # held from 0 to 0.1875, and from 0.5 until the last arrival at 0.5625
    assert rows.loc["web", "utilization"] == pytest.approx(busy / 0.5625)
