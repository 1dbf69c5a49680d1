"""Incidents chapter 11 triggers: traffic that doubles (Workload.rate_steps) and a cache flushed cold."""

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.cache import Cache, cold_hit_ratio, warmup_s

SEEDS = range(3)


# -- a time-varying rate ----------------------------------------------------------------------------

def test_arrival_times_without_steps_are_the_plain_poisson_draws():
    w = c.Workload.from_rate(40)
    got = w.arrival_times(np.random.default_rng(5), 1_000)
    assert np.array_equal(got, np.cumsum(np.random.default_rng(5).exponential(1 / 40, 1_000)))


def test_a_step_changes_where_the_draws_land_not_the_draws():
    plain = c.Workload.from_rate(40).arrival_times(np.random.default_rng(2), 3_000)
    surge = c.Workload.from_rate(40, rate_steps=((20, 2.0),)).arrival_times(np.random.default_rng(2), 3_000)
    before = plain < 20
    assert np.array_equal(surge[before], plain[before])
    assert np.allclose(surge[~before] - 20, (plain[~before] - 20) / 2)


@pytest.mark.parametrize("steps", [((30, 2.0),), ((10, 3.0), (40, 0.5)), ((25, 0.25),)])
def test_arrivals_in_each_step_match_rate_times_duration(steps):
    # Poisson counts: mean rate x factor x duration, sd sqrt(mean); the bound is 4 sd of the total over seeds
    w = c.Workload.from_rate(50, rate_steps=steps)
    edges = [0.0] + [at for at, _ in steps] + [60.0]
    for a, b in zip(edges[:-1], edges[1:]):
        expected = float(np.mean(w.rate_at(np.linspace(a, b, 1_001)[:-1]))) * (b - a) * 5
        counts = sum(int(np.sum((t >= a) & (t < b))) for t in
                     (w.arrival_times(np.random.default_rng(seed), 20_000) for seed in range(5)))
        assert abs(counts - expected) < 4 * np.sqrt(expected), (a, b, counts, expected)


def test_simulate_with_a_surge_runs_the_surge_and_is_deterministic():
    w = c.Workload.from_rate(100, rate_steps=((10, 2.0),))
    one = c.simulate(c.single_server(workers=16), w, requests=4_000, seed=3)
    two = c.simulate(c.single_server(workers=16), w, requests=4_000, seed=3)
    assert one.requests.equals(two.requests)
    arrival = one.requests["arrival_s"]
    assert abs(np.sum(arrival < 10) - 1_000) < 4 * np.sqrt(1_000)
    assert one.duration_s == pytest.approx(10 + 3_000 / 200, rel=0.05)


@pytest.mark.parametrize("steps, error", [
    (((10, 2.0), (10, 3.0)), ValueError), (((10, 0.0),), ValueError), (((-1, 2.0),), ValueError),
    (((10, 2_000.0),), ValueError), ("fast", TypeError), (((10,),), TypeError), ((("10", 2.0),), TypeError)])
def test_bad_rate_steps_are_refused_naming_the_parameter(steps, error):
    with pytest.raises(error, match="rate_steps"):
        c.Workload(rate_steps=steps)


# -- a cache flushed cold ----------------------------------------------------------------------------

FLUSH_S, RATE = 30.0, 100.0


def _flushed(seed, flushes=(FLUSH_S,)):
    arch = c.cached(cache_size=1_000).with_changes("cache", flushes=flushes)
    return c.simulate(arch, c.Workload.from_rate(RATE), requests=9_000, seed=seed).requests


def _hit_ratio(requests, a, b):
    reads = requests[requests["cache"].isin(["hit", "miss"]) & requests["arrival_s"].between(a, b, "left")]
    return reads["cache_hit"].mean()


def test_the_warm_up_after_a_flush_follows_theory_over_seeds():
    # a 5 s window holds ~450 reads: a hit ratio near 0.5 has sd 0.024 per run, 0.014 over 3 runs;
    # 0.05 is 3.5 sd (measured: the largest gap over these windows was 0.03)
    w = c.Workload.from_rate(RATE)
    runs = [_flushed(seed) for seed in SEEDS]
    for a in (FLUSH_S, FLUSH_S + 5, FLUSH_S + 10, FLUSH_S + 20, FLUSH_S + 40):
        measured = np.mean([_hit_ratio(r, a, a + 5) for r in runs])
        theory = np.mean(cold_hit_ratio(w, 1_000, np.linspace(a, a + 5, 200) - FLUSH_S))
        assert measured == pytest.approx(theory, abs=0.05), (a, measured, theory)
    before = np.mean([_hit_ratio(r, 10, FLUSH_S) for r in runs])
    assert before > _hit_ratio(runs[0], FLUSH_S, FLUSH_S + 2) + 0.2  # the flush really emptied it


def test_a_flush_changes_nothing_before_it_and_sends_reads_to_the_database_after():
    plain, flushed = _flushed(1, ()), _flushed(1)
    early = plain["arrival_s"] + plain["latency_ms"] / 1_000 < FLUSH_S  # done before the flush
    assert early.sum() > 2_000 and plain[early].equals(flushed[early])
    miss = lambda r: (r["cache"] == "miss")[r["arrival_s"].between(FLUSH_S, FLUSH_S + 5)].sum()  # noqa: E731
    assert miss(flushed) > 1.5 * miss(plain)


def test_warmup_time_is_where_theory_reaches_the_share_of_its_warm_value():
    w = c.Workload.from_rate(RATE)
    warm = cold_hit_ratio(w, 1_000, 1e9)
    for share in (0.5, 0.9):
        t = warmup_s(w, 1_000, share)
        assert cold_hit_ratio(w, 1_000, t) == pytest.approx(share * warm, rel=1e-6)
    assert warmup_s(c.Workload.from_rate(2 * RATE), 1_000) == pytest.approx(warmup_s(w, 1_000) / 2, rel=1e-6)


def test_flush_is_validated_and_described():
    assert Cache().flush(at_s=60).flush(at_s=20).flushes == (20.0, 60.0)
    assert "flushed at 60 s" in Cache().flush(at_s=60).describe()[-1]
    with pytest.raises(ValueError, match="flush at_s"):
        Cache().flush(at_s=-1)
    with pytest.raises(TypeError, match="flushes"):
        Cache(flushes="soon")
    with pytest.raises(ValueError, match="after_s"):
        cold_hit_ratio(c.Workload(), 100, -1)
