"""Chapter panels build their tables from a run's arrays instead of its requests table, and theory stops a search
once it can no longer move: the same tables and numbers, bit for bit."""

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import chapter1 as c
from chapter1 import Workload, analytic, simulate
from chapter1.sections import balancing as bal
from chapter1.sections import cache as ca
from chapter1.sections import cdn, stateless
from chapter1.sections import sharding as sh
from chapter1.sections import single_server as ss
from chapter1.theory import balancing as theory_balancing
from chapter1.theory.caching import zipf_popularity


def old_shard_loads(shards, vnodes, celebrity_share, *, requests, seeds, first_seed=0, **options):
    """Chapter 12's shard loads read from each run's requests table and pooled by pandas (as they were)."""
    arch, rows = sh.data_tier(shards, vnodes, celebrity_share, **options), []
    for seed in range(first_seed, first_seed + seeds):
        result = simulate(arch, Workload.from_rate(sh.RATE, keys=sh.KEYS), requests=requests, seed=seed)
        table = result.requests
        shard, failed = table["shard"].to_numpy(), (table["status"] != "ok").to_numpy()
        hot = shard[table["shard_key"].to_numpy() == 0]
        for name in arch["shard router"].parts:
            mine = shard == name.name
            rows.append({"shard": name.name, "share": float(mine.mean()), "busy": result.utilization(name.name),
                         "failed": float(failed[mine].mean()) if mine.any() else 0.0,
                         "celebrity": bool(len(hot)) and hot[0] == name.name})
    return pd.DataFrame(rows).groupby("shard", sort=False).agg(
        share=("share", "mean"), busy=("busy", "mean"), failed=("failed", "mean"), celebrity=("celebrity", "any")
    ).reset_index()


@pytest.mark.parametrize("shards, vnodes, celebrity, seeds, options", [
    (1, 100, 0.0, 2, {}), (4, 1, 0.3, 2, {}), (16, 100, 0.6, 2, {}),  # one shard; a lopsided ring; a hot shard
    (9, 1_000, 0.05, 1, {}), (5, 10, 0.5, 3, {"split_celebrity": 4}), (3, 30, 0.0, 2, {"scheme": "modulo"}),
    (6, 10, 0.6, 2, {"queue_limit": 1})])  # the hot shard refuses requests
def test_chapter_12_pools_each_shards_figures_as_the_table_and_group_mean_did(shards, vnodes, celebrity, seeds,
                                                                              options):
    for first in (0, 7):
        new = sh.shard_loads(shards, vnodes, celebrity, requests=600, seeds=seeds, first_seed=first, **options)
        old = old_shard_loads(shards, vnodes, celebrity, requests=600, seeds=seeds, first_seed=first, **options)
        assert_frame_equal(new, old, check_exact=seeds < 3, rtol=1e-15)  # Kahan's sum and a plain one: last bit
        assert (new["failed"].max() > 0.1) == ("queue_limit" in options)


def test_the_mean_over_runs_adds_them_in_order():
    runs = np.random.default_rng(3).random((2, 50))
    assert sh._mean(runs).tolist() == ((runs[0] + runs[1]) / 2).tolist()


def old_server_time_ms(result, warmup=0.1):
    """Chapter 04's mean time at the servers read from the requests table (as it was)."""
    table = result.requests.iloc[int(warmup * len(result.requests)):]
    ok = table[table["status"] == "ok"]
    return float((ok["latency_ms"] - ok["dns_ms"]).mean()) if len(ok) else float("nan")


def old_server_loads(result):
    """Chapter 04's per-server table with shares from pandas' value_counts (as it was)."""
    members = bal._pool(result.architecture).members
    sent = result.requests["server"].value_counts(normalize=True)
    fastest = max(s.capacity for s in members)
    rows = [{"server": s.name, "share": float(sent.get(s.name, 0.0)), "utilization": result.utilization(s.name),
             "speed": s.capacity / fastest} for s in members]
    return pd.DataFrame(rows, columns=["server", "share", "utilization", "speed"])


@pytest.mark.parametrize("policy, servers, load, slow, workers, options", [
    ("round_robin", 8, 0.7, 1, 1, {}), ("power_of_two", 3, 0.95, 3, 1, {}), ("ip_hash", 16, 0.4, 1, 2, {}),
    ("least_connections", 2, 0.9, 4, 8, {}), ("random", 5, 0.99, 1, 1, {"queue_limit": 1, "timeout_ms": 120}),
    ("weighted", 4, 0.8, 2, 1, {"timeout_ms": 60})])  # the last two: requests refused and timed out
def test_chapter_04_reads_time_at_the_servers_and_shares_as_the_table_did(policy, servers, load, slow, workers,
                                                                          options):
    arch = bal.policy_pool(policy, servers, slow=slow, workers=workers, **options)
    workload = Workload.from_rate(bal.rate_for_load(load, servers, workers=workers))
    failed = 0.0
    for seed in (0, 1, 2):
        result = simulate(arch, workload, requests=1_500, seed=seed)
        for warmup in (0.0, 0.1, 0.5):
            assert bal.server_time_ms(result, warmup) == old_server_time_ms(result, warmup)
        assert_frame_equal(bal.server_loads(result), old_server_loads(result), check_exact=True)
        failed += float((result.status_code != 0).mean())
    assert failed > 0 or not options  # refusals and timeouts were there to be left out


def test_chapter_04_time_at_the_servers_of_a_run_where_nothing_succeeds_is_nan():
    arch = bal.policy_pool("random", 2, service_time_ms=5_000, queue_limit=0, timeout_ms=1)
    result = simulate(arch, Workload.from_rate(50), requests=40, seed=0)
    assert np.isnan(bal.server_time_ms(result)) and np.isnan(old_server_time_ms(result))


def old_round_robin_sigma(arrival_rate, service_rate, servers):
    """E_n/M/1's sigma by 200 halvings, every one of them done (as it was)."""
    low, high = 0.0, 1.0
    for _ in range(200):
        sigma = (low + high) / 2
        if (arrival_rate / (arrival_rate + service_rate * (1 - sigma))) ** servers > sigma:
            low = sigma
        else:
            high = sigma
    return (low + high) / 2


def test_round_robin_stops_halving_when_the_bracket_stops_moving_with_the_same_answer():
    rng = np.random.default_rng(4)
    cases = [(rng.uniform(0.001, 0.999) * n * mu, mu, n) for n, mu in
             zip(rng.integers(1, 64, 300), rng.uniform(0.1, 1_000, 300))] + [(1e-9, 1.0, 3), (0.9999999, 1.0, 1)]
    for rate, mu, n in cases:
        sigma = old_round_robin_sigma(rate, mu, int(n))
        stats = theory_balancing.round_robin(rate, mu, int(n))
        assert stats.p_wait == sigma and stats.mean_response_s == 1 / (mu * (1 - sigma))


def old_lost_share(result, at_s):
    """Chapter 08's share of returning users who lost their session, from the requests table (as it was)."""
    table = result.requests
    ok = table["status"] == "ok"
    before = set(table.loc[ok & (table["arrival_s"] < at_s), "client"])
    after = table[ok & (table["arrival_s"] >= at_s)]
    returning = before & set(after["client"])
    if not returning:
        return float("nan")
    lost = set(after.loc[after["session_lost"], "client"]) & returning
    return len(lost) / len(returning)


def old_runs(servers, event, sessions, load, *, requests, seeds, first_seed=0):
    """Chapter 08's rows from whole summaries and the requests table (as they were)."""
    arch, at = stateless.design(servers, event, sessions, load, requests)
    rows = []
    for seed in range(first_seed, first_seed + seeds):
        result = simulate(arch, stateless.workload(servers, load), requests=requests, seed=seed)
        s = result.summary()
        busy = s.get("session store_utilization", float("nan"))
        rows.append({"seed": seed, "lost": old_lost_share(result, at), "p95_ms": s["p95_ms"],
                     "failed": s["error_rate"] + s["timeout_rate"] + s["rejected_rate"],
                     "sessions_lost": int(s["sessions_lost"]), "store_busy": float(busy)})
    return pd.DataFrame(rows, columns=["seed", "lost", "p95_ms", "failed", "sessions_lost", "store_busy"])


@pytest.mark.parametrize("servers, event, sessions, load", [
    (2, "dies", "sticky", 0.9), (4, "joins", "sticky", 0.6), (10, "dies", "shared", 0.2), (6, "joins", "shared", 0.9),
    (3, "dies", "sticky", 0.3)])
def test_chapter_08_rows_are_those_of_the_summaries_and_the_requests_table(servers, event, sessions, load):
    for requests, first in ((500, 0), (120, 5), (25, 0)):  # 25: in some runs no user comes back (NaN)
        new = stateless.runs(servers, event, sessions, load, requests=requests, seeds=3, first_seed=first)
        old = old_runs(servers, event, sessions, load, requests=requests, seeds=3, first_seed=first)
        assert_frame_equal(new, old, check_exact=True)
    assert (new["failed"] > 0).any() or event == "joins"  # a dying server fails the requests it holds


def test_chapter_08_outcome_needs_one_place_for_sessions():
    with pytest.raises(ValueError, match="one place for sessions"):
        stateless.outcome(simulate(bal.policy_pool("round_robin", 2), Workload.from_rate(10), requests=50))


def old_edge_hit_ratio(rate, ttl_s, edges=1, keys=1, zipf_s=0.0, shares=None):
    """The edges' hit ratio with the traffic's shares worked out afresh at each TTL (as it was)."""
    weights = np.full(edges, 1.0 / edges) if shares is None else np.asarray(shares, float) / np.sum(shares)
    p = zipf_popularity(keys, zipf_s)
    per = rate * np.outer(weights, p) * ttl_s
    return float((np.outer(weights, p) * per / (1 + per)).sum())


def test_edge_hit_curve_is_the_ratio_at_each_ttl_bit_for_bit():
    rng = np.random.default_rng(5)
    for _ in range(30):
        edges, keys = int(rng.integers(1, 8)), int(rng.integers(1, 2_000))
        shares = None if rng.random() < 0.5 else rng.uniform(0.1, 3, edges).tolist()
        rate, zipf_s = float(rng.uniform(0, 500)), float(rng.uniform(0, 1.5))
        ttls = [0.0, *np.geomspace(0.01, 1e5, 9).tolist()]
        curve = analytic.edge_hit_curve(rate, ttls, edges, keys, zipf_s, shares)
        assert curve == [old_edge_hit_ratio(rate, t, edges, keys, zipf_s, shares) for t in ttls]
        assert curve[3] == analytic.edge_hit_ratio(rate, ttls[3], edges, keys, zipf_s, shares)
    with pytest.raises(ValueError, match="ttls"):
        analytic.edge_hit_curve(10, [60, -1])


@pytest.mark.parametrize("regions", range(1, 7))
def test_chapter_07_wire_bars_are_the_melted_and_sorted_table(regions):
    for hit in (0.0, 0.37, 1.0):
        old = cdn.wire_ms(hit, regions).melt(["region", "km"], ["origin only", "through the CDN"], var_name="line",
                                             value_name="ms").sort_values(["line", "km"])
        assert_frame_equal(cdn.wire_bars(hit, regions), old.reset_index(drop=True), check_exact=True)


def old_measured_hit(policy, cache_size, zipf_s, *, requests, seed, write_share, keys=10_000):
    """Chapter 06's hit ratio of one policy, its warm keys and requests drawn for it alone (as it was)."""
    from chapter1.components.cache import workload_keys
    from chapter1.components.eviction import run_policy

    workload = Workload(keys=keys, zipf_s=zipf_s, read_ratio=1 - write_share)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(6,)))
    warm = ca.warm_keys(workload, cache_size, rng).tolist()
    trace, writes = workload_keys(workload, requests, seed), workload.sample_writes(rng, requests)
    return run_policy(policy, cache_size, trace, writes, seed=seed, warm=warm)


@pytest.mark.parametrize("size, zipf_s, write_share", [(1, 0.6, 0.0), (316, 1.2, 0.3), (10_000, 0.8, 0.5)])
def test_chapter_06_policies_on_shared_requests_hit_as_each_drawn_alone(size, zipf_s, write_share):
    policies = ("s3fifo", "random", "lru", "lfu", "sieve", "fifo")
    for seed in (0, 4):
        hits = ca.measured_hits(policies, size, zipf_s, requests=1_500, seed=seed, write_share=write_share)
        assert hits == [old_measured_hit(p, size, zipf_s, requests=1_500, seed=seed, write_share=write_share)
                        for p in policies]


@pytest.mark.parametrize("arch, rate", [
    (c.single_server(), 50.0), (c.single_server(workers=1, queue_limit=2, timeout_ms=80), 40.0),
    (c.load_balanced(3, "power_of_two", timeout_ms=30), 90.0),
    (c.load_balanced(4, "round_robin").fail("web-2", at_s=1.0), 60.0)])  # refusals, timeouts, errors
def test_a_runs_outcome_is_the_summarys(arch, rate):
    for seed in (0, 1):
        result = simulate(arch, Workload.from_rate(rate), requests=600, seed=seed)
        figures, summary = ss.run_outcome(result), result.summary()
        assert figures == {key: summary[key] for key in figures}
        assert set(figures) == {"p95_ms", "error_rate", "timeout_rate", "rejected_rate"}


@pytest.mark.parametrize("users", [10, 237_137, 10_000_000])
def test_chapter_01_headline_reads_the_summarys_figures(users):
    result = simulate(c.single_server(), Workload(users=users), requests=800, seed=1)
    s = result.summary()
    assert f"<b>{s['offered_rps']:,.1f}</b> req/s" in ss.headline(result)
    assert f"utilisation <b>{s['server_utilization']:.0%}</b>" in ss.headline(result)
