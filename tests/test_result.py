"""Result: the tidy tables and the summary that charts, widgets and graders read."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chapter1 import Architecture, Database, Result, WebServer, Workload, simulate, single_server
from chapter1.result import STATUSES

SUMMARY_KEYS = {
    "requests", "simulated_s", "offered_rps", "throughput_rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms",
    "error_rate", "timeout_rate", "rejected_rate", "dns_hit_ratio",
}


@pytest.fixture(scope="module")
def mixed():
    """A run where every status occurs: DNS, a small queue, a timeout, an outage."""
    arch = single_server(workers=2, service_time_ms=20, queue_limit=20, timeout_ms=150).fail("server", 5, 8)
    return simulate(arch, Workload.from_rate(110, requests_per_user=100), requests=3_000, seed=42)


def test_simulate_returns_a_result(mixed):
    assert isinstance(mixed, Result)
    assert "single server" in repr(mixed) and "3,000 requests" in repr(mixed)


def test_summary_keys_and_plain_types(mixed):
    s = mixed.summary()
    assert set(s.index) == SUMMARY_KEYS | {"server_utilization"}
    assert type(s["requests"]) is int and s["requests"] == 3_000
    for key in set(s.index) - {"requests"}:
        assert type(s[key]) is float, f"{key} is {type(s[key]).__name__}, not a plain float"


def test_summary_is_a_fresh_copy(mixed):
    s = mixed.summary()
    s["p95_ms"] = -1.0
    assert mixed.summary()["p95_ms"] != -1.0


def test_summary_agrees_with_the_requests_table(mixed):
    s, frame = mixed.summary(), mixed.requests
    shares = frame.status.value_counts(normalize=True)
    for status in ("error", "timeout", "rejected"):
        assert s[f"{status}_rate"] == pytest.approx(shares.get(status, 0.0))
        assert s[f"{status}_rate"] > 0
    ok = frame.latency_ms[frame.status == "ok"]
    assert s["mean_ms"] == pytest.approx(ok.mean())
    for q in (50, 95, 99):
        assert s[f"p{q}_ms"] == pytest.approx(np.percentile(ok, q))
    assert s["dns_hit_ratio"] == pytest.approx((frame.dns_ms == 0).mean())
    assert s["simulated_s"] == pytest.approx(frame.arrival_s.iloc[-1])
    assert s["offered_rps"] == pytest.approx(110)
    assert 0 <= s["server_utilization"] <= 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), workers=st.integers(1, 16), load=st.floats(0.05, 1.5))
def test_percentiles_are_ordered_and_rates_are_shares(seed, workers, load):
    arch = single_server(workers=workers, service_time_ms=20, queue_limit=50, timeout_ms=2_000)
    s = simulate(arch, Workload.from_rate(load * workers * 50), requests=500, seed=seed).summary()
    assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"]
    assert s["error_rate"] + s["timeout_rate"] + s["rejected_rate"] <= 1 + 1e-12
    assert 0 <= s["server_utilization"] <= 1 + 1e-9
    assert 0 <= s["dns_hit_ratio"] <= 1


def test_requests_table_shape_and_columns(mixed):
    frame = mixed.requests
    assert len(frame) == 3_000
    for column in ("arrival_s", "latency_ms", "status", "failed_at", "dns_ms", "server_wait_ms"):
        assert column in frame.columns
    assert list(frame.status.cat.categories) == list(STATUSES)
    assert frame.arrival_s.is_monotonic_increasing
    assert (frame.latency_ms >= 0).all()
    assert set(frame.failed_at) == {"", "server"}
    assert (frame.failed_at[frame.status == "ok"] == "").all()
    assert (frame.failed_at[frame.status != "ok"] != "").all()


def test_components_table(mixed):
    table = mixed.components
    assert list(table.component) == ["dns", "server"]  # a DNS is a component too (it has no workers)
    assert pd.isna(table.iloc[0].workers) and table.iloc[0].served == (mixed.requests.dns_ms > 0).sum()
    row = table.iloc[1]
    frame = mixed.requests
    for status in ("error", "timeout", "rejected"):
        assert row[status] == (frame.status == status).sum()
    assert row.workers == 2 and row.kind == "Server"
    assert row.utilization == pytest.approx(mixed.summary()["server_utilization"])
    assert row.mean_wait_ms == pytest.approx(frame.server_wait_ms.mean())


def test_components_table_lists_tiers_in_order():
    arch = Architecture("two tiers", (WebServer(workers=4), Database(workers=2)))
    result = simulate(arch, Workload.from_rate(40), requests=1_000, seed=1)
    assert list(result.components.component) == ["dns", "web", "database"]
    assert list(result.components.workers[1:]) == [4, 2]
    assert {"web_utilization", "database_utilization"} <= set(result.summary().index)
    assert {"web_wait_ms", "database_wait_ms"} <= set(result.requests.columns)
    # every request passed both tiers, so both served all of them
    assert list(result.components.served[1:]) == [1_000, 1_000]


@pytest.mark.parametrize("bins", [1, 10, 40, 200])
def test_timeline_has_one_row_per_bin(mixed, bins):
    table = mixed.timeline(bins=bins)
    assert len(table) == bins
    assert {"t_s", "offered_rps", "throughput_rps", "error_share", "p50_ms", "p95_ms", "p99_ms",
            "server_utilization"} <= set(table.columns)
    assert table.t_s.is_monotonic_increasing
    width = mixed.summary()["simulated_s"] / bins
    # the bins account for every request and every success
    assert (table.offered_rps * width).sum() == pytest.approx(3_000)
    assert (table.throughput_rps * width).sum() == pytest.approx((mixed.requests.status == "ok").sum())
    assert ((table.server_utilization >= -1e-9) & (table.server_utilization <= 1 + 1e-9)).all()


def test_timeline_stays_small_whatever_the_request_budget():
    result = simulate(single_server(), Workload(users=1_000_000), requests=50_000, seed=0)
    table = result.timeline()
    assert table.shape[0] == 40 and table.shape[1] <= 12
    assert table.memory_usage(deep=True).sum() < 10_000  # bytes: cheap to chart and to store in a notebook
    assert (table.p50_ms <= table.p95_ms).all() and (table.p95_ms <= table.p99_ms).all()


def test_timeline_average_utilization_equals_the_summary(mixed):
    assert mixed.timeline(bins=25).server_utilization.mean() == pytest.approx(
        mixed.summary()["server_utilization"], rel=1e-9)


def test_everything_failing_gives_nans_not_crashes():
    result = simulate(single_server().fail("server", 0), Workload(users=1_000), requests=200, seed=0)
    s = result.summary()
    assert s["error_rate"] == 1.0 and s["throughput_rps"] == 0.0
    assert np.isnan(s["mean_ms"]) and np.isnan(s["p95_ms"])
    assert s["server_utilization"] == 0.0
    table = result.timeline(bins=5)
    assert len(table) == 5 and table.p50_ms.isna().all()
    assert repr(result)


def test_one_request_is_enough():
    s = simulate(single_server(), Workload(), requests=1, seed=0).summary()
    assert s["requests"] == 1 and s["error_rate"] == 0.0


def test_unknown_tier_lists_the_tiers(mixed):
    with pytest.raises(KeyError) as info:
        mixed.utilization("web")
    assert "'server'" in info.value.args[0]


def test_result_tables_are_pandas(mixed):
    assert isinstance(mixed.requests, pd.DataFrame)
    assert isinstance(mixed.components, pd.DataFrame)
    assert isinstance(mixed.timeline(), pd.DataFrame)
    assert isinstance(mixed.summary(), pd.Series)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1e4, allow_nan=False), max_size=6), min_size=1, max_size=12),
       st.sampled_from([0, 50, 95, 99, 100]))
def test_window_percentiles_match_numpy_per_window(groups, q):
    from chapter1.result import _window_percentile

    groups = [np.sort(g) for g in groups]
    values = np.concatenate(groups)
    bounds = np.concatenate([[0], np.cumsum([len(g) for g in groups])])
    expected = [np.percentile(g, q) if len(g) else np.nan for g in groups]
    np.testing.assert_allclose(_window_percentile(values, bounds, q), expected, equal_nan=True)
