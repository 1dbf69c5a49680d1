"""The CDN, the capstone's jobs, cache clusters before servers and replica sets, and its designs without events: the
simpy engine's Result, bit for bit."""

import math
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same

import chapter1 as c
from chapter1.capstone.design import Design, build, workload
from chapter1.capstone.kinds import CacheCluster, Jobs, ShardedData, cache_nodes
from chapter1.components.queue import Consumers, MessageQueue


@st.composite
def outages(draw):
    if draw(st.integers(0, 2)):
        return ()
    start = draw(st.floats(0.0, 6.0))
    return (c.Outage(start, start + draw(st.sampled_from([0.02, 0.5, 3.0, math.inf]))),)


@st.composite
def servers(draw, name):
    return c.Server(name=name, workers=draw(st.integers(1, 6)),
                    service_time_ms=draw(st.sampled_from([5.0, 30.0, 80.0])),
                    queue_limit=draw(st.one_of(st.none(), st.integers(0, 10))),
                    timeout_ms=draw(st.one_of(st.none(), st.sampled_from([100.0, 1_000.0]))), outages=draw(outages()))


@st.composite
def origins(draw):
    tiers = [draw(servers("origin"))]
    if draw(st.booleans()):
        members = tuple(draw(servers(f"web-{k + 1}")) for k in range(draw(st.integers(1, 3))))
        tiers = [c.LoadBalancer(name="balancer", servers=members, policy=draw(st.sampled_from(
            ["round_robin", "least_connections", "random"])))]
    if draw(st.booleans()):
        tiers.append(draw(servers("database")))
    if draw(st.booleans()):
        queue = MessageQueue(name="queue", consumers=Consumers(workers=draw(st.integers(1, 4)), service_time_ms=50))
        tiers.append(Jobs(share=draw(st.sampled_from([0.0, 0.3, 1.0])), queue=queue, outages=draw(outages())))
    return tuple(tiers)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(origin=origins(), regions=st.integers(1, 4), ttl_s=st.sampled_from([0.0, 2.0, 60.0]), static=st.floats(0, 1),
       warm=st.booleans(), deploy=st.sampled_from(["none", "ttl", "invalidate", "versioned"]), down=outages(),
       fallback=st.booleans(), edges=st.booleans(), round_trips=st.integers(0, 3), hit_ms=st.sampled_from([0.0, 1.0]),
       rate=st.sampled_from([10.0, 80.0, 300.0]), seed=st.integers(0, 2 ** 20), requests=st.integers(1, 400))
def test_a_cdn_in_front_of_any_origin_without_events(origin, regions, ttl_s, static, warm, deploy, down, fallback,
                                                     edges, round_trips, hit_ms, rate, seed, requests):
    cdn = c.CDN(origin=origin, regions=regions, ttl_s=ttl_s, static_share=static, warm=warm, outages=down,
                deploys=() if deploy == "none" else (1.5,), on_deploy="ttl" if deploy == "none" else deploy,
                fallback=fallback, serve_from_edges=edges, round_trips=round_trips, hit_ms=hit_ms)
    assert_same(c.Architecture("cdn", (cdn,), dns=None), c.Workload.from_rate(rate), requests, seed)


@pytest.mark.parametrize("design", [
    Design(cache_nodes=0), Design(cache_nodes=0, datacentres=3, shards=2, replicas=2, consumers=6),
    Design(cache_nodes=0, datacentres=1, sessions="sticky", replicas=0, web_servers=4),
    Design(cache_nodes=0, mode="active-passive", cdn=False)])
def test_capstone_designs_without_a_cache_run_without_events(design):
    arch = build(design)
    assert_same(arch, workload(), 2_000, 3)
    auto = c.simulate(arch, workload(), requests=2_000, seed=3)
    assert auto.requests.equals(c.simulate(arch, workload(), requests=2_000, seed=3, engine="fast").requests)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(count=st.integers(1, 4), capacity=st.integers(1, 120), policy=st.sampled_from(["lru", "lfu", "fifo", "random"]),
       node_down=outages(), cluster_down=outages(), hit_ms=st.sampled_from([0.0, 1.0]), backend=servers("database"),
       front=st.booleans(), keys=st.sampled_from([500, 5_000]), read=st.floats(0.5, 1.0),
       rate=st.sampled_from([20.0, 100.0, 400.0]), seed=st.integers(0, 2 ** 20), requests=st.integers(1, 500))
def test_a_cache_cluster_before_a_server_without_events(count, capacity, policy, node_down, cluster_down, hit_ms,
                                                        backend, front, keys, read, rate, seed, requests):
    nodes = cache_nodes(count, capacity)
    nodes = (replace(nodes[0], outages=node_down),) + nodes[1:]
    cluster = CacheCluster(nodes=nodes, backend=backend, policy=policy, hit_ms=hit_ms, outages=cluster_down)
    tiers = ((c.Server(name="web", workers=4, service_time_ms=10.0),) if front else ()) + (cluster,)
    load = c.Workload.from_rate(rate, keys=keys, read_ratio=read)
    assert_same(c.Architecture("cluster", tiers, dns=None), load, requests, seed)


@st.composite
def replica_sets(draw, name="database"):
    """A primary and 0-3 replicas: lags from none to a second, replays free or dearer than a read, either routing,
    queue limits and timeouts on every database."""
    db = {"workers": draw(st.integers(1, 4)), "service_time_ms": draw(st.sampled_from([5.0, 10.0, 30.0])),
          "queue_limit": draw(st.sampled_from([None, 0, 3, 1_000])),
          "timeout_ms": draw(st.sampled_from([None, 30.0, 300.0]))}
    replicas = tuple(c.Replica(name=f"{name} replica-{k + 1}", **db) for k in range(draw(st.integers(0, 3))))
    return c.ReplicaSet(name=name, primary=c.Database(name=f"{name} primary", **db), replicas=replicas,
                        replication_lag_ms=draw(st.sampled_from([0.0, 5.0, 100.0, 1_000.0])),
                        routing=draw(st.sampled_from(["random", "round_robin"])),
                        replay_cost=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])))


@st.composite
def data_tiers(draw):
    """A replica set, or a shard router over one to three of them (either scheme, a celebrity key or none)."""
    if draw(st.booleans()):
        return draw(replica_sets())
    sets = tuple(draw(replica_sets(f"shard-{k + 1}")) for k in range(draw(st.integers(1, 3))))
    return ShardedData(shards=sets, scheme=draw(st.sampled_from(["ring", "modulo"])),
                       celebrity_share=draw(st.sampled_from([0.0, 0.2])), split_celebrity=draw(st.integers(1, 2)))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(data=data_tiers(), count=st.integers(1, 3), capacity=st.integers(1, 120),
       policy=st.sampled_from(["lru", "lfu", "fifo", "random"]), node_down=outages(), cluster_down=outages(),
       hit_ms=st.sampled_from([0.0, 1.0]), front=st.booleans(), keys=st.sampled_from([400, 5_000]),
       read=st.sampled_from([0.5, 0.8, 1.0]), rate=st.sampled_from([20.0, 100.0, 400.0]), seed=st.integers(0, 2 ** 20),
       requests=st.integers(1, 500))
def test_a_cache_cluster_before_replica_sets_without_events(data, count, capacity, policy, node_down, cluster_down,
                                                            hit_ms, front, keys, read, rate, seed, requests):
    """Reads that miss and every write pass one at a time to a replica set (or a shard router over them): the
    replicas' replays join their lines between reads, stale reads are settled afterwards; the simpy Result."""
    nodes = cache_nodes(count, capacity)
    nodes = (replace(nodes[0], outages=node_down),) + nodes[1:]
    cluster = CacheCluster(nodes=nodes, backend=data, policy=policy, hit_ms=hit_ms, outages=cluster_down)
    tiers = ((c.Server(name="web", workers=4, service_time_ms=10.0),) if front else ()) + (cluster,)
    assert_same(c.Architecture("cluster", tiers, dns=None), c.Workload.from_rate(rate, keys=keys, read_ratio=read),
                requests, seed)


def _sharded(data):
    return ShardedData(shards=(data, replace(data, name="shard-2", primary=replace(data.primary, name="p2"),
                                             replicas=(replace(data.replicas[0], name="r2"),))))


@pytest.mark.parametrize("data", [
    c.ReplicaSet(primary=c.Database(name="p"), replicas=(c.Replica(name="r"),), mode="sync"),
    c.ReplicaSet(primary=c.Database(name="p").fail(1.0, 3.0), replicas=(c.Replica(name="r"),), failover_s=0.5),
    c.ReplicaSet(primary=c.Database(name="p"), replicas=(c.Replica(name="r").fail(2.0),)),
    c.ReplicaSet(primary=c.Database(name="p"), replicas=(c.Replica(name="r"),)).fail(1.0, 2.0)])
@pytest.mark.parametrize("shard", [False, True])
def test_sync_writes_and_deaths_behind_a_cluster_stay_with_simpy(data, shard):
    cluster = CacheCluster(nodes=cache_nodes(2, 50), backend=_sharded(data) if shard else data)
    arch, load = c.Architecture("cluster", (cluster,), dns=None), c.Workload.from_rate(200, keys=500, read_ratio=0.7)
    with pytest.raises(ValueError, match="needs events"):
        c.simulate(arch, load, requests=100, engine="fast")
    auto = c.simulate(arch, load, requests=1_000, seed=2).requests
    pd.testing.assert_frame_equal(auto, c.simulate(arch, load, requests=1_000, seed=2, engine="simpy").requests)


@pytest.mark.parametrize("design", [Design(), Design(datacentres=3, cache_nodes=4, shards=3, replicas=3),
                                    Design(datacentres=1, cache_nodes=2, replicas=0, sessions="sticky"),
                                    Design(datacentres=4, cache_nodes=6, shards=4, replicas=4, mode="active-passive")])
def test_capstone_designs_with_a_cache_run_without_events(design):
    arch = build(design)
    assert_same(arch, workload(), 2_000, 5)
    auto = c.simulate(arch, workload(), requests=2_000, seed=5)
    assert auto.requests.equals(c.simulate(arch, workload(), requests=2_000, seed=5, engine="fast").requests)
    hits = [name for name in auto.requests.columns if name.endswith("cache")]
    assert any((auto.requests[name] == "hit").any() for name in hits)  # reads answered by the cache nodes
    assert design.replicas == 0 or auto.components["replayed"].sum() > 0  # and writes replayed by the replicas
