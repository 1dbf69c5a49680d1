"""Closed forms at the edges a learner meets: the fewest consumers, the default modes, overload, the LFU bound.

Each check states the behaviour from its definition (a brute-force search, the other mode, the
simulation-free identity), not from the formula under test; ``make mutate`` showed each one missing.
"""

import math

import numpy as np
import pytest
from test_robustness import within  # the hang guard

from chapter1 import analytic


@pytest.mark.parametrize("backlog, within_s, arrival_rate, service_rate", [
    (3_000, 60, 50, 10), (0, 60, 50, 10), (0, 1, 0, 10), (10, 1, 0, 10), (100, 10, 40, 10), (1, 1_000, 9.5, 1),
])
def test_workers_to_drain_is_the_fewest_that_clear_the_backlog_in_time(backlog, within_s, arrival_rate, service_rate):
    """The answer clears the backlog in time and keeps up; one consumer fewer does not (a search says so)."""
    def clears(c):
        drains = analytic.drain_time(backlog, arrival_rate, service_rate, c) <= within_s
        return c * service_rate > arrival_rate and drains

    fewest = next(c for c in range(1, 10_000) if clears(c))
    assert analytic.workers_to_drain(backlog, within_s, arrival_rate, service_rate) == fewest


def test_consumers_that_only_just_keep_up_are_not_enough():
    """c x mu = lambda never drains (the backlog stays): one more consumer is needed."""
    assert analytic.workers_to_drain(0, 60, 50, 10) == 6
    assert math.isinf(analytic.drain_time(10, 50, 10, 5))


def test_overloaded_consumers_have_an_endless_backlog_and_a_stable_pool_follows_littles_law():
    assert math.isinf(analytic.mean_backlog(100, 10, 5))
    wait = analytic.mean_queue_wait_s(45, 10, 5)
    assert analytic.mean_backlog(45, 10, 5) == pytest.approx(45 * wait)


@pytest.mark.parametrize("sites", [2, 3, 5])
def test_site_modes_and_their_defaults(sites):
    """Active-passive leaves every standby idle; active-active keeps one site's share spare; the defaults
    are the ones the chapter uses (survival_capacity: active-active, idle_share: active-passive)."""
    assert analytic.idle_share(sites) == analytic.idle_share(sites, "active-passive") == pytest.approx(1 - 1 / sites)
    assert analytic.idle_share(sites, "active-active") == pytest.approx(1 / sites)
    bought = analytic.survival_capacity(1_000, sites)
    assert bought == analytic.survival_capacity(1_000, sites, "active-active")
    assert (bought - 1_000) / bought == pytest.approx(analytic.idle_share(sites, "active-active"))


def test_stale_ratio_without_writes_is_zero_and_grows_with_them():
    assert analytic.ttl_stale_ratio(1.0, 0.0, 60) == 0.0
    one = analytic.ttl_stale_ratio(1.0, 1 / 60, 60)   # wT = 1 exactly
    hit = 60 / 61
    assert one == pytest.approx(hit * (1 - (1 - math.exp(-1))))


def test_response_time_survival_defaults_to_one_worker_and_is_certain_when_overloaded():
    assert analytic.response_time_survival(0.2, 8, 10) == pytest.approx(math.exp(-(10 - 8) * 0.2))
    assert analytic.response_time_survival(5.0, 30, 10, servers=2) == 1.0


def test_lfu_bound_is_the_popular_keys_share_and_never_above_one():
    popularity = analytic.zipf_popularity(50, 0.7)
    top_five = np.sort(popularity)[::-1][:5].sum()
    assert analytic.hit_ratio_from_popularity(popularity, 5, "lfu") == pytest.approx(top_five)
    assert analytic.cache_hit_ratio("lfu", 50, 50, 0.0625) <= 1.0


def test_cost_table_counts_a_month_of_bytes_in_decimal_gigabytes_per_edge_share():
    """1e6 requests a day for a 100 KB file: 3,000 GB a month; each of 4 edges sees a quarter of the requests."""
    table = analytic.cost_table([{"asset": "hero.jpg", "size_kb": 100, "requests_per_day": 1e6},
                                 {"asset": "unused.pdf", "size_kb": 0, "requests_per_day": 0}], edges=4, ttl_s=600)
    hero, unused = table.iloc[0], table.iloc[1]
    assert hero["gb_per_month"] == pytest.approx(3_000)
    assert hero["hit_ratio"] == pytest.approx(analytic.ttl_hit_ratio(1e6 / 86_400 / 4, 600))
    cost = analytic.egress_cost(3_000, hero["hit_ratio"])
    assert (hero["cdn_usd"], hero["origin_only_usd"]) == pytest.approx((cost["total"], cost["origin_only"]))
    assert unused["gb_per_month"] == 0 and unused["cdn_usd"] == 0 and not unused["keep_on_cdn"]


def test_a_fast_stage_before_a_nearly_saturated_one_answers_at_once_and_exactly():
    """Two M/M/1 stages left with rates a = 99 and b = 0.001 a second: the total's survival is
    (b e^(-a t) - a e^(-b t)) / (b - a) (two exponentials); this once took minutes (one tick per 1/99 s)."""
    a, b = 100 - 1.0, 1.001 - 1.0
    p95 = within(5, lambda: analytic.tandem_response_percentile(95, 1.0, [100, 1.001]))
    assert (b * math.exp(-a * p95) - a * math.exp(-b * p95)) / (b - a) == pytest.approx(0.05, rel=1e-6)
