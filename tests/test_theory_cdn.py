"""The CDN in closed form by hand: distance, the edges' hit ratio with unequal shares and several assets, the
origin's load and bill, the stale window after a deploy, and every input's error message whole."""

import numpy as np
import pytest

from chapter1 import analytic


def test_distance_and_fetches():
    assert analytic.round_trip_ms(40_000) == 400.0 and analytic.round_trip_ms(0) == 0.0
    assert analytic.fetch_ms(1_000, round_trips=1) == 10.0 and analytic.fetch_ms(1_000, round_trips=20) == 200.0


def test_edge_hit_ratio_weighs_each_edge_and_asset_by_its_traffic():
    """1 request a second, TTL 10 s, 2 edges taking 3/4 and 1/4: r T = 7.5 and 2.5, hits 7.5/8.5 and 2.5/3.5,
    weighed 3/4 and 1/4.  Two equally popular assets on one edge: r T = 5 each, 5/6."""
    expected = 0.75 * 7.5 / 8.5 + 0.25 * 2.5 / 3.5
    assert analytic.edge_hit_ratio(1, 10, edges=2, shares=[3, 1]) == pytest.approx(expected, rel=1e-12)
    assert analytic.edge_hit_ratio(1, 10, keys=2) == pytest.approx(5 / 6, rel=1e-12)
    assert analytic.edge_hit_ratio(1, 10, edges=2) == pytest.approx(5 / 6, rel=1e-12)
    assert analytic.edge_hit_ratio(0, 10) == 0.0 and analytic.edge_hit_ratio(1, 0) == 0.0


def test_origin_load_and_its_bill():
    assert analytic.origin_load(1_000, 0.5) == pytest.approx(500)
    assert analytic.origin_load(1_000, 1.0, static_share=0.25) == pytest.approx(750)
    cost = analytic.egress_cost(200, 0.75, {"cdn_usd_per_gb": 0.1})
    assert cost == pytest.approx({"cdn": 20, "origin_fill": 200 * 0.25 * 0.09, "total": 20 + 4.5, "origin_only": 18})
    assert analytic.break_even_hit_ratio({"cdn_usd_per_gb": 0.03, "origin_usd_per_gb": 0.12}) == pytest.approx(0.25)
    assert analytic.break_even_hit_ratio({"origin_usd_per_gb": 0.09}) == pytest.approx(0.05 / 0.09)


def test_stale_window_after_a_deploy():
    assert analytic.stale_window_s("ttl", 0) == 0.0 and analytic.stale_window_s("invalidate", 0, 5) == 0.0
    assert analytic.stale_window_s("invalidate", 60, 60) == 30.0       # the copy expires first: T / 2
    assert analytic.stale_window_s("ttl", 1) == 0.5 and analytic.stale_window_s("invalidate", 1, 2) == 0.5
    assert analytic.stale_window_s("invalidate", 60, 90) == 30.0
    assert analytic.stale_window_s("invalidate", 60, 12) == pytest.approx(12 - 144 / 120)
    assert analytic.stale_window_s("versioned", 60, 12) == 0.0
    # two edges at 1 and 3 requests a second, TTL 60 s, invalidation in 12 s: r x h x 10.8 summed
    expected = sum(r * (r * 60 / (1 + r * 60)) * 10.8 for r in (1, 3))
    assert analytic.deploy_stale_requests([1, 3], 60, "invalidate", 12) == pytest.approx(expected, rel=1e-12)
    assert analytic.deploy_stale_requests([], 60, "ttl") == 0.0
    # an invalidation is instant unless given a delay: nothing is served stale
    assert analytic.stale_window_s("invalidate", 60) == 0.0
    assert analytic.deploy_stale_requests([1, 3], 60, "invalidate") == 0.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: analytic.round_trip_ms(40_001), ValueError, r"km must be a number in the range \[0, 40,000\]; got 40001"),
    (lambda: analytic.round_trip_ms(-1), ValueError, r"km must be a number in the range \[0, 40,000\]; got -1"),
    (lambda: analytic.fetch_ms(1, 21), ValueError, r"round_trips must be a number in the range \[0, 20\]; got 21"),
    (lambda: analytic.fetch_ms(1, -1), ValueError, r"round_trips must be a number in the range \[0, 20\]; got -1"),
    (lambda: analytic.edge_hit_ratio(-1, 1), ValueError, "rate must be a number >= 0; got -1"),
    (lambda: analytic.edge_hit_ratio(1, -1), ValueError, "ttl_s must be a number >= 0; got -1"),
    (lambda: analytic.edge_hit_ratio(1, 1, edges=1_001), ValueError,
     r"edges must be a whole number in the range \[1, 1,000\]; got 1001"),
    (lambda: analytic.edge_hit_ratio(1, 1, edges=0), ValueError,
     r"edges must be a whole number in the range \[1, 1,000\]; got 0"),
    (lambda: analytic.edge_hit_ratio(1, 1, edges=2, shares=[1, 0]), ValueError, "shares must be a number > 0; got 0"),
    (lambda: analytic.edge_hit_ratio(1, 1, edges=2, shares=[1]), ValueError,
     r"shares must hold one share per edge \(2\); got 1$"),
    (lambda: analytic.origin_load(-1, 0.5), ValueError, "rate must be a number >= 0; got -1"),
    (lambda: analytic.origin_load(1, 2), ValueError, r"hit_ratio must be a number in the range \[0, 1\]; got 2"),
    (lambda: analytic.origin_load(1, 0.5, 2), ValueError,
     r"static_share must be a number in the range \[0, 1\]; got 2"),
    (lambda: analytic.egress_cost(-1, 0.5), ValueError, "gigabytes must be a number >= 0; got -1"),
    (lambda: analytic.egress_cost(1, 2), ValueError, r"hit_ratio must be a number in the range \[0, 1\]; got 2"),
    (lambda: analytic.egress_cost(1, 0.5, [0.1]), TypeError,
     r"prices must be a dict setting cdn_usd_per_gb, origin_usd_per_gb \(or None\); got \[0\.1\]$"),
    (lambda: analytic.egress_cost(1, 0.5, {"cdn": 1, "x": 2}), ValueError,
     "prices may set cdn_usd_per_gb, origin_usd_per_gb; got cdn, x$"),
    (lambda: analytic.egress_cost(1, 0.5, {"cdn_usd_per_gb": -1}), ValueError,
     "cdn_usd_per_gb must be a number >= 0; got -1"),
    (lambda: analytic.egress_cost(1, 0.5, {"origin_usd_per_gb": -1}), ValueError,
     "origin_usd_per_gb must be a number >= 0; got -1"),
    (lambda: analytic.stale_window_s("purge", 1), ValueError,
     "on_deploy must be one of 'ttl', 'invalidate', 'versioned'; got 'purge'"),
    (lambda: analytic.stale_window_s("ttl", -1), ValueError, "ttl_s must be a number >= 0; got -1"),
    (lambda: analytic.stale_window_s("ttl", 1, -1), ValueError, "invalidation_s must be a number >= 0; got -1"),
    (lambda: analytic.deploy_stale_requests([1, -1], 1, "ttl"), ValueError, "rates must be a number >= 0; got -1"),
])
def test_each_cdn_input_is_named_with_its_range(call, error, message):
    with pytest.raises(error, match=f"^{message}"):
        call()


@pytest.mark.parametrize("edges, keys, zipf_s, shares", [(1, 1, 0.0, None), (2, 200_000, 1.0, None),
                                                         (4, 4_097, 0.8, None), (3, 1_000, 1.2, [2.0, 2.0, 2.0]),
                                                         (3, 1_000, 1.2, [1.0, 2.0, 3.0]), (7, 10, 0.0, None)])
def test_edge_hit_curve_sums_every_edge_and_asset_as_one_table(edges, keys, zipf_s, shares):
    """Equal shares work out one edge's row and repeat it: the same floats as the whole table of edges x assets."""
    from chapter1.theory.caching import zipf_popularity
    from chapter1.theory.cdn import _shares, edge_hit_curve

    rate, ttls = 3_472.0 * 0.6, [0.0, 1.5, 60.0, 3_600.0]
    mix = np.outer(_shares(edges, shares), zipf_popularity(keys, zipf_s))
    table = [float((mix * (rate * mix * t) / (1 + rate * mix * t)).sum()) for t in ttls]
    assert edge_hit_curve(rate, ttls, edges, keys, zipf_s, shares) == table
