"""The compiled loops of long runs give exactly what the Python loops and the simpy engine give."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import architectures, assert_same, dns_loop

import chapter1 as c
from chapter1.core import kernels
from chapter1.core.simulation import Simulation


@pytest.fixture(scope="module")
def compiled_always():
    """Every run takes the compiled loops, however short."""
    assert kernels.compiled() is not None, "numba is a dependency of the course: the compiled loops must load"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "MIN_REQUESTS", 0)
        patch.setattr(kernels, "MIN_ROUTED", 0)
        patch.delenv(kernels.LONG_RUNS_ONLY, raising=False)  # (as a graded kernel's would set it)
        yield


@settings(max_examples=150, deadline=None, derandomize=True)
@given(arch=architectures(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), seed=st.integers(0, 2**20),
       requests=st.integers(1, 400))
def test_compiled_runs_give_the_simpy_result(compiled_always, arch, rate, seed, requests):
    assert_same(arch, c.Workload.from_rate(rate), requests, seed)


POOLS = {  # balancers that read connections, each routing in the compiled loop
    "least connections, 8 x 8 workers": lambda: c.load_balanced(8, "least_connections"),
    "least connections, short queues, time-outs": lambda: c.load_balanced(
        4, "least_connections", workers=2, queue_limit=3, timeout_ms=150),
    "power of two, mixed pool": lambda: c.load_balanced(
        [c.Server(name="a", workers=1, timeout_ms=80), c.Server(name="b", workers=4, queue_limit=0),
         c.Server(name="c", workers=2, queue_limit=5)], "power_of_two"),
    "power of two, one server": lambda: c.load_balanced(1, "power_of_two", workers=3, queue_limit=2),
}


@pytest.mark.parametrize("load", [0.7, 1.4])
@pytest.mark.parametrize("pool", POOLS)
def test_compiled_routing_by_connections_gives_the_simpy_result(compiled_always, pool, load):
    arch = POOLS[pool]()
    assert_same(arch, c.Workload.from_rate(load * arch["load balancer"].capacity), 3_000, 11)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(workers=st.integers(1, 5), limit=st.sampled_from([None, 0, 1, 3, 8]),
       timeout=st.sampled_from([None, 0.0001, 0.05, 0.4]), load=st.sampled_from([0.5, 0.9, 1.3, 3.0]),
       ties=st.booleans(), seed=st.integers(0, 2**20))
def test_compiled_fcfs_starts_as_the_python_loop(workers, limit, timeout, load, ties, seed):
    server = c.Server(workers=workers, service_time_ms=20, queue_limit=limit,
                      timeout_ms=None if timeout is None else timeout * 1_000)
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(0.02 / workers / load, 400))
    services = rng.exponential(0.02, 400)
    if ties:  # requests arriving together, and services ending as others arrive
        times, services = np.round(times, 2), np.round(services, 2)
    run = Simulation(c.Architecture("one", (server,), dns=None), c.Workload.from_rate(10), 400, 0).runtimes[0]
    half = len(times) // 2  # two calls in a row: the second starts from the state the first left
    got, free, waiting = kernels.fcfs_starts(times[:half], services[:half], run.free, run.waiting, run.timeout,
                                             run.queue_limit)
    rest, free, waiting = kernels.fcfs_starts(times[half:], services[half:], free, waiting, run.timeout,
                                              run.queue_limit)
    want = run._schedule(times.tolist(), services.tolist())
    assert np.array_equal(np.concatenate([got, rest]), np.array(want), equal_nan=True)
    assert sorted(free) == sorted(run.free)
    assert list(waiting) == list(run.waiting)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(n=st.integers(1, 2_000), users=st.sampled_from([1, 3, 50, 1_000, 10**9]), ttl=st.sampled_from([0.0, 0.5, 5.0]),
       gap=st.sampled_from([0.01, 1.0]), warm=st.floats(0, 1), outage=st.sampled_from(["none", "window", "flaky"]),
       seed=st.integers(0, 2**20))
def test_compiled_dns_caches_miss_as_the_loop(n, users, ttl, gap, warm, outage, seed):
    rng = np.random.default_rng(seed)
    arrival = np.round(np.cumsum(rng.exponential(gap, n)), 1 if seed % 3 == 0 else 12)
    user = rng.integers(0, users, n)
    start = np.where(rng.random(n) < warm, rng.random(n) * ttl, -math.inf)
    down_now = {"none": np.zeros(n, dtype=bool), "flaky": rng.random(n) < 0.3,
                "window": (arrival >= arrival[n // 3]) & (arrival < arrival[n // 2])}[outage]
    assert np.array_equal(kernels.dns_misses(user, arrival, start, ttl, down_now),
                          dns_loop(user, arrival, start, ttl, down_now))


def test_without_numba_the_python_loops_give_the_same_result(monkeypatch):
    arch, workload = c.load_balanced(3, queue_limit=4, timeout_ms=400), c.Workload.from_rate(400)
    monkeypatch.setattr(kernels, "MIN_REQUESTS", 0)
    compiled = c.simulate(arch, workload, requests=3_000, seed=5, engine="fast")

    def no_numba():
        raise ImportError("No module named 'numba'")
    monkeypatch.setattr(kernels, "_compiled", None)
    monkeypatch.setattr(kernels, "_compile", no_numba)
    assert kernels.compiled() is None and not kernels.use_compiled(10**9)
    python = c.simulate(arch, workload, requests=3_000, seed=5, engine="fast")
    assert compiled.requests.equals(python.requests) and compiled.summary().equals(python.summary())


def test_a_notebook_sized_run_leaves_numba_unloaded():
    # numba (and its compiler) load for runs of MIN_REQUESTS or more, or for a balancer that routes MIN_ROUTED or
    # more one at a time (reading connections, or through a changing view); round robin routes a whole run at once
    code = ("import sys, chapter1 as c; c.simulate(c.load_balanced(4), c.Workload(users=10**7), requests=30_000);"
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_run_asks_for_ordinary_pages_and_leaves_numpys_setting_as_it_found_it(monkeypatch):
    switch, seen, run = np._core.multiarray._set_madvise_hugepage, [], Simulation.run

    def spy(self, engine):  # what numpy was told while the run ran
        seen.append(switch(False))
        switch(seen[-1])
        return run(self, engine)

    monkeypatch.setattr(Simulation, "run", spy)
    for setting in (True, False):
        switch(setting)
        c.simulate(c.single_server(), c.Workload(users=1_000), requests=50, seed=1)
        assert seen.pop() is False and switch(setting) is setting
    switch(True)
