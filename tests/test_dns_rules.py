"""DNS: which requests look the name up, stated request by request, and what a run reports of it.

:func:`~chapter1.components.dns.cache_misses` follows every user's browser cache at once; here the same
rule is followed one request at a time (the DNS docstrings' words), on short random runs with and
without DNS outages.
"""

import math

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.dns import DNS, Resolver, cache_misses, stable_order
from chapter1.core.architecture import Architecture


def misses_one_by_one(user, arrival, start, ttl, down_now):
    """Each user's cache, request after request: an answer is fresh until it expires; a request without a
    fresh answer looks the name up and keeps the answer ``ttl`` (not while DNS is down).  Until a user
    has cached something, its request reads the answer it held before the run (``start``: fresh until then)."""
    expiry, missed = {}, []
    for i in np.argsort(arrival, kind="stable").tolist():
        u, t = int(user[i]), float(arrival[i])
        if u not in expiry and start[i] > t:
            expiry[u] = float(start[i])
        fresh = u in expiry and t < expiry[u]
        missed.append(not fresh)
        if not fresh and not down_now[i]:
            expiry[u] = t + ttl
    return np.array(missed)


def random_run(seed, n=300, users=12, ttl=4.0, outages=()):
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.uniform(0, 60, n))
    user = rng.integers(0, users, n)
    start = np.where(rng.random(n) < 0.5, rng.uniform(0, ttl, n), -np.inf)
    down_now = np.zeros(n, dtype=bool)
    for a, b in outages:
        down_now |= (arrival >= a) & (arrival < b)
    return user, arrival, start, ttl, down_now


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("outages", [(), ((10, 14),), ((0, 3), (20, 35))])
def test_cache_misses_follow_each_users_cache(seed, outages):
    run = random_run(seed, outages=outages)
    assert cache_misses(*run).tolist() == misses_one_by_one(*run).tolist()


def test_cache_misses_by_hand():
    user, never = np.array([0, 0, 0, 0, 1]), np.full(5, -np.inf)
    up = np.zeros(5, dtype=bool)
    arrival = np.array([0.0, 1.0, 2.0, 3.0, 3.5])
    assert cache_misses(user, arrival, never, 2.0, up).tolist() == [True, False, True, False, True]
    held = np.array([1.5, 0.0, 0.0, 0.0, 9.0])   # user 0 holds an answer until 1.5 s, user 1 until 9 s
    assert cache_misses(user, arrival, held, 2.0, up).tolist() == [False, False, True, False, False]
    assert cache_misses(user, arrival, np.array([1.0, 0, 0, 0, 3.5]), 2.0, up).tolist() == [
        False, True, False, True, True], "an answer fresh until the very moment of a request has expired"
    down = np.array([False, False, True, False, False])
    assert cache_misses(user, arrival, never, 2.0, down).tolist() == [True, False, True, True, True]
    long = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    assert cache_misses(user, long, never, 2.0, up).tolist() == [True, False, True, False, True]


def test_a_user_that_never_cached_reads_its_held_answer_at_each_request():
    user, arrival = np.zeros(3, dtype=int), np.array([1.0, 2.0, 3.0])
    held = np.array([0.5, 2.5, 0.0])             # read at 1 s: stale; at 2 s (still uncached): fresh until 2.5 s
    down = np.array([True, False, False])
    assert cache_misses(user, arrival, held, 10.0, down).tolist() == [True, False, True]


def test_stable_order_is_argsort_for_whole_numbers():
    rng = np.random.default_rng(0)
    for high in (5, 70_000, 2 ** 40):
        values = rng.integers(0, high, 500)
        assert stable_order(values).tolist() == np.argsort(values, kind="stable").tolist()
    assert stable_order(np.array([], dtype=np.int64)).tolist() == []
    assert stable_order(np.zeros(4, dtype=np.int64)).tolist() == [0, 1, 2, 3]


# -- in a run --------------------------------------------------------------------------------------------


def dns_run(dns, requests=400, seed=1, users=30):
    arch = Architecture("dns", (c.Server(workers=8, service_time_ms=5),), dns=dns)
    return c.simulate(arch, c.Workload(users=users, requests_per_user=86_400), requests=requests, seed=seed)


def test_a_lookup_costs_its_time_and_a_hit_nothing():
    result = dns_run(DNS(lookup_ms=40, ttl_s=2))
    table = result.requests
    assert set(table["dns_ms"]) == {0.0, 40.0}
    missed = table["dns_ms"] > 0
    assert result.summary()["dns_hit_ratio"] == pytest.approx(1 - missed.mean())
    row = result.components.set_index("component").loc["dns"]
    assert row["served"] == missed.sum() and math.isnan(row["mean_wait_ms"]) and row["served"] < 400
    assert table["user"].nunique() == 30
    assert (table.loc[missed, "latency_ms"] >= 40).all()


def test_requests_that_need_a_lookup_while_dns_is_down_fail_there():
    result = dns_run(DNS(lookup_ms=40, ttl_s=2).fail(2, 4))
    table = result.requests
    failed = table["status"] == "error"
    assert failed.sum() > 10 and (table.loc[failed, "failed_at"] == "dns").all()
    assert table.loc[failed, "arrival_s"].between(2, 4, inclusive="left").all()
    assert table.loc[failed, "latency_ms"].tolist() == pytest.approx([40.0] * failed.sum()), "at the failed lookup"
    during = table["arrival_s"].between(2, 4, inclusive="left")
    assert (table.loc[during & ~failed, "dns_ms"] == 0).all(), "cached answers keep working"
    assert result.components.set_index("component").loc["dns", "error"] == failed.sum()


def test_a_longer_ttl_looks_up_less_and_zero_looks_up_every_time():
    ratios = [dns_run(DNS(ttl_s=ttl)).summary()["dns_hit_ratio"] for ttl in (0, 1, 10)]
    assert ratios[0] == 0 and ratios[0] < ratios[1] < ratios[2]


def test_resolver_hit_ratio_describe_and_bad_input():
    dns = DNS(lookup_ms=30, ttl_s=300)
    assert dns.hit_ratio(1 / 60) == pytest.approx(5 / 6)
    assert dns.entry_delay(c.Workload(users=10, requests_per_user=288, peak_factor=1)) == pytest.approx(
        (1 - 300 / 86_400 * 288 / (1 + 300 / 86_400 * 288), 0.03))
    assert dns.describe() == ["lookup 30 ms", "TTL 300 s"] and DNS(lookup_ms=2.5, ttl_s=0.5).describe() == [
        "lookup 2.5 ms", "TTL 0.5 s"]
    with pytest.raises(ValueError, match=r"per_user_rate must be a number >= 0; got -1"):
        dns.hit_ratio(-1)
    with pytest.raises(ValueError, match=r"lookup_ms must be a number >= 0; got -1"):
        DNS(lookup_ms=-1)
    with pytest.raises(ValueError, match=r"ttl_s must be a number >= 0; got -1"):
        DNS(ttl_s=-1)
    assert DNS(lookup_ms=0, ttl_s=0).ttl_s == 0

    class Capped(Resolver):
        max_ttl_s = 60

    with pytest.raises(ValueError, match=r"ttl_s must be a number in the range \[0, 60\]; got 61"):
        Capped(name="capped", ttl_s=61)
