"""Chapter 07's library: CDN edges against the TTL formula, distance, origin load, deploys, faults, bad input.

Tolerances come from measured noise (8 seeds each, written next to each check): a check averages a
few seeds and allows about 4 standard deviations of that mean.
"""

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1 import analytic
from chapter1.components.cdn import OUTCOMES, REGIONS, Region, client_regions, edge_outcomes

WORKLOAD = c.Workload.from_rate(100, keys=1_000, zipf_s=1.0)


def _rates(arch, workload=WORKLOAD):
    cdn = arch["cdn"]
    return (workload.rate * cdn.static_share * np.outer(cdn.shares(), workload.key_popularity())).ravel()


# -- theory against simulation ------------------------------------------------------------------------

def test_edge_hit_ratio_matches_the_ttl_formula_warm_and_cold():
    # 100 req/s, 80 % static, 4 edges, 1,000 assets Zipf 1.0, TTL 10 s, 20,000 requests (200 s = 20 TTLs):
    # theory 0.5150; 8 seeds warm: mean 0.5161, sd 0.0019; cold, counted after 20 s: mean 0.5154, sd 0.0019.
    arch = c.with_cdn(c.single_server(), regions=4, ttl_s=10)
    theory = arch["cdn"].hit_ratio(WORKLOAD)
    assert theory == pytest.approx(analytic.edge_hit_ratio(80, 10, 4, 1_000, 1.0))
    warm = [c.simulate(arch, WORKLOAD, requests=20_000, seed=s).summary()["cdn_hit_ratio"] for s in range(3)]
    assert np.mean(warm) == pytest.approx(theory, abs=0.005)
    cold = []
    for s in range(3):  # the edges start empty: the mechanism alone, no starting state drawn from the formula
        r = c.simulate(arch.with_changes("cdn", warm=False), WORKLOAD, requests=20_000, seed=s).requests
        part = r[(r["arrival_s"] > 20) & r["cdn"].isin(["hit", "miss"])]
        cold.append((part["cdn"] == "hit").mean())
    assert np.mean(cold) == pytest.approx(theory, abs=0.005)


def test_more_edges_split_the_traffic_and_hit_less():
    hits = [analytic.edge_hit_ratio(80, 10, n, 1_000, 1.0) for n in (1, 2, 4, 6)]
    assert hits == sorted(hits, reverse=True)
    one = c.with_cdn(c.single_server(), regions=1, ttl_s=10)
    six = c.with_cdn(c.single_server(), regions=6, ttl_s=10)
    measured = [c.simulate(a, WORKLOAD, requests=8_000, seed=0).summary()["cdn_hit_ratio"] for a in (one, six)]
    assert measured[0] - measured[1] > 0.1  # theory: 0.697 against 0.461


def test_origin_load_follows_the_hit_ratio():
    # origin_rps = rate x ((1 - s) + s (1 - hit)); 3 seeds of 20,000 requests: within 2 % (Poisson counts, sd ~0.7 %).
    arch = c.with_cdn(c.single_server(), regions=4, ttl_s=10)
    runs = [c.simulate(arch, WORKLOAD, requests=20_000, seed=s).summary() for s in range(3)]
    for s in runs:
        expected = analytic.origin_load(s["offered_rps"], s["cdn_hit_ratio"], 0.8)
        assert s["origin_rps"] == pytest.approx(expected, rel=0.03)
    assert analytic.origin_load(1_000, 1.0, static_share=0.8) == pytest.approx(200)


def test_nearer_is_faster():
    arch = c.with_cdn(c.single_server(), regions=6, ttl_s=600, static_share=1.0)
    table = c.simulate(arch, WORKLOAD, requests=6_000, seed=1).requests
    miss = table[table["cdn"] == "miss"].groupby("region")["network_ms"].mean()
    hit = table[table["cdn"] == "hit"].groupby("region")["network_ms"].mean()
    km = {r.name: r.origin_km for r in REGIONS}
    assert list(miss.sort_values().index) == sorted(miss.index, key=km.get)
    assert hit.max() == pytest.approx(analytic.fetch_ms(100, 3) + 1.0)  # every hit: 3 round trips over 100 km
    assert miss["Seoul"] == pytest.approx(3.0 + 1 * analytic.round_trip_ms(11_100))
    origin_only = c.simulate(arch.with_changes("cdn", serve_from_edges=False), WORKLOAD, requests=6_000, seed=1)
    far = origin_only.requests.groupby("region")["network_ms"].mean()
    assert far["Sydney"] == pytest.approx(analytic.fetch_ms(15_700, 3))
    assert (origin_only.requests["cdn"] == "origin").mean() == pytest.approx(1.0)


# -- deploys: old copies after an asset changes -------------------------------------------------------------

@pytest.mark.parametrize("mode, invalidation_s, tolerance", [("ttl", 0.0, 80), ("invalidate", 5.0, 20),
                                                             ("versioned", 0.0, 0)])
def test_stale_requests_after_a_deploy(mode, invalidation_s, tolerance):
    # Every asset changes at 60 s; TTL 20 s; 12,000 requests.  Theory vs 8 seeds (mean, sd):
    # ttl 482 vs 517 (sd 52); invalidate (5 s) 211 vs 212 (sd 10); versioned 0 vs 0.
    arch = c.with_cdn(c.single_server(), regions=4, ttl_s=20, deploys=(60.0,), on_deploy=mode,
                      invalidation_s=invalidation_s)
    counts = [int(c.simulate(arch, WORKLOAD, requests=12_000, seed=s).requests["cdn_stale"].sum()) for s in range(4)]
    theory = analytic.deploy_stale_requests(_rates(arch), 20, mode, invalidation_s)
    assert np.mean(counts) == pytest.approx(theory, abs=tolerance)


def test_stale_windows_side_by_side():
    assert analytic.stale_window_s("ttl", 3_600) == 1_800
    assert analytic.stale_window_s("invalidate", 3_600, 60) < 60
    assert analytic.stale_window_s("versioned", 3_600, 60) == 0
    assert analytic.stale_window_s("invalidate", 10, 60) == 5  # the copy expires before the invalidation lands


def test_versioned_urls_cost_one_miss_per_edge_and_asset():
    codes, stale = edge_outcomes([0, 1, 2, 3], [0, 0, 0, 0], [0, 0, 0, 0], [True] * 4, 100, keys=1,
                                 deploys=(1.5,), on_deploy="versioned")
    assert [OUTCOMES[k] for k in codes] == ["miss", "hit", "miss", "hit"] and not stale.any()
    codes, stale = edge_outcomes([0, 1, 2, 3], [0, 0, 0, 0], [0, 0, 0, 0], [True] * 4, 100, keys=1,
                                 deploys=(1.5,), on_deploy="ttl")
    assert [OUTCOMES[k] for k in codes] == ["miss", "hit", "hit", "hit"] and stale.tolist() == [0, 0, 1, 1]


# -- faults at real load ---------------------------------------------------------------------------------

def _origin(workers=4):
    return c.single_server(workers=workers, service_time_ms=50, queue_limit=20, timeout_ms=2_000)


def test_cdn_down_sends_everything_to_an_origin_that_saturates():
    # 150 req/s; the origin completes 80 (4 x 50 ms).  With the CDN (hit ~0.93 at TTL 1 h, 4 edges) it gets
    # about 38 req/s; with the CDN down (30-60 s) all 150, over the long way: its queue overflows.
    arch = c.with_cdn(_origin(), regions=4, ttl_s=3_600).fail("cdn", at_s=30, recover_s=60)
    result = c.simulate(arch, c.Workload.from_rate(150), requests=15_000, seed=1)
    table = result.requests
    failed = (table["status"] != "ok").groupby(pd.cut(table["arrival_s"], [0, 30, 60, 65, 100]),
                                               observed=True).mean()
    assert failed.iloc[0] == 0 and failed.iloc[1] > 0.2 and failed.iloc[3] < 0.01
    assert set(table.loc[table["status"] != "ok", "failed_at"]) == {"server"}
    during = table[(table["arrival_s"] > 30) & (table["arrival_s"] < 60) & table["static"]]
    assert (during["cdn"] == "fallback").all()


def test_cdn_down_at_low_load_costs_only_distance():
    arch = c.with_cdn(_origin(workers=16), regions=4, ttl_s=3_600).fail("cdn", at_s=30, recover_s=60)
    table = c.simulate(arch, c.Workload.from_rate(150), requests=15_000, seed=1).requests
    assert (table["status"] == "ok").all()
    fallback = table[table["cdn"] == "fallback"]
    assert fallback["network_ms"].mean() > 5 * table.loc[table["cdn"] == "hit", "network_ms"].mean()


def test_without_fallback_static_requests_fail_at_the_cdn():
    arch = c.with_cdn(_origin(workers=16), regions=2, fallback=False).fail("cdn", at_s=10, recover_s=20)
    table = c.simulate(arch, c.Workload.from_rate(100), requests=3_000, seed=0).requests
    lost = table[table["cdn"] == "lost"]
    assert len(lost) > 0 and (lost["status"] == "error").all() and set(lost["failed_at"]) == {"cdn"}


# -- cost ----------------------------------------------------------------------------------------------

def test_egress_cost_and_break_even():
    cost = analytic.egress_cost(1_000, 0.9)
    assert cost["total"] == pytest.approx(59.0) and cost["origin_only"] == pytest.approx(90.0)
    even = analytic.break_even_hit_ratio()
    at_even = analytic.egress_cost(1_000, even)
    assert at_even["total"] == pytest.approx(at_even["origin_only"])
    assert analytic.break_even_hit_ratio({"cdn_usd_per_gb": 0.02}) == pytest.approx(0.02 / 0.09)
    s = c.simulate(c.with_cdn(c.single_server(), ttl_s=600), WORKLOAD, requests=4_000, seed=0).summary()
    assert s["egress_usd_per_h"] == pytest.approx(s["cdn_egress_usd_per_h"] + s["origin_egress_usd_per_h"])
    table = analytic.cost_table([{"asset": "a", "size_kb": 100, "requests_per_day": 1e6},
                                 {"asset": "b", "size_kb": 100, "requests_per_day": 10}])
    assert table["keep_on_cdn"].tolist() == [True, False]


# -- the component in any architecture, regions, determinism, bad input ---------------------------------------

def test_with_cdn_keeps_the_architecture_behind_it():
    arch = c.with_cdn(c.cached(cache_size=500), regions=2)
    assert [x.name for x in arch.components] == ["dns", "cdn", "web", "cache", "database"]
    table = c.simulate(arch, c.Workload.from_rate(100), requests=3_000, seed=0).requests
    assert table.loc[~table["static"], "cache"].isin(["hit", "miss"]).mean() > 0.8  # dynamic reads reach the cache
    assert (table.loc[table["static"], "cache"] == "").all()       # static ones stop at the web server
    assert c.with_cdn(c.single_server(), serve_from_edges=False).name.endswith("(origin only)")


def test_clients_keep_their_region():
    assert client_regions(6, [1, 2]).tolist() == [0, 0, 1, 1, 1, 1]
    table = c.simulate(c.with_cdn(c.single_server(), regions=3), WORKLOAD, requests=2_000, seed=0).requests
    assert (table.groupby("client")["region"].nunique() == 1).all()


def test_same_seed_same_result():
    arch = c.with_cdn(c.single_server(), regions=3, ttl_s=30, deploys=(5.0,))
    first, again = (c.simulate(arch, WORKLOAD, requests=3_000, seed=2) for _ in range(2))
    pd.testing.assert_frame_equal(first.requests, again.requests)
    other = c.simulate(arch, WORKLOAD, requests=3_000, seed=3)
    assert not first.requests["cdn"].equals(other.requests["cdn"])


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"regions must be a whole number in the range \[1, 6\]; got 7"):
        c.with_cdn(c.single_server(), regions=7)
    with pytest.raises(TypeError, match="regions must be a number of regions"):
        c.with_cdn(c.single_server(), regions="Seoul")
    with pytest.raises(TypeError, match="regions must hold Region objects"):
        c.CDN(regions=("Seoul",))
    with pytest.raises(ValueError, match="regions must have distinct names"):
        c.CDN(regions=(Region("a", 10), Region("a", 20)))
    with pytest.raises(ValueError, match=r"ttl_s must be a number in the range \[0, "):
        c.with_cdn(c.single_server(), ttl_s=-1)
    with pytest.raises(TypeError, match="ttl_s must be a number"):
        c.with_cdn(c.single_server(), ttl_s="1h")
    with pytest.raises(ValueError, match=r"static_share must be a number in the range \[0, 1\]; got 1.5"):
        c.with_cdn(c.single_server(), static_share=1.5)
    with pytest.raises(ValueError, match="on_deploy must be one of 'ttl', 'invalidate', 'versioned'"):
        c.with_cdn(c.single_server(), on_deploy="purge")
    with pytest.raises(ValueError, match=r"origin_km must be a number in the range \[0, 20,000\]"):
        Region("Moon", 384_400)
    with pytest.raises(TypeError, match="fallback must be True or False"):
        c.with_cdn(c.single_server(), fallback="yes")
    with pytest.raises(TypeError, match="deploys must be a tuple of times"):
        c.with_cdn(c.single_server(), deploys=60)
    with pytest.raises(ValueError, match="deploys must be a number >= 0"):
        c.with_cdn(c.single_server(), deploys=(-5,))
    with pytest.raises(ValueError, match="already has a CDN"):
        c.with_cdn(c.with_cdn(c.single_server()))
    with pytest.raises(TypeError, match="architecture must be a Architecture"):
        c.with_cdn("site")
    with pytest.raises(ValueError, match=r"edges must be a whole number in the range \[1, 1,000\]; got 0"):
        analytic.edge_hit_ratio(10, 60, edges=0)
    with pytest.raises(ValueError, match="shares must hold one share per edge"):
        analytic.edge_hit_ratio(10, 60, edges=2, shares=[1.0])
    with pytest.raises(ValueError, match="prices may set"):
        analytic.egress_cost(10, 0.5, {"cdn_per_gb": 0.1})
    with pytest.raises(ValueError, match="assets needs the columns"):
        analytic.cost_table([{"asset": "a"}])
    with pytest.raises(ValueError, match=r"km must be a number in the range \[0, 40,000\]"):
        analytic.round_trip_ms(-1)


# -- the chapter's section module and panel ------------------------------------------------------------

def test_panel_draws_theory_runs_and_regions():
    from chapter1.present.panels import PANELS
    from chapter1.sections import cdn as sec

    svg, text = sec.cdn_view(60, 4, 1.0, requests=4_000)
    assert "<svg" in svg.data and "hit ratio at the edges" in svg.data and "São Paulo" in svg.data
    assert "theory <b>83.3%</b>" in text and "3 runs" in text
    _, origin = sec.cdn_view(60, 4, 1.0, "origin only", requests=4_000)
    assert "origin only" in origin and "228 ms" in origin  # São Paulo: 3 round trips over 7,600 km
    assert PANELS["cdn edges"].controls["ttl_s"].values()[-1] == pytest.approx(100_000)


def test_panel_mechanism_lands_on_the_formula():
    from chapter1.sections import cdn as sec

    # 3 runs of 20,000 requests at 200 req/s (100 s) with TTL 5 s, 4 edges, Zipf 1.0: theory 0.543;
    # 8 seeds: sd 0.003 per run.
    measured = np.mean([sec.measured_hit(5, 4, 1.0, seed=s) for s in range(3)])
    assert measured == pytest.approx(sec.theory_hit(5, 4, 1.0), abs=0.008)


def test_notebook_tables():
    from chapter1.sections import cdn as sec

    workload = c.Workload.from_rate(100, keys=1_000)
    arch = c.with_cdn(c.single_server(), regions=3, ttl_s=600)
    cdn_run = c.simulate(arch, workload, requests=3_000, seed=0)
    origin_run = c.simulate(arch.with_changes("cdn", serve_from_edges=False), workload, requests=3_000, seed=0)
    table = sec.region_table(cdn_run, origin_run)
    assert list(table["region"]) == ["Virginia", "California", "London"]
    assert (table["cdn_p50_ms"] < table["origin_p50_ms"]).iloc[1:].all()
    assert len(sec.over_time(cdn_run, bins=10)) == 10
    cost = analytic.cost_table(sec.SITE_ASSETS)
    assert not cost.set_index("asset").loc["2019 annual report.pdf", "keep_on_cdn"]
