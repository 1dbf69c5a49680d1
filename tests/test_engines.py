"""Two engines, one answer: the event-free engine gives the simpy engine's Result, bit for bit.

Random configurations cover every event-free kind: servers (workers, service distributions, queue
limits, timeouts), tiers in a row, load balancers under every policy, with and without DNS, at
light load and in overload.
"""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chapter1 as c
from chapter1.components.policies import POLICIES


@st.composite
def servers(draw, name):
    return c.Server(
        name=name,
        workers=draw(st.integers(1, 8)),
        service_time_ms=draw(st.sampled_from([5.0, 20.0, 50.0, 100.0])),
        distribution=draw(st.sampled_from(["exponential", "constant"])),
        queue_limit=draw(st.one_of(st.none(), st.integers(0, 20))),
        timeout_ms=draw(st.one_of(st.none(), st.sampled_from([50.0, 300.0, 2_000.0]))),
    )


@st.composite
def tiers(draw, prefix):
    if draw(st.booleans()):
        return draw(servers(prefix))
    members = tuple(draw(servers(f"{prefix}-{k + 1}")) for k in range(draw(st.integers(1, 5))))
    policy = draw(st.sampled_from(sorted(POLICIES)))
    return c.LoadBalancer(name=f"{prefix} balancer", servers=members, policy=policy)


@st.composite
def architectures(draw):
    path = tuple(draw(tiers(f"tier{k + 1}")) for k in range(draw(st.integers(1, 3))))
    dns = draw(st.sampled_from([None, c.DNS(), c.DNS(ttl_s=5, lookup_ms=80)]))
    return c.Architecture("random", path, dns=dns)


def constant_tiers(arch):
    def constant(tier):
        return any(getattr(p, "distribution", "") == "constant" for p in c.core.component.flatten(tier))
    return sum(constant(t) for t in arch.tiers)


def assert_same(arch, workload, requests, seed):
    if constant_tiers(arch) > 1:  # events can tie exactly: only the event loop orders them
        with pytest.raises(ValueError, match="constant service times, so events can tie"):
            c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
        return
    slow = c.simulate(arch, workload, requests=requests, seed=seed, engine="simpy")
    fast = c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
    pd.testing.assert_frame_equal(slow.requests, fast.requests)
    pd.testing.assert_frame_equal(slow.components, fast.components)
    pd.testing.assert_series_equal(slow.summary(), fast.summary())
    pd.testing.assert_frame_equal(slow.timeline(bins=7), fast.timeline(bins=7))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(arch=architectures(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), seed=st.integers(0, 2**20),
       requests=st.integers(1, 400))
def test_fast_engine_gives_the_simpy_result(arch, rate, seed, requests):
    assert_same(arch, c.Workload.from_rate(rate), requests, seed)


@pytest.mark.parametrize("make", [c.single_server, c.web_and_database, lambda: c.load_balanced(8, "least_connections")])
def test_chapter_architectures_run_fast_by_default(make):
    arch = make()
    assert_same(arch, c.Workload(users=500_000), 3_000, 1)
    auto = c.simulate(arch, c.Workload(users=500_000), requests=3_000, seed=1)
    pd.testing.assert_frame_equal(auto.requests, c.simulate(arch, c.Workload(users=500_000), requests=3_000,
                                                            seed=1, engine="fast").requests)


@pytest.mark.parametrize("arch", [c.single_server().fail("server", 10, 20), c.load_balanced(2).add_server(at_s=5),
                                  c.dns_round_robin(2)])
def test_events_need_simpy_and_fast_says_why(arch):
    with pytest.raises(ValueError, match="engine='fast' needs every tier to run without events"):
        c.simulate(arch, c.Workload.from_rate(20), requests=100, engine="fast")
    auto = c.simulate(arch, c.Workload.from_rate(20), requests=500, seed=2)
    pd.testing.assert_frame_equal(auto.requests, c.simulate(arch, c.Workload.from_rate(20), requests=500, seed=2,
                                                            engine="simpy").requests)


def test_constant_service_in_two_tiers_in_a_row_stays_with_simpy():
    # Chains of constant service times make a departure and an arrival coincide to the last bit; which
    # comes first then decides least connections.  This configuration is one hypothesis found.
    def server(name, workers, ms, distribution):
        return c.Server(name=name, workers=workers, service_time_ms=ms, distribution=distribution,
                        queue_limit=None, timeout_ms=None)
    first = c.LoadBalancer(name="tier1 balancer", policy="ip_hash", servers=(
        server("tier1-1", 1, 20.0, "exponential"), server("tier1-2", 2, 100.0, "constant")))
    second = c.LoadBalancer(name="tier2 balancer", policy="least_connections", servers=(
        server("tier2-1", 1, 5.0, "exponential"), server("tier2-2", 1, 50.0, "constant")))
    arch = c.Architecture("random", (first, second), dns=None)
    assert_same(arch, c.Workload.from_rate(40.0), 18, 0)
    auto = c.simulate(arch, c.Workload.from_rate(40.0), requests=18, seed=0).requests
    # request 15 reaches the second tier at the very instant request 16 leaves tier2-2
    assert auto.loc[15, "tier2 balancer_server"] == "tier2-1"  # as the event loop orders the tie


def test_unknown_engine_lists_the_engines():
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'fast', 'simpy'; got 'quick'"):
        c.simulate(c.single_server(), c.Workload(), requests=10, engine="quick")
