"""The capstone's shortcuts give what the longer way gives: a warm-up's draws taken from the end, every node's LRU
state from one pass over the cluster's reads, one cache node's loss without hashing the keys, the bill without its
table, the panel's bars without the sizing table."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.capstone import theory
from chapter1.capstone.design import TARGET, Design
from chapter1.capstone.kinds import _Draws, _homes, _lru_states, _warm_keys, cache_nodes
from chapter1.components.shards import key_hash


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2 ** 32), n=st.integers(1, 5_000), cuts=st.lists(st.integers(0, 5_000), min_size=2,
                                                                             max_size=2), spent=st.integers(0, 3))
def test_draws_from_any_place_are_the_draws_of_one_call(seed, n, cuts, spent):
    rng = np.random.default_rng(seed)
    for _ in range(spent):  # the cluster draws its policies' seeds first
        rng.integers(2 ** 63)
    every = np.random.default_rng(seed)
    for _ in range(spent):
        every.integers(2 ** 63)
    draws, whole = _Draws(rng, n), every.random(n)
    low, high = sorted(cuts)
    assert np.array_equal(draws[low:high], whole[low:high])
    assert np.array_equal(draws[max(0, n - high):n], whole[max(0, n - high):n])
    assert np.array_equal(draws[:], whole) and len(draws) == n


def test_one_cache_node_lost_drops_the_hits_of_every_key_as_the_hashes_say():
    items = tuple(sorted(TARGET.items()))
    for shards in (1, 3):
        same = Design(datacentres=2, cache_nodes=1, shards=shards)
        _, _, _, q, hit_k, owners, _ = theory._mix(same, items)
        hashed = np.where(key_hash(np.arange(len(q))) % np.uint64(1) == 0, 0.0, hit_k)  # the general rule, node 1
        hit, split = theory._shares(same, items, True)
        assert hit == float((q * hashed).sum()) == 0.0
        reads = q * (1 - hashed)
        for (r, w, total), owner in zip(split, owners, strict=True):
            assert np.array_equal(r, np.bincount(owner, weights=reads, minlength=shards) / max(reads.sum(), 1e-12))
            assert np.array_equal(w, np.bincount(owner, weights=q, minlength=shards) / q.sum()) and total == reads.sum()
        assert theory._shares(same, items, False)[0] == float((q * hit_k).sum()) > 0.3


@settings(max_examples=80, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2 ** 32), keys=st.sampled_from([20, 1_000, 100_000]), reads=st.integers(0, 3_000),
       capacities=st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_every_nodes_lru_state_from_one_pass_is_each_nodes_own(seed, keys, reads, capacities):
    warm = np.random.default_rng(seed).zipf(1.3, reads) % keys  # popular keys read again and again, some once
    nodes = tuple(n.__class__(name=n.name, capacity=c) for n, c in zip(cache_nodes(len(capacities), 1), capacities))
    homes = _homes(warm, len(nodes))
    states = _lru_states(warm, nodes)
    assert len(states) == len(nodes)
    for k, node in enumerate(nodes):
        assert np.array_equal(states[k], _warm_keys("lru", warm[homes == k], node.capacity))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(sites=st.integers(1, 4), nodes=st.integers(0, 6), cdn=st.booleans(), static=st.floats(0, 1),
       read=st.floats(0.05, 1), keys=st.sampled_from([1_000, 50_000, 200_000]), s=st.floats(0.5, 1.4))
def test_the_key_mix_worked_in_place_is_the_mix_written_out(sites, nodes, cdn, static, read, keys, s):
    """The CDN's misses and each key's hit chance, worked in place, are the floats of the expressions written out."""
    from chapter1.core.workload import Workload
    from chapter1.theory.caching import che_time

    design, rate = Design(datacentres=sites, cache_nodes=nodes, cdn=cdn), 3_472.2
    target = {**TARGET, "static_share": static, "read_ratio": read, "keys": keys, "zipf_s": s}
    p = Workload(keys=keys, zipf_s=s).key_popularity()
    if cdn:
        per_edge = rate * static / sites * p * theory.CDN_TTL_S
        p = (1 - static) * p + static * p / (1 + per_edge)
        p = p / p.sum()
    size = nodes * theory.BOXES["cache_node"]["keys"]
    hit = (np.zeros_like(p) if not nodes else np.full_like(p, read) if size / read >= len(p)
           else read * (1 - np.exp(-p * che_time(p, size / read))))
    q, hit_k = theory._keys(design, target, rate)
    np.testing.assert_array_equal(q, p)
    np.testing.assert_array_equal(hit_k, hit)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2 ** 32), keys=st.sampled_from([50, 2_000, 200_000]), s=st.floats(0.3, 1.5),
       n=st.integers(1, 60_000), capacities=st.lists(st.integers(1, 3_000), min_size=1, max_size=6))
def test_an_lru_warm_up_from_the_last_reads_is_the_warm_up_from_every_read(seed, keys, s, n, capacities):
    """Inverting only the last warm-up reads (in growing steps until every node could be full) loads the states
    that every read gives, whether the first step is enough or not."""
    from chapter1.capstone.kinds import _recent_reads
    from chapter1.core.workload import Workload

    w, draws = Workload(keys=keys, zipf_s=s), np.random.default_rng(seed).random(n)
    nodes = tuple(node.__class__(name=node.name, capacity=c)
                  for node, c in zip(cache_nodes(len(capacities), 1), capacities))
    shortcut, every = _lru_states(_recent_reads(w, draws, nodes), nodes), _lru_states(w.keys_at(draws), nodes)
    assert all(np.array_equal(a, b) for a, b in zip(shortcut, every, strict=True))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(sites=st.integers(1, 4), web=st.integers(1, 200), nodes=st.integers(0, 10), shards=st.integers(1, 16),
       replicas=st.integers(0, 8), consumers=st.integers(1, 500), cdn=st.booleans(), sticky=st.booleans(),
       price=st.sampled_from([None, 0.02, 3]))
def test_the_bill_without_its_table_is_the_tables_sum(sites, web, nodes, shards, replicas, consumers, cdn, sticky,
                                                      price):
    from chapter1.capstone.design import monthly_bill, monthly_cost

    design = Design(datacentres=sites, web_servers=web, cache_nodes=nodes, shards=shards, replicas=replicas,
                    consumers=consumers, cdn=cdn, sessions="sticky" if sticky else "shared")
    prices = None if price is None else {"cdn_usd_per_gb": price}
    assert monthly_bill(design, prices=prices) == float(monthly_cost(design, prices=prices)["usd_per_month"].sum())


def test_the_panels_bars_are_the_sizing_tables_peak_and_site_lost_rows(monkeypatch):
    """The bars, read from theory's utilisations, are the rows the sizing table gave (the table, as it was read)."""
    from chapter1.present import charts
    from chapter1.sections import capstone as cs

    drawn = []
    monkeypatch.setattr(cs, "_template", lambda: type("Stub", (), {"svg": lambda self, data: drawn.append(data)})())
    for design in (Design(datacentres=1), Design(datacentres=2, web_servers=4, cache_nodes=0),
                   Design(datacentres=3, shards=3, replicas=0), Design(datacentres=4, cache_nodes=6, web_servers=30)):
        cs.design_view(design.datacentres, design.web_servers, design.cache_nodes, design.shards, design.replicas,
                       design.consumers, requests=300)
        loads, rows = cs.sizing(design), []
        for station, row in loads.iterrows():
            rows.append({"row": f"{station} · peak", "utilization": row["peak"], "state": "peak"})
            if "data_centre lost" in loads:
                lost = row["data_centre lost"]
                rows.append({"row": f"{station} · site lost", "utilization": lost,
                             "state": "overloaded" if lost >= 1 else "site lost"})
        table = pd.DataFrame(rows)
        table["shown"] = table["utilization"].clip(upper=cs.PANEL_TOP)
        assert charts.records(drawn[-1]["loads"]) == charts.records(table)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(sites=st.integers(1, 4), web=st.integers(1, 60), nodes=st.integers(0, 10), shards=st.integers(1, 6),
       replicas=st.integers(0, 4), sync=st.booleans(), passive=st.booleans())
def test_the_fault_columns_are_the_fault_table_and_give_its_availability(sites, web, nodes, shards, replicas, sync,
                                                                        passive):
    from chapter1.present import charts

    design = Design(datacentres=sites, web_servers=web, cache_nodes=nodes, shards=shards, replicas=replicas,
                    replication="sync" if sync else "async", mode="active-passive" if passive else "active-active")
    columns, table = theory.fault_columns(design), theory.faults(design)
    assert charts.records(columns) == charts.records(table)
    assert theory.availability(columns) == float(1 - table["outage_s_per_year"].sum() / theory.SECONDS_PER_YEAR)
