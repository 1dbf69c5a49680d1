"""Theory at its limits: the largest sizes it accepts, the exact edges of its cases, and the numbers its
examples promise, each stated from the definition (a symmetry, a uniform popularity, a fluid queue
walked by hand), not from the formula under test.  ``make mutate`` showed each one missing.
"""

import math

import numpy as np
import pytest

from chapter1 import analytic
from chapter1.theory.queues import MAX_SERVERS

# --- availability --------------------------------------------------------------------------------------


def test_k_of_n_with_thousands_of_parts_is_a_probability_and_symmetric():
    """A fair coin per part: P(at least 1,000 of 2,000 up) + P(at least 1,001 up) = 1 by symmetry (this
    overflowed a float once: C(2000, 1000) has 600 digits); 100,000 parts that must all be up: a^n."""
    assert analytic.k_of_n_availability(1_000, 2_000, 0.5) + analytic.k_of_n_availability(1_001, 2_000, 0.5) \
        == pytest.approx(1, abs=1e-9)
    assert analytic.k_of_n_availability(100_000, 100_000, 0.99999) == pytest.approx(0.99999 ** 100_000, rel=1e-9)
    assert analytic.k_of_n_availability(1, 3_000, 0.5) == pytest.approx(1, abs=1e-9)


def test_k_of_n_with_parts_always_down_or_always_up():
    assert analytic.k_of_n_availability(0, 3, 0.0) == 1.0      # none needed
    assert analytic.k_of_n_availability(1, 3, 0.0) == 0.0
    assert analytic.k_of_n_availability(3, 3, 1.0) == 1.0


def test_k_of_n_never_rounds_above_one():
    """Every pattern counted (k = 0) sums to 1; the sum of many terms may round above it, the answer may not."""
    for n in (7, 30, 97, 500):
        for a in (0.1, 0.37, 0.5, 0.9, 0.999):
            assert analytic.k_of_n_availability(0, n, a) <= 1.0


@pytest.mark.parametrize("call, name", [
    (lambda: analytic.k_of_n_availability(1, 100_001, 0.9), r"n must be a whole number in the range \[1, 100,000\]"),
    (lambda: analytic.k_of_n_availability(4, 3, 0.9), r"k must be a whole number in the range \[0, 3\]"),
    (lambda: analytic.k_of_n_availability(-1, 3, 0.9), r"k must be a whole number in the range \[0, 3\]"),
    (lambda: analytic.servers_needed(0.5, 100_001), r"servers must be a whole number in the range \[1, 100,000\]"),
    (lambda: analytic.overload_fluid(192, 160, 1_000, -1), r"after_s must be a number >= 0"),
    (lambda: analytic.overload_fluid(192, 160, -1, 10), r"queue_room must be a number >= 0"),
])
def test_limits_are_named_with_their_range(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_largest_pools_are_accepted():
    assert analytic.k_of_n_availability(100_000, 100_000, 1.0) == 1.0
    assert analytic.servers_needed(0.5, 100_000) == 50_001


def test_servers_needed_when_the_peak_fills_whole_boxes_exactly():
    """A peak worth exactly m boxes keeps m boxes at 100 %, not below it: m + 1 are needed, also when
    load x n lands a hair below m in floating point (0.57 x 100 = 56.99999999999999)."""
    assert analytic.servers_needed(0.5, 2) == 2
    assert analytic.servers_needed(0.25, 4) == 2
    assert analytic.servers_needed(0.57, 100) == 58
    assert analytic.servers_needed(0.56, 100) == 57


def test_overload_fluid_below_at_and_just_above_capacity():
    assert analytic.overload_fluid(100, 160, 1_000, 10) == (0.0, 0.0, 0.0)
    assert analytic.overload_fluid(160, 160, 1_000, 10) == (0.0, 0.0, 0.0)
    queued, wait, turned_away = analytic.overload_fluid(160.5, 160, 1_000, 10)   # 0.5 a second too many
    assert (queued, wait, turned_away) == pytest.approx((5.0, 5.0 / 160, 0.0))


def test_overload_fluid_turns_away_the_excess_from_the_moment_the_queue_is_full():
    """192 a second into 160: the queue gains 32 a second and is full (1,000) after 31.25 s; from then
    on 32 of every 192 requests (1/6) are turned away, and a request that joins waits 1,000 / 160 s."""
    assert analytic.overload_fluid(192, 160, 1_000, 31.25) == pytest.approx((1_000, 6.25, 1 / 6))
    assert analytic.overload_fluid(192, 160, 1_000, 31.0) == pytest.approx((992, 6.2, 0.0))
    assert analytic.overload_fluid(192, 160, 1_000, 600) == pytest.approx((1_000, 6.25, 1 / 6))
    # no room to queue: the excess is turned away at once, and nobody waits
    assert analytic.overload_fluid(192, 160, 0, 10) == pytest.approx((0.0, 0.0, 1 / 6))


# --- caching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["lru", "fifo", "random"])
@pytest.mark.parametrize("keys, cache_size", [(100, 50), (1_000, 10), (40, 39)])
def test_equally_popular_keys_hit_in_proportion_to_the_cache(policy, keys, cache_size):
    """With every key as popular, any policy holding C of n keys answers C / n of the requests; Che's time
    is then where n x occupancy(T / n) = C: T = -n ln(1 - C/n) for LRU, n C / (n - C) for FIFO and random."""
    p = np.full(keys, 1 / keys)
    assert analytic.hit_ratio_from_popularity(p, cache_size, policy) == pytest.approx(cache_size / keys, rel=1e-6)
    expected = -keys * math.log1p(-cache_size / keys) if policy == "lru" else keys * cache_size / (keys - cache_size)
    assert analytic.che_time(p, cache_size, policy) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("policy", ["lru", "fifo"])
@pytest.mark.parametrize("zipf_s, cache_size", [(0.6, 10), (1.0, 100), (1.4, 500), (0.9, 990)])
def test_che_time_fills_the_cache_exactly(policy, zipf_s, cache_size):
    """T is defined by the keys a cache holds: sum of the occupancies at T is C (to a millionth)."""
    p = analytic.zipf_popularity(1_000, zipf_s)
    t = analytic.che_time(p, cache_size, policy)
    held = -np.expm1(-p * t) if policy == "lru" else p * t / (1 + p * t)
    assert held.sum() == pytest.approx(cache_size, rel=1e-6)


def test_lru_is_the_default_policy():
    p = analytic.zipf_popularity(1_000, 0.9)
    assert analytic.che_time(p, 100) == analytic.che_time(p, 100, "lru") != analytic.che_time(p, 100, "fifo")
    assert analytic.hit_ratio_from_popularity(p, 100) == analytic.hit_ratio_from_popularity(p, 100, "lru") \
        != analytic.hit_ratio_from_popularity(p, 100, "fifo")


@pytest.mark.parametrize("policy", ["lru", "fifo", "random"])
def test_a_cache_holding_every_key_hits_every_read(policy):
    p = analytic.zipf_popularity(200, 1.1)
    assert analytic.che_time(p, 200, policy) == math.inf
    assert analytic.hit_ratio_from_popularity(p, 200, policy) == 1.0
    assert analytic.hit_ratio_from_popularity(p, 180, policy, write_share=0.1) == pytest.approx(0.9)  # 180 / 0.9 = all


def test_lfu_holding_every_key_hits_every_read_exactly():
    """The three Zipf(0.8) shares sum to 1.0000000000000002 in float; a hit ratio may not pass 1."""
    assert analytic.cache_hit_ratio("lfu", 3, 3, 0.8) == 1.0


def test_che_time_of_a_cache_smaller_than_one_key():
    """A cache of a thousandth of a key (Che's T is defined for any size): still filled to a millionth."""
    p = np.array([0.99, 0.01])
    t = analytic.che_time(p, 0.001)
    assert (-np.expm1(-p * t)).sum() == pytest.approx(0.001, rel=1e-6)


@pytest.mark.parametrize("policy", ["lru", "fifo", "random", "lfu"])
def test_when_every_request_is_a_write_nothing_hits(policy):
    assert analytic.hit_ratio_from_popularity(analytic.zipf_popularity(100, 1.0), 10, policy, write_share=1.0) == 0.0


@pytest.mark.parametrize("call", [
    lambda: analytic.che_time(np.full(10, 0.1), 11),
    lambda: analytic.hit_ratio_from_popularity(np.full(10, 0.1), 11),
    lambda: analytic.cache_hit_ratio("lru", 11, 10, 1.0),
])
def test_a_cache_larger_than_the_keys_is_refused_by_name(call):
    with pytest.raises(ValueError, match=r"cache_size must be .* 10\]"):
        call()


def test_database_load_adds_every_write_to_the_read_misses():
    """1,000 requests/s, 10 % writes, 80 % of reads hit: 900 x 0.2 read misses + 100 writes = 280."""
    assert analytic.database_load(1_000, 0.8, write_share=0.1) == pytest.approx(280)
    assert analytic.database_load(1_000, 0.8, write_share=0.5) == pytest.approx(600)
    assert analytic.database_load(1_000, 0.8) == pytest.approx(200)


# --- messaging -----------------------------------------------------------------------------------------


def test_more_workers_than_a_queue_can_have_are_refused_by_their_own_name():
    for call in (lambda: analytic.drain_time(10, 1, 1, MAX_SERVERS + 1),
                 lambda: analytic.backlog_curve([0, 1], 1, 1, MAX_SERVERS + 1),
                 lambda: analytic.mean_queue_wait_s(1, 1, MAX_SERVERS + 1)):
        with pytest.raises(ValueError, match=r"workers must be a whole number in the range \[1, 10,000,000\]"):
            call()


def test_backlog_curve_starts_empty_and_drains_to_exactly_zero():
    """8 consumers at 10/s, 50 arriving: down from 10 s to 30 s the backlog grows 50 a second (1,000 at
    30 s), then drains at the spare 30 a second: 700 at 40 s, 100 at 60 s, empty from 63.3 s on."""
    curve = analytic.backlog_curve([0, 5, 20, 30, 40, 60, 80], 50, 10, 8, outage=(10, 30))
    assert curve.tolist() == pytest.approx([0, 0, 500, 1_000, 700, 100, 0])
    assert curve[0] == 0 and curve[-1] == 0
    assert analytic.backlog_curve([2, 4], 50, 10, 8).tolist() == [0.0, 0.0]


def test_a_burst_lands_at_its_time_even_between_the_times_asked_for():
    """600 messages at 5 s, drained at 30 a second: 450 at 10 s, 150 at 20 s, gone by 25 s."""
    curve = analytic.backlog_curve([0, 10, 20, 30], 50, 10, 8, burst=(5, 600))
    assert curve.tolist() == pytest.approx([0, 450, 150, 0])
    at_a_time_asked = analytic.backlog_curve([0, 5, 10], 50, 10, 8, burst=(5, 600))
    assert at_a_time_asked.tolist() == pytest.approx([0, 600, 450])


def test_a_burst_adds_to_the_backlog_an_outage_left():
    """Down 0 to 10 s at 50/s: 500 queued; 300 more arrive at 10 s: 800, drained at 30/s."""
    curve = analytic.backlog_curve([10, 20], 50, 10, 8, outage=(0, 10), burst=(10, 300))
    assert curve.tolist() == pytest.approx([800, 500])


def test_the_producer_sees_producer_and_broker_up_together():
    assert analytic.decoupled_availability(0.99, 0.999) == pytest.approx(0.99 * 0.999)
    assert analytic.decoupled_availability(0.999, 0.99, consumers=0.5) == pytest.approx(0.99 * 0.999)


# --- CDN costs -----------------------------------------------------------------------------------------

ASSETS = [{"asset": "logo.png", "size_kb": 20, "requests_per_day": 5_000_000},
          {"asset": "2019-report.pdf", "size_kb": 4_000, "requests_per_day": 3},
          {"asset": "icon.svg", "size_kb": 0.5, "requests_per_day": 86_400}]


def test_egress_cost_splits_the_bill():
    """1,000 GB at 90 % hits: every byte leaves the edge (0.05 $/GB), the 10 % misses also leave the origin
    (0.09 $/GB); the origin alone would send all 1,000 GB."""
    cost = analytic.egress_cost(1_000, 0.9)
    assert set(cost) == {"cdn", "origin_fill", "total", "origin_only"}
    assert (cost["cdn"], cost["origin_fill"], cost["total"], cost["origin_only"]) == pytest.approx((50, 9, 59, 90))


def test_break_even_hit_ratio_is_the_price_ratio_and_infinite_with_free_origin_bytes():
    assert analytic.break_even_hit_ratio({"cdn_usd_per_gb": 0.5, "origin_usd_per_gb": 1.0}) == 0.5
    assert analytic.break_even_hit_ratio({"origin_usd_per_gb": 0.0}) == math.inf


def test_cost_table_defaults_are_four_edges_and_an_hour():
    table = analytic.cost_table(ASSETS)
    per_edge = np.array([5_000_000, 3, 86_400]) / 86_400 / 4
    assert table["hit_ratio"].tolist() == pytest.approx([analytic.ttl_hit_ratio(r, 3_600) for r in per_edge],
                                                        rel=1e-12)
    assert table["gb_per_month"].tolist() == pytest.approx([3_000, 0.36, 1.296])   # KB x requests x 30 / 1e6
    assert table["keep_on_cdn"].tolist() == [True, False, True]
    assert table.equals(analytic.cost_table(ASSETS, edges=4, ttl_s=3_600))


def test_cost_table_uses_the_prices_given():
    prices = {"cdn_usd_per_gb": 0.02, "origin_usd_per_gb": 0.2}
    table = analytic.cost_table(ASSETS, prices=prices)
    for row in table.itertuples():
        cost = analytic.egress_cost(row.gb_per_month, row.hit_ratio, prices)
        assert (row.cdn_usd, row.origin_only_usd) == pytest.approx((cost["total"], cost["origin_only"]))


def test_a_cdn_that_costs_exactly_the_same_is_not_kept():
    """Prices 0.05 and 0.10 $/GB and a hit ratio of exactly 1/2 (one request a day per edge, a day's TTL):
    0.05 + 0.5 x 0.10 = 0.10, a tie; keep_on_cdn says True only when the CDN costs less."""
    table = analytic.cost_table([{"asset": "a", "size_kb": 100_000, "requests_per_day": 1}], edges=1, ttl_s=86_400,
                                prices={"cdn_usd_per_gb": 0.05, "origin_usd_per_gb": 0.1})
    assert table["hit_ratio"][0] == 0.5 and table["cdn_usd"][0] == table["origin_only_usd"][0]
    assert not table["keep_on_cdn"][0]


@pytest.mark.parametrize("assets, message", [
    ([{"asset": "a", "size_kb": -1, "requests_per_day": 1}], r"assets\['size_kb'\] must hold numbers >= 0; got \[-1\]"),
    ([{"asset": "a", "size_kb": 1, "requests_per_day": "many"}],
     r"assets\['requests_per_day'\] must hold numbers >= 0; got \['many'\]"),
    ([{"asset": "a"}], r"assets needs the columns asset, size_kb, requests_per_day; missing requests_per_day, size_kb"),
])
def test_cost_table_names_what_is_wrong_with_the_assets(assets, message):
    with pytest.raises(ValueError, match=message):
        analytic.cost_table(assets)


@pytest.mark.parametrize("kwargs, message", [
    ({"edges": 1_001}, r"edges must be a whole number in the range \[1, 1,000\]"),
    ({"edges": 0}, r"edges must be a whole number in the range \[1, 1,000\]"),
    ({"edges": 2.5}, r"edges must be a whole number"),
    ({"ttl_s": -1}, r"ttl_s must be a number >= 0"),
])
def test_cost_table_limits_are_named_with_their_range(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        analytic.cost_table(ASSETS, **kwargs)


def test_cost_table_accepts_the_extremes():
    assert analytic.cost_table(ASSETS, edges=1_000, ttl_s=0)["hit_ratio"].tolist() == [0.0, 0.0, 0.0]
    assert len(analytic.cost_table(ASSETS, edges=1)) == 3


# --- replication, sharding, contention, sites --------------------------------------------------------


def test_replicas_at_their_edges():
    """No replica: no read capacity of its own, and writes wait for the repair; replays that take every
    query leave nothing for reads; each replica adds one more copy to read from."""
    assert analytic.read_capacity(0, 400, 100) == 0.0
    assert analytic.read_capacity(3, 0.5, 0) == 1.5                # a slow box still serves
    assert analytic.read_capacity(2, 400, 0.5, replay_cost=0) == 800.0
    assert analytic.read_capacity(2, 400, 500) == 0.0              # replaying writes takes everything
    assert analytic.write_availability(0, 4, 30, 3_600) == pytest.approx(1 - 4 * 3_600 / (365.25 * 86_400))
    assert analytic.write_availability(2, 0.5, 30, 3_600) == pytest.approx(1 - 0.5 * 30 / (365.25 * 86_400))
    assert analytic.write_availability(2, 4, 0, 0.5) == 1.0
    assert analytic.read_availability(0, 0.99) == pytest.approx(0.99)
    assert analytic.read_availability(1, 0.99) == pytest.approx(1 - 0.01 ** 2)
    assert analytic.read_availability(3, 0.9) == pytest.approx(1 - 0.1 ** 4)


@pytest.mark.parametrize("call, message", [
    (lambda: analytic.read_capacity(-1, 400, 100), r"replicas must be a whole number >= 0"),
    (lambda: analytic.read_capacity(1.5, 400, 100), r"replicas must be a whole number >= 0"),
    (lambda: analytic.read_capacity(2, 0, 100), r"capacity must be a number > 0"),
    (lambda: analytic.read_capacity(2, 400, 100, replay_cost=-0.5), r"replay_cost must be a number >= 0"),
    (lambda: analytic.write_availability(1.5, 4, 30, 60), r"replicas must be a whole number >= 0"),
    (lambda: analytic.write_availability(1, -4, 30, 60), r"failures_per_year must be a number >= 0"),
    (lambda: analytic.write_availability(1, 4, -30, 60), r"failover_s must be a number >= 0"),
    (lambda: analytic.read_availability(-1, 0.9), r"replicas must be a whole number >= 0"),
    (lambda: analytic.usl_peak(1.5, 0.001), r"sigma must be a number in the range \[0, 1\]"),
    (lambda: analytic.fanout_cdf([0.5, 1.5], 2), r"cdf values must be probabilities in \[0, 1\]"),
    (lambda: analytic.fanout_cdf(np.array([-0.1]), 2), r"cdf values must be probabilities in \[0, 1\]"),
    (lambda: analytic.survival_capacity(100, 1), r"datacentres must be a whole number >= 2"),
    (lambda: analytic.survival_capacity(100, 2.5), r"datacentres must be a whole number >= 2"),
    (lambda: analytic.idle_share(1), r"datacentres must be a whole number >= 2"),
    (lambda: analytic.idle_share(2.5), r"datacentres must be a whole number >= 2"),
])
def test_more_limits_are_named_with_their_range(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_fanout_cdf_of_a_curve_keeps_its_ends():
    """A whole curve at once: 0 stays 0, 1 stays 1, each value to the k-th power."""
    assert analytic.fanout_cdf([0, 0.5, 1], 3).tolist() == [0.0, 0.125, 1.0]
    assert analytic.fanout_cdf((0, 1), 2).tolist() == [0.0, 1.0]


def test_zipf_exponent_reaches_the_top_key_share_and_amdahl_defaults_to_perfect_scaling():
    assert analytic.top_key_share(3, 2.0) == pytest.approx(1 / (1 + 1 / 4 + 1 / 9))
    assert analytic.amdahl_capacity(8) == 8.0
    assert analytic.amdahl_capacity(8, 0.5) == pytest.approx(8 / (1 + 0.5 * 7))


def test_site_capacity_with_the_smallest_peak_and_the_fewest_sites():
    """Active-active over 2 sites: each must carry the whole peak, twice what the peak needs."""
    assert analytic.survival_capacity(0.5, 2) == pytest.approx(1.0)
    assert analytic.survival_capacity(100, 2) == analytic.survival_capacity(100, 2, "active-active")
    assert analytic.idle_share(2) == analytic.idle_share(2, "active-passive") == 0.5
    assert analytic.idle_share(4) == 0.75 and analytic.idle_share(4, "active-active") == 0.25


@pytest.mark.parametrize("fail_at_s, interval_s, seen", [
    (17.5, 5, 20.0), (20, 5, 20.0), (0, 5, 0.0), (0.3, 0.1, 0.30000000000000004),
    (100, 1e-300, 100.0),      # 1e302 checks of 1e-300 s: the product rounds to 99.99999999999999 s
    (1.0, 5e-324, 1.0),        # a subnormal interval: fail / interval overflows
])
def test_a_dead_site_is_seen_at_the_first_check_at_or_after_its_death_never_before(fail_at_s, interval_s, seen):
    assert analytic.site_detected_at(fail_at_s, interval_s) == seen


@pytest.mark.parametrize("call, message", [
    (lambda: analytic.keys_moved(1_000_001, 2), r"servers_before must be a whole number in the range \[1, 1,000,000\]"),
    (lambda: analytic.keys_moved(2, 1_000_001), r"servers_after must be a whole number in the range \[1, 1,000,000\]"),
    (lambda: analytic.max_load(10**8 + 1, 2), r"balls must be a whole number in the range \[0, 100,000,000\]"),
    (lambda: analytic.max_load(10, 1_000_001), r"bins must be a whole number in the range \[1, 1,000,000\]"),
    (lambda: analytic.nat_share(0.3, 1_000_001), r"servers must be a whole number in the range \[1, 1,000,000\]"),
])
def test_hashing_limits_are_named_with_their_range(call, message):
    with pytest.raises(ValueError, match=message):
        call()
