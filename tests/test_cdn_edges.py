"""What a CDN's edges do on hand-placed requests the chapter's charts rest on: deploys in a row, an invalidation
with no lag, asset and edge numbers of any integer width, warm edges in every region.

The run-time checks use a CDN alone (no DNS) in front of a one-worker origin with a constant 10 ms of work.
"""

from fractions import Fraction

import numpy as np
import pytest
from test_engines import digest

from chapter1 import Workload, simulate
from chapter1.components import WebServer
from chapter1.components.cdn import CDN, OUTCOMES, REGIONS, Region, edge_outcomes
from chapter1.core.architecture import Architecture


def named(codes):
    return [OUTCOMES[c] for c in codes]


def test_an_invalidation_with_no_lag_given_lands_at_the_deploy_itself():
    # fetched at 0 (TTL 100): a hit before the deploy at 5, a fresh pull at 5, hits after it; nothing stale
    codes, stale = edge_outcomes([0.0, 4.9, 5.0, 6.0], [0] * 4, [0] * 4, [True] * 4, 100.0, keys=1,
                                 deploys=[5.0], on_deploy="invalidate")
    assert named(codes) == ["miss", "hit", "miss", "hit"] and not stale.any()


def test_a_copy_fetched_between_two_deploys_is_old_after_the_second():
    # asset 0 pulled at 0, asset 1 at 15 (after the deploy at 10); both are old copies once the deploy at 20 is out
    codes, stale = edge_outcomes([0.0, 15.0, 25.0, 26.0], [0] * 4, [0, 1, 1, 0], [True] * 4, 100.0, keys=2,
                                 deploys=[10.0, 20.0])
    assert named(codes) == ["miss", "miss", "hit", "hit"]
    assert stale.tolist() == [False, False, True, True]


def test_edges_and_assets_are_numbered_by_any_whole_number_array():
    # edge numbers in a small integer type and 300 assets: edge 1's asset 299 is pair 599, beyond an int8
    arrival, static = [0.0, 1.0, 2.0, 3.0], [True] * 4
    edge, key = [0, 1, 0, 1], [299, 299, 299, 299]
    want = ["miss", "miss", "hit", "hit"]
    for edges, keys in ((np.array(edge, dtype=np.int8), key), (edge, np.array(key, dtype=np.uint64)),
                        (np.array(edge, dtype=float), np.array(key, dtype=float))):
        codes, _ = edge_outcomes(arrival, edges, keys, static, 10.0, keys=300)
        assert named(codes) == want


def cdn_run(regions, ttl_s, seed=0, requests=300, **options):
    origin = WebServer(name="origin", workers=1, service_time_ms=10, distribution="constant")
    spec = CDN(origin=(origin,), regions=regions, ttl_s=ttl_s, **options)
    return simulate(Architecture("cdn", (spec,), dns=None), Workload.from_rate(20, keys=20), requests=requests,
                    seed=seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_warm_cdn_starts_the_edges_of_every_region_warm(seed):
    # TTL 10^6 s: a warm copy of the rarest asset (about 0.2 req/s an edge) is held with probability > 0.99999
    # and expires within the 15 s run with probability 1.5e-5: no edge of either region misses
    table = cdn_run(REGIONS[:2], ttl_s=1e6, seed=seed).requests
    static = table[table["static"]]
    for region in ("Virginia", "California"):
        mine = static[static["region"] == region]
        assert len(mine) > 50 and set(mine["cdn"]) == {"hit"}, region
    cold = cdn_run(REGIONS[:2], ttl_s=1e6, seed=seed, warm=False).requests
    assert (cold["cdn"] == "miss").sum() > 10  # the same run with cold edges pulls each asset once an edge


def test_regions_given_as_fractions_share_the_clients_as_floats():
    spec = CDN(regions=(Region("A", 10, Fraction(1, 3)), Region("B", 20, Fraction(2, 3))))
    shares = spec.shares()
    assert shares.dtype == float and shares.tolist() == pytest.approx([1 / 3, 2 / 3]) and shares.sum() == 1.0


def test_a_region_too_small_for_any_client_leaves_the_result_as_stored():
    # 1,000 clients and a far region with a 10^-9 share: no request comes from it, yet its edges are drawn warm
    # like any other (an all-zero row of rates), so every number of the run is the one stored (the same seed
    # gives the same Result, as tests/test_engines.py holds for the chapter's architectures)
    result = cdn_run((Region("Near", 300), Region("Tiny", 3_900, 1e-9)), ttl_s=20)
    assert set(result.requests["region"]) == {"Near"}
    assert digest(result) == "dced2a26d68ee645"


def test_with_no_request_the_outcomes_still_index_and_mask():
    codes, stale = edge_outcomes([], [], [], [], 10.0, keys=1)
    assert np.array(OUTCOMES)[codes].tolist() == [] and np.arange(0)[stale].tolist() == []


def test_the_origin_and_the_regions_are_kept_as_tuples_and_refused_by_name():
    assert CDN(regions=2).regions == REGIONS[:2]
    mine = [Region("A", 10), Region("B", 20)]
    assert CDN(regions=mine).regions == tuple(mine)
    with pytest.raises(TypeError, match=r"^origin must be a sequence \(a tuple or list\) of Component objects; "
                                        r"got 'web'$"):
        CDN(origin="web")
    with pytest.raises(TypeError, match=r"^origin must hold Component objects \(e.g. Server\(\)\); got 'web'$"):
        CDN(origin=("web",))
