"""Behaviour a learner reads off a chart: every server busy alike, distinct choices, the right table, DNS far from 1/2.

Each test here fails for a plausible slip in the library (ties always to the first server, power of two
drawing one server twice, a table column divided by the wrong rate, hits and misses swapped).
"""

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.policies import POLICIES, draw_pairs


@pytest.mark.parametrize("policy", ["least_connections", "round_robin", "random", "power_of_two"])
def test_identical_servers_share_the_work_evenly(policy):
    """8 one-worker servers at 30 % load: each is busy about 30 % of the time, whatever the policy.

    With 20,000 requests the servers' busy shares differ by at most 3 points (measured over 5 seeds:
    sd 0.3-1.0 points); ties always going to the first server would give web-1 over 70 % and web-8 2 %.
    """
    arch = c.load_balanced(servers=8, policy=policy, workers=1, service_time_ms=50)
    result = c.simulate(arch, c.Workload.from_rate(0.3 * 8 * 20), requests=20_000, seed=2)
    busy = [result.utilization(f"web-{k}") for k in range(1, 9)]
    assert max(busy) - min(busy) < 0.06, busy
    assert np.mean(busy) == pytest.approx(0.3, abs=0.02)


class _Run:
    """The state a chooser reads, for one request."""

    def __init__(self, u, v, connections):
        self.u, self.v, self.connections, self.turn = [u], [v], connections, -1
        self.everyone = len(connections)  # every member healthy: the pair drawn for the whole pool
        self.first, self.second = ([int(p[0])] for p in draw_pairs(np.array([u]), np.array([v]), len(connections)))


@pytest.mark.parametrize("u", np.linspace(0, 0.999, 9))
@pytest.mark.parametrize("v", np.linspace(0, 0.999, 9))
def test_power_of_two_compares_two_distinct_servers(u, v):
    """With two servers both are always compared, so the idle one always wins."""
    assert POLICIES["power_of_two"](_Run(u, v, [5, 0]), (0, 1), 0) == 1
    assert POLICIES["power_of_two"](_Run(u, v, [0, 5]), (0, 1), 0) == 0


def test_tier_table_gives_capacity_and_the_users_at_which_each_tier_saturates():
    table = c.database_tier.tier_table(c.web_and_database(8, 4, 30, 20), c.Workload(users=300_000))
    assert table["capacity_rps"].round(2).tolist() == [266.67, 200.0]
    # 20 requests a user a day at a peak of 2x: 1 / 2,160 req/s per user
    assert table["saturates_at_users"].round().tolist() == [576_000, 432_000]


@pytest.mark.parametrize("rate_ttl", [0.1, 9.0])
def test_dns_hit_ratio_far_from_one_half(rate_ttl):
    """r x TTL = 0.1 gives 9 % hits, 9 gives 90 %: a swap of hits and misses cannot pass both."""
    dns = c.DNS(ttl_s=rate_ttl * 86_400 / 40)  # per-user rate: 20 requests x peak 2 / 86,400 s
    arch = c.Architecture("box", (c.Server(workers=8),), dns=dns)
    hits = [c.simulate(arch, c.Workload(users=1_000), requests=5_000, seed=s).summary()["dns_hit_ratio"]
            for s in range(3)]
    expected = rate_ttl / (1 + rate_ttl)
    assert np.mean(hits) == pytest.approx(expected, abs=0.015)  # binomial sd over 15,000 draws < 0.005


def test_dns_hits_are_the_users_own_fresh_answers():
    """The mechanism, not a coin: a request skips the lookup exactly when its user looked up less than a TTL ago."""
    ttl = 600.0
    arch = c.Architecture("box", (c.Server(workers=8),), dns=c.DNS(ttl_s=ttl))
    frame = c.simulate(arch, c.Workload(users=200), requests=3_000, seed=5).requests
    for _, visits in frame.groupby("user"):
        last_lookup = None
        for t, paid in zip(visits["arrival_s"], visits["dns_ms"]):
            if last_lookup is not None:
                assert (paid == 0) == (t - last_lookup < ttl)
            if paid > 0:
                last_lookup = t
