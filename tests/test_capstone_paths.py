"""The capstone's faster paths give the figures of the direct ones they replaced."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.capstone import kinds, theory
from chapter1.capstone.design import Design
from chapter1.components import cdn
from chapter1.core.workload import Workload

DESIGNS = st.builds(Design, datacentres=st.integers(1, 4), web_servers=st.integers(1, 40),
                    cache_nodes=st.integers(0, 10), shards=st.integers(1, 8), replicas=st.integers(0, 6),
                    consumers=st.integers(1, 40), sessions=st.sampled_from(["shared", "sticky"]),
                    replication=st.sampled_from(["async", "sync"]), cdn=st.booleans(),
                    mode=st.sampled_from(["active-active", "active-passive"]))


@settings(max_examples=40, deadline=None)
@given(design=DESIGNS)
def test_latency_by_fft_gives_the_direct_convolutions_percentiles(design):
    percents = (1, 50, 90, 95, 99, 99.9)
    theory._latency.cache_clear()
    fast = theory.latency_ms(design, percents=percents)
    theory._latency.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(theory, "_convolve", np.convolve)
        direct = theory.latency_ms(design, percents=percents)
    theory._latency.cache_clear()
    assert fast == direct


@pytest.mark.parametrize("fields, expected", [
    (dict(datacentres=2, web_servers=28, sessions="sticky", cache_nodes=3, shards=2, replicas=0, consumers=10),
     {50: 14.25, 90: 91.75, 95: 121.25, 99: 187.25, 99.9: 279.75}),
    (dict(datacentres=3, web_servers=16, cdn=False, sessions="sticky", cache_nodes=2, shards=4, replicas=0,
          consumers=23), {50: 47.25, 90: 116.25, 95: 144.25, 99: 209.25, 99.9: 301.25}),
    (dict(datacentres=3, mode="active-passive", web_servers=29, cache_nodes=5, shards=4, replicas=2, consumers=22),
     {50: 16.75, 90: 88.75, 95: 117.25, 99: 182.25, 99.9: 274.75}),
    (dict(datacentres=3, web_servers=19, cache_nodes=5, shards=4, replicas=4, replication="sync", consumers=8),
     {50: 16.75, 90: 96.25, 95: 125.75, 99: 191.25, 99.9: 283.75}),
])
def test_latency_percentiles_as_the_direct_convolution_gave_them(fields, expected):
    """Figures recorded from the direct (np.convolve) path, before the FFT: the whole path, not only the product."""
    assert theory.latency_ms(Design(**fields), percents=tuple(expected)) == expected


def _edge_outcomes_by_every_pair(arrival, edge, key, static, ttl_s, *, keys, expires, down, deploys, on_deploy,
                                 invalidation_s):
    """The loop :func:`cdn.edge_outcomes` ran before, with a list entry for every edge and asset."""
    pairs = [e * keys + k for e, k in zip(edge, key)]
    size = max(pairs) + 1
    until = [-math.inf] * size if expires is None else list(expires) + [-math.inf] * max(0, size - len(expires))
    fetched = [-math.inf] * len(until)
    lag = 0.0 if on_deploy == "versioned" else invalidation_s
    drops = [d + lag for d in deploys] if on_deploy in ("invalidate", "versioned") else []
    codes, stale = [cdn.DYNAMIC] * len(arrival), [False] * len(arrival)
    for k, (t, pair) in enumerate(zip(arrival, pairs)):
        last_deploy = max([d for d in deploys if d <= t], default=-math.inf)
        last_drop = max([d for d in drops if d <= t], default=-math.inf)
        if not static[k]:
            continue
        if down[k]:
            codes[k] = cdn.FALLBACK
        elif until[pair] > t and fetched[pair] >= last_drop:
            codes[k], stale[k] = cdn.HIT, fetched[pair] < last_deploy
        else:
            codes[k] = cdn.MISS
            until[pair], fetched[pair] = t + ttl_s, t
    return codes, stale


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32), n=st.integers(1, 300), edges=st.integers(1, 4), keys=st.integers(1, 50),
       starting=st.sampled_from(["none", "short", "full", "long"]), as_array=st.booleans(),
       on_deploy=st.sampled_from(["ttl", "invalidate", "versioned"]))
def test_edge_outcomes_with_slots_for_requested_pairs_only(seed, n, edges, keys, starting, as_array, on_deploy):
    rng = np.random.default_rng(seed)
    arrival = np.sort(rng.random(n) * 100).tolist()
    edge, key = rng.integers(0, edges, n).tolist(), rng.integers(0, keys, n).tolist()
    static, down = (rng.random(n) < 0.8).tolist(), (rng.random(n) < 0.1).tolist()
    length = {"none": 0, "short": edges * keys // 2, "full": edges * keys, "long": edges * keys + 7}[starting]
    expires = None if starting == "none" else np.where(rng.random(length) < 0.5, rng.random(length) * 30, -math.inf)
    deploys = tuple(np.sort(rng.random(2) * 100).tolist())
    options = dict(keys=keys, down=down, deploys=deploys, on_deploy=on_deploy, invalidation_s=5.0)
    codes, stale = cdn.edge_outcomes(arrival, edge, key, static, 20.0, **options,
                                     expires=expires if expires is None or as_array else expires.tolist())
    want_codes, want_stale = _edge_outcomes_by_every_pair(arrival, edge, key, static, 20.0, **options,
                                                          expires=None if expires is None else expires.tolist())
    assert codes.tolist() == want_codes and stale.tolist() == want_stale


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32), keys=st.integers(10, 30_000), s=st.floats(0, 2), count=st.integers(1, 4),
       share=st.floats(0.001, 0.9), reads=st.integers(1, 60_000))
def test_an_lru_cluster_warms_from_the_recent_reads_as_from_all(seed, keys, s, count, share, reads):
    """Inverting only the last warm-up reads leaves every node's LRU in the state all the reads leave."""
    workload = Workload(keys=keys, zipf_s=s)
    nodes = kinds.cache_nodes(count, max(1, int(keys * share / count)))
    every = workload.sample_keys(np.random.default_rng(seed), reads)
    recent = kinds._recent_reads(workload, np.random.default_rng(seed).random(reads), nodes)
    assert recent.tolist() == every[len(every) - len(recent):].tolist()
    for k, node in enumerate(nodes):
        want = kinds._warm_keys("lru", every[kinds._homes(every, count) == k], node.capacity).tolist()
        assert kinds._warm_keys("lru", recent[kinds._homes(recent, count) == k], node.capacity).tolist() == want


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2 ** 32), edges=st.integers(1, 6), keys=st.integers(1, 3_000), chunk=st.integers(1, 5_000),
       share=st.floats(0, 1), ttl_s=st.floats(0, 10_000))
def test_copies_at_draws_what_initial_copies_drew(seed, edges, keys, chunk, share, ttl_s):
    """A block at a time, kept only at the pairs asked for: the same starting copies, and the edges do the same."""
    rng = np.random.default_rng(seed)
    rates = np.outer(rng.exponential(size=edges), Workload(keys=keys).key_popularity())
    at = np.flatnonzero(rng.random(edges * keys) < share)
    full = cdn.initial_copies(np.random.default_rng(seed + 1), rates, ttl_s).ravel()
    some = cdn.copies_at(np.random.default_rng(seed + 1), rates.shape, at, rates.ravel()[at], ttl_s, chunk=chunk)
    assert some.tolist() == full[at].tolist()
    n = 200
    arrival = np.sort(rng.random(n) * 3 * ttl_s).tolist()
    edge, key = rng.integers(0, edges, n), rng.integers(0, keys, n)
    used = np.unique(edge * keys + key)
    starting = used, cdn.copies_at(np.random.default_rng(seed + 1), rates.shape, used, rates.ravel()[used], ttl_s)
    by_pairs = cdn.edge_outcomes(arrival, edge, key, [True] * n, ttl_s, keys=keys, starting=starting)
    by_all = cdn.edge_outcomes(arrival, edge, key, [True] * n, ttl_s, keys=keys, expires=full)
    assert [a.tolist() for a in by_pairs] == [a.tolist() for a in by_all]


@settings(max_examples=30, deadline=None)
@given(design=DESIGNS)
def test_sizing_from_station_rows_is_the_table_pandas_built(design):
    """The sizing table and the utilisations as the DataFrame path computed them (aligned on station names)."""
    from chapter1.sections.capstone import sizing

    loads = theory.stations(design)
    want = loads.set_index("station")[["utilization"]].rename(columns={"utilization": "peak"})
    pandas_way = loads["arrival_rps"] / (loads["service_rps"] * loads["workers"])
    np.testing.assert_array_equal(loads["utilization"], pandas_way)
    for lost in theory.LOSSES[1:]:
        if (lost == "data_centre" and design.datacentres == 1) or (lost == "cache_node" and not design.cache_nodes):
            continue
        want[f"{lost} lost"] = theory.stations(design, lost=lost).set_index("station")["utilization"]
    pd.testing.assert_frame_equal(sizing(design), want, check_exact=True)


def test_a_sharded_cached_design_sizes_as_before():
    """Figures recorded before the shard shares were computed once per cache state: sharded, cached, one lost."""
    from chapter1.sections.capstone import sizing

    design = Design(datacentres=2, mode="active-passive", web_servers=38, sessions="sticky", cache_nodes=8, shards=3,
                    replicas=2, consumers=39)
    table = sizing(design)
    assert table.loc["replica"].tolist() == [0.5521715147090915, 0.5521715147090915, 0.6655859746060184,
                                             0.7376702781967106, 0.5521715147090915]
    assert table.loc["primary", "cache_node lost"] == 0.36667275122147247


@settings(max_examples=80, deadline=None)
@given(keys=st.lists(st.integers(0, 10 ** 6), max_size=300), small=st.booleans(), capacity=st.integers(1, 50))
def test_lru_warm_state_is_the_most_recent_distinct_reads(keys, small, capacity):
    """What an LRU holds after the reads: the ``capacity`` most recently read distinct keys, least recent first."""
    reads = np.array([k % 40 for k in keys] if small else keys, dtype=np.int64)
    held = []
    for key in reversed(reads.tolist()):
        if key not in held and len(held) < capacity:
            held.append(key)
    assert kinds._warm_keys("lru", reads, capacity).tolist() == held[::-1]
