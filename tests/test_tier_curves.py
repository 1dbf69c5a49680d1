"""Chapter 02's theory lines, computed for less, give the same figures as the longer way they replace.

* The split design's p95 if its tiers were independent: the stages' bins convolved over the first quarter of
  the grid (where the answer lies) give the bin found over the whole grid.
* :func:`independence_curve` takes its means without theory_curve's p95s, which it replaces.
"""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.architectures import web_and_database
from chapter1.core.workload import Workload
from chapter1.present import charts
from chapter1.sections import database_tier as dbt
from chapter1.sections.web_workers import _tandem, independence_curve
from chapter1.theory import queues


def whole_grid(percent, rates, stages, delay_s, share, bins):
    """The quantiles from every bin of the grid, one rate at a time (the computation before the first quarter)."""
    answers = []
    for rate in rates:
        curves = [(mu, servers, queues.mmc_curve([rate], mu, servers)) for mu, servers in stages]
        if any(c["utilization"][0] >= 1 for _, _, c in curves) or percent == 100:
            answers.append(np.inf)
            continue
        answers += queues._quantile_bins(percent, np.array([rate]), delay_s, share, bins, bins, True,
                                         [(mu, servers, c["p_wait"]) for mu, servers, c in curves])
    return np.array(answers)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(stages=st.lists(st.tuples(st.sampled_from([5, 20, 30, 100, 200]), st.sampled_from([1, 2, 8, 64])),
                       min_size=1, max_size=3),
       loads=st.lists(st.floats(0.0, 1.05), min_size=1, max_size=12),
       percent=st.sampled_from([50, 90, 95, 99, 99.9, 100]), delay_s=st.sampled_from([0.0, 0.03, 0.5]),
       share=st.sampled_from([0.0, 0.3, 0.88, 1.0]), bins=st.sampled_from([4_096, 1_000, 7, 3]))
def test_a_quarter_of_the_grid_finds_the_whole_grids_quantile(stages, loads, percent, delay_s, share, bins):
    stations = [(1_000.0 / ms, servers) for ms, servers in stages]
    rates = np.array(loads) * min(mu * servers for mu, servers in stations)
    found = queues.tandem_independent_percentiles(percent, rates, stations, delay_s, share, bins)
    np.testing.assert_array_equal(found, whole_grid(percent, rates, stations, delay_s, share, bins))


def test_an_answer_beyond_the_first_quarter_is_found_over_the_whole_grid():
    stations = [(1_000 / 30, 8), (1_000 / 20, 4)]
    rates = np.array([20.0, 150.0, 190.0])
    for percent in (99.9, 99.999):  # far in the tail: past the first quarter for some rates
        found = queues.tandem_independent_percentiles(percent, rates, stations, 0.03, 0.9)
        np.testing.assert_array_equal(found, whole_grid(percent, rates, stations, 0.03, 0.9, 4_096))


def theory_curve_way(architecture, users_range, points, ceiling=None, near=()):
    """independence_curve as it was: theory_curve's means (and p95s, thrown away), then the p95 line."""
    curve = charts.theory_curve(architecture, users_range, points, ceiling=ceiling, near=near)
    if len(architecture.tiers) > 1 and (curve["statistic"] == "p95").any():
        return curve
    mean = curve[curve["statistic"] == "mean"]
    users = mean["users"].to_numpy()
    stages, delay_s, share = _tandem(architecture, Workload())
    rates = users * Workload().per_user_rate
    p95 = (queues.response_time_percentiles(95, rates, *stages[0], delay_s, share) if len(stages) == 1 else
           queues.tandem_independent_percentiles(95, rates, stages, delay_s, share))
    latency = np.column_stack([mean["latency_ms"].to_numpy(), p95 * 1_000.0])
    rows = pd.DataFrame({"users": np.repeat(users, 2), "statistic": np.tile(["mean", "p95"], len(users)),
                         "latency_ms": latency.ravel()})
    return rows[np.isfinite(rows["latency_ms"])].reset_index(drop=True)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(web=st.tuples(st.sampled_from([1, 8, 64]), st.sampled_from([5, 30, 200])),
       db=st.tuples(st.sampled_from([1, 4, 64]), st.sampled_from([5, 20, 200])), split=st.booleans(),
       near=st.booleans(), points=st.sampled_from([3, 60]))
def test_independence_curve_gives_the_theory_curve_way(web, db, split, near, points):
    design = (web_and_database(web_workers=web[0], db_workers=db[0], web_service_ms=web[1], db_service_ms=db[1])
              if split else dbt.one_box(workers=web[0], web_service_ms=web[1], db_service_ms=db[1]))
    options = {"ceiling": dbt.saturation_users, "near": (0.9, 0.95, 0.99)} if near else {}
    if dbt.saturation_users(design) <= dbt.USERS_RANGE[0]:  # overloaded all along: no line (the old way failed)
        assert independence_curve(design, dbt.USERS_RANGE, points, **options).empty
        return
    pd.testing.assert_frame_equal(independence_curve(design, dbt.USERS_RANGE, points, **options),
                                  theory_curve_way(design, dbt.USERS_RANGE, points, **options))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(servers=st.sampled_from([1, 2, 8, 64]), service_ms=st.sampled_from([5.0, 20.0, 100.0]),
       loads=st.lists(st.floats(0.0, 0.999), min_size=1, max_size=8), times=st.lists(st.floats(0.0, 5.0), min_size=1,
                                                                                     max_size=8),
       scalar=st.booleans(), limit=st.booleans())
def test_survival_with_its_constants_worked_out_once_is_the_same_function(servers, service_ms, loads, times, scalar,
                                                                           limit):
    mu = 1_000.0 / service_ms
    rates = np.array(loads) * servers * mu
    if limit:  # theta = c mu - lambda = mu exactly: the other form
        rates[0] = (servers - 1) * mu
    curve = queues.mmc_curve(rates, mu, servers)
    t = np.array(times)[:, None]
    if scalar:
        for rate, p_wait in zip(rates.tolist(), curve["p_wait"].tolist()):
            for moment in times:
                assert queues._survival_at(rate, mu, servers, p_wait)(moment) == queues._survival(moment, rate, mu,
                                                                                                   servers, p_wait)
    else:
        np.testing.assert_array_equal(queues._survival_at(rates, mu, servers, curve["p_wait"])(t),
                                      queues._survival(t, rates, mu, servers, curve["p_wait"]))


def erlang_b_step_by_step(load, servers):
    """Erlang B over an array of loads, setting an underflowed B to 0 at every step (the loop mmc_curve had)."""
    b = np.ones_like(load)
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
        b[b < 1e-300] = 0.0
        if not b.any():
            break
    return b


@settings(max_examples=200, deadline=None, derandomize=True)
@given(servers=st.sampled_from([1, 2, 7, 8, 9, 48, 448, 5_000]),
       loads=st.lists(st.one_of(st.floats(0.0, 1.05), st.floats(0.0, 0.01), st.sampled_from([0.0, 1e-9, 1.4e-44])),
                      min_size=1, max_size=10))
def test_the_curves_erlang_b_zeroes_an_underflow_as_the_step_by_step_loop(servers, loads):
    mu = 50.0
    rates = np.array(loads) * servers * mu
    load = rates / mu  # as mmc_curve has it
    b = erlang_b_step_by_step(load, servers)
    rho = load / servers
    with np.errstate(divide="ignore", invalid="ignore"):
        p_wait = np.where(rho < 1, b / (1 - rho + rho * b), 1.0)
    np.testing.assert_array_equal(queues.mmc_curve(rates, mu, servers)["p_wait"], p_wait)
