"""Datasets a chart reads, built from columns in numpy: the same rows as the pandas steps they replaced (the old
steps are written out here as the reference)."""

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1 import analytic
from chapter1.present import charts, scales


def _runs():
    yield c.simulate(c.single_server(workers=2), c.Workload(users=200_000), requests=3_000, seed=2)  # overloaded
    yield c.simulate(c.single_server(), c.Workload(users=1_000), requests=400, seed=1)  # quiet: empty windows
    yield c.simulate(c.load_balanced(3).fail("web-2", at_s=2.0), c.Workload.from_rate(300), requests=3_000, seed=3)
    yield c.simulate(c.single_server(workers=1, queue_limit=1), c.Workload(users=2_000_000), requests=30, seed=0)


@pytest.mark.parametrize("run", range(4))
@pytest.mark.parametrize("bins", [1, 30, 40])
def test_timeline_data_is_the_long_form_and_labels_of_the_timeline_table(run, bins):
    result = list(_runs())[run]
    table = result.timeline(bins)
    latency = charts.long_form(table, ["t_s"], {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"}, "percentile",
                               "latency_ms")
    labels = scales.spread_labels(latency.dropna().groupby("percentile").tail(1), "latency_ms", 0.1, span=True,
                                  into="label_ms")
    want = {"latency": latency, "latency_labels": labels, "windows": table[["t_s", "error_share"]],
            "outages": charts._outages(result)}
    got = charts.timeline_data(result, bins)
    assert list(got) == list(want)
    for name in want:
        assert charts.records(got[name]) == charts.records(want[name]), name


def _same_rows_and_labels(got, want):
    """The same rows, and the same first row of each statistic (the line labels) as the groupby gave."""
    assert charts.records(got) == charts.records(want)
    assert charts.records(charts.first_rows(got, "statistic")) == charts.records(
        want.groupby("statistic", sort=False).head(1))


def _theory_rows(architecture, users_range, points, ceiling, near, options):
    """The curve's table as it was built: a dict per point and statistic."""
    grid = np.geomspace(*users_range, points)
    if ceiling is not None and near:
        extra = ceiling(architecture) * np.array(near)
        grid = np.sort(np.concatenate([grid, extra[(extra > users_range[0]) & (extra < users_range[1])]]))
    rows = []
    points = analytic.predict_curve(architecture, grid, (95,), **options)  # (the figures, as the curve asks them)
    for users, theory in zip(grid, points):
        if theory is None:
            continue
        rows += [{"users": users, "statistic": label, "latency_ms": theory[key]}
                 for key, label in scales.STATISTICS.items() if np.isfinite(theory[key])]
    return pd.DataFrame(rows, columns=["users", "statistic", "latency_ms"])


@pytest.mark.parametrize("architecture", [c.single_server(), c.single_server(workers=1), c.web_and_database(),
                                          c.web_and_database(web_workers=1, db_workers=1), c.load_balanced(4)])
@pytest.mark.parametrize("near", [(), (0.9, 0.99)])
def test_a_theory_curve_is_its_rows_point_by_point(architecture, near):
    ceiling = (lambda arch: min(t.capacity for t in arch.tiers) / c.Workload().per_user_rate) if near else None
    got = charts.theory_curve(architecture, (10, 10_000_000), 37, ceiling=ceiling, near=near)
    want = _theory_rows(architecture, (10, 10_000_000), 37, ceiling, near, {})
    _same_rows_and_labels(got, want)


@pytest.mark.parametrize("edges, zipf_s", [(1, 0.6), (4, 1.0), (6, 1.2)])
def test_the_cdn_panels_columns_are_its_tables(edges, zipf_s):
    from chapter1.sections import cdn

    lines = cdn._theory_lines(edges, zipf_s)
    names = {"1 edge": 1, "your edges": edges} if edges > 1 else {"1 edge": 1}
    table = pd.DataFrame([{"line": name, "ttl_s": t, "hit_ratio": hit} for name, n in names.items()
                          for t, hit in zip(cdn.TTLS, analytic.edge_hit_curve(cdn.RATE, cdn.TTLS, n, cdn.ASSETS,
                                                                              zipf_s))])
    assert charts.records(lines) == charts.records(table)
    for hit in (0.0, 0.37, 0.9):
        wire = cdn._wire_columns(hit, edges)
        assert charts.records(wire) == charts.records(cdn.wire_bars(hit, edges))
        args = ([0.5, 0.6], 0.55, 60.0, edges, zipf_s)
        assert cdn.headline(*args, wire, 4_000) == cdn.headline(*args, cdn.wire_bars(hit, edges), 4_000)
        assert cdn.headline([], *args[1:], wire, 4_000) == cdn.headline([], *args[1:], cdn.wire_bars(hit, edges),
                                                                         4_000)


@pytest.mark.parametrize("policy, write_share", [("lru", 0.0), ("s3fifo", 0.2), ("lfu", 0.5)])
def test_the_cache_headline_reads_its_dots_as_columns_or_as_a_table(policy, write_share):
    from chapter1.sections import cache

    hits = [0.41, 0.4375, 0.39, 0.44, 0.45, 0.43]
    policies = tuple(dict.fromkeys((policy, "lru")))
    dots = {"line": [cache.LABELS[p] for p in policies for _ in range(3)], "cache_size": [800] * 3 * len(policies),
            "hit_ratio": hits[:3 * len(policies)]}
    args = (policy, 800, 0.8, write_share, 1_000)
    assert cache.hit_headline(dots, *args) == cache.hit_headline(pd.DataFrame(dots), *args)


def _at_levels_line_by_line(lines, by, field, start=0.3, step=0.2, top=0.9):
    """The labels' rows as they were searched: line by line, the first row at or over the line's level."""
    rows = [line[line[field] >= min(start + step * k, top)].head(1)
            for k, (_, line) in enumerate(lines.groupby(by, sort=False))]
    return pd.concat(rows) if rows else lines.head(0)


@pytest.mark.parametrize("seed", range(20))
def test_labels_at_levels_are_the_rows_the_line_by_line_search_gives(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    names = np.array(["web", "database", "one box", "cache"], dtype=object)[rng.integers(0, 1 + seed % 4, n)]
    values = rng.random(n)
    values[rng.random(n) < 0.1] = np.nan
    lines = pd.DataFrame({"users": rng.random(n), "tier": names, "utilization": values},
                         index=rng.permutation(n) + 7)
    got, want = scales.at_levels(lines, "tier", "utilization"), _at_levels_line_by_line(lines, "tier", "utilization")
    assert got.index.tolist() == want.index.tolist() and charts.records(got) == charts.records(want)


@pytest.mark.parametrize("model", ["asynchronous", "thread per request"])
def test_the_two_tier_panels_theory_lines_are_the_designs_curves_joined(model):
    from chapter1.sections import database_tier as dbt

    designs = {dbt.BOX: dbt.one_box(), dbt.SPLIT: c.web_and_database(web_workers=3, db_workers=2)}
    got = dbt.latency_data(designs, web_model=model)
    kept = designs if model == dbt.ASYNC else {dbt.BOX: designs[dbt.BOX]}
    frames = [dbt.independence_curve(arch, dbt.USERS_RANGE, 60, ceiling=dbt.saturation_users,
                                     near=(0.9, 0.95, 0.98, 0.99, 0.995)).assign(design=label)
              for label, arch in kept.items()]
    want = pd.concat(frames, ignore_index=True)[["users", "design", "statistic", "latency_ms"]]
    _same_rows_and_labels(got, want)


@pytest.mark.parametrize("budget, cores", [(2_000, 8), (500, 4), (15_000, 16)])
def test_the_scaling_panels_theory_lines_are_the_designs_curves_joined(budget, cores):
    from chapter1.sections import scaling_panel as sp

    designs = sp.designs_for(budget, cores)
    frames = [sp._curve(arch, tuple(sp.USERS_RANGE), 50).assign(design=label) for label, arch in designs.items()]
    want = pd.concat(frames, ignore_index=True)[["users", "design", "statistic", "latency_ms"]]
    assert charts.records(sp.latency_data(designs)) == charts.records(want)
    assert charts.records(charts.by_design({})) == []


@pytest.mark.parametrize("seed", range(10))
def test_first_and_last_rows_are_the_groupbys_head_and_tail(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    table = pd.DataFrame({"k": np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, n)],
                          "v": rng.random(n)}, index=rng.permutation(n) * 3)
    for last, want in ((False, table.groupby("k", sort=False).head(1)), (True, table.groupby("k", sort=False).tail(1))):
        got = charts.first_rows(table, "k", last=last)
        assert got.index.tolist() == want.index.tolist() and charts.records(got) == charts.records(want)


@pytest.mark.parametrize("zipf_s, write_share", [(0.6, 0.0), (1.0, 0.3), (1.2, 0.5)])
def test_the_cache_panels_lines_and_labels_are_the_tables_rows(zipf_s, write_share):
    from chapter1.sections import cache

    rows = [{"line": label, "cache_size": size,
             "hit_ratio": analytic.cache_hit_ratio(policy, size, cache.KEYS, zipf_s, write_share)}
            for label, policy in cache.THEORY.items() for size in cache.SIZES if size <= cache.KEYS]
    table = pd.DataFrame(rows)  # the lines and labels as they were built
    labels = scales.spread_labels(table.groupby("line", sort=False).nth(len(cache.SIZES) // 2), "hit_ratio", 0.07)
    assert charts.records(cache._theory_lines(zipf_s, write_share)) == charts.records(table)
    assert charts.records(cache._labels(zipf_s, write_share)) == charts.records(labels)
    pd.testing.assert_frame_equal(cache.theory_lines(zipf_s, write_share), table)


def test_the_cache_panel_works_out_its_theory_lines_once_an_update(monkeypatch):
    """The lines and their labels share one computation of the 93 hit ratios (the headline asks for one more)."""
    from chapter1.sections import cache

    calls = []
    real = analytic.cache_hit_ratio
    monkeypatch.setattr(cache.analytic, "cache_hit_ratio", lambda *a, **k: calls.append(a) or real(*a, **k))
    cache._theory_lines.cache_clear(), cache._labels.cache_clear()
    cache.hit_view(1_000, "lru", 1.2, 10, requests=300)
    assert len(calls) == len(cache.THEORY) * len(cache.SIZES) + 1


@pytest.mark.parametrize("size, s", [(1, 0.8), (900, 0.6), (9_000, 0.8), (10_000, 1.2), (10_000, 0.0)])
def test_warm_keys_are_the_distinct_keys_of_every_draw_in_the_order_first_drawn(size, s):
    from chapter1.sections import cache

    workload = c.Workload(keys=cache.KEYS, zipf_s=s)
    draws = workload.sample_keys(np.random.default_rng(3), 50_000)  # (what warm_keys draws, in at most two calls)
    first = min(50_000, max(4 * size, 1_000))
    seen = pd.unique(draws[:first])
    if len(seen) < size:
        seen = pd.unique(draws)
    want = seen[:size]
    if len(want) < size:
        free = np.ones(cache.KEYS, dtype=bool)
        free[want] = False
        want = np.concatenate([want, np.flatnonzero(free)[:size - len(want)]])
    assert cache.warm_keys(workload, size, np.random.default_rng(3)).tolist() == want[::-1].tolist()
