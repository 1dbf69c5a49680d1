"""analytic: the closed forms, checked against independent formulas and their own identities."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1 import analytic


def erlang_c_textbook(c, a):
    """Erlang C by the textbook sum (fine for small c): P(wait) in an M/M/c queue with load a < c."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c, a", [(1, 0.3), (2, 1.0), (4, 3.2), (8, 4.0), (10, 9.5), (20, 15.0)])
def test_erlang_c_matches_the_textbook_formula(c, a):
    assert analytic.erlang_c(c, a) == pytest.approx(erlang_c_textbook(c, a), rel=1e-10)


@given(st.integers(1, 30), st.floats(min_value=0, max_value=0.999))
def test_erlang_c_is_a_probability_that_rises_with_load(c, rho):
    p = analytic.erlang_c(c, rho * c)
    assert 0 <= p <= 1
    assert analytic.erlang_c(c, min(rho + 0.01, 0.999) * c) >= p - 1e-12
    # for M/M/1 it is the utilisation
    if c == 1:
        assert p == pytest.approx(rho)


@given(st.integers(1, 30), st.floats(min_value=0.01, max_value=20))
def test_more_servers_at_the_same_load_wait_less(c, a):
    if a < c:
        assert analytic.erlang_c(c + 1, a) <= analytic.erlang_c(c, a) + 1e-12


def test_erlang_c_is_one_when_overloaded():
    assert analytic.erlang_c(4, 4.0) == 1.0
    assert analytic.erlang_c(4, 10.0) == 1.0


def test_erlang_c_stays_finite_for_large_server_counts():
    p = analytic.erlang_c(2_000, 1_900.0)
    assert 0 < p < 1 and math.isfinite(p)


@given(st.floats(min_value=0.1, max_value=1e4), st.floats(min_value=0, max_value=0.99))
def test_mm1_closed_forms(mu, rho):
    lam = rho * mu
    q = analytic.mmc(lam, mu)  # servers=1 is M/M/1
    assert q.utilization == pytest.approx(rho)
    assert q.p_wait == pytest.approx(rho)
    assert q.mean_response_s == pytest.approx(1 / (mu - lam))
    assert q.mean_wait_s == pytest.approx(rho / (mu - lam))
    assert q.stable


@given(st.integers(1, 50), st.floats(min_value=0.1, max_value=1e3), st.floats(min_value=0, max_value=0.99))
def test_mmc_identities(c, mu, rho):
    lam = rho * c * mu
    q = analytic.mmc(lam, mu, c)
    assert q.utilization == pytest.approx(rho)
    assert q.mean_response_s == pytest.approx(q.mean_wait_s + 1 / mu)
    assert q.mean_in_system == pytest.approx(lam * q.mean_response_s)  # Little's law
    assert q.mean_wait_s == pytest.approx(q.p_wait / (c * mu - lam))


def test_mmc_overloaded_never_settles():
    q = analytic.mmc(arrival_rate=30, service_rate=10, servers=2)
    assert not q.stable
    assert q.utilization == pytest.approx(1.5)
    assert math.isinf(q.mean_response_s) and math.isinf(q.mean_wait_s) and q.p_wait == 1.0


def test_more_servers_of_the_same_total_capacity_queue_less_but_serve_slower():
    # 1 fast server vs 4 servers a quarter as fast: same capacity; the fast one answers sooner
    one = analytic.mmc(80, 100, 1)
    four = analytic.mmc(80, 25, 4)
    assert one.utilization == pytest.approx(four.utilization)
    assert one.mean_response_s < four.mean_response_s
    assert four.mean_wait_s < one.mean_wait_s


@pytest.mark.parametrize("percent", [50, 90, 95, 99])
@pytest.mark.parametrize("lam, mu", [(5, 10), (8, 10), (95, 100)])
def test_mm1_percentile_is_exponential(percent, lam, mu):
    # M/M/1 response time is exponential with rate mu - lambda
    expected = -math.log(1 - percent / 100) / (mu - lam)
    assert analytic.response_time_percentile(percent, lam, mu) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("c, lam, mu", [(2, 10, 10), (4, 32, 10), (8, 40, 10), (3, 20, 10)])
@pytest.mark.parametrize("percent", [50, 95, 99])
def test_mmc_percentile_inverts_the_survival_function(c, lam, mu, percent):
    t = analytic.response_time_percentile(percent, lam, mu, c)
    assert analytic.response_time_survival(t, lam, mu, c) == pytest.approx(1 - percent / 100, abs=1e-9)


def test_survival_function_shape():
    s = [analytic.response_time_survival(t, 32, 10, 4) for t in (0, 0.05, 0.1, 0.5, 1, 5)]
    assert s[0] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(s, s[1:]))
    # mean = integral of the survival function (trapezoid rule up to 10 s, where it is ~1e-25)
    dt = 2e-3
    values = [analytic.response_time_survival(k * dt, 32, 10, 4) for k in range(5_001)]
    mean = (sum(values) - (values[0] + values[-1]) / 2) * dt
    assert mean == pytest.approx(analytic.mmc(32, 10, 4).mean_response_s, rel=1e-4)


@settings(max_examples=30)
@given(st.integers(1, 10), st.floats(min_value=0.05, max_value=0.95))
def test_percentiles_are_monotone(c, rho):
    mu = 10.0
    p = [analytic.response_time_percentile(q, rho * c * mu, mu, c) for q in (10, 50, 90, 95, 99)]
    assert all(a < b for a, b in zip(p, p[1:]))


def test_percentile_with_a_delay_mixture():
    base = analytic.response_time_percentile(95, 8, 10)
    assert analytic.response_time_percentile(95, 8, 10, delay_s=0.03, delay_share=0.0) == pytest.approx(base)
    # everyone pays the delay: everything shifts by it
    assert analytic.response_time_percentile(95, 8, 10, delay_s=0.03, delay_share=1.0) == pytest.approx(base + 0.03)
    half = analytic.response_time_percentile(95, 8, 10, delay_s=0.03, delay_share=0.5)
    assert base < half < base + 0.03


def test_percentile_edge_cases():
    assert math.isinf(analytic.response_time_percentile(100, 8, 10))
    assert math.isinf(analytic.response_time_percentile(50, 12, 10))  # overloaded


def test_littles_law():
    assert analytic.littles_law(100, 0.05) == pytest.approx(5.0)
    assert analytic.littles_law(0, 3) == 0
    assert math.isinf(analytic.littles_law(1, math.inf))


def test_availability_series_and_parallel():
    assert analytic.availability_series(0.99, 0.99, 0.99) == pytest.approx(0.99**3)
    assert analytic.availability_parallel(0.99, 0.99) == pytest.approx(1 - 0.01**2)
    assert analytic.availability_series(0.999) == pytest.approx(0.999)
    assert analytic.availability_parallel(0.9) == pytest.approx(0.9)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=8))
def test_chains_are_weaker_and_redundancy_stronger_than_any_part(parts):
    series = analytic.availability_series(*parts)
    parallel = analytic.availability_parallel(*parts)
    assert 0 <= series <= min(parts) + 1e-12
    assert max(parts) - 1e-12 <= parallel <= 1


def test_downtime_per_year():
    assert analytic.downtime_per_year(0.999) == pytest.approx(0.001 * 365.25 * 24)  # "three nines": ~8.77 h
    assert analytic.downtime_per_year(0.99999) * 60 == pytest.approx(5.26, abs=0.01)  # "five nines": ~5 min
    assert analytic.downtime_per_year(1) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("a", [0.5, 0.9, 0.995])
def test_k_of_n_availability_counts_every_up_down_pattern(n, a):
    """Against brute force over all 2^n patterns of up and down boxes."""
    import itertools

    for k in range(n + 1):
        brute = sum(math.prod(a if up else 1 - a for up in pattern)
                    for pattern in itertools.product([True, False], repeat=n) if sum(pattern) >= k)
        assert analytic.k_of_n_availability(k, n, a) == pytest.approx(brute, rel=1e-12)
    assert analytic.k_of_n_availability(1, n, a) == pytest.approx(analytic.availability_parallel(*[a] * n))
    assert analytic.k_of_n_availability(n, n, a) == pytest.approx(analytic.availability_series(*[a] * n))


@pytest.mark.parametrize("stages", [[(1000 / 30, 8), (1000 / 20, 4)], [(50.0, 1)], [(40.0, 2), (40.0, 1), (90.0, 3)]])
def test_percentiles_at_many_rates_are_the_functions_point_by_point_bit_for_bit(stages):
    # rates below capacity, at it and beyond; a 2-worker stage at 40/s meets theta = mu at 40/s
    capacity = min(mu * c for mu, c in stages)
    rates = [0.0, 0.1 * capacity, 40.0, 0.5 * capacity, 0.97 * capacity, capacity, 1.2 * capacity]
    for delay_s, share in ((0.0, 0.0), (0.03, 0.4)):
        tandem = analytic.tandem_independent_percentiles(95, rates, stages, delay_s, share)
        assert tandem.tolist() == [analytic.tandem_independent_percentile(95, r, stages, delay_s, share) for r in rates]
        mu, c = stages[0]
        one = analytic.response_time_percentiles(99, rates, mu, c, delay_s, share)
        assert one.tolist() == [analytic.response_time_percentile(99, r, mu, c, delay_s, share) for r in rates]
    assert math.isinf(tandem[-2]) and analytic.tandem_independent_percentiles(95, [], stages).size == 0
    with pytest.raises(ValueError, match="arrival_rates"):
        analytic.tandem_independent_percentiles(95, [1.0, -1.0], stages)
