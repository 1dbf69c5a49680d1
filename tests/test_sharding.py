"""Chapter 12's library: a shard router, resharding and ring balance against theory, the celebrity, bad input.

Tolerances come from measured noise: the comment above each check gives the mean and the standard
deviation of one measurement over 20 (or 30) seeds; a check averages several seeds and allows about 4
standard deviations of that average.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal

import chapter1 as c
from chapter1 import Workload, analytic, sharded, simulate
from chapter1.components.shards import ShardRouter, key_hash, place, ring_shares, shard_databases, spread
from chapter1.core.contract import check_kind

# -- resharding: keys moved ----------------------------------------------------------------------

@pytest.mark.parametrize("before, after", [(4, 5), (8, 9), (4, 8), (5, 4)])
def test_modulo_moves_keys_as_theory_says(before, after):
    # 20,000 keys, 20 seeds: 4 -> 5 mean 0.7996 sd 0.0025; 8 -> 9 0.8891 sd 0.0021; 4 -> 8 0.5004 sd 0.0036.
    # Mean of 4 seeds: sd <= 0.0018; bound 0.008.
    measured = np.mean([c.keys_moved(before, after, "modulo", keys=20_000, seed=s) for s in range(4)])
    assert abs(measured - analytic.keys_moved(before, after, "modulo")) < 0.008


@pytest.mark.parametrize("before, after, sd", [(4, 5, 0.018), (8, 9, 0.0084), (4, 8, 0.0123)])
def test_ring_moves_about_one_over_n_plus_one(before, after, sd):
    # 100 vnodes, 20,000 keys, 20 seeds (each a new ring): 4 -> 5 mean 0.2004 sd 0.018 (theory of the new
    # shard's arcs: sqrt(4 / 501) / 5 = 0.0179); 8 -> 9 0.1092 sd 0.0084; 4 -> 8 0.4998 sd 0.0123.
    # Mean of 10 seeds: bound 4 sd / sqrt(10).
    measured = np.mean([c.keys_moved(before, after, "ring", vnodes=100, keys=20_000, seed=s) for s in range(10)])
    assert abs(measured - analytic.keys_moved(before, after, "ring")) < 4 * sd / math.sqrt(10)


def test_ring_moves_only_keys_to_the_new_shard():
    hashes = key_hash(np.arange(20_000))
    before, after = place(hashes, 4, "ring", 50), place(hashes, 5, "ring", 50)
    moved = before != after
    assert moved.any() and (after[moved] == 4).all(), "every key that moves goes to the new shard"


# -- balance: spread of the shards' shares vs virtual nodes --------------------------------------

@pytest.mark.parametrize("shards, vnodes", [(4, 10), (4, 100), (16, 10), (16, 100), (16, 1000)])
def test_ring_spread_follows_beta_theory(shards, vnodes):
    # The root mean square of the measured spread (std / mean of the shards' arcs) over 30 rings against
    # sqrt((n - 1) / (n v + 1)): 4 shards, 100 vnodes 0.0815 vs 0.0865; 16, 100: 0.0916 vs 0.0968;
    # 16, 10: 0.310 vs 0.305.  Relative noise of that mean: 1 / sqrt(2 x 30 x (n - 1)), 7.4 % for 4 shards.
    measured = math.sqrt(np.mean([spread(ring_shares(shards, vnodes, s)) ** 2 for s in range(30)]))
    theory = analytic.load_spread(vnodes, shards)
    assert abs(measured / theory - 1) < 4 / math.sqrt(2 * 30 * (shards - 1)), (measured, theory)


def test_spread_shrinks_like_one_over_root_v():
    assert analytic.load_spread(100) == pytest.approx(0.1)
    assert analytic.load_spread(400, 1_000) == pytest.approx(0.05, rel=0.01)
    for target, shards in [(0.1, None), (0.05, 8), (0.2, 4)]:
        v = analytic.vnodes_for_spread(target, shards)
        assert analytic.load_spread(v, shards) <= target < analytic.load_spread(max(1, v - 1), shards) or v == 1


# -- the celebrity and the fix ---------------------------------------------------------------------

def test_celebrity_traffic_lands_on_one_shard():
    # 8 shards, half the requests for the celebrity: celebrity requests 0.5 + 0.5 / H(10,000) = 0.5511;
    # 6 seeds of 5,000 requests: mean 0.5481, sd 0.0025.  Mean of 3 seeds: bound 0.01.
    arch, w = sharded(shards=8, celebrity_share=0.5), Workload.from_rate(300)
    results = [simulate(arch, w, requests=5_000, seed=s) for s in range(3)]
    expected = 0.5 + 0.5 * analytic.top_key_share(10_000)
    assert abs(np.mean([r.requests["celebrity"].mean() for r in results]) - expected) < 0.01
    for r in results:
        hot = r.requests.loc[r.requests["celebrity"], "shard"]
        assert hot.nunique() == 1, "every request for the celebrity goes to one shard"
        assert r.summary()["hot_shard_share"] >= expected - 0.02


def test_splitting_the_celebrity_spreads_it():
    # Split over 8 sub-keys the busiest shard carries about 0.21 instead of 0.58 (6 seeds, sd 0.004).
    w = Workload.from_rate(300)
    one = simulate(sharded(shards=8, celebrity_share=0.5), w, requests=5_000, seed=1).summary()["hot_shard_share"]
    split = simulate(sharded(shards=8, celebrity_share=0.5, split_celebrity=8), w, requests=5_000,
                     seed=1).summary()["hot_shard_share"]
    assert one > 0.55 and split < 0.3, (one, split)


def test_per_shard_load_in_components():
    result = simulate(sharded(shards=4), Workload.from_rate(200), requests=3_000, seed=2)
    table = result.components.set_index("component")
    shards = table.loc[[f"shard-{k}" for k in range(1, 5)]]
    assert shards["served"].sum() == 3_000 and (shards["served"] > 0).all()
    assert table.loc["shard router", "kind"] == "ShardRouter"


# -- fan-out ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 4, 16])
def test_cross_shard_query_waits_for_the_slowest(k):
    # Exponential 10 ms shards with 64 workers (no queueing): mean of the slowest of k is 10 x H(k);
    # measured 9.9 / 21.0 / 33.7 ms against 10.0 / 20.8 / 33.8 over 4,000 queries (sd of the mean <= 0.3 ms).
    result = simulate(sharded(shards=k, fanout=1.0, db_workers=64), Workload.from_rate(100, read_ratio=1.0),
                      requests=4_000, seed=1)
    assert (result.requests["shard"] == "all").all()
    measured = result.requests["shard router_ms"].mean()
    assert abs(measured / analytic.fanout_mean_ms(k, 10) - 1) < 0.06


def test_fanout_theory():
    assert analytic.fanout_cdf(0.99, 16) == pytest.approx(0.99**16)
    assert analytic.fanout_quantile_ms(0.99, 1, 10) == pytest.approx(10 * math.log(100))
    assert list(analytic.fanout_cdf([0.5, 1.0], 2)) == [0.25, 1.0]


# -- faults, determinism, contract -----------------------------------------------------------------

def test_a_dead_shard_fails_only_its_keys():
    arch = sharded(shards=4).fail("shard-2", at_s=5, recover_s=10)
    table = simulate(arch, Workload.from_rate(200), requests=3_000, seed=3).requests
    failed = table[table["status"] != "ok"]
    assert len(failed) > 0 and set(failed["shard"]) == {"shard-2"}
    assert set(failed["failed_at"]) == {"shard-2"}


def test_deterministic():
    arch, w = sharded(shards=3, scheme="modulo", celebrity_share=0.2, fanout=0.1), Workload.from_rate(200)
    first, second = (simulate(arch, w, requests=2_000, seed=7) for _ in range(2))
    assert_frame_equal(first.requests, second.requests)
    assert c.keys_moved(4, 5, "ring", keys=5_000, seed=3) == c.keys_moved(4, 5, "ring", keys=5_000, seed=3)
    assert list(ring_shares(4, 20, seed=1)) == list(ring_shares(4, 20, seed=1))


@settings(max_examples=120, deadline=None, derandomize=True)
@given(shards=st.integers(1, 6), scheme=st.sampled_from(["ring", "modulo"]), vnodes=st.sampled_from([1, 3, 50]),
       celebrity=st.sampled_from([0.0, 0.3, 0.8]), split=st.integers(1, 3), front=st.booleans(),
       workers=st.integers(1, 4), limit=st.one_of(st.none(), st.integers(0, 10)),
       timeout=st.one_of(st.none(), st.sampled_from([30.0, 500.0])), rate=st.sampled_from([50.0, 400.0, 1_500.0]),
       down=st.booleans(), requests=st.integers(1, 400), seed=st.integers(0, 2**20))
def test_router_without_events_gives_the_simpy_result(shards, scheme, vnodes, celebrity, split, front, workers,
                                                      limit, timeout, rate, down, requests, seed):
    arch = sharded(shards=shards, scheme=scheme, vnodes=vnodes, celebrity_share=celebrity, split_celebrity=split,
                   db_workers=workers, queue_limit=limit, timeout_ms=timeout)
    if down:  # a shard dies for a while (the engine takes simpy for it unless the shard has an event-free outage)
        arch = arch.fail("shard-1", at_s=0.2, recover_s=0.5)
    if not front:  # the router alone, as chapter 12's panel runs it
        arch = c.Architecture("router", arch.tiers[1:], dns=None)
    w = Workload.from_rate(rate, keys=1_000)
    slow = simulate(arch, w, requests=requests, seed=seed, engine="simpy")
    fast = simulate(arch, w, requests=requests, seed=seed, engine="auto" if down else "fast")
    assert_frame_equal(slow.requests, fast.requests)
    assert_frame_equal(slow.components, fast.components)
    assert_series_equal(slow.summary(), fast.summary())
    assert_frame_equal(slow.timeline(bins=7), fast.timeline(bins=7))


@pytest.mark.parametrize("arch", [sharded(fanout=0.2), sharded().fail("shard router", at_s=1, recover_s=2)])
def test_router_with_cross_shard_reads_or_outages_needs_events(arch):
    with pytest.raises(ValueError, match="needs events"):
        simulate(arch, Workload.from_rate(100), requests=50, engine="fast")


def test_contract():
    assert len(check_kind("ShardRouter")) == 7


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error", [
    ({"shards": 0}, ValueError), ({"shards": 2.5}, TypeError), ({"shards": "4"}, TypeError),
    ({"scheme": "hash"}, ValueError), ({"scheme": 3}, TypeError), ({"vnodes": 0}, ValueError),
    ({"vnodes": "many"}, TypeError), ({"celebrity_share": 1.5}, ValueError),
    ({"split_celebrity": 0}, ValueError), ({"fanout": -0.1}, ValueError)])
def test_sharded_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        sharded(**kwargs)


@pytest.mark.parametrize("args, kwargs, error", [
    ((0, 5), {}, ValueError), ((4, "5"), {}, TypeError), ((4, 5), {"scheme": "hash"}, ValueError),
    ((4, 5), {"scheme": None}, TypeError), ((4, 5), {"keys": 0}, ValueError), ((4, 5), {"vnodes": 1.5}, TypeError),
    ((4, 5), {"seed": -1}, ValueError)])
def test_keys_moved_rejects_bad_input(args, kwargs, error):
    with pytest.raises(error):
        c.keys_moved(*args, **kwargs)


def test_router_rejects_bad_shards():
    with pytest.raises(TypeError, match="Database"):
        ShardRouter(shards=("shard-1",))
    with pytest.raises(ValueError, match="differ"):
        ShardRouter(shards=shard_databases(2) + shard_databases(1))
    with pytest.raises(ValueError):
        analytic.load_spread(0)
    with pytest.raises(TypeError):
        analytic.top_key_share("many")


# ------------------------------------------------------------------ the picture of the ring

def _ring_router(shards, vnodes):
    return ShardRouter(shards=shard_databases(shards), scheme="ring", vnodes=vnodes)


@pytest.mark.parametrize("shards, vnodes", [(3, 4), (4, 30), (16, 1_000)])
def test_ring_picture_is_drawn_from_the_routers_ring(shards, vnodes):
    import re

    from chapter1.present import ring

    router = _ring_router(shards, vnodes)
    data = ring.ring_picture(router).data
    ticks = data.count('class="vnode"')
    assert ticks == (shards * vnodes if shards * vnodes <= ring.MAX_TICKS else 0)
    shares = [float(v) / 100 for v in re.findall(r"shard-\d+: ([\d.]+)%", data)]
    assert shares == pytest.approx(ring_shares(shards, vnodes).tolist(), abs=0.0006)  # printed to 0.1 %
    assert data.count('class="arcs"') == shards
    assert data == ring.ring_picture(router).data


def test_ring_picture_sends_each_key_clockwise_to_the_point_the_router_uses():
    from chapter1.components.shards import ring_points
    from chapter1.present.ring import key_points

    router = _ring_router(5, 20)
    keys = np.arange(500)
    turns, at, shard = key_points(router, keys)
    positions, owners = ring_points(tuple(s.name for s in router.shards), 20)
    assert np.array_equal(owners[at], shard)
    assert np.array_equal(shard, router.owners(keys))
    hashes = key_hash(keys)
    wraps = hashes > positions[-1]
    assert np.all(positions[at[~wraps]] >= hashes[~wraps]) and np.all(at[wraps] == 0)
    previous = np.where(at > 0, positions[at - 1], 0)   # no point between the key and its own: it is the first
    assert np.all((previous < hashes) | (at == 0))


def test_ring_picture_rejects_what_it_cannot_draw():
    from chapter1.present.ring import ring_picture

    with pytest.raises(ValueError, match="scheme"):
        ring_picture(ShardRouter(shards=shard_databases(2), scheme="modulo"))
    with pytest.raises(ValueError, match="keys"):
        ring_picture(_ring_router(2, 3), keys=range(20))
    with pytest.raises(TypeError, match="router"):
        ring_picture("ring")


def test_sharding_panel_redraws_the_ring_with_the_sliders():
    from chapter1.sections import sharding as sh

    few, many = sh.PANEL.draw(shards=3, vnodes=3, requests=300)[0].data, sh.PANEL.draw(shards=5, vnodes=3,
                                                                                          requests=300)[0].data
    assert few.count('class="vnode"') == 9 and many.count('class="vnode"') == 15
    assert "shard-5:" in many and "shard-5:" not in few


@pytest.mark.parametrize("seed", range(3))
def test_the_captions_overloaded_shard_waits_in_a_panel_run_and_times_out_when_the_load_lasts(seed):
    from chapter1.sections import sharding as section

    def run(requests):  # the panel's data tier: 4 shards, a 60 % celebrity, at the panel's rate
        return simulate(section.data_tier(4, 100, 0.6), Workload.from_rate(section.RATE, keys=section.KEYS),
                        requests=requests, seed=seed)

    short, long = run(2_000), run(20_000)  # 2.5 s and 25 s of traffic
    assert short.summary()["timeout_rate"] == 0 and 0.8 < np.nanmax(short.latency_ms) / 1_000 < 1.5
    assert 0.27 < long.summary()["timeout_rate"] < 0.31
    assert "2.5 s of traffic" in section.CAPTION and "about 29 %" in section.CAPTION
