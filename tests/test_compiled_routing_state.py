"""The compiled routing of a balancer that reads connections leaves the balancer and its servers as the Python loop
leaves them, so that routing a run in several calls gives what one call gives: the requests still inside, the queued
ones, the workers' free times and the turn all carry over; and reading services in blocks changes nothing.
(Lowered ``kernels.MIN_ROUTED``, as in tests/test_kernels.py, and blocks of 64 requests; the compiled calls counted.)"""


import numpy as np
import pytest

import chapter1 as c
from chapter1.core import kernels
from chapter1.core.simulation import Simulation

REQUESTS = 600
ROUTE = kernels.route_by_connections


def route_in_three_calls(arch, load, compiled, monkeypatch, seed=4):
    """Routes, services and starts of every request, routed in three calls (the last of two requests), the number
    of requests queued before the last call, and the state left after them."""
    for threshold in ("MIN_REQUESTS", "MIN_ROUTED"):  # (routing reads the second; a graded kernel's, the first)
        monkeypatch.setattr(kernels, threshold, 0 if compiled else 10**12)
    monkeypatch.delenv(kernels.LONG_RUNS_ONLY, raising=False)
    calls = []
    monkeypatch.setattr(kernels, "route_by_connections", lambda *args: calls.append(1) or ROUTE(*args, block=64))
    workload = c.Workload.from_rate(load * arch["load balancer"].capacity)
    sim = Simulation(arch, workload, REQUESTS, seed)
    run = sim.tiers[0]
    requests, times = np.arange(REQUESTS), sim.arrival
    healthy = run._view(float(times[0]))
    parts, queued = [], []
    for low, high in ((0, REQUESTS // 2), (REQUESTS // 2, REQUESTS - 2), (REQUESTS - 2, REQUESTS)):
        queued.append(sum(len(p.waiting) for p in run.parts))
        parts.append(run._route_one_by_one(healthy, requests[low:high], times[low:high]))
    routed = [np.concatenate([p[j] for p in parts]) for j in range(3)]
    state = (sorted(run.leaving), list(run.connections), run.turn,
             [(sorted(p.free), list(p.waiting)) for p in run.parts])
    assert len(calls) == (3 if compiled else 0), "the compiled routing ran where it should not, or not where it should"
    return routed, queued[-1], state


ARCHITECTURES = {
    "least connections, short queues, time-outs": lambda: c.load_balanced(
        3, "least_connections", workers=2, queue_limit=4, timeout_ms=120, health_check_interval_s=10.0),
    "power of two, mixed queues": lambda: c.load_balanced(
        [c.Server(name="a", workers=1, queue_limit=6), c.Server(name="b", workers=3, queue_limit=2),
         c.Server(name="c", workers=2)], "power_of_two"),
}


@pytest.mark.parametrize("load", [0.9, 1.6])
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_routing_in_several_calls_compiled_gives_the_python_loops_routes_and_state(monkeypatch, name, load):
    assert kernels.compiled() is not None, "numba is a dependency of the course: the compiled loops must load"
    arch = ARCHITECTURES[name]()
    (routes, services, starts), _, state = route_in_three_calls(arch, load, True, monkeypatch)
    (want_routes, want_services, want_starts), queued, want_state = route_in_three_calls(arch, load, False,
                                                                                         monkeypatch)
    assert np.array_equal(routes, want_routes) and np.array_equal(services, want_services)
    assert np.array_equal(starts, want_starts, equal_nan=True)
    assert state == want_state
    if load > 1:  # the last call, of two requests, starts with more queued than that, and some were refused
        assert queued > 2 and np.isnan(want_starts).any()
