"""The rules of chapter1/components/shards.py: the hash, the ring, who owns a key, resharding, the router at run time.

Short runs (a few hundred requests) of a router alone (no DNS, no web tier), each request's shard checked
against the rule the module states.
"""

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from chapter1 import Workload, simulate
from chapter1.components import Database, ShardRouter, WebServer
from chapter1.components.shards import (
    key_hash,
    keys_moved,
    place,
    ring_points,
    ring_shares,
    shard_databases,
    shard_names,
    spread,
    with_shards,
)
from chapter1.core.architecture import Architecture
from chapter1.core.simulation import Simulation


def routed(requests=400, seed=0, read_ratio=0.9, keys=50, down=None, **options):
    """A run of a router over 4 shards (1 worker, constant 10 ms each) alone; ``down``: {shard name: (start, end)}."""
    shards = tuple(Database(name=n, workers=1, service_time_ms=10, distribution="constant") for n in shard_names(4))
    shards = tuple(s.fail(*down[s.name]) if down and s.name in down else s for s in shards)
    router = ShardRouter(shards=shards, **options)
    arch = Architecture("sharded", (router,), dns=None)
    return router, simulate(arch, Workload.from_rate(20, keys=keys, read_ratio=read_ratio), requests=requests,
                            seed=seed)


# -- the hash and the ring -----------------------------------------------------------------------

def test_key_hash_is_splitmix64():
    # splitmix64 seeded with 0 gives 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f (its reference
    # outputs): key 0 with salt s is its output number s + 1
    hashes = key_hash(np.zeros(3, dtype=np.int64), np.arange(3))
    assert [int(h) for h in hashes] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert hashes.dtype == np.uint64 and int(key_hash([1])[0]) != int(key_hash([1], 1)[0])


def test_a_ring_has_vnodes_sorted_points_per_shard_and_a_shard_keeps_its_points_when_others_join():
    positions, owners = ring_points(shard_names(3), 20)
    assert len(positions) == 60 and np.bincount(owners).tolist() == [20, 20, 20]
    assert np.all(np.diff(positions.astype(float)) >= 0)
    bigger, bigger_owners = ring_points(shard_names(4), 20)
    assert set(positions.tolist()) < set(bigger.tolist())
    assert set(bigger[bigger_owners == 3].tolist()).isdisjoint(positions.tolist())
    other, _ = ring_points(shard_names(3), 20, salt=1)
    assert not set(other.tolist()) & set(positions.tolist())
    assert not positions.flags.writeable and not owners.flags.writeable


def test_a_key_belongs_to_the_first_point_at_or_after_it_on_the_ring_going_round_past_the_top():
    positions, owners = ring_points(shard_names(3), 4)
    top = np.uint64(0xFFFFFFFFFFFFFFFF)
    hashes = np.concatenate([positions, positions + np.uint64(1), [np.uint64(0), top]])
    expected = np.concatenate([owners, np.roll(owners, -1), [owners[0], owners[0]]])
    assert place(hashes, 3, "ring", 4).tolist() == expected.tolist()


def test_modulo_places_a_hash_by_its_remainder():
    hashes = np.array([0, 5, 7, 2**64 - 1], dtype=np.uint64)
    assert place(hashes, 4).tolist() == [0, 1, 3, 3]
    assert place(hashes, 4).dtype == np.int64
    assert place([2**62 + 1, 2**62 + 3], 4).tolist() == [1, 3]  # hashes as plain ints, exactly
    assert place(hashes, 3, "ring").tolist() == place(hashes, 3, "ring", vnodes=1).tolist()  # one point a shard


def test_ring_shares_are_the_arcs_keys_land_on():
    # 40,000 evenly spread hashes: each shard's count over 40,000 is its arc to within 1/40,000 per point
    shares = ring_shares(3, 10, seed=2)
    assert shares.sum() == pytest.approx(1.0) and len(shares) == 3
    hashes = (np.arange(40_000, dtype=np.float64) / 40_000 * 2.0**64).astype(np.uint64)
    counts = np.bincount(place(hashes, 3, "ring", 10, salt=2), minlength=3) / 40_000
    assert counts == pytest.approx(shares, abs=30 / 40_000)
    assert ring_shares(1, 5).tolist() == [pytest.approx(1.0)]


def test_spread_is_the_coefficient_of_variation():
    assert spread([0.2, 0.3, 0.5]) == pytest.approx(np.std([0.2, 0.3, 0.5]) / (1 / 3))
    assert spread([]) == 0.0 and spread([0, 0]) == 0.0 and spread([2, 2, 2]) == 0.0


# -- resharding ----------------------------------------------------------------------------------

def test_adding_a_shard_moves_most_keys_under_modulo_and_few_on_a_ring():
    # 20,000 keys: a share's sd is at most 0.0035; bounds 0.02
    assert keys_moved(4, 5, keys=20_000) == pytest.approx(0.8, abs=0.02)
    assert keys_moved(4, 5, "ring", vnodes=200, keys=20_000) == pytest.approx(0.2, abs=0.06)
    assert keys_moved(4, 4, "ring", keys=1_000) == 0.0 and keys_moved(3, 3, keys=1_000) == 0.0
    assert keys_moved(1, 2, keys=20_000) == pytest.approx(0.5, abs=0.02)


def test_resharding_on_a_ring_only_moves_keys_to_the_new_shard():
    hashes = key_hash(np.arange(5_000))
    before, after = place(hashes, 4, "ring", 50), place(hashes, 5, "ring", 50)
    assert set(after[before != after].tolist()) == {4}


@pytest.mark.parametrize(("call", "words"), [
    (lambda: keys_moved(0, 2), r"^shards_before must be a whole number in the range \[1, 256\]; got 0$"),
    (lambda: keys_moved(2, 257), r"^shards_after must be a whole number in the range \[1, 256\]; got 257$"),
    (lambda: keys_moved(2, 3, "hash"), r"^scheme must be one of 'modulo', 'ring'; got 'hash'$"),
    (lambda: keys_moved(2, 3, vnodes=10_001), r"^vnodes must be a whole number in the range \[1, 10,000\]"),
    (lambda: keys_moved(2, 3, keys=0), r"^keys must be a whole number in the range \[1, 10,000,000\]; got 0$"),
    (lambda: keys_moved(2, 3, seed=-1), r"^seed must be a whole number >= 0; got -1$"),
    (lambda: ring_shares(257, 1), r"^shards must be a whole number in the range \[1, 256\]; got 257$"),
    (lambda: ring_shares(2, 0), r"^vnodes must be a whole number in the range \[1, 10,000\]; got 0$"),
    (lambda: ring_shares(2, 2, seed=-1), r"^seed must be a whole number >= 0; got -1$"),
    (lambda: shard_databases(0), r"^shards must be a whole number in the range \[1, 256\]; got 0$"),
])
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_a_scheme_that_is_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match=r"^scheme must be one of \('modulo', 'ring'\); got 3$"):
        keys_moved(2, 3, 3)
    with pytest.raises(TypeError, match="^scheme must be one of"):
        ShardRouter(scheme=None)


# -- the router spec -----------------------------------------------------------------------------

def test_router_bounds_are_inclusive_and_named():
    ShardRouter(shards=shard_databases(256), vnodes=10_000, celebrity_share=1, split_celebrity=256, fanout=1)
    ShardRouter(shards=shard_databases(1), vnodes=1, celebrity_share=0, split_celebrity=1, fanout=0)
    with pytest.raises(ValueError, match=r"^shards must hold 1 to 256 databases; got 0$"):
        ShardRouter(shards=())
    with pytest.raises(ValueError, match=r"^shards must hold 1 to 256 databases; got 257$"):
        ShardRouter(shards=tuple(Database(name=f"s{k}") for k in range(257)))
    with pytest.raises(ValueError, match=r"^shard names must differ; got \['a', 'a'\]$"):
        ShardRouter(shards=(Database(name="a"), Database(name="a")))
    with pytest.raises(TypeError, match=r"shards must hold Database objects \(e.g. Database\(name='shard-1'\)\)"):
        ShardRouter(shards=(WebServer(),))
    for name, value, shown in (("vnodes", 0, r"a whole number in the range \[1, 10,000\]"),
                               ("celebrity_share", 1.5, r"a number in the range \[0, 1\]"),
                               ("split_celebrity", 257, r"a whole number in the range \[1, 256\]"),
                               ("fanout", -0.1, r"a number in the range \[0, 1\]")):
        with pytest.raises(ValueError, match=rf"^{name} must be {shown}; got "):
            ShardRouter(**{name: value})
    assert isinstance(ShardRouter(shards=[Database(name="a")]).shards, tuple)


def test_what_the_diagram_says():
    assert ShardRouter(shards=shard_databases(4), scheme="modulo").describe() == ["hash mod 4", "4 shards"]
    one = ShardRouter(shards=shard_databases(1), vnodes=50, celebrity_share=0.3, fanout=0.1)
    assert one.describe() == ["ring, 50 vnodes per shard", "1 shard", "celebrity 30%", "cross-shard reads 10%"]
    split = ShardRouter(celebrity_share=0.25, split_celebrity=2)
    assert split.describe()[2] == "celebrity 25%, split 2"
    assert split.label() == "4 shards (ring)" and split.part_note(split.shards[0]) == []
    assert [s.name for s in split.parts] == list(shard_names(4))


def test_owners_place_keys_by_the_shards_names():
    router = ShardRouter(shards=shard_databases(3), vnodes=7)
    keys = np.arange(200)
    assert router.owners(keys).tolist() == place(key_hash(keys), 3, "ring", 7).tolist()
    renamed = ShardRouter(shards=tuple(Database(name=n) for n in "abc"), vnodes=7)
    assert renamed.owners(keys).tolist() == place(key_hash(keys), 3, "ring", 7, ("a", "b", "c")).tolist()
    assert renamed.owners(keys).tolist() != router.owners(keys).tolist()
    modulo = ShardRouter(shards=shard_databases(3), scheme="modulo")
    assert modulo.owners(keys).tolist() == (key_hash(keys) % np.uint64(3)).astype(int).tolist()


def test_with_shards_copies_the_first_shard():
    router = ShardRouter(shards=(Database(name="x", workers=7).fail(at_s=1), Database(name="y")), scheme="modulo")
    grown = with_shards(router, 3)
    assert [(s.name, s.workers, s.outages) for s in grown.shards] == [(n, 7, ()) for n in shard_names(3)]
    assert grown.scheme == "modulo" and len(with_shards(router, 256).shards) == 256
    with pytest.raises(ValueError, match=r"^shards must be a whole number in the range \[1, 256\]; got 0$"):
        with_shards(router, 0)
    assert [s.workers for s in shard_databases(2, workers=3)] == [3, 3]


# -- the router at run time ----------------------------------------------------------------------

def test_each_request_goes_to_the_shard_that_owns_its_key():
    router, result = routed(scheme="ring", vnodes=20)
    table = result.requests
    assert table["shard"].tolist() == [f"shard-{k + 1}" for k in router.owners(table["shard_key"].to_numpy())]
    assert table["celebrity"].tolist() == (table["shard_key"] == 0).tolist()
    assert not table["cross_shard"].any() and (table["shard router_ms"] > 10 - 1e-9).all()
    assert table["shard router_ms"].min() == pytest.approx(10.0)  # a request that did not wait: its 10 ms of work
    assert result.components.set_index("component").loc["shard router", "served"] == 400
    counts = table["shard"].value_counts()
    assert result.summary()["hot_shard_share"] == pytest.approx(counts.max() / 400)


def test_the_celebrity_takes_its_share_of_requests_to_one_shard():
    # celebrity_share 0.5 of 400 requests: 200 +- 40 (4 sd) are turned to key 0, all on its shard; the others keep
    # their own keys (the same draws as with no celebrity)
    router, result = routed(celebrity_share=0.5)
    table = result.requests
    plain = routed(celebrity_share=0.0)[1].requests
    star = router.owners(np.array([0]))[0]
    hot = table[table["celebrity"]]
    assert (hot["shard_key"] == 0).all() and set(hot["shard"]) == {f"shard-{star + 1}"}
    turned = (table["shard_key"] != plain["shard_key"]).sum()
    assert abs(turned + (plain["shard_key"] == 0).sum() * 0.5 - 200) < 40
    assert table.loc[~table["celebrity"], "shard_key"].tolist() == plain.loc[~table["celebrity"], "shard_key"].tolist()
    _, everyone = routed(celebrity_share=1.0)
    assert everyone.summary()["hot_shard_share"] == 1.0


@pytest.mark.parametrize("split", [2, 3, 4])
def test_a_split_celebrity_spreads_over_the_shards_of_its_sub_keys(split):
    router, result = routed(celebrity_share=0.8, split_celebrity=split)
    table = result.requests
    subs = router.owners(np.zeros(split, dtype=np.int64), np.arange(split) + 1)
    hot = table[table["celebrity"]]
    assert set(hot["shard"]) == {f"shard-{k + 1}" for k in subs} and len(set(subs.tolist())) > 1
    # each sub-key gets its share of the celebrity's 320 or so requests: counts per shard follow the sub-keys' owners
    shares = hot["shard"].value_counts(normalize=True)
    for k in set(subs.tolist()):
        assert shares[f"shard-{k + 1}"] == pytest.approx(np.mean(subs == k), abs=0.12)
    cold = table[~table["celebrity"]]
    assert cold["shard"].tolist() == [f"shard-{k + 1}" for k in router.owners(cold["shard_key"].to_numpy())]


def test_a_cross_shard_read_waits_for_every_shard_and_writes_never_fan_out():
    # fanout 1: every read visits all four shards (each one worker, 10 ms)
    router, result = routed(requests=200, fanout=1.0, read_ratio=0.7)
    table = result.requests
    writes = Simulation(Architecture("sharded", (router,), dns=None), Workload.from_rate(20, read_ratio=0.7), 200,
                        0).write
    assert table["cross_shard"].tolist() == (~writes).tolist() and 0 < writes.mean() < 1
    assert set(table.loc[table["cross_shard"], "shard"]) == {"all"}
    assert (table.loc[table["cross_shard"], "shard router_ms"] > 10 - 1e-9).all()
    single = table[~table["cross_shard"]]
    assert result.summary()["hot_shard_share"] == pytest.approx(single["shard"].value_counts().max() / len(single))
    util = [result.utilization(n) for n in shard_names(4)]
    assert min(util) > 0.6 * max(util)


def test_a_dead_shard_fails_its_keys_and_every_cross_shard_query():
    _, result = routed(requests=300, fanout=0.3, down={"shard-2": (2.0, 8.0)})
    table = result.requests
    # 0.3 of about 270 reads fan out: 81 +- 32 (4 sd)
    assert abs(table["cross_shard"].sum() - 81) < 32
    during = table[(table["arrival_s"] > 2.05) & (table["arrival_s"] < 7.95)]
    failing = during[(during["shard"] == "shard-2") | during["cross_shard"]]
    assert len(failing) > 10 and (failing["status"] != "ok").all() and set(failing["failed_at"]) == {"shard-2"}
    others = during[~during.index.isin(failing.index)]
    assert (others["status"] == "ok").all()


def test_a_dead_router_fails_everything_and_routes_nothing():
    shards = shard_databases(2, workers=1, service_time_ms=10)
    router = ShardRouter(shards=shards).fail(at_s=1.0, recover_s=3.0)
    result = simulate(Architecture("r", (router,), dns=None), Workload.from_rate(20), requests=100, seed=1)
    table = result.requests
    dead = (table["arrival_s"] >= 1.0) & (table["arrival_s"] < 3.0)
    assert dead.sum() > 10 and (table.loc[dead, "status"] != "ok").all() and (table.loc[~dead, "status"] == "ok").all()
    assert (table.loc[dead, "shard"] == "").all() and set(table.loc[dead, "failed_at"]) == {"shard router"}
    assert result.components.set_index("component").loc["shard router", "served"] == (~dead).sum()


def test_the_event_free_path_gives_the_same_answer_and_names_the_shard_that_refused():
    shards = tuple(Database(name=n, workers=1, service_time_ms=30, queue_limit=1) for n in shard_names(3))
    arch = Architecture("sharded", (ShardRouter(shards=shards, vnodes=5),), dns=None)
    workload = Workload.from_rate(150, keys=30)
    fast, slow = (simulate(arch, workload, requests=300, seed=4, engine=e) for e in ("fast", "simpy"))
    pd.testing.assert_frame_equal(fast.requests, slow.requests)
    refused = fast.requests[fast.requests["status"] != "ok"]
    assert len(refused) > 10 and (refused["failed_at"] == refused["shard"]).all()
    assert fast.summary()["hot_shard_share"] == slow.summary()["hot_shard_share"] > 1 / 3
    assert fast.requests["shard router_ms"].notna().all() and (refused["shard router_ms"] < 1e-9).all()
    assert fast.components.set_index("component").loc["shard router", "served"] == 300


def test_which_routers_run_without_events():
    workload = Workload.from_rate(20)
    for router, fast in ((ShardRouter(), True), (ShardRouter(fanout=0.1), False),
                         (ShardRouter().fail(at_s=5), False),
                         (ShardRouter(shards=(Database(name="a").fail(at_s=1),)), True),
                         (ShardRouter(shards=(Database(name="a", distribution="constant"),)), True)):
        arch = Architecture("r", (router,), dns=None)
        if fast:
            simulate(arch, workload, requests=20, engine="fast")
        else:
            with pytest.raises(ValueError, match="engine='fast' needs every tier"):
                simulate(arch, workload, requests=20, engine="fast")


def test_a_point_sits_where_its_shard_name_and_number_hash_to():
    """Each point is the 8-byte BLAKE2b digest of "<shard name>#<point number>#<salt>", read as a big-endian number."""
    positions, owners = ring_points(("east", "west"), 3, salt=2)
    expected = {int.from_bytes(hashlib.blake2b(f"{name}#{v}#2".encode(), digest_size=8).digest(), "big"): k
                for k, name in enumerate(("east", "west")) for v in range(3)}
    assert dict(zip([int(p) for p in positions], owners.tolist())) == expected


def test_the_keys_that_move_to_a_new_shard_are_those_on_its_arcs_of_that_seeds_ring():
    # 3 points a shard: the new shard's arcs differ a lot from ring to ring; 100,000 keys: sd 0.0013, bound 0.006
    for seed in (0, 1, 2):
        assert keys_moved(4, 5, "ring", vnodes=3, keys=100_000, seed=seed) == pytest.approx(
            ring_shares(5, 3, seed=seed)[4], abs=0.006)
    assert ring_points(shard_names(2), 3.0)[0].tolist() == ring_points(shard_names(2), 3)[0].tolist()


def test_with_every_request_fanned_out_no_shard_is_hot():
    _, result = routed(requests=60, fanout=1.0, read_ratio=1.0)
    assert set(result.requests["shard"]) == {"all"} and result.summary()["hot_shard_share"] == 0.0


def test_one_constant_time_shard_is_enough_to_flag_exact_ties():
    shards = (Database(name="a", distribution="constant"), Database(name="b"))
    arch = Architecture("r", (WebServer(distribution="constant"), ShardRouter(shards=shards)))
    with pytest.raises(ValueError, match="constant service times"):
        simulate(arch, Workload.from_rate(20), requests=20, engine="fast")
    simulate(Architecture("r", (WebServer(distribution="constant"), ShardRouter(shards=shard_databases(2)))),
             Workload.from_rate(20), requests=20, engine="fast")


def test_shard_databases_stops_at_256():
    assert len(shard_databases(256)) == 256
    with pytest.raises(ValueError, match=r"^shards must be a whole number in the range \[1, 256\]; got 257$"):
        shard_databases(257)


def test_the_measures_are_the_same_every_time_and_their_defaults_are_the_documented_ones():
    assert keys_moved(4, 5, "ring", keys=20_000, seed=3) == keys_moved(4, 5, "ring", keys=20_000, seed=3)
    assert keys_moved(4, 5, "ring") == keys_moved(4, 5, "ring", vnodes=100, keys=100_000, seed=0)
    assert ring_shares(3, 10).tolist() == ring_shares(3, 10, seed=0).tolist()


def test_the_router_reports_no_queue_of_its_own():
    router = ShardRouter(shards=shard_databases(2, workers=1, service_time_ms=10))
    sim = Simulation(Architecture("r", (router,), dns=None), Workload.from_rate(20), 50, 0)
    sim.run()
    row = sim.tiers[0].row()
    assert sorted(row) == ["mean_wait_ms", "served", "workers"] and row["workers"] is None and row["served"] == 50
    assert math.isnan(row["mean_wait_ms"])
