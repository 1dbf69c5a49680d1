"""A server's whole share at once: in blocks, or in the compiled loop of long runs, the same starts as one loop.

The event-free engine schedules a server's requests block by block (first without the queue limit, kept when
nobody would have found the queue full) and, from 100,000 requests on, in a compiled loop.  Here both are
made to run on a few hundred requests: the blocks by a small ``block``, the compiled loop by lowering the
threshold, and each must give what the plain loop and the simpy engine give.
"""

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1.core import kernels
from chapter1.core.simulation import Simulation

COMPILED = kernels.compiled()  # numba loads while the tests are collected (a second or two), not in a test
N = 301  # requests: with blocks of 10 (or 25) the last block holds a single request


def runtime(server):
    return Simulation(c.Architecture("one", (server,), dns=None), c.Workload.from_rate(10), N, 0).runtimes[0]


# workers, queue limit, time-out (s), load: light (every block kept), overload (the queue full for long), and an
# overload whose queue never fills (its blocks go to the loop with the limit, which must give the same starts)
CASES = [(1, 8, None, 0.5), (2, 3, 0.05, 1.5), (3, 0, None, 3.0), (1, 6, 0.4, 1.2), (2, None, 0.05, 2.0),
         (2, 1_000, None, 1.5)]


@pytest.mark.parametrize("block", [10, 25])
@pytest.mark.parametrize("workers, limit, timeout, load", CASES)
def test_a_share_in_blocks_starts_as_one_loop(workers, limit, timeout, load, block):
    server = c.Server(workers=workers, service_time_ms=20, queue_limit=limit,
                      timeout_ms=None if timeout is None else timeout * 1_000)
    rng = np.random.default_rng(workers * 100 + block)
    times = np.cumsum(rng.exponential(0.02 / workers / load, N))
    services = rng.exponential(0.02, N)
    blocks, whole = runtime(server), runtime(server)
    got = blocks._starts(times, services, block=block)
    want = np.array(whole._schedule(times.tolist(), services.tolist()))
    assert np.array_equal(got, want, equal_nan=True)
    fills = load > 1 and limit is not None and limit < N  # (a queue longer than the run never fills)
    assert np.isnan(want).any() == fills, "only overload fills the queue"
    assert sorted(blocks.free) == sorted(whole.free)
    assert [w for w in blocks.waiting if w > times[-1]] == [w for w in whole.waiting if w > times[-1]]


@pytest.fixture
def compiled_always(monkeypatch):
    """Every run takes the compiled loops, however short."""
    assert COMPILED is not None, "numba is a dependency of the course: the compiled loops must load"
    monkeypatch.setattr(kernels, "MIN_REQUESTS", 0)


@pytest.mark.parametrize("server, load", [
    (c.Server(workers=2, service_time_ms=20, queue_limit=3, timeout_ms=60), 1.5),
    (c.Server(workers=1, service_time_ms=20, queue_limit=None, timeout_ms=None), 0.8)])
def test_the_compiled_loop_gives_the_simpy_result(compiled_always, server, load):
    arch = c.Architecture("one", (server,), dns=None)
    workload = c.Workload.from_rate(load * server.capacity)
    slow, fast = (c.simulate(arch, workload, requests=600, seed=3, engine=engine) for engine in ("simpy", "fast"))
    pd.testing.assert_frame_equal(slow.requests, fast.requests)
    pd.testing.assert_frame_equal(slow.components, fast.components)
    assert (fast.requests["status"] != "ok").any() == (server.queue_limit is not None)


def test_a_round_robin_pool_whose_clients_give_up_in_the_queue_gives_the_simpy_result():
    arch = c.load_balanced(2, "round_robin", service_time_ms=20, workers=1, queue_limit=None, timeout_ms=30)
    arch = c.Architecture("pool", arch.tiers, dns=None)
    slow, fast = (c.simulate(arch, c.Workload.from_rate(150), requests=300, seed=5, engine=engine)
                  for engine in ("simpy", "fast"))
    pd.testing.assert_frame_equal(slow.requests, fast.requests)
    pd.testing.assert_frame_equal(slow.components, fast.components)
    gave_up = fast.requests["web-1_wait_ms"].fillna(fast.requests["web-2_wait_ms"]) > 30
    assert gave_up.sum() > 10 and (fast.requests.loc[gave_up, "status"] == "timeout").all()
