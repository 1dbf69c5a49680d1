"""The rules of chapter1/components/cdn.py: an edge's hit or miss, the origin pull, deploys, the CDN down.

The edge functions take hand-placed requests (times, edges, assets), so every outcome is known in advance;
the run-time checks use a CDN alone (no DNS) in front of a one-worker origin with a constant 10 ms of work.
"""

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from chapter1 import Workload, simulate
from chapter1.components import WebServer
from chapter1.components.cdn import (
    CDN,
    OUTCOMES,
    REGIONS,
    Region,
    cdn_of,
    client_regions,
    edge_hits,
    edge_outcomes,
    initial_copies,
    regions_of,
)
from chapter1.core.architecture import Architecture
from chapter1.core.simulation import Simulation


def named(codes):
    return [OUTCOMES[c] for c in codes]


def outcomes(arrival, ttl_s=10.0, edge=None, key=None, static=None, keys=2, **options):
    n = len(arrival)
    codes, stale = edge_outcomes(arrival, edge or [0] * n, key or [0] * n, static or [True] * n, ttl_s, keys=keys,
                                 **options)
    return named(codes), stale.tolist()


# -- hits and misses at one edge -----------------------------------------------------------------

def test_a_copy_is_a_hit_until_it_is_ttl_old_then_the_next_request_pulls_it_again():
    # fetched at 0: hits before 10, a miss at exactly 10 (the copy has expired), hits until 20
    assert outcomes([0.0, 9.99, 10.0, 19.99, 20.0])[0] == ["miss", "hit", "miss", "hit", "miss"]


def test_each_edge_and_asset_has_its_own_copy():
    codes, _ = outcomes([0, 1, 2, 3, 4], edge=[0, 1, 0, 1, 0], key=[0, 0, 1, 1, 0], keys=2)
    assert codes == ["miss", "miss", "miss", "miss", "hit"]


def test_dynamic_requests_pass_by_the_edge():
    codes, stale = outcomes([0, 1, 2], static=[False, True, True])
    assert codes == ["dynamic", "miss", "hit"] and stale == [False] * 3


def test_a_warm_edge_hits_until_its_starting_copy_expires():
    # edge 0: asset 0 expires at 5, asset 1 was not held; edge 1: asset 0 at 100
    expires = [5.0, -math.inf, 100.0]
    codes, _ = outcomes([1.0, 2.0, 5.0, 6.0, 7.0, 8.0], edge=[0, 0, 0, 1, 0, 1], key=[0, 1, 0, 0, 1, 1],
                        expires=expires)
    assert codes == ["hit", "miss", "miss", "hit", "hit", "miss"]  # edge 1's asset 1 is beyond the given table
    assert outcomes([], keys=1)[0] == []


def test_with_the_edges_off_every_static_request_goes_to_the_origin():
    codes, _ = outcomes([0, 1, 2], static=[True, False, True], serve_from_edges=False)
    assert codes == ["origin", "dynamic", "origin"]


def test_while_the_cdn_is_down_clients_fall_back_or_fail_and_the_edges_keep_their_copies():
    down = [False, True, True, False]
    assert outcomes([0, 1, 2, 3], down=down)[0] == ["miss", "fallback", "fallback", "hit"]
    assert outcomes([0, 1, 2, 3], down=down, fallback=False)[0] == ["miss", "lost", "lost", "hit"]


# -- deploys ---------------------------------------------------------------------------------------

def test_after_a_deploy_an_old_copy_is_served_stale_until_it_expires():
    codes, stale = outcomes([0.0, 4.0, 5.0, 9.0, 10.0, 12.0], deploys=[5.0])
    assert codes == ["miss", "hit", "hit", "hit", "miss", "hit"]
    assert stale == [False, False, True, True, False, False]  # the deploy at 5 counts from 5 on


def test_an_invalidation_drops_old_copies_when_it_lands():
    codes, stale = outcomes([0.0, 5.5, 6.0, 7.0], deploys=[5.0], on_deploy="invalidate", invalidation_s=1.0)
    assert codes == ["miss", "hit", "miss", "hit"] and stale == [False, True, False, False]


def test_a_versioned_asset_misses_once_at_once_after_a_deploy():
    codes, stale = outcomes([0.0, 5.0, 5.5, 20.0, 21.0], deploys=[5.0, 20.0], on_deploy="versioned",
                            invalidation_s=3.0)
    assert codes == ["miss", "miss", "hit", "miss", "hit"] and not any(stale)


def test_deploys_count_in_time_order():
    codes, stale = outcomes([0.0, 2.0, 4.0, 7.0], ttl_s=100, deploys=[6.0, 1.0, 3.0], on_deploy="invalidate",
                            invalidation_s=0.5)
    assert codes == ["miss", "miss", "miss", "miss"]
    assert outcomes([0.0, 2.0], ttl_s=100, deploys=[1.0, 50.0])[1] == [False, True]


# -- the vectorised path ---------------------------------------------------------------------------

def test_edge_hits_agree_with_edge_outcomes_on_random_requests():
    rng = np.random.default_rng(3)
    n, keys, edges = 400, 5, 3
    arrival = np.sort(rng.random(n) * 50)
    edge, key = rng.integers(0, edges, n), rng.integers(0, keys, n)
    pair = edge * keys + key
    expires = np.where(rng.random(edges * keys) < 0.5, rng.random(edges * keys) * 10, -math.inf)
    for start in (None, expires):
        codes, _ = edge_outcomes(arrival.tolist(), edge, key, [True] * n, 4.0, keys=keys,
                                 expires=None if start is None else start.tolist())
        hits = edge_hits(arrival, pair, 4.0, start)
        assert hits.tolist() == (codes == OUTCOMES.index("hit")).tolist()
        assert 0.2 < hits.mean() < 0.95


def test_edge_hits_edges():
    assert edge_hits([], [], 1.0).tolist() == []
    assert edge_hits([0.0, 1.0, 1.0], [0, 0, 0], 1.0).tolist() == [False, False, True]
    assert edge_hits([0.0, 3.0], [0, 0], 1.0, expires=[5.0]).tolist() == [True, True]
    assert edge_hits([0.0, 5.0, 5.9, 6.0], [0, 0, 0, 0], 1.0, expires=[5.0]).tolist() == [True, False, True, False]


# -- regions and warm edges ------------------------------------------------------------------------

def test_clients_are_split_over_regions_in_blocks_by_share():
    assert client_regions(4, [0.5, 0.5]).tolist() == [0, 0, 1, 1]
    assert client_regions(10, [3, 1]).tolist() == [0] * 7 + [0] + [1] * 2
    assert client_regions(5, [0.2, 0.2, 0.6]).tolist() == [0, 1, 2, 2, 2]
    assert client_regions(3, [1.0]).tolist() == [0, 0, 0]


def test_a_warm_edge_holds_a_copy_as_often_as_a_steady_edge_would():
    # rates x TTL = 1 and 4: held with probability 1/2 and 4/5; 20,000 draws each, sd <= 0.0036, bound 0.015
    rng = np.random.default_rng(0)
    until = initial_copies(rng, np.array([[0.1] * 20_000, [0.4] * 20_000]), 10.0)
    held = np.isfinite(until)
    assert held.mean(axis=1) == pytest.approx([0.5, 0.8], abs=0.015)
    assert until[held].min() >= 0 and until[held].max() <= 10 and until[held].mean() == pytest.approx(5, abs=0.1)
    assert (until[~held] == -math.inf).all()
    assert not np.isfinite(initial_copies(np.random.default_rng(1), np.zeros(5), 10.0)).any()


def test_regions_of_takes_a_count_or_regions():
    assert regions_of(2) == REGIONS[:2] and regions_of(np.int64(6)) == REGIONS
    mine = [Region("A", 10), Region("B", 20, 3)]
    assert regions_of(mine) == tuple(mine)
    with pytest.raises(ValueError, match=r"^regions must be a whole number in the range \[1, 6\]; got 7$"):
        regions_of(7)
    with pytest.raises(ValueError, match=r"^regions must be a whole number in the range \[1, 6\]; got 0$"):
        regions_of(0)
    for bad in (True, "Seoul", 2.5):
        with pytest.raises(TypeError, match=r"^regions must be a number of regions \(1-6\) or a tuple of Region"):
            regions_of(bad)
    with pytest.raises(TypeError, match=r"regions must hold Region objects \(e.g. Region\('Seoul', 11_100\)\)"):
        regions_of([("Seoul", 11_100)])


def test_a_region_is_checked():
    Region("Far", 20_000, 0.01)
    Region("Here", 0)
    with pytest.raises(ValueError, match=r"^origin_km must be a number in the range \[0, 20,000\]; got 20001"):
        Region("X", 20_001)
    with pytest.raises(ValueError, match=r"^share must be a number > 0; got 0"):
        Region("X", 10, 0)
    with pytest.raises(ValueError, match="^name must be a non-empty string"):
        Region("", 10)


# -- the spec --------------------------------------------------------------------------------------

def test_the_cdn_spec_is_checked_and_named():
    origin = WebServer(name="origin")
    assert CDN(origin=origin).origin == (origin,) and CDN(origin=[origin]).parts == (origin,)
    assert CDN(deploys=[30, 10]).deploys == (10, 30)
    assert CDN(regions=tuple(Region(f"r{k}", 10) for k in range(50))).regions[-1].name == "r49"
    checks = [
        ({"origin": ()}, ValueError, r"^origin must hold at least one component \(the origin's first tier serves"),
        ({"regions": tuple(Region(f"r{k}", 10) for k in range(51))}, ValueError,
         r"^regions must hold 1 to 50 regions; got 51$"),
        ({"regions": ()}, ValueError, r"^regions must hold 1 to 50 regions; got 0$"),
        ({"regions": (Region("A", 1), Region("A", 2))}, ValueError, r"^regions must have distinct names; got A, A$"),
        ({"ttl_s": -1}, ValueError, r"^ttl_s must be a number in the range \[0, 100,000,000\]"),
        ({"static_share": 1.1}, ValueError, r"^static_share must be a number in the range \[0, 1\]"),
        ({"edge_km": 20_001}, ValueError, r"^edge_km must be a number in the range \[0, 20,000\]"),
        ({"round_trips": 21}, ValueError, r"^round_trips must be a whole number in the range \[0, 20\]"),
        ({"fill_round_trips": 21}, ValueError, r"^fill_round_trips must be a whole number in the range \[0, 20\]"),
        ({"hit_ms": 60_001}, ValueError, r"^hit_ms must be a number in the range \[0, 60,000\]"),
        ({"asset_kb": -1}, ValueError, r"^asset_kb must be a number in the range \[0, 100,000,000\]"),
        ({"deploys": 60}, TypeError, r"^deploys must be a tuple of times in seconds \(e.g. \(60.0,\)\); got 60$"),
        ({"deploys": "60"}, TypeError, "^deploys must be a tuple"),
        ({"deploys": (-1,)}, ValueError, r"^deploys must be a number >= 0; got -1$"),
        ({"on_deploy": "purge"}, ValueError, r"^on_deploy must be one of 'ttl', 'invalidate', 'versioned'"),
        ({"invalidation_s": 10 ** 6 + 1}, ValueError, r"^invalidation_s must be a number in the range \[0, 1,000,000"),
        ({"fallback": 1}, TypeError, r"^fallback must be True or False; got 1$"),
        ({"serve_from_edges": "yes"}, TypeError, r"^serve_from_edges must be True or False; got 'yes'$"),
        ({"warm": None}, TypeError, r"^warm must be True or False; got None$"),
        ({"cdn_usd_per_gb": -0.1}, ValueError, r"^cdn_usd_per_gb must be a number >= 0"),
        ({"origin_usd_per_gb": -0.1}, ValueError, r"^origin_usd_per_gb must be a number >= 0"),
    ]
    for options, error, words in checks:
        with pytest.raises(error, match=words):
            CDN(**options)
    CDN(ttl_s=10 ** 8, static_share=0, edge_km=20_000, round_trips=20, fill_round_trips=20, hit_ms=60_000,
        asset_kb=10 ** 8, invalidation_s=10 ** 6)


def test_what_the_diagram_says_and_each_regions_share():
    one = CDN(regions=(Region("A", 10),), ttl_s=60, static_share=0.5, on_deploy="versioned")
    assert one.describe() == ["1 edge · TTL 60 s", "50% static · on deploy: versioned"]
    assert CDN(serve_from_edges=False).describe()[0] == "edges off" and one.label() == "CDN, 1 edges"
    assert CDN(regions=(Region("A", 1, 1), Region("B", 1, 3))).shares().tolist() == [0.25, 0.75]


def test_cdn_of_finds_the_one_cdn():
    arch = Architecture("a", (CDN(),), dns=None)
    assert cdn_of(arch) is arch.tiers[0]
    with pytest.raises(ValueError, match=r"^expected one CDN in 'b'; found 0$"):
        cdn_of(Architecture("b", (WebServer(),)))


# -- at run time -----------------------------------------------------------------------------------

def cdn_run(requests=300, seed=0, **options):
    """A CDN alone in front of a one-worker origin (constant 10 ms), two regions at 300 and 3,900 km."""
    origin = WebServer(name="origin", workers=1, service_time_ms=10, distribution="constant")
    spec = CDN(origin=(origin,), regions=REGIONS[:2], **options)
    return simulate(Architecture("cdn", (spec,), dns=None), Workload.from_rate(20, keys=20), requests=requests,
                    seed=seed)


def test_network_time_follows_the_outcome_and_the_regions_distance():
    result = cdn_run(ttl_s=60, warm=False, edge_km=100, round_trips=2, fill_round_trips=1, hit_ms=1.5)
    table = result.requests
    km = table["region"].map({"Virginia": 300, "California": 3_900})
    edge = 2 * 2 * 100 / 200
    expected = np.select([table["cdn"] == "hit", table["cdn"] == "miss"],
                         [edge + 1.5, edge + 1 * 2 * km / 200], 2 * 2 * km / 200)
    assert table["network_ms"].to_numpy() == pytest.approx(expected)
    assert set(table["cdn"]) == {"hit", "miss", "dynamic"}
    hits = table[table["cdn"] == "hit"]
    assert hits["latency_ms"].to_numpy() == pytest.approx(hits["network_ms"].to_numpy())  # the origin is not asked
    served = table[table["cdn"] != "hit"]
    assert (served["latency_ms"] >= served["network_ms"] + 10 - 1e-6).all()
    assert set(table["region"]) == {"Virginia", "California"}
    assert table["static"].mean() == pytest.approx(0.8, abs=0.1)  # 300 draws: sd 0.023
    row = result.components.set_index("component").loc["cdn"]
    assert row["served"] == len(hits)


def test_the_figures_count_hits_origin_traffic_and_egress():
    result = cdn_run(requests=400, ttl_s=30, asset_kb=500, cdn_usd_per_gb=0.04, origin_usd_per_gb=0.1)
    table, summary = result.requests, result.summary()
    counts = table["cdn"].value_counts()
    handled = counts.get("hit", 0) + counts.get("miss", 0)
    assert summary["cdn_hit_ratio"] == pytest.approx(counts["hit"] / handled)
    duration = table["arrival_s"].max()
    assert summary["origin_rps"] == pytest.approx((counts["dynamic"] + counts["miss"]) / duration)
    per_hour = 3_600 / duration * 500 / 1e6
    assert summary["cdn_egress_usd_per_h"] == pytest.approx(handled * per_hour * 0.04, rel=1e-9)
    assert summary["origin_egress_usd_per_h"] == pytest.approx(counts["miss"] * per_hour * 0.1, rel=1e-9)
    assert summary["egress_usd_per_h"] == pytest.approx(summary["cdn_egress_usd_per_h"]
                                                        + summary["origin_egress_usd_per_h"])
    assert summary["stale_share"] == 0.0


def test_a_deploy_shows_as_stale_answers_in_the_figures():
    result = cdn_run(requests=400, ttl_s=100, deploys=(5.0,))
    table = result.requests
    handled = table["cdn"].isin(["hit", "miss"]).sum()
    assert table["cdn_stale"].sum() > 5 and (table.loc[table["cdn_stale"], "arrival_s"] >= 5).all()
    assert result.summary()["stale_share"] == pytest.approx(table["cdn_stale"].sum() / handled)


def test_a_cdn_that_is_down_sends_clients_to_the_origin_over_the_long_distance():
    spec = CDN(origin=(WebServer(name="origin", workers=1, service_time_ms=10, distribution="constant"),),
               regions=REGIONS[:2], ttl_s=600).fail(at_s=3.0, recover_s=8.0)
    table = simulate(Architecture("cdn", (spec,), dns=None), Workload.from_rate(20, keys=20), requests=300).requests
    during = table[(table["arrival_s"] >= 3.0) & (table["arrival_s"] < 8.0) & table["static"]]
    assert len(during) > 20 and set(during["cdn"]) == {"fallback"} and (during["status"] == "ok").all()
    km = during["region"].map({"Virginia": 300, "California": 3_900})
    assert during["network_ms"].to_numpy() == pytest.approx((3 * 2 * km / 200).to_numpy())
    lost = simulate(Architecture("cdn", (replace(spec, fallback=False),), dns=None),
                    Workload.from_rate(20, keys=20), requests=300).requests
    gone = lost[lost["cdn"] == "lost"]
    assert len(gone) == len(during) and (gone["status"] != "ok").all() and set(gone["failed_at"]) == {"cdn"}
    assert gone["network_ms"].to_numpy() == pytest.approx(3 * 2 * 100 / 200)


def test_an_origin_failure_is_named_by_the_origin_tier():
    origin = WebServer(name="origin", workers=1, service_time_ms=10).fail(at_s=2.0, recover_s=6.0)
    spec = CDN(origin=(origin,), regions=REGIONS[:1], ttl_s=600, warm=False)
    table = simulate(Architecture("cdn", (spec,), dns=None), Workload.from_rate(20, keys=5), requests=200).requests
    failed = table[table["status"] != "ok"]
    assert len(failed) > 5 and set(failed["failed_at"]) == {"origin"} and set(failed["cdn"]) <= {"miss", "dynamic"}
    hits = table[(table["cdn"] == "hit") & (table["arrival_s"] > 2.5) & (table["arrival_s"] < 5.5)]
    assert len(hits) > 5 and (hits["status"] == "ok").all()


def test_the_measured_hit_ratio_matches_theory_from_the_first_request_on_warm_edges():
    # 50 req/s over 200 assets, TTL 20 s, two regions: theory 0.768; 12 seeds of 2,000 requests: mean 0.771,
    # sd 0.006.  Mean of 3 seeds: sd 0.0035; bound 0.02
    spec = CDN(origin=(WebServer(name="origin", workers=8, service_time_ms=5),), regions=REGIONS[:2], ttl_s=20)
    workload = Workload.from_rate(50, keys=200)
    measured = np.mean([simulate(Architecture("c", (spec,), dns=None), workload, requests=2_000, seed=s)
                        .summary()["cdn_hit_ratio"] for s in range(3)])
    assert measured == pytest.approx(spec.hit_ratio(workload), abs=0.02)
    # over the first 10 s (500 requests) cold edges miss every asset once: 12 seeds give 0.615 (sd 0.018) against
    # 0.769 (sd 0.024) when warm
    warm, cold = (simulate(Architecture("c", (replace(spec, warm=w),), dns=None), workload, requests=500)
                  .summary()["cdn_hit_ratio"] for w in (True, False))
    assert cold < 0.69 < warm


def test_a_copy_fetched_at_the_moment_of_a_deploy_is_the_new_version():
    codes, stale = outcomes([0.0, 5.0, 6.0], ttl_s=5.0, deploys=[5.0])
    assert codes == ["miss", "miss", "hit"] and stale == [False, False, False]


def test_a_miss_visits_the_origins_first_tier_and_a_dynamic_request_every_tier():
    web = WebServer(name="web", workers=4, service_time_ms=10, distribution="constant")
    db = WebServer(name="db", workers=4, service_time_ms=30, distribution="constant")
    spec = CDN(origin=(web, db), regions=REGIONS[:1], ttl_s=600, warm=False, edge_km=0, round_trips=0)
    table = simulate(Architecture("c", (spec,), dns=None), Workload.from_rate(5, keys=10), requests=100).requests
    for outcome, ms in (("miss", 10.0), ("dynamic", 40.0), ("hit", 1.0)):
        mine = table[table["cdn"] == outcome]
        assert len(mine) > 3 and (mine["latency_ms"] - mine["network_ms"]).to_numpy() == pytest.approx(
            ms - (1.0 if outcome == "hit" else 0.0), abs=1e-6)
    broken = simulate(Architecture("c", (replace(spec, origin=(web, db.fail(at_s=0.0))),), dns=None),
                      Workload.from_rate(5, keys=10), requests=100).requests
    assert set(broken.loc[broken["status"] != "ok", "failed_at"]) == {"db"}
    assert set(broken.loc[broken["status"] != "ok", "cdn"]) == {"dynamic"}


def test_with_no_static_request_there_is_no_hit_ratio():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning about 0 / 0 in a learner's notebook
        summary = cdn_run(requests=50, static_share=0.0).summary()
    assert math.isnan(summary["cdn_hit_ratio"]) and math.isnan(summary["stale_share"])
    assert summary["cdn_egress_usd_per_h"] == 0.0


def test_cdn_of_refuses_two_cdns():
    inner = CDN(name="inner")
    with pytest.raises(ValueError, match=r"^expected one CDN in 'two'; found 2$"):
        cdn_of(Architecture("two", (CDN(name="outer", origin=(inner,)),), dns=None))


def test_edge_hits_are_flags_and_keep_pairs_apart_with_a_short_ttl():
    # pair 0 at 0 and 9, pair 1 at 0.1 and 0.2, TTL 0.5: only the request at 0.2 finds a copy
    hits = edge_hits([0.0, 9.0, 0.1, 0.2], [0, 0, 1, 1], 0.5)
    assert hits.dtype == bool and hits.tolist() == [False, False, False, True]


def test_the_diagram_counts_the_edges():
    assert CDN(regions=REGIONS[:3], ttl_s=600).describe() == ["3 edges · TTL 600 s", "80% static · on deploy: ttl"]


def test_theory_weighs_the_regions_by_their_share_of_the_clients():
    # regions 3:1 (theory 0.7805; with equal shares it would say 0.7677): 12 seeds of 2,000 requests measure
    # 0.7829, sd 0.0052 a run, 0.0015 for the mean; bound 0.008 (a 0.003 bias, as with equal shares, plus 3 sd)
    regions = (Region("Near", 300, 3.0), Region("Far", 3_900, 1.0))
    spec = CDN(origin=(WebServer(name="origin", workers=8, service_time_ms=5),), regions=regions, ttl_s=20)
    workload = Workload.from_rate(50, keys=200)
    measured = np.mean([simulate(Architecture("c", (spec,), dns=None), workload, requests=2_000, seed=s)
                        .summary()["cdn_hit_ratio"] for s in range(12)])
    assert measured == pytest.approx(spec.hit_ratio(workload), abs=0.008)


def test_the_default_origin_and_the_cdns_row():
    assert [p.name for p in CDN().parts] == ["origin"]
    spec = CDN(origin=(WebServer(name="origin", workers=4, service_time_ms=5),), regions=REGIONS[:1], ttl_s=60)
    sim = Simulation(Architecture("c", (spec,), dns=None), Workload.from_rate(20, keys=5), 100, 0)
    result = sim.run()
    row = sim.tiers[0].row()
    assert sorted(row) == ["mean_wait_ms", "served", "workers"] and row["workers"] is None
    assert math.isnan(row["mean_wait_ms"]) and row["served"] == (result.requests["cdn"] == "hit").sum() > 0


def test_the_origin_pays_egress_for_misses_fallbacks_and_requests_that_bypass_the_edges():
    origin = WebServer(name="origin", workers=4, service_time_ms=5)
    for spec in (CDN(origin=(origin,), regions=REGIONS[:2], ttl_s=60, serve_from_edges=False),
                 CDN(origin=(origin,), regions=REGIONS[:2], ttl_s=60).fail(at_s=2.0, recover_s=6.0)):
        result = simulate(Architecture("c", (spec,), dns=None), Workload.from_rate(20, keys=20), requests=200)
        table, summary = result.requests, result.summary()
        paid = table["cdn"].isin(["miss", "fallback", "origin"]).sum()
        assert table["cdn"].isin(["fallback", "origin"]).sum() > 20
        per_hour = 3_600 / table["arrival_s"].max() * 200 / 1e6
        assert summary["origin_egress_usd_per_h"] == pytest.approx(paid * per_hour * 0.09, rel=1e-9)


def test_a_run_shorter_than_a_second_counts_its_own_duration():
    # 10 requests at 20 a second: the last arrives within half a second
    result = cdn_run(requests=10, ttl_s=60)
    table, summary = result.requests, result.summary()
    assert table["arrival_s"].max() < 1
    reached = table["cdn"].isin(["dynamic", "miss"]).sum()
    assert summary["origin_rps"] == pytest.approx(reached / table["arrival_s"].max(), rel=1e-9)


def test_at_run_time_an_invalidation_ends_old_answers_and_a_new_url_avoids_them():
    # a deploy at 5 s, TTL 100 s: old copies answer until the invalidation lands at 6 s, or never with new URLs
    table = cdn_run(ttl_s=100, deploys=(5.0,), on_deploy="invalidate", invalidation_s=1.0).requests
    stale = table.loc[table["cdn_stale"], "arrival_s"]
    assert len(stale) > 3 and stale.min() >= 5.0 and stale.max() < 6.0
    assert not cdn_run(ttl_s=100, deploys=(5.0,), on_deploy="versioned", invalidation_s=1.0).requests["cdn_stale"].any()
