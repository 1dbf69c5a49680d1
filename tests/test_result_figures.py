"""Result's figures at their edges: the window a request lands in, what counts as completed, percentile
bounds, error messages, and columns two components both report.

Most cases build a Result from a handful of requests with chosen times, so each expected number is
worked out by hand from the definitions in the docstrings.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from chapter1 import Architecture, Database, Result, WebServer, Workload, simulate
from chapter1.architectures import multi_region
from chapter1.core.component import ERROR, OK, Share


def given(arrival, end, status, rate=1.0, client=None, runtimes=()):
    """A Result of requests with the given arrival and end times (s) and statuses, on the given runtimes."""
    arrival = np.asarray(arrival, dtype=float)
    n = len(arrival)
    sim = SimpleNamespace(
        architecture=Architecture("given", (WebServer(),)), workload=Workload.from_rate(rate), seed=0,
        arrival=arrival, end=np.asarray(end, dtype=float), status=np.asarray(status, dtype=np.int8),
        failed_at=np.full(n, -1, dtype=np.int16), client=np.zeros(n, dtype=int) if client is None else client,
        runtimes=list(runtimes), entry_s=np.zeros(n))  # (no DNS: each request reaches the site as it arrives)
    return Result(sim)


def box(starts, ends, workers):
    """A runtime with ``workers`` workers that served during the given periods (NaN: a request never served)."""
    spec = SimpleNamespace(name="box", kind="Box")
    return SimpleNamespace(spec=spec, index=0, columns=dict, figures=dict, busy=lambda: (
        np.asarray(starts, dtype=float), np.asarray(ends, dtype=float), workers),
        row=lambda: {"workers": workers, "served": 2, "mean_wait_ms": 0.0})


@pytest.fixture(scope="module")
def five():
    """Five requests over 4 s: windows of 1 s with 0, 1, 2 and 2 arrivals (one of them an error)."""
    arrival = [1.0, 2.0, 2.5, 3.0, 4.0]
    latency_s = [0.050, 0.900, 0.020, 0.100, 0.300]
    status = [OK, ERROR, OK, OK, OK]
    return given(arrival, np.add(arrival, latency_s), status)


def test_a_request_arriving_on_a_window_edge_belongs_to_the_window_it_opens(five):
    table = five.timeline(bins=4)
    np.testing.assert_allclose(table.t_s, [0.5, 1.5, 2.5, 3.5])  # the middle of each 1 s window
    np.testing.assert_allclose(table.offered_rps, [0, 1, 2, 2])  # the last arrival closes the last window
    np.testing.assert_allclose(table.throughput_rps, [0, 1, 1, 2])


def test_error_share_per_window_and_nan_where_nothing_arrived(five):
    table = five.timeline(bins=4)
    assert np.isnan(table.error_share[0])
    np.testing.assert_allclose(table.error_share[1:], [0.0, 0.5, 0.0])  # one request alone, a half, none


def test_latency_percentiles_per_window(five):
    table = five.timeline(bins=4)
    assert table[["p50_ms", "p95_ms", "p99_ms"]].iloc[0].isna().all()  # an empty window has no percentile
    np.testing.assert_allclose(table.p50_ms[1:], [50, 20, 200])  # the error's 900 ms is left out
    np.testing.assert_allclose(table.p95_ms[3], 100 + 0.95 * 200)
    np.testing.assert_allclose(table.p99_ms[3], 100 + 0.99 * 200)


def test_completed_means_succeeded_and_finished_by_the_last_arrival():
    # the last arrival is at 4 s: a success ending at 4 s exactly counts, one ending 2 ms later does not,
    # and an error counts whenever it ends
    result = given([1.0, 2.0, 3.0, 4.0], [4.0, 4.002, 3.5, 4.0], [OK, OK, ERROR, OK])
    assert result.completed_within_window() == 2
    assert result.summary()["throughput_rps"] == pytest.approx(2 / 4)
    assert result.summary()["simulated_s"] == 4.0


def test_percentile_bounds_are_0_and_100_inclusive(five):
    ok_ms = [50, 20, 100, 300]
    assert five.percentile(0) == pytest.approx(min(ok_ms))
    assert five.percentile(100) == pytest.approx(max(ok_ms))
    for q in (-0.5, 100.5):
        with pytest.raises(ValueError, match=r"q must be a number in the range \[0, 100\]"):
            five.percentile(q)


def test_timeline_bins_are_checked_and_named(five):
    assert len(five.timeline(bins=10_000)) == 10_000
    for bins in (0, 10_001):
        with pytest.raises(ValueError, match=r"bins must be a whole number in the range \[1, 10,000\]"):
            five.timeline(bins=bins)
    with pytest.raises(TypeError, match="bins must be a whole number"):
        five.timeline(bins=2.5)


def test_a_name_without_workers_lists_every_component_with_workers():
    arch = Architecture("two tiers", (WebServer(workers=4), Database(workers=2)))
    result = simulate(arch, Workload.from_rate(40), requests=200, seed=1)
    with pytest.raises(KeyError, match="no component with workers named 'dns'; these have workers: 'web', 'database'"):
        result.utilization("dns")
    assert 0 < result.utilization("database") < result.utilization("web") < 1  # 40 x 10 ms / 2 < 40 x 50 ms / 4


def test_a_column_two_components_both_report_is_named_after_each():
    result = simulate(multi_region(), Workload.from_rate(20), requests=300, seed=0)
    frame = result.requests
    assert "server" not in frame.columns
    for site in ("dc-1", "dc-2"):
        column = frame[f"{site} lb_server"]
        served_here = frame.site == site
        assert column[served_here].str.startswith(f"{site} web-").all(), f"{site}'s balancer names its server"
        assert (column[~served_here] == "").all(), f"{site}'s balancer saw only {site}'s requests"


def test_utilization_is_worker_time_busy_inside_the_window_over_worker_time():
    # two workers over 4 s; busy 0.5-1.5 s and 3-5 s (the last second is after the window); one never served
    busy = box([0.5, 3.0, np.nan], [1.5, 5.0, np.nan], workers=2)
    result = given([1.0, 2.0, 3.0, 4.0], [1.1, 2.1, 3.1, 4.1], [OK] * 4, runtimes=[busy])
    assert result.utilization("box") == pytest.approx((1.0 + 1.0) / (2 * 4))
    assert result.summary()["box_utilization"] == pytest.approx(0.25)
    np.testing.assert_allclose(result.timeline(bins=4).box_utilization, [0.25, 0.25, 0.0, 0.5])
    assert result.components.set_index("component").loc["box", "utilization"] == pytest.approx(0.25)


def test_the_requests_table_keeps_each_requests_client():
    result = given([1.0, 2.0, 3.0], [1.1, 2.1, 3.1], [OK] * 3, client=np.array([7, 0, 7]))
    assert result.requests.client.tolist() == [7, 0, 7]


def part(name, figures, parts=()):
    """A runtime named ``name`` giving ``figures``, its component holding ``parts`` (other runtimes' components)."""
    spec = SimpleNamespace(name=name, parts=tuple(p.spec for p in parts))
    return SimpleNamespace(spec=spec, figures=lambda: dict(figures))


def test_a_figure_one_component_gives_keeps_its_name_and_value():
    from chapter1.core.result import _figures
    got = _figures([part("cache", {"cache_hit_ratio": Share(3, 4)}), part("dns", {"dns_hit_ratio": 0.25})])
    assert got == {"cache_hit_ratio": 0.75, "dns_hit_ratio": 0.25} and list(got) == ["cache_hit_ratio", "dns_hit_ratio"]


def test_side_by_side_components_give_each_figure_and_the_overall_one():
    from chapter1.core.result import _figures
    east = part("east", {"hit": Share(40, 100), "lost_writes": 2, "backlog_max": 7.0, "p95_ms": 3.0})
    west = part("west", {"hit": Share(30, 60), "lost_writes": 5, "backlog_max": 4.0, "p95_ms": 8.0})
    got = _figures([east, west])
    assert got == {"hit": 70 / 160, "east_hit": 0.4, "west_hit": 0.5,
                   "lost_writes": 7, "east_lost_writes": 2, "west_lost_writes": 5,
                   "backlog_max": 7.0, "east_backlog_max": 7.0, "west_backlog_max": 4.0,
                   "east_p95_ms": 3.0, "west_p95_ms": 8.0}  # a percentile of two runs has no overall value here
    assert list(got)[:3] == ["hit", "east_hit", "west_hit"]
    assert isinstance(got["hit"], Share) and (got["hit"].part, got["hit"].whole) == (70, 160)


def test_three_side_by_side_add_up_and_a_share_of_nothing_stays_as_given():
    from chapter1.core.result import _figures
    sets = [part(f"set-{k}", {"stale": Share(k, 10 * k, empty=0.0)}) for k in (1, 2, 3)]
    assert _figures(sets)["stale"] == 6 / 60
    idle = [part("set-1", {"stale": Share(0, 0, empty=0.0)}), part("set-2", {"stale": Share(0, 0)})]
    got = _figures(idle)  # no reads anywhere: the first component's word for "none"
    assert got["stale"] == 0.0 and got["set-1_stale"] == 0.0 and np.isnan(got["set-2_stale"])


def test_a_component_behind_another_gets_no_pooled_figure():
    from chapter1.core.result import _figures
    far = part("far", {"hit": Share(30, 60), "lost_writes": 1})
    near = part("near", {"hit": Share(40, 100), "lost_writes": 2}, parts=[far])
    assert _figures([near, far]) == {"near_hit": 0.4, "far_hit": 0.5, "near_lost_writes": 2, "far_lost_writes": 1}
    deeper = part("deeper", {"hit": Share(1, 2)}, parts=[part("middle", {}, parts=[far])])
    assert "hit" not in _figures([deeper, far])  # inside its parts' parts too


def test_a_share_is_its_value_with_its_parts():
    share = Share(1, 3)
    assert share == 1 / 3 and (share.part, share.whole) == (1, 3) and float(share) == 1 / 3
    assert np.isnan(Share(0, 0)) and Share(0, 0, empty=0.0) == 0.0
    assert Share(2, 8, value=0.2500001) == 0.2500001  # a value worked out otherwise, kept bit for bit
