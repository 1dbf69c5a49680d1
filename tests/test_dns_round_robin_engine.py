"""DNS round robin without events: each client's cached answer decided request by request, then each server admits
its share in order of arrival there; the simpy engine's Result, bit for bit, on random pools."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same, outages, servers

import chapter1 as c
from chapter1.sections.failover import FAILOVER_RATE, failover_pool


@st.composite
def dns_pools(draw):
    members = tuple(draw(servers(f"web-{k + 1}")) for k in range(draw(st.integers(1, 4))))
    joins = tuple(c.Join(draw(servers(f"web-{len(members) + k + 1}")), draw(st.floats(0.0, 6.0)))
                  for k in range(draw(st.integers(0, 1))))
    return c.DNSRoundRobin(servers=members, joins=joins, ttl_s=draw(st.sampled_from([0.0, 0.01, 0.5, 5.0, 60.0])),
                           lookup_ms=draw(st.sampled_from([0.0, 30.0, 200.0])),
                           health_check_interval_s=draw(st.sampled_from([None, 0.5, 2.0, 10.0])),
                           fall=draw(st.integers(1, 3)), outages=draw(outages()))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(pool=dns_pools(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), users=st.sampled_from([None, 3, 50]),
       seed=st.integers(0, 2**20), requests=st.integers(1, 400))
def test_dns_round_robin_without_events_gives_the_simpy_result(pool, rate, users, seed, requests):
    workload = (c.Workload.from_rate(rate) if users is None  # few users: each client comes back often
                else c.Workload(users=users, requests_per_user=rate * 86_400 / (2.0 * users)))
    assert_same(c.Architecture("dns round robin", (pool,), dns=None), workload, requests, seed)


@pytest.mark.parametrize("servers, interval_s, ttl_s", [(2, 1, 0), (4, 10, 30), (8, 30, 60)])
def test_the_failover_panel_runs_dns_round_robin_without_events(servers, interval_s, ttl_s):
    arch = failover_pool("DNS round robin", servers, interval_s, ttl_s)
    fast = c.simulate(arch, c.Workload.from_rate(FAILOVER_RATE), requests=5_000, seed=3, engine="fast")
    slow = c.simulate(arch, c.Workload.from_rate(FAILOVER_RATE), requests=5_000, seed=3, engine="simpy")
    pd.testing.assert_frame_equal(slow.requests, fast.requests)
    pd.testing.assert_frame_equal(slow.components, fast.components)
    assert (fast.requests["status"] != "ok").sum() > 0  # the death shows
