"""The cache without events: a read-through cache (any policy, TTL, write handling, flushes, warm or cold) in
front of a database gives the simpy engine's Result bit for bit, and runs without events by default."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same

import chapter1 as c
from chapter1.components.cache import Cache
from chapter1.components.eviction import EVICTION


@st.composite
def databases(draw):
    return c.Database(
        name="database",
        workers=draw(st.integers(1, 6)),
        service_time_ms=draw(st.sampled_from([2.0, 10.0, 25.0, 80.0])),
        distribution=draw(st.sampled_from(["exponential", "constant"])),
        queue_limit=draw(st.one_of(st.none(), st.integers(0, 10))),
        timeout_ms=draw(st.one_of(st.none(), st.sampled_from([30.0, 200.0]))),
        outages=draw(st.sampled_from([(), (c.Outage(1.0, 2.5),), (c.Outage(0.5, math.inf),)])),
    )


@st.composite
def cached_designs(draw):
    keys = draw(st.sampled_from([50, 400, 3_000]))
    cache = Cache(
        name="cache", backend=draw(databases()), capacity=draw(st.integers(1, keys)),
        policy=draw(st.sampled_from(sorted(EVICTION))),
        ttl_s=draw(st.sampled_from([None, 0.05, 0.5, 3.0])),
        hit_ms=draw(st.sampled_from([0.0, 1.0, 4.0])),
        on_write=draw(st.sampled_from(["invalidate", "update", "ignore"])),
        warm=draw(st.booleans()),
        flushes=tuple(draw(st.lists(st.sampled_from([0.0, 0.3, 1.2, 2.0]), max_size=2))),
    )
    front = ()
    if draw(st.booleans()):  # a web tier in front (exponential: a constant one and a constant hit could tie)
        front = (c.WebServer(name="web", workers=draw(st.integers(1, 4)), service_time_ms=draw(
            st.sampled_from([5.0, 30.0])), queue_limit=None, timeout_ms=None),)
    dns = draw(st.sampled_from([None, c.DNS()]))
    workload = c.Workload.from_rate(draw(st.sampled_from([20.0, 150.0, 600.0])), keys=keys,
                                    zipf_s=draw(st.sampled_from([0.6, 1.0])),
                                    read_ratio=draw(st.sampled_from([1.0, 0.9, 0.5])))
    return c.Architecture("cached", front + (cache,), dns=dns), workload


@settings(max_examples=250, deadline=None, derandomize=True)
@given(design=cached_designs(), seed=st.integers(0, 2**20), requests=st.integers(1, 600))
def test_the_cache_without_events_gives_the_simpy_result(design, seed, requests):
    arch, workload = design
    assert_same(arch, workload, requests, seed)


def test_the_chapters_flushed_cache_runs_without_events_and_shows_the_cold_cache():
    from chapter1.sections import observability as obs

    arch, workload = obs.system("the cache is flushed")
    assert_same(arch, workload, 6_000, 3)
    table = c.simulate(arch, workload, requests=6_000, seed=3).requests
    reads = table["cache"].isin(["hit", "miss"])
    before = table["arrival_s"].between(20, 30) & reads
    after = table["arrival_s"].between(30, 31) & reads
    assert table.loc[before, "cache_hit"].mean() > 2 * table.loc[after, "cache_hit"].mean()


def test_a_dying_cache_keeps_to_the_event_loop_and_a_live_one_does_not():
    arch = c.cached()
    assert_same(arch, c.Workload.from_rate(80), 2_000, 5)
    dying = arch.fail("cache", at_s=5, recover_s=10)
    with pytest.raises(ValueError, match="'cache' needs events"):
        c.simulate(dying, c.Workload.from_rate(80), requests=100, engine="fast")


def test_a_constant_hit_behind_a_constant_web_tier_keeps_to_the_event_loop():
    # the web tier's chain of constant times and the hit's constant time can make two events coincide exactly
    arch = c.cached(distribution="constant")
    with pytest.raises(ValueError, match="constant service times, so events can tie"):
        c.simulate(arch, c.Workload.from_rate(80), requests=100, engine="fast")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(keys=st.lists(st.integers(0, 40), max_size=300), capacity=st.integers(1, 50))
def test_a_warm_lru_holds_what_reading_the_keys_one_by_one_leaves(keys, capacity):
    from chapter1.components.cache import recent_keys
    from chapter1.components.eviction import LRU

    loop = LRU(capacity)
    for key in keys:
        if not loop.lookup(key):
            loop.insert(key)
    assert recent_keys(np.array(keys, dtype=np.int64), capacity) == list(loop.keys)
