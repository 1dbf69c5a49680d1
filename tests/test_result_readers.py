"""Result's quick readers (``column``, ``reached_s``, ``entry_ms``, ``timeline_columns``) give what its tables say,
and the helpers under the timeline (a sort within windows, busy time per window) give what their definitions say,
on every path they take."""

import numpy as np
import pytest

import chapter1 as c
from chapter1.core.result import _busy_seconds, _sorted_by_window


@pytest.fixture(scope="module")
def run():
    return c.simulate(c.load_balanced(3, workers=2), c.Workload.from_rate(80), requests=1_500, seed=3)


def test_a_column_is_the_tables_column_and_a_copy_of_it(run):
    for name in ("server", "dns_ms"):  # (names, and numbers)
        column = run.column(name)
        before = column.tolist()
        assert before == run.requests[name].tolist()
        column[:] = column[0]
        assert run.column(name).tolist() == before


def test_an_unknown_column_is_refused_with_the_names_recorded(run):
    with pytest.raises(KeyError, match=r"no component recorded a column named 'nope'; these did: dns_ms, .*server"):
        run.column("nope")


def test_a_request_reaches_the_first_tier_after_its_dns_lookup(run):
    dns = run.requests["dns_ms"].to_numpy()
    assert dns.max() > 0 and dns.min() == 0  # some looked the name up, some had it cached
    assert np.array_equal(run.entry_ms(), dns)
    assert np.array_equal(run.reached_s(), run.requests["arrival_s"].to_numpy() + dns / 1_000.0)


def test_without_dns_a_request_reaches_the_first_tier_as_it_arrives():
    run = c.simulate(c.Architecture("bare", (c.Server(),), dns=None), c.Workload.from_rate(20), requests=200)
    assert not run.entry_ms().any() and np.array_equal(run.reached_s(), run.arrival_s)


def test_timeline_columns_are_the_timeline_and_leave_out_what_is_not_asked_for(run):
    table, columns = run.timeline(10), run.timeline_columns(10)
    assert list(columns) == list(table.columns)
    assert all(np.array_equal(columns[k], table[k].to_numpy(), equal_nan=True) for k in columns)
    assert {"p50_ms", "p95_ms", "p99_ms", "web-1_utilization"} <= set(columns)
    lean = run.timeline_columns(10, utilization=False, latency=False)
    assert list(lean) == ["t_s", "offered_rps", "throughput_rps", "error_share"]
    assert all(np.array_equal(lean[k], columns[k], equal_nan=True) for k in lean)
    no_latency = run.timeline_columns(10, latency=False)
    assert list(no_latency) == [k for k in columns if not k.startswith("p")]
    assert list(run.timeline(10, utilization=False).columns) == [k for k in columns if "utilization" not in k]


def test_the_timeline_has_forty_windows_unless_told(run):
    assert len(run.timeline()) == 40 and len(run.timeline_columns()["t_s"]) == 40


@pytest.mark.parametrize("flag", ["utilization", "latency"])
def test_the_timelines_switches_are_true_or_false(run, flag):
    with pytest.raises(TypeError, match=f"{flag} must be True or False; got 1"):
        run.timeline_columns(10, **{flag: 1})


@pytest.mark.parametrize("n, bins, ordered", [(2_000, 3, True), (2_000, 3, False), (2_000, 300, True),
                                               (50, 256, True), (50, 300, False), (0, 4, True), (40, 5, "first")])
def test_values_are_sorted_within_each_window_on_either_path(n, bins, ordered):
    rng = np.random.default_rng(n + bins)
    window = rng.integers(0, bins, n)
    window = np.sort(window) if ordered is True else window
    if ordered == "first":  # the lowest first, the rest in no order: not in order, though none is below the first
        window = np.r_[0, window[1:]]
    values = rng.exponential(1.0, n)
    got, bounds = _sorted_by_window(window, values, bins)
    order = np.lexsort((values, window))  # by window, then by value
    assert np.array_equal(got, values[order])
    assert np.array_equal(bounds, np.searchsorted(window[order], np.arange(bins + 1)))


def test_busy_seconds_are_each_periods_overlap_with_each_window():
    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 10, 200)
    ends = starts + rng.exponential(0.5, 200)
    starts[::17] = np.nan  # never served: no period
    edges = np.linspace(0, 12, 25)
    want = [sum(max(0.0, min(e, b) - max(s, a)) for s, e in zip(starts, ends) if not np.isnan(s))
            for a, b in zip(edges[:-1], edges[1:])]
    got = _busy_seconds(starts, ends, edges)
    assert np.allclose(got, want, atol=1e-9) and (got >= 0).all()
    assert _busy_seconds(np.array([1.0]), np.array([1.0]), np.array([0.0, 1.0, 2.0])).tolist() == [0.0, 0.0]
