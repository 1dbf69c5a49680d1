"""Reading a Result without building its tables: one column, a timeline without utilisation (or as columns), when each
request reached the first tier, the failure counts and the expected failing share the fault panels read, the overload
curve and dicts of columns a chart reads, each equal to what the full table or the point-by-point loop gives."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chapter1 as c
from chapter1 import analytic
from chapter1.core.component import OK
from chapter1.core.result import PERCENTILES, _window_percentile
from chapter1.present import charts
from chapter1.sections import n_plus_one as n1
from chapter1.sections.failover import KINDS, failed_share, failed_shares, failover_pool, failures
from chapter1.sections.n_plus_one import n_plus_one_pool


@pytest.fixture(scope="module", params=["n+1", "dns round robin", "two tiers"])
def result(request):
    arch = {"n+1": lambda: n_plus_one_pool(3, 4.0),
            "dns round robin": lambda: failover_pool("DNS round robin", 3, 2, 5, fail_at_s=4.0),
            "two tiers": lambda: c.web_and_database().fail("database", 3.0, 5.0)}[request.param]()
    return c.simulate(arch, c.Workload.from_rate(400), requests=3_000, seed=4)


def test_a_column_is_the_requests_column(result):
    table = result.requests
    named = [k for k in table.columns if k not in ("arrival_s", "latency_ms", "status", "failed_at", "client")]
    assert named, "every architecture here records some column of its own"
    for name in named:
        np.testing.assert_array_equal(result.column(name), table[name].to_numpy())
    column = result.column(named[0])
    column[:] = column[::-1]  # a copy: the Result keeps its own
    np.testing.assert_array_equal(result.column(named[0]), table[named[0]].to_numpy())


def test_an_unknown_column_names_the_ones_recorded(result):
    with pytest.raises(KeyError, match="no component recorded a column named 'nope'; these did: "):
        result.column("nope")


def test_a_timeline_without_utilisation_is_the_timeline_less_those_columns(result):
    full, light = result.timeline(13), result.timeline(13, utilization=False)
    busy = [k for k in full.columns if k.endswith("_utilization")]
    assert busy and not [k for k in light.columns if k.endswith("_utilization")]
    pd.testing.assert_frame_equal(full.drop(columns=busy), light)
    with pytest.raises(TypeError, match="utilization must be True or False; got 'no'"):
        result.timeline(13, utilization="no")


def test_failures_count_what_the_table_calls_failed(result):
    assert failures(result) == int((result.requests["status"] != "ok").sum()) > 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(kind=st.sampled_from(KINDS), servers=st.integers(1, 9), fail_at=st.floats(0, 60), interval=st.floats(0.5, 30),
       ttl=st.sampled_from([0.0, 0.5, 5.0, 30.0, 60.0]), hit=st.floats(0, 1), fall=st.integers(1, 3),
       times=st.lists(st.floats(0, 200), min_size=1, max_size=40))
def test_the_expected_shares_at_once_are_the_shares_one_time_at_a_time(kind, servers, fail_at, interval, ttl, hit,
                                                                       fall, times):
    seen = c.balancing.detected_at(fail_at, interval, fall)
    times = times + [fail_at, seen, seen + ttl, np.nextafter(seen, 0)]  # at the steps, and just before one
    shares = failed_shares(np.array(times), kind, servers, fail_at, interval, ttl, hit, fall)
    one_by_one = []
    for t in times:  # the rule as the text states it, one time at a time
        if t < fail_at:
            one_by_one.append(0.0)
        elif t < seen:
            one_by_one.append(1 / servers)
        elif kind == "load balancer" or ttl == 0:
            one_by_one.append(0.0)
        else:
            one_by_one.append(max(0.0, 1 - (t - seen) / ttl) * hit / servers)
    assert shares.tolist() == one_by_one
    assert [failed_share(t, kind, servers, fail_at, interval, ttl, hit, fall) for t in times] == one_by_one


@pytest.mark.parametrize("bins", [1, 7, 40, 333, 10_000])
def test_window_percentiles_are_those_of_each_window_sorted_lexicographically(result, bins):
    """The timeline sorts latencies by value, then stably by window: the values lexsort gave, the same percentiles."""
    edges = np.linspace(0.0, result.duration_s, bins + 1)
    window = np.clip(np.searchsorted(edges, result.arrival_s, side="right") - 1, 0, bins - 1)
    ok = result.status_code == OK
    order = np.lexsort((result.latency_ms[ok], window[ok]))
    bounds = np.searchsorted(window[ok][order], np.arange(bins + 1))
    table = result.timeline(bins, utilization=False)
    for q in PERCENTILES:
        want = _window_percentile(result.latency_ms[ok][order], bounds, q)
        np.testing.assert_array_equal(table[f"p{q}_ms"].to_numpy(), want)


def test_a_request_reaches_the_first_tier_after_its_dns_lookup(result):
    """A DNS in front delays each request by its lookup; a DNS that is the first tier (round robin) does not."""
    front = result.architecture.dns is not None
    lookup = result.column("dns_ms") / 1_000.0 if front else np.zeros(len(result.arrival_s))
    assert front or (result.reached_s() == result.arrival_s).all() and "dns_ms" in result.requests
    assert result.reached_s().tolist() == (result.arrival_s + lookup).tolist()
    assert result.entry_ms().tolist() == (result.column("dns_ms") if front else np.zeros(len(lookup))).tolist()


def test_the_timeline_columns_are_the_timeline_table(result):
    for utilization in (True, False):
        columns = result.timeline_columns(9, utilization=utilization)
        pd.testing.assert_frame_equal(pd.DataFrame(columns), result.timeline(9, utilization=utilization))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(rate=st.floats(0, 500), capacity=st.floats(0.5, 400), room=st.sampled_from([0, 1, 1_000, 2_500.5]),
       after=st.lists(st.floats(0, 300), min_size=1, max_size=30))
def test_the_overload_curve_is_the_fluid_model_one_moment_at_a_time(rate, capacity, room, after):
    curve = analytic.overload_fluid_curve(rate, capacity, room, after)
    one_by_one = [analytic.overload_fluid(rate, capacity, room, t) for t in after]
    assert [tuple(float(x[k]) for x in curve) for k in range(len(after))] == one_by_one


@pytest.mark.parametrize("servers, load", [(2, 30), (2, 90), (3, 100), (5, 60)])
def test_the_n_plus_one_theory_columns_are_the_point_by_point_table(servers, load):
    rate = load / 100 * servers * n1.N1_WORKERS * 1_000.0 / n1.SERVICE_MS
    fail_at = round(0.25 * 4_000 / rate, 1)
    result = c.simulate(n_plus_one_pool(servers, fail_at), c.Workload.from_rate(rate), requests=4_000, seed=1)
    columns = n1._n1_theory_columns(result, fail_at)
    dns = result.architecture.dns
    lookup = {"delay_s": dns.lookup_ms / 1_000.0, "delay_share": 1 - dns.hit_ratio(result.workload.per_user_rate)}
    mu, workers = 1_000.0 / n1.SERVICE_MS, n1.N1_WORKERS
    before = analytic.response_time_percentile(95, rate, mu, servers * workers, **lookup) * 1_000.0
    survivors = (servers - 1) * workers * mu
    steady = (analytic.response_time_percentile(95, rate, mu, (servers - 1) * workers, **lookup) * 1_000.0
              if rate < survivors else None)
    rows = []
    for t in np.unique(np.concatenate([np.linspace(0, result.duration_s, 121), [fail_at - 1e-9, fail_at]])):
        if t < fail_at:  # the table as it was built, one moment at a time
            rows.append({"t_s": t, "p95_ms": before, "share": 0.0})
            continue
        _, wait_s, away = analytic.overload_fluid(rate, survivors, (servers - 1) * n1.N1_QUEUE, t - fail_at)
        rows.append({"t_s": t, "p95_ms": steady if steady is not None else wait_s * 1_000.0 + 3 * n1.SERVICE_MS,
                     "share": away})
    pd.testing.assert_frame_equal(pd.DataFrame(columns), pd.DataFrame(rows), check_exact=True)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(values=st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=False), st.integers(-5, 5),
                                 st.sampled_from(["a", "b", ""]), st.booleans()), min_size=0, max_size=20))
def test_a_dict_of_columns_gives_the_rows_of_its_table(values):
    floats, ints, texts, flags = (list(column) for column in zip(*values)) if values else ([], [], [], [])
    columns = {"x": np.array(floats, dtype=float), "n": np.array(ints, dtype=np.int64), "what": texts,
               "flag": np.array(flags, dtype=bool)}
    assert charts.records(columns) == charts.records(pd.DataFrame(columns))
