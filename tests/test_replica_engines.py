"""A replica set without faults runs without events: the same Result as the simpy engine, bit for bit.

Random replica sets (0-4 replicas, lags from none to a second, replays free or dearer than a read,
random or round-robin reads, queue limits and timeouts on every database), alone or behind a web tier
and DNS, at light load and in overload, with few keys (writes revisit them: stale reads) and many.
"""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same

import chapter1 as c


@st.composite
def replica_sets(draw):
    arch = c.replicated(replicas=draw(st.integers(0, 4)), replication_lag_ms=draw(st.sampled_from([0.0, 5.0, 100.0,
                                                                                                    1_000.0])),
                        routing=draw(st.sampled_from(["random", "round_robin"])),
                        replay_cost=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])), db_workers=draw(st.integers(1, 5)),
                        db_service_ms=draw(st.sampled_from([5.0, 10.0, 30.0])), web_workers=draw(st.integers(1, 16)),
                        queue_limit=draw(st.sampled_from([None, 0, 3, 1_000])),
                        timeout_ms=draw(st.sampled_from([None, 30.0, 300.0])))
    if draw(st.booleans()):  # the data tier alone, as chapter 05's panel runs it
        arch = dataclasses.replace(arch, tiers=arch.tiers[1:], dns=None)
    return arch


@settings(max_examples=250, deadline=None, derandomize=True)
@given(arch=replica_sets(), rate=st.sampled_from([20.0, 100.0, 300.0, 800.0]),
       reads=st.sampled_from([0.0, 0.5, 0.9, 1.0]), keys=st.sampled_from([10, 1_000]), seed=st.integers(0, 2**20),
       requests=st.integers(1, 500))
def test_a_replica_set_runs_without_events_as_with_them(arch, rate, reads, keys, seed, requests):
    assert_same(arch, c.Workload.from_rate(rate, read_ratio=reads, keys=keys), requests, seed)


def test_the_panel_design_runs_without_events_and_shows_what_it_measures():
    arch = dataclasses.replace(c.replicated(replicas=2, routing="random"), dns=None)
    arch = dataclasses.replace(arch, tiers=arch.tiers[1:])
    workload = c.Workload.from_rate(800, read_ratio=0.75, keys=100)  # the replicas overloaded by replays
    assert_same(arch, workload, 2_000, 3)
    result = c.simulate(arch, workload, requests=2_000, seed=3)
    summary = result.summary()
    assert summary["stale_read_ratio"] > 0.01  # few keys, 100 ms of lag: some reads find a write in flight
    assert result.components.set_index("component").loc["replica-1", "replayed"] > 0


@pytest.mark.parametrize("arch", [c.replicated(mode="sync"), c.replicated().fail("replica-1", 2.0),
                                  c.replicated(distribution="constant")])
def test_sync_writes_deaths_and_constant_times_keep_the_event_loop(arch):
    with pytest.raises(ValueError, match="engine='fast' needs every tier to run without events"):
        c.simulate(arch, c.Workload.from_rate(20), requests=100, engine="fast")


@pytest.mark.parametrize("scheme", ["ring", "modulo"])
def test_replica_sets_as_shards_run_without_events_as_with_them(scheme):
    from chapter1.capstone.kinds import ShardedData, _replica_sets
    sets = tuple(dataclasses.replace(s, replication_lag_ms=200.0, replicas=tuple(
        c.Replica(name=f"{s.name} replica-{k + 1}", workers=4) for k in range(2))) for s in _replica_sets(3))
    arch = c.Architecture("sharded replicas", (c.WebServer(workers=8, service_time_ms=20),
                                               ShardedData(shards=sets, scheme=scheme)))
    workload = c.Workload.from_rate(150, read_ratio=0.8, keys=50)
    for seed in range(3):
        assert_same(arch, workload, 800, seed)
    assert c.simulate(arch, workload, requests=800, seed=0, engine="fast").summary()["stale_read_ratio"] > 0


def test_sharded_replica_sets_report_each_sets_figures_and_the_overall_ones():
    from chapter1.capstone.kinds import ShardedData, _replica_sets
    sets = tuple(dataclasses.replace(s, replication_lag_ms=200.0, replicas=tuple(
        c.Replica(name=f"{s.name} replica-{k + 1}", workers=4) for k in range(2))) for s in _replica_sets(3))
    arch = c.Architecture("sharded replicas", (c.WebServer(workers=8, service_time_ms=20), ShardedData(shards=sets)))
    result = c.simulate(arch, c.Workload.from_rate(150, read_ratio=0.8, keys=50), requests=2_000, seed=4)
    summary = result.summary()
    each = {r.spec.name: r.figures() for r in result.runtimes if "stale_read_ratio" in r.figures()}
    assert len(each) == 3 and all(summary[f"{name}_stale_read_ratio"] == f["stale_read_ratio"]
                                  for name, f in each.items())
    stale, reads = (sum(getattr(f["stale_read_ratio"], side) for f in each.values()) for side in ("part", "whole"))
    assert reads > 0 and summary["stale_read_ratio"] == stale / reads  # every set's reads, not the last set's
    assert summary["lost_writes"] == sum(f["lost_writes"] for f in each.values())
