"""The CDN, the capstone's jobs and its designs without events: the simpy engine's Result, bit for bit."""

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same

import chapter1 as c
from chapter1.capstone.design import Design, build, workload
from chapter1.capstone.kinds import CacheCluster, Jobs, cache_nodes
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


def test_a_cluster_before_a_backend_without_one_request_admission_stays_with_simpy():
    """The capstone's clusters sit before replica sets, which admit requests in batches only: simpy runs them."""
    with pytest.raises(ValueError, match="needs events"):
        c.simulate(build(Design(cache_nodes=1)), workload(), requests=200, engine="fast")
