"""What the read-through Cache promises, request by request, on requests placed by hand; and the LRU curve's tools.

A placed run sends a handful of reads and writes at chosen moments and keys through one Cache in front of
a database with constant service times (10 ms, answering after a 1 ms cache lookup), so every hit, miss,
stale read and expiry is known in advance.
"""

import math

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1.components.cache import (
    Cache,
    cache_of,
    cold_hit_ratio,
    hit_ratio_curve,
    stack_distances,
    warmup_s,
    workload_keys,
)
from chapter1.components.eviction import run_policy
from chapter1.core.architecture import Architecture
from chapter1.core.simulation import Simulation

LOOKUP_S, DB_S = 0.001, 0.010   # a miss is stored at arrival + LOOKUP_S + DB_S


def placed(times, keys, writes=None, keyspace=4, database=None, fail=None, **options):
    """The Result of reads (and ``writes``) of ``keys`` arriving at ``times`` through one cold LRU Cache."""
    database = database or c.Database(workers=4, service_time_ms=DB_S * 1_000, distribution="constant")
    options = {"capacity": 2, "warm": False, "hit_ms": LOOKUP_S * 1_000, **options}
    arch = Architecture("placed", (Cache(backend=database, **options),), dns=None)
    if fail is not None:
        arch = arch.fail("cache", *fail)
    writes = [False] * len(keys) if writes is None else writes

    class Placed(c.Workload):
        def arrival_times(self, rng, n):
            return np.asarray(times, dtype=float)

        def sample_keys(self, rng, n):
            return np.asarray(keys) if n == len(keys) else super().sample_keys(rng, n)

        def sample_writes(self, rng, n):
            return np.asarray(writes, dtype=bool)

    return Simulation(arch, Placed.from_rate(1, keys=keyspace), len(times), 0).run()


def outcomes(result):
    return result.requests["cache"].tolist()


# -- hits and misses -----------------------------------------------------------------------------------


def test_a_miss_fills_the_cache_and_the_next_read_of_that_key_hits():
    result = placed([0, 1, 2, 3, 4, 5], [0, 1, 0, 2, 0, 1])
    assert outcomes(result) == ["miss", "miss", "hit", "miss", "hit", "miss"]  # 2 evicts 1 (least recent)
    assert result.requests["cache_hit"].tolist() == [False, False, True, False, True, False]
    assert result.summary()["cache_hit_ratio"] == 2 / 6
    assert result.summary()["stale_read_share"] == 0
    row = result.components.set_index("component").loc["cache"]
    assert row["served"] == 2 and math.isnan(row["mean_wait_ms"]) and pd.isna(row["workers"])
    assert result.components.columns.tolist() == ["component", "kind", "workers", "utilization", "served",
                                                  "mean_wait_ms", "error", "timeout", "rejected"]
    assert result.requests["stale"].dtype == bool and result.requests["cache_hit"].dtype == bool


def test_a_run_of_writes_only_has_no_hit_ratio():
    result = placed([0, 1], [0, 1], writes=[True, True])
    assert outcomes(result) == ["", ""]
    assert math.isnan(result.summary()["cache_hit_ratio"]) and math.isnan(result.summary()["stale_read_share"])


def test_a_hit_answers_after_the_lookup_and_a_miss_after_the_database_too():
    result = placed([0, 1], [0, 0])
    assert result.requests["latency_ms"].tolist() == pytest.approx([(LOOKUP_S + DB_S) * 1_000, LOOKUP_S * 1_000])
    fast = placed([0, 1], [0, 0], hit_ms=0)
    assert outcomes(fast) == ["miss", "hit"]


def test_a_read_that_the_database_refuses_is_not_cached():
    full = c.Database(workers=1, service_time_ms=DB_S * 1_000, distribution="constant", queue_limit=0)
    result = placed([0, 0.0005, 1], [0, 1, 1], database=full)   # key 1 finds the one worker busy: rejected
    assert result.requests["status"].tolist() == ["ok", "rejected", "ok"]
    assert outcomes(result) == ["miss", "miss", "miss"]


def test_the_cache_refuses_to_be_larger_than_the_key_space():
    with pytest.raises(ValueError, match=r"capacity must be at most the workload's key space \(4 keys\).*got 5"):
        placed([0], [0], capacity=5)
    assert outcomes(placed([0, 1], [0, 0], capacity=4)) == ["miss", "hit"]


# -- writes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("on_write, after, stale", [("invalidate", "miss", False), ("update", "hit", False),
                                                    ("ignore", "hit", True)])
def test_what_a_write_does_to_the_cached_key(on_write, after, stale):
    result = placed([0, 1, 2, 3], [0, 0, 0, 0], writes=[False, False, True, False], on_write=on_write)
    assert outcomes(result) == ["miss", "hit", "", after]
    assert result.requests["stale"].tolist() == [False, False, False, stale]
    assert result.summary()["stale_read_share"] == (1 / 3 if stale else 0)


def test_an_update_does_not_cache_a_key_that_was_not_cached():
    result = placed([0, 1, 2], [0, 1, 0], writes=[True, False, False], on_write="update")
    assert outcomes(result) == ["", "miss", "miss"]


def test_a_write_that_fails_changes_nothing():
    full = c.Database(workers=1, service_time_ms=DB_S * 1_000, distribution="constant", queue_limit=0)
    result = placed([0, 1, 1.005, 2], [0, 1, 0, 0], writes=[False, False, True, False], database=full,
                    on_write="ignore")   # the write finds the one worker busy with the miss of key 1
    assert result.requests["status"].tolist() == ["ok", "ok", "rejected", "ok"]
    assert outcomes(result)[3] == "hit" and not result.requests["stale"].iloc[3]


# -- expiry, flushes and outages ------------------------------------------------------------------------------


def test_an_entry_expires_ttl_after_it_was_stored():
    stored = 0 + LOOKUP_S + DB_S
    result = placed([0, 1, stored + 1.5], [0, 0, 0], ttl_s=1.5)
    assert outcomes(result) == ["miss", "hit", "miss"], "a read at the very moment of expiry misses"
    result = placed([0, 1, stored + 1.4999], [0, 0, 0], ttl_s=1.5)
    assert outcomes(result) == ["miss", "hit", "hit"]


def test_an_update_renews_the_entry_and_its_expiry():
    # stored at 0.011 s, good until 2.011 s; the update written at 1.010 s renews it until 3.010 s
    result = placed([0, 1, 2, 2.5], [0, 0, 0, 0], writes=[False, True, False, False], on_write="update", ttl_s=2)
    assert outcomes(result) == ["miss", "", "hit", "hit"]
    ignored = placed([0, 1, 2, 2.5], [0, 0, 0, 0], writes=[False, True, False, False], on_write="ignore", ttl_s=2)
    assert outcomes(ignored) == ["miss", "", "hit", "miss"]
    assert ignored.requests["stale"].tolist() == [False, False, True, False]


def test_a_flush_empties_the_cache_at_its_moment():
    assert outcomes(placed([0, 1, 2.5, 3], [0, 0, 0, 0], flushes=(2.5,))) == ["miss", "hit", "miss", "hit"]
    assert outcomes(placed([0, 1, 2, 3], [0, 0, 0, 0], flushes=(0.5, 2.5))) == ["miss", "miss", "hit", "miss"]
    assert outcomes(placed([0, 1, 2, 3], [0, 0, 0, 0], flushes=(9,))) == ["miss", "hit", "hit", "hit"]


def test_a_dead_cache_is_bypassed_and_comes_back_empty():
    result = placed([0, 1, 2, 3, 4], [0, 0, 0, 0, 0], fail=(1.5, 2.5))
    assert outcomes(result) == ["miss", "hit", "bypass", "miss", "hit"]
    assert result.requests["status"].eq("ok").all()
    assert result.summary()["cache_hit_ratio"] == 2 / 4, "bypassed requests are not reads of the cache"
    forever = placed([0, 1, 2], [0, 0, 0], fail=(1.5,))
    assert outcomes(forever) == ["miss", "hit", "bypass"]
    unvisited = placed([0, 1, 3], [0, 0, 0], fail=(1.5, 2.5))
    assert outcomes(unvisited) == ["miss", "hit", "miss"], "empty after a death even with no request while down"


def test_a_warm_start_holds_the_popular_keys_each_stored_within_the_last_ttl():
    database = c.Database(workers=4, service_time_ms=10, distribution="constant")
    workload = c.Workload.from_rate(1, keys=4, zipf_s=0.0, read_ratio=1.0)

    def first_reads(**options):
        arch = Architecture("warm", (Cache(backend=database, capacity=4, **options),), dns=None)
        return c.simulate(arch, workload, requests=4, seed=0).requests["cache"].tolist()

    assert first_reads() == ["hit"] * 4, "4 keys in a cache of 4: all warm"
    assert first_reads(ttl_s=1e6) == ["hit"] * 4
    assert first_reads(ttl_s=1e-3) == ["miss"] * 4, "every warm entry expired within a millisecond"
    assert first_reads(warm=False)[0] == "miss"


def test_a_warm_cache_as_large_as_the_key_space_holds_every_key_fresh():
    for policy in ("lru", "lfu", "sieve"):
        result = placed(np.arange(200) * 0.01, np.arange(200) % 50, keyspace=50, capacity=50, warm=True,
                        policy=policy)
        assert set(outcomes(result)) == {"hit"}, policy
        assert not result.requests["stale"].any(), "nothing was written: nothing is stale"


def test_no_warm_entry_outlives_the_ttl_from_the_start():
    result = placed([1.0, 1.5], [0, 1], keyspace=4, capacity=4, warm=True, ttl_s=1.0)
    assert outcomes(result) == ["miss", "miss"]
    fresh = placed([0.0, 0.0001], [0, 1], keyspace=4, capacity=4, warm=True, ttl_s=1e6)
    assert outcomes(fresh) == ["hit", "hit"]


def test_a_warm_start_sees_ten_requests_per_key_of_room():
    arch = Architecture("big", (Cache(capacity=8_000),), dns=None)
    run = Simulation(arch, c.Workload.from_rate(100, keys=10_000, zipf_s=0.0), 10, 0).tiers[0]
    assert len(run.policy) == 8_000, "80,000 warm-up requests over 10,000 keys fill 8,000 places (10,000 would not)"


def test_two_random_caches_draw_apart_and_each_the_same_every_time():
    workload = c.Workload.from_rate(200, keys=200, zipf_s=0.5, read_ratio=1.0)

    def hits(name):
        arch = Architecture("random", (Cache(name=name, capacity=20, policy="random", warm=False),), dns=None)
        return c.simulate(arch, workload, requests=600, seed=3).requests["cache_hit"].tolist()

    assert hits("cache") == hits("cache") != hits("other cache")


def test_the_registered_example_is_a_single_point_of_failure_at_its_load():
    from chapter1.core.component import KINDS

    arch = KINDS["Cache"].example()
    assert arch.name == "cached database"
    workload = c.Workload.from_rate(50)
    assert c.simulate(arch, workload, requests=2_000, seed=0).summary()["rejected_rate"] == 0
    down = c.simulate(arch.fail("cache", 0), workload, requests=2_000, seed=0).summary()
    assert down["rejected_rate"] > 0.1, "50 req/s on a database that completes 40: its short queue refuses"


# -- the component's face --------------------------------------------------------------------------


def test_cache_describes_itself():
    assert Cache(capacity=1_500, policy="lfu", ttl_s=30, hit_ms=0.5, on_write="update").describe() == [
        "lfu, 1,500 keys · TTL 30 s", "hit 0.5 ms · writes update"]
    assert Cache(capacity=100).describe() == ["lru, 100 keys", "hit 1 ms · writes invalidate"]
    assert Cache().flush(60).flush(10).describe()[-1] == "flushed at 10, 60 s"
    assert Cache().flush(60).flushes == (60.0,)
    assert Cache(capacity=2_000, policy="sieve").label() == "sieve cache, 2,000 keys"
    assert [p.name for p in Cache().parts] == ["database"]


@pytest.mark.parametrize("options, error, message", [
    ({"capacity": 0}, ValueError, r"capacity must be a whole number in the range \[1, 10,000,000\]; got 0"),
    ({"capacity": 10_000_001}, ValueError, r"capacity must be a whole number in the range \[1, 10,000,000\]"),
    ({"policy": "mru"}, ValueError, r"policy must be one of 'lru', 'lfu', 'fifo', 'random', 'sieve', 's3fifo'"),
    ({"ttl_s": 0}, ValueError, r"ttl_s must be a number in the range \(0, 1,000,000,000\]; got 0"),
    ({"ttl_s": 2e9}, ValueError, r"ttl_s must be a number in the range \(0, 1,000,000,000\]"),
    ({"hit_ms": -1}, ValueError, r"hit_ms must be a number in the range \[0, 60,000\]; got -1"),
    ({"hit_ms": 60_001}, ValueError, r"hit_ms must be a number in the range \[0, 60,000\]"),
    ({"on_write": "later"}, ValueError, r"on_write must be one of 'invalidate', 'update', 'ignore'"),
    ({"warm": 1}, TypeError, r"warm must be True or False; got 1"),
    ({"flushes": 60}, TypeError, r"flushes must be a sequence of times in seconds, e.g. \(60,\); got 60"),
    ({"flushes": "60"}, TypeError, r"flushes must be a sequence of times in seconds"),
    ({"flushes": (-1,)}, ValueError, r"flush at_s must be a number >= 0; got -1"),
    ({"backend": "database"}, TypeError, r"backend must be a Component \(e.g. Database\(\)\); got 'database'"),
])
def test_bad_cache_options_are_refused_by_name(options, error, message):
    with pytest.raises(error, match=message):
        Cache(**options)


def test_flushes_are_kept_sorted_as_seconds():
    assert Cache(flushes=[30, 10]).flushes == (10.0, 30.0)
    assert Cache(ttl_s=1e9, hit_ms=60_000, capacity=10_000_000).ttl_s == 1e9


def test_cache_of_finds_the_one_cache():
    arch = c.cached(100)
    assert cache_of(arch).capacity == 100 and cache_of(arch, "cache") is arch["cache"]
    with pytest.raises(ValueError, match=r"expected one Cache named 'other' in .*; found 0"):
        cache_of(arch, "other")
    with pytest.raises(ValueError, match=r"expected one Cache in 'single server'; found 0"):
        cache_of(c.single_server())


# -- the LRU curve in one pass ---------------------------------------------------------------------------


def naive_distances(keys):
    out, stack = [], []
    for key in keys:
        if key in stack:
            out.append(len(stack) - 1 - stack.index(key))
            stack.remove(key)
        else:
            out.append(-1)
        stack.append(key)
    return out


@pytest.mark.parametrize("seed, keys", [(0, 5), (1, 40), (2, 300)])
def test_stack_distances_count_the_other_keys_since_the_last_request(seed, keys):
    trace = np.random.default_rng(seed).integers(0, keys, 600)
    assert stack_distances(trace).tolist() == naive_distances(trace.tolist())


def test_stack_distances_of_short_traces():
    assert stack_distances([]).tolist() == []
    assert stack_distances([7]).tolist() == [-1]
    assert stack_distances([3, 3, 3]).tolist() == [-1, 0, 0]
    assert stack_distances([0, 1, 2, 3, 0]).tolist() == [-1, -1, -1, -1, 3]


def test_hit_ratio_curve_is_lru_at_every_size():
    workload = c.Workload(keys=60, zipf_s=0.9)
    curve = hit_ratio_curve(workload, requests=800, seed=3, warmup=200)
    keys = workload_keys(workload, 800, 3)
    assert curve["cache_size"].tolist() == list(range(1, 61))
    for size in (1, 2, 7, 30, 60):
        assert curve["hit_ratio"].iloc[size - 1] == pytest.approx(run_policy("lru", size, keys, warmup=200))
    assert hit_ratio_curve(workload, requests=800).equals(hit_ratio_curve(workload, 800, seed=0, warmup=0)), \
        "simulate's default seed, every request counted"
    with pytest.raises(ValueError, match=r"warmup must be a whole number in the range \[0, 799\]"):
        hit_ratio_curve(workload, requests=800, warmup=800)


def test_hit_ratio_curve_covers_every_size_even_past_what_a_short_trace_reaches():
    curve = hit_ratio_curve(c.Workload(keys=1_000, zipf_s=0.5), requests=100)
    assert len(curve) == 1_000 and curve["cache_size"].iloc[-1] == 1_000
    assert curve["hit_ratio"].iloc[-1] == curve["hit_ratio"].iloc[99] < 1, "no 100-request trace has a distance >= 99"


def test_workload_keys_are_the_keys_of_the_simulation():
    workload = c.Workload.from_rate(50, keys=100)
    result = c.simulate(c.cached(10), workload, requests=300, seed=4)
    sim_keys = Simulation(c.cached(10), workload, 300, 4).key
    assert workload_keys(workload, 300, 4).tolist() == sim_keys.tolist()
    assert len(result.requests) == 300
    for bad, message in [({"requests": 0}, r"requests must be a whole number in the range \[1, 10,000,000\]"),
                         ({"seed": -1}, r"seed must be a whole number >= 0")]:
        with pytest.raises(ValueError, match=message):
            workload_keys(workload, **{"requests": 10, "seed": 0, **bad})
    with pytest.raises(TypeError, match=r"workload must be a Workload \(e.g. Workload\(keys=10_000, zipf_s=0.8\)\)"):
        workload_keys(100, 10, 0)


# -- warming up after a flush ------------------------------------------------------------------------


def test_cold_hit_ratio_is_the_chance_a_key_was_read_since_the_flush():
    workload = c.Workload.from_rate(10, keys=3, zipf_s=1.0, read_ratio=0.8)
    p = workload.key_popularity()
    for t in (0.0, 0.05, 0.3):   # a cache of all 3 keys never fills: no Che time
        expected = 0.8 * sum(q * (1 - math.exp(-q * 10 * t)) for q in p)
        assert cold_hit_ratio(workload, 3, t) == pytest.approx(expected, rel=1e-12)
    assert cold_hit_ratio(workload, 3, 0) == 0
    times = cold_hit_ratio(workload, 3, [0.0, 0.3])
    assert isinstance(times, np.ndarray) and times.tolist() == pytest.approx([0.0, cold_hit_ratio(workload, 3, 0.3)])
    assert isinstance(cold_hit_ratio(workload, 3, 0.3), float)


def test_cold_hit_ratio_stops_rising_once_the_cache_is_full():
    from chapter1.theory.caching import che_time

    workload = c.Workload.from_rate(100, keys=1_000, read_ratio=0.9)
    full_s = che_time(workload.key_popularity(), 100 / 0.9) / 100
    at_full = cold_hit_ratio(workload, 100, full_s)
    assert cold_hit_ratio(workload, 100, 10 * full_s) == pytest.approx(at_full, rel=1e-12)
    assert cold_hit_ratio(workload, 100, 0.99 * full_s) < at_full
    assert at_full == pytest.approx(c.analytic.cache_hit_ratio("lru", 100, 1_000, 1.0, write_share=0.1), rel=1e-12), \
        "warm: Che's steady hit ratio with invalidating writes"
    only_writes = c.Workload.from_rate(100, keys=1_000, read_ratio=0.0)
    assert cold_hit_ratio(only_writes, 100, 5.0) == 0


def test_cold_hit_ratio_refuses_bad_input():
    workload = c.Workload.from_rate(100, keys=50)
    with pytest.raises(ValueError, match=r"capacity must be a whole number in the range \[1, 50\]"):
        cold_hit_ratio(workload, 51, 1)
    for bad in (-1, math.inf, [1, math.nan]):
        with pytest.raises(ValueError, match=r"after_s must be finite seconds >= 0; got"):
            cold_hit_ratio(workload, 10, bad)
    with pytest.raises(TypeError, match=r"workload must be a Workload \(e.g. Workload.from_rate\(100\)\); got 50"):
        cold_hit_ratio(50, 10, 1)


def test_warmup_s_is_when_theory_is_back_to_its_share_of_warm():
    workload = c.Workload.from_rate(100, keys=2_000)
    warm = cold_hit_ratio(workload, 200, 1e12)
    for share in (0.5, 0.9, 1.0):
        t = warmup_s(workload, 200, share)
        assert cold_hit_ratio(workload, 200, t) >= share * warm * (1 - 1e-9)
        assert cold_hit_ratio(workload, 200, t * (1 - 1e-9)) < share * warm * (1 - 1e-12), "to within a nanosecond"
    assert warmup_s(workload, 200, 0.5) < warmup_s(workload, 200, 0.9)
    slow = c.Workload.from_rate(0.001, keys=2_000)
    assert warmup_s(slow, 200) == pytest.approx(warmup_s(workload, 200) * 100_000, rel=1e-6)
    for share in (0, 1.5):
        with pytest.raises(ValueError, match=r"share must be a number in the range \(0, 1\]"):
            warmup_s(workload, 200, share)


@pytest.mark.parametrize("policy", ["lru", "fifo", "random"])
@pytest.mark.parametrize("seed", range(30))
def test_che_in_kept_arrays_gives_the_floats_of_the_plain_newton_steps(seed, policy):
    """The LRU and FIFO searches write their steps (-p t or p t, the occupancies and slopes) into arrays kept for
    the search: the same T and occupancies, float for float, as the plain Newton steps with the policy's occupancy
    and slope."""
    from chapter1.theory.caching import _che, _newton, _occupancy, _slope

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5_000))
    p = rng.random(n) ** float(rng.choice([1, 5, 20]))
    p /= p.sum()
    size = int(rng.integers(1, n)) if seed % 2 else float(rng.random() * (n - 1) + 0.01)
    t, held = _newton(p, size, _occupancy(policy), _slope(policy))
    found, occupied = _che(p, size, policy)
    assert found == t
    np.testing.assert_array_equal(occupied, held)


@pytest.mark.parametrize("keys, s", [(1, 0), (3, 0.0), (1_000, 0.8), (200_000, 1.0), (200_000, 1), (300_000, 1.2)])
def test_zipf_popularity_is_the_formula_and_the_callers_own_copy(keys, s):
    """Shared with the run's key draws where the workload keeps them: the same floats, and changing the array
    returned changes no later answer."""
    from chapter1.theory.caching import zipf_popularity

    weights = 1.0 / np.arange(1, keys + 1, dtype=float) ** s
    first = zipf_popularity(keys, s)
    np.testing.assert_array_equal(first, weights / weights.sum())
    first[0] = 7.0
    np.testing.assert_array_equal(zipf_popularity(keys, s), weights / weights.sum())
