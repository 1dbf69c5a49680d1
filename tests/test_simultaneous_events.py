"""Two engines, one answer, when events happen at the same moment (requests placed by hand).

The event-free engine must give exactly the Result of the simpy reference even where two requests tie: when
several arrive at one instant, or leave one tier at one instant for the next.  simpy serves simultaneous events
in the order they were scheduled; the event-free engine must keep that order too.
"""

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

import chapter1 as c
from chapter1.core.simulation import Simulation


def run(arch, arrivals, engine, seed=0):
    """Result.requests of ``arch`` with one request at each of ``arrivals`` (seconds, sorted)."""
    sim = Simulation(arch, c.Workload.from_rate(10), len(arrivals), seed)
    sim.arrival[:] = arrivals
    return sim.run(engine).requests


def two_tiers():
    """A balancer over a 250 ms and a 1,250 ms constant server, then one exponential back end: requests sent to
    the two servers a second apart come back to the balancer at the same moment, out of their arrival order."""
    fast = c.Server(name="quick", workers=8, service_time_ms=250, distribution="constant")
    slow = c.Server(name="slow", workers=8, service_time_ms=1_250, distribution="constant")
    back = c.Server(name="back", workers=1, service_time_ms=100)
    return c.Architecture("two tiers", (c.LoadBalancer(servers=(fast, slow)), back), dns=None)


@pytest.mark.parametrize("seed", [0, 1])
def test_requests_leaving_a_tier_together_reach_the_next_in_the_order_simpy_gives(seed):
    arrivals = np.repeat(np.arange(30) * 0.25, 2)  # two at a time, every 250 ms
    fast, reference = run(two_tiers(), arrivals, "fast", seed), run(two_tiers(), arrivals, "simpy", seed)
    leave = reference["arrival_s"] + np.where(reference["server"] == "quick", 0.25, 1.25)
    assert leave.duplicated().sum() > 20  # many requests tie on their way to the back end
    assert_frame_equal(fast, reference)


def test_a_burst_at_one_instant_starts_where_simpy_starts_it():
    """simpy's source reaches 0.3 s from 0.03 s as 0.03 + (0.3 - 0.03) = 0.30000000000000004; every request of
    the burst of 80 starts then, and the event-free engine's clock must say the same for all 80."""
    arrivals = np.array([0.03, *[0.3] * 80, 1.0, 2.0])
    arch = c.Architecture("one server", (c.Server(workers=100, service_time_ms=100, distribution="constant"),),
                          dns=None)
    fast, reference = run(arch, arrivals, "fast"), run(arch, arrivals, "simpy")
    assert_frame_equal(fast, reference)
    started = reference["latency_ms"].to_numpy()[1:81] - 100.0  # constant work: latency - work is the lag
    assert np.all(started == started[0]) and started[0] > 0  # the burst starts a hair after 0.3 s, all together
    assert reference["latency_ms"].iloc[0] == 100.0  # the first one starts on time


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_requests_reaching_a_server_at_the_same_moment_are_served_in_the_order_they_were_drawn(engine):
    """Five requests at each of 60 moments, behind DNS (a lookup for some, a cached answer for others): those that
    reach the one worker together wait in the order of their request number, first drawn first served."""
    arrivals = np.sort(np.repeat(np.random.default_rng(1).uniform(0, 20, 60), 5))
    arch = c.Architecture("one", (c.Server(workers=1, service_time_ms=10, distribution="constant"),))
    sim = Simulation(arch, c.Workload(users=50), len(arrivals), 0)
    sim.arrival[:] = arrivals
    table = sim.run(engine).requests
    together = [g for _, g in table.groupby(table["arrival_s"] + table["dns_ms"] / 1_000) if len(g) > 1]
    assert len(together) > 30
    assert all(np.all(np.diff(g["server_wait_ms"].to_numpy()) > 0) for g in together)
