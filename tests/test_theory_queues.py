"""Queueing formulas at the points a learner can check by hand.

M/M/1 and M/M/c textbook numbers, the Erlang C formula written out, load exactly 1, one server and
one stage, the fixed delay a resolver adds (its percentiles solved in closed form), chains of
single-worker queues against the sum of independent exponentials, and error messages that name
the parameter and its range.  Every expected figure is derived here from its definition, not read
from the code under test.
"""

import math
import re
import signal
import warnings
from dataclasses import replace

import numpy as np
import pytest

from chapter1 import Workload, analytic, web_and_database
from chapter1.theory.queues import MAX_SERVERS, MAX_STAGES

RANGE_PERCENT = "percent must be a number in the range (0, 100]"
RANGE_SHARE = "delay_share must be a number in the range [0, 1]"
RANGE_SERVERS = "servers must be a whole number in the range [1, 10,000,000]"


@pytest.fixture(autouse=True)
def _answers_promptly():
    """Every test here answers in well under a second of CPU; a search that never ends fails after 20 s."""
    def hung(signum, frame):
        raise TimeoutError("no answer after 20 s: a search for a percentile never ended")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _erlang_c(c, a):
    """The textbook Erlang C: (a^c / c!) (c / (c - a)) over the sum of a^k / k! for k < c plus that term."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def _hypoexponential_survival(t, rates):
    """P(sum of independent exponentials with distinct rates > t) = sum_i e^(-r_i t) prod_(j != i) r_j / (r_j - r_i)."""
    return sum(math.exp(-r * t) * math.prod(s / (s - r) for s in rates if s != r) for r in rates)


# -- error messages name the parameter and the range that would have worked ----------------------

STAGES = [(10, 1), (20, 1)]
BAD = [
    (lambda: analytic.erlang_c(0, 0.5), RANGE_SERVERS + "; got 0"),
    (lambda: analytic.erlang_c(MAX_SERVERS + 1, 0.5), RANGE_SERVERS + "; got 10000001"),
    (lambda: analytic.erlang_c(2, -0.5), "offered_load must be a number >= 0; got -0.5"),
    (lambda: analytic.mmc(-1, 10), "arrival_rate must be a number >= 0; got -1"),
    (lambda: analytic.mmc(1, 0), "service_rate must be a number > 0; got 0"),
    (lambda: analytic.mmc(1, 10, 0), RANGE_SERVERS + "; got 0"),
    (lambda: analytic.response_time_survival(-0.5, 8, 10), "t must be a number >= 0; got -0.5"),
    (lambda: analytic.response_time_percentile(0, 8, 10), RANGE_PERCENT + "; got 0"),
    (lambda: analytic.response_time_percentile(100.5, 8, 10), RANGE_PERCENT + "; got 100.5"),
    (lambda: analytic.response_time_percentile(50, 8, 10, delay_s=-1), "delay_s must be a number >= 0; got -1"),
    (lambda: analytic.response_time_percentile(50, 8, 10, delay_share=1.5), RANGE_SHARE + "; got 1.5"),
    (lambda: analytic.response_time_percentile(50, 8, 10, delay_share=-0.5), RANGE_SHARE + "; got -0.5"),
    (lambda: analytic.response_time_percentiles(0, [8], 10), RANGE_PERCENT + "; got 0"),
    (lambda: analytic.response_time_percentiles(101, [8], 10), RANGE_PERCENT + "; got 101"),
    (lambda: analytic.response_time_percentiles(50, [8], 10, delay_s=-1), "delay_s must be a number >= 0; got -1"),
    (lambda: analytic.response_time_percentiles(50, [8], 10, delay_share=2), RANGE_SHARE + "; got 2"),
    (lambda: analytic.response_time_percentiles(50, [8], 10, delay_share=-1), RANGE_SHARE + "; got -1"),
    (lambda: analytic.response_time_percentiles(50, [8, -1], 10), "arrival_rates must be a number >= 0; got -1"),
    (lambda: analytic.mmc_curve([-1], 10), "arrival_rates must be a number >= 0; got -1"),
    (lambda: analytic.mmc_curve([1], 0), "service_rate must be a number > 0; got 0"),
    (lambda: analytic.mmc_curve([1], 10, 0), RANGE_SERVERS + "; got 0"),
    (lambda: analytic.mmc_curve([1], 10, delay_s=-1), "delay_s must be a number >= 0; got -1"),
    (lambda: analytic.mmc_curve([1], 10, delay_share=2), RANGE_SHARE + "; got 2"),
    (lambda: analytic.mmc_curve([1], 10, delay_share=-1), RANGE_SHARE + "; got -1"),
    (lambda: analytic.mmc_curve([1], 10, percents=(50, 0)), RANGE_PERCENT + "; got 0"),
    (lambda: analytic.mmc_curve([1], 10, percents=(101,)), RANGE_PERCENT + "; got 101"),
    (lambda: analytic.littles_law(-1, 0.5), "arrival_rate must be a number >= 0; got -1"),
    (lambda: analytic.littles_law(1, -0.5), "mean_time_s must be a number >= 0; got -0.5"),
    (lambda: analytic.tandem(-1, STAGES), "arrival_rate must be a number >= 0; got -1"),
    (lambda: analytic.tandem(1, []), "stages must list at least one (service_rate, servers) pair; got none"),
    (lambda: analytic.tandem(1, [(0, 1)]), "service_rate must be a number > 0; got 0"),
    (lambda: analytic.tandem(1, [(10, 0)]), RANGE_SERVERS + "; got 0"),
    (lambda: analytic.tandem_response_percentile(0, 8, [10]), RANGE_PERCENT + "; got 0"),
    (lambda: analytic.tandem_response_percentile(100.5, 8, [10]), RANGE_PERCENT + "; got 100.5"),
    (lambda: analytic.tandem_response_percentile(50, -1, [10]), "arrival_rate must be a number >= 0; got -1"),
    (lambda: analytic.tandem_response_percentile(50, 8, [10], delay_s=-1), "delay_s must be a number >= 0; got -1"),
    (lambda: analytic.tandem_response_percentile(50, 8, [10], delay_share=2), RANGE_SHARE + "; got 2"),
    (lambda: analytic.tandem_response_percentile(50, 8, [10], delay_share=-1), RANGE_SHARE + "; got -1"),
    (lambda: analytic.tandem_response_percentile(50, 8, [10, 0]), "service_rate must be a number > 0; got 0"),
    (lambda: analytic.tandem_response_percentile(50, 8, []),
     "service_rates must list 1 to 1,000 stages' service rates; got 0"),
    (lambda: analytic.tandem_response_percentile(100, 1, [10] * (MAX_STAGES + 1)),
     "service_rates must list 1 to 1,000 stages' service rates; got 1,001"),
    (lambda: analytic.tandem_independent_percentile(50, -1, STAGES), "arrival_rate must be a number >= 0; got -1"),
    (lambda: analytic.tandem_independent_percentiles(0, [8], STAGES), RANGE_PERCENT + "; got 0"),
    (lambda: analytic.tandem_independent_percentiles(101, [8], STAGES), RANGE_PERCENT + "; got 101"),
    (lambda: analytic.tandem_independent_percentiles(50, [8], STAGES, delay_s=-1),
     "delay_s must be a number >= 0; got -1"),
    (lambda: analytic.tandem_independent_percentiles(50, [8], STAGES, delay_share=2), RANGE_SHARE + "; got 2"),
    (lambda: analytic.tandem_independent_percentiles(50, [8], STAGES, delay_share=-1), RANGE_SHARE + "; got -1"),
    (lambda: analytic.tandem_independent_percentiles(50, [8], STAGES, bins=0),
     "bins must be a whole number in the range [1, 1,048,576]; got 0"),
    (lambda: analytic.tandem_independent_percentiles(50, [8], STAGES, bins=2 ** 20 + 1),
     "bins must be a whole number in the range [1, 1,048,576]; got 1048577"),
    (lambda: analytic.tandem_independent_percentiles(50, [-1], STAGES), "arrival_rates must be a number >= 0; got -1"),
    (lambda: analytic.tandem_independent_percentiles(50, [8], []),
     "stages must list at least one (service_rate, servers) pair; got none"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m.split(" must")[0] + f"-{k}" for k, (_, m) in enumerate(BAD)])
def test_bad_input_names_the_parameter_its_range_and_the_value(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


def test_the_edges_of_each_range_are_accepted():
    """percent 100, a share of 0 or 1, no delay, no traffic, the largest pool and the longest chain all answer."""
    assert analytic.erlang_c(MAX_SERVERS, 0.0) == 0.0          # nobody arrives: nobody waits
    assert analytic.mmc(0, 0.5, MAX_SERVERS).p_wait == 0.0
    assert analytic.mmc_curve([0.0], 0.5, MAX_SERVERS)["p_wait"].tolist() == [0.0]
    assert math.isinf(analytic.tandem_response_percentile(100, 1, [10] * MAX_STAGES))
    assert analytic.tandem_response_percentile(50, 0, [0.5]) == pytest.approx(math.log(2) / 0.5, rel=1e-12)
    for share in (0, 1):
        for delay in (0, 0.25):
            alone = analytic.response_time_percentile(50, 8, 10, delay_s=delay, delay_share=share)
            assert alone > 0
            assert analytic.response_time_percentiles(50, [8], 10, delay_s=delay, delay_share=share)[0] == alone
            chain = analytic.tandem_response_percentile(50, 8, [10], delay_s=delay, delay_share=share)
            assert chain == pytest.approx(alone, rel=1e-9)
    assert analytic.littles_law(2, math.inf) == math.inf     # an endless wait: an endless queue
    assert math.isinf(analytic.response_time_percentile(100, 8, 10))
    assert math.isinf(analytic.tandem_response_percentile(100, 8, [10]))
    assert math.isinf(analytic.response_time_percentiles(100, [8], 10)[0])
    assert math.isinf(analytic.mmc_curve([8], 10, percents=(100,))["p100_s"][0])
    assert math.isinf(analytic.tandem_independent_percentile(100, 8, STAGES))


# -- Erlang C and M/M/c: the textbook numbers ------------------------------------------------------

@pytest.mark.parametrize("servers, load", [(1, 0.3), (1, 0.9), (2, 1.0), (3, 2.4), (5, 4.0), (10, 8.0), (20, 19.5)])
def test_erlang_c_is_the_textbook_formula(servers, load):
    assert analytic.erlang_c(servers, load) == pytest.approx(_erlang_c(servers, load), rel=1e-10)


def test_erlang_c_at_and_beyond_full_load_and_when_the_chance_underflows():
    assert analytic.erlang_c(1, 0.5) == pytest.approx(0.5, rel=1e-12)   # M/M/1: P(wait) = utilisation
    assert analytic.erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert analytic.erlang_c(4, 4.0) == analytic.erlang_c(4, 6.0) == 1.0
    assert analytic.erlang_c(1_000, 10.0) == 0.0       # 1,000 workers for 10 Erlangs: no request waits
    assert 0 < analytic.erlang_c(40, 10.0) < 1e-10


def test_mm1_and_mmc_means_are_the_textbook_ones():
    """M/M/1 at 80 %: W = 1/(mu - lambda) = 0.5 s, Wq = rho/(mu - lambda) = 0.4 s, L = lambda W = 4."""
    one = analytic.mmc(8, 10)
    assert (one.utilization, one.p_wait) == pytest.approx((0.8, 0.8), rel=1e-12)
    assert (one.mean_wait_s, one.mean_response_s, one.mean_in_system) == pytest.approx((0.4, 0.5, 4.0), rel=1e-12)
    assert one.stable
    three = analytic.mmc(24, 10, 3)
    p_wait = _erlang_c(3, 2.4)
    assert three.utilization == pytest.approx(0.8) and three.p_wait == pytest.approx(p_wait, rel=1e-10)
    assert three.mean_wait_s == pytest.approx(p_wait / (30 - 24), rel=1e-10)
    assert three.mean_response_s == pytest.approx(p_wait / 6 + 0.1, rel=1e-10)
    assert three.mean_in_system == pytest.approx(24 * (p_wait / 6 + 0.1), rel=1e-10)
    idle = analytic.mmc(0, 10, 3)
    assert (idle.utilization, idle.p_wait, idle.mean_wait_s, idle.mean_response_s) == (0, 0, 0, 0.1)


@pytest.mark.parametrize("arrival_rate, servers", [(10, 1), (20, 2), (35, 2)])
def test_a_queue_at_or_above_full_load_never_settles(arrival_rate, servers):
    queue = analytic.mmc(arrival_rate, 10, servers)
    assert queue.utilization == arrival_rate / (10 * servers) and queue.p_wait == 1.0
    assert math.isinf(queue.mean_wait_s) and math.isinf(queue.mean_response_s) and math.isinf(queue.mean_in_system)
    assert not queue.stable
    assert analytic.response_time_survival(100.0, arrival_rate, 10, servers) == 1.0
    assert math.isinf(analytic.response_time_percentile(50, arrival_rate, 10, servers))
    curve = analytic.mmc_curve([arrival_rate], 10, servers, percents=(50,))
    assert curve["p_wait"][0] == 1.0 and math.isinf(curve["mean_response_s"][0]) and math.isinf(curve["p50_s"][0])


def test_littles_law_multiplies_rate_by_time():
    assert analytic.littles_law(100, 0.05) == pytest.approx(5.0)
    queue = analytic.mmc(24, 10, 3)
    assert analytic.littles_law(24, queue.mean_response_s) == pytest.approx(queue.mean_in_system, rel=1e-12)


# -- response-time distribution of M/M/c ----------------------------------------------------------

@pytest.mark.parametrize("t", [0.0, 0.05, 0.3, 1.0])
def test_survival_is_exponential_for_one_worker_and_the_two_term_form_for_several(t):
    assert analytic.response_time_survival(t, 8, 10) == pytest.approx(math.exp(-2 * t), rel=1e-12)
    assert analytic.response_time_survival(t, 8, 10, 1) == analytic.response_time_survival(t, 8, 10)
    # three workers at 24 req/s: theta = 3 x 10 - 24 = 6 (the wait's rate), mu = 10
    p = _erlang_c(3, 2.4)
    expected = (1 - p) * math.exp(-10 * t) + p * (6 * math.exp(-10 * t) - 10 * math.exp(-6 * t)) / (6 - 10)
    assert analytic.response_time_survival(t, 24, 10, 3) == pytest.approx(expected, rel=1e-10)
    # two workers at 10 req/s: theta = 2 x 10 - 10 = mu, where the wait and the service have one rate
    p = _erlang_c(2, 1.0)
    expected = (1 - p) * math.exp(-10 * t) + p * (1 + 10 * t) * math.exp(-10 * t)
    assert analytic.response_time_survival(t, 10, 10, 2) == pytest.approx(expected, rel=1e-10)


# A resolver delays a share s of requests by d: P(T > t) = (1 - s) S(t) + s S(t - d), with S(t) = 1 for t < d.
# For M/M/1 with mu - lambda = 2, S(t) = e^(-2t): both percentiles below have closed forms.
DELAYED = [
    # p40 with half the requests delayed 10 s: below the delay, 0.5 S(p) + 0.5 = 0.6, so S(p) = 0.2
    (40, 10.0, 0.5, math.log(5) / 2),
    # p95 with half delayed 0.1 s: 0.5 e^(-2p) (1 + e^0.2) = 0.05
    (95, 0.1, 0.5, math.log((1 + math.exp(0.2)) / 0.1) / 2),
    # everyone delayed 0.25 s: the M/M/1 median shifted by 0.25
    (50, 0.25, 1.0, 0.25 + math.log(2) / 2),
    (90, 0.0, 0.0, math.log(10) / 2),
]


@pytest.mark.parametrize("percent, delay_s, share, expected", DELAYED)
def test_a_resolver_in_front_shifts_the_delayed_share_of_the_distribution(percent, delay_s, share, expected):
    options = dict(delay_s=delay_s, delay_share=share)
    assert analytic.response_time_percentile(percent, 8, 10, **options) == pytest.approx(expected, rel=1e-9)
    assert analytic.response_time_percentiles(percent, [8, 12], 10, **options)[0] == pytest.approx(expected, rel=1e-9)
    curve = analytic.mmc_curve([8], 10, percents=(percent,), **options)
    assert curve[f"p{percent}_s"][0] == pytest.approx(expected, rel=1e-9)
    assert curve["mean_response_s"][0] == pytest.approx(share * delay_s + 0.5, rel=1e-12)
    assert analytic.tandem_response_percentile(percent, 8, [10], **options) == pytest.approx(expected, rel=1e-9)
    # the numerical convolution, exact to its bins of (21/2 + d)/4096 s: measured within 0.18 % here
    approx = analytic.tandem_independent_percentile(percent, 8, [(10, 1)], **options)
    assert approx == pytest.approx(expected, rel=4e-3)


def test_many_rates_at_once_are_each_rate_alone_including_full_load_and_theta_equal_to_mu():
    """Two workers of rate 10: 10 req/s makes the wait's rate equal the service rate (the other form);
    20 req/s is full load.  A curve through both answers quietly (no numpy warnings for the learner)."""
    rates = [0.0, 4.0, 10.0, 19.0, 20.0, 25.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        many = analytic.response_time_percentiles(95, rates, 10, 2, delay_s=0.05, delay_share=0.3)
        curve = analytic.mmc_curve(rates, 10, 2, percents=(95.0,), delay_s=0.05, delay_share=0.3)
    for k, rate in enumerate(rates):
        alone = analytic.response_time_percentile(95, rate, 10, 2, delay_s=0.05, delay_share=0.3)
        assert many[k] == alone
        assert curve["p95_s"][k] == pytest.approx(alone, rel=1e-9)
        queue = analytic.mmc(rate, 10, 2)
        assert curve["utilization"][k] == queue.utilization and curve["p_wait"][k] == pytest.approx(queue.p_wait)
    assert np.isinf(many[-2:]).all() and np.isfinite(many[:-2]).all()
    assert set(curve) == {"utilization", "p_wait", "mean_response_s", "p95_s"}
    assert np.isinf(analytic.response_time_percentiles(50, [20.0, 30.0], 10, 2)).all()


# -- tiers in a row ---------------------------------------------------------------------------------

def test_a_tandem_adds_its_stages_and_names_the_busiest_the_earliest_on_a_tie():
    chain = analytic.tandem(8, iter([(10, 1), (20, 1), (5, 3)]))
    assert chain.stages == (analytic.mmc(8, 10), analytic.mmc(8, 20), analytic.mmc(8, 5, 3))
    assert chain.mean_response_s == pytest.approx(0.5 + 1 / 12 + analytic.mmc(8, 5, 3).mean_response_s, rel=1e-12)
    assert chain.mean_in_system == pytest.approx(8 * chain.mean_response_s, rel=1e-12)
    assert (chain.utilization, chain.bottleneck, chain.stable) == (0.8, 0, True)
    assert analytic.tandem(8, [(20, 1), (10, 1)]).bottleneck == 1
    assert analytic.tandem(8, [(20, 1), (10, 1), (10, 1)]).bottleneck == 1
    assert analytic.tandem(8, [(10, 1), (20, 2)]).bottleneck == 0
    full = analytic.tandem(10, [(20, 1), (10, 1)])
    assert (full.utilization, full.bottleneck, full.stable) == (1.0, 1, False)
    assert math.isinf(full.mean_response_s)


def test_a_chain_of_three_single_workers_is_a_sum_of_exponentials():
    """Stages of 10, 14 and 20 req/s at 6 req/s leave rates 4, 8 and 14: the hypoexponential distribution
    (the convolution to its bins: measured within 0.28 %)."""
    for percent in (50, 95, 99):
        t = analytic.tandem_response_percentile(percent, 6, [10, 14, 20])
        assert _hypoexponential_survival(t, [4, 8, 14]) == pytest.approx(1 - percent / 100, rel=1e-7)
        convolved = analytic.tandem_independent_percentile(percent, 6, [(10, 1), (14, 1), (20, 1)])
        assert convolved == pytest.approx(t, rel=4e-3)


def test_a_long_chain_of_equal_stages_is_an_erlang_distribution():
    """40 stages each left with rate 2 (the many-stage method): P(T > t) = sum_(k < 40) e^(-2t) (2t)^k / k!."""
    t = analytic.tandem_response_percentile(90, 3, [5.0] * 40)
    erlang = sum(math.exp(-2 * t) * (2 * t) ** k / math.factorial(k) for k in range(40))
    assert erlang == pytest.approx(0.1, rel=1e-7)


def test_a_long_chain_of_fast_equal_stages_answers_below_a_second():
    """40 stages each left with rate 100: the Erlang median, about 0.4 s (the many-stage method, short times)."""
    t = analytic.tandem_response_percentile(50, 3, [103.0] * 40)
    erlang = sum(math.exp(-100 * t) * (100 * t) ** k / math.factorial(k) for k in range(40))
    assert t < 1 and erlang == pytest.approx(0.5, rel=1e-7)


def _erlang_survival(t, n, r):
    """P(Erlang(n, r) > t) = sum over k < n of e^(-rt) (rt)^k / k!, for an array of times t > 0."""
    t = np.asarray(t, dtype=float)
    return sum(np.exp(-r * t + k * np.log(r * t) - math.lgamma(k + 1)) for k in range(n))


@pytest.mark.parametrize("service_rates", [[5.0, 3.0] * 15, [3.0, 5.0] * 15], ids=["fast first", "slow first"])
@pytest.mark.parametrize("percent", [5, 50, 95])
def test_a_long_chain_of_two_kinds_of_stage_is_the_sum_of_two_erlang_times(percent, service_rates):
    """15 stages left with rate 3 and 15 with rate 1 (the many-stage method), in either order: the total is
    Erlang(15, 3) plus Erlang(15, 1), whose survival P(A > t) + integral of f_A(s) P(B > t - s) over [0, t]
    is computed here by 400-point Gauss-Legendre (accurate to 1e-13 on this smooth integrand)."""
    t = analytic.tandem_response_percentile(percent, 2, service_rates)
    nodes, weights = np.polynomial.legendre.leggauss(400)
    s, w = (nodes + 1) * t / 2, weights * t / 2
    density = np.exp(15 * math.log(3.0) + 14 * np.log(s) - 3.0 * s - math.lgamma(15))
    survival = float(_erlang_survival(t, 15, 3.0) + np.sum(w * density * _erlang_survival(t - s, 15, 1.0)))
    assert survival == pytest.approx(1 - percent / 100, rel=1e-9)


def test_a_long_chain_of_unequal_stages_agrees_with_the_convolution():
    """30 stages alternating rates 3 and 1 after the load: the two exact methods of the library agree
    (the convolution to its bin width, 0.1 s of a 27 s answer: measured 0.375 % here)."""
    rates = [5.0, 3.0] * 15
    exact = analytic.tandem_response_percentile(95, 2, rates, delay_s=0.5, delay_share=0.4)
    convolved = analytic.tandem_independent_percentile(95, 2, [(mu, 1) for mu in rates], delay_s=0.5,
                                                       delay_share=0.4)
    assert convolved == pytest.approx(exact, rel=4e-3)


@pytest.mark.parametrize("arrival_rate", [10, 12])
def test_a_chain_with_a_stage_at_or_above_full_load_has_no_percentile(arrival_rate):
    """The answer is inf, given quietly (no numpy warning for the learner)."""
    assert math.isinf(analytic.tandem_response_percentile(50, arrival_rate, [20, 10]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isinf(analytic.tandem_independent_percentile(50, arrival_rate, [(20, 1), (10, 1)]))
        both = analytic.tandem_independent_percentiles(50, [5, arrival_rate], [(20, 1), (10, 1)])
    assert both[0] == pytest.approx(analytic.tandem_response_percentile(50, 5, [20, 10]), rel=4e-3)
    assert math.isinf(both[1])


def test_predicted_tiers_with_equal_load_name_the_first_as_the_bottleneck():
    """Web and database both 20 ms with one worker: equally busy, so the web tier (met first) is named."""
    arch = replace(web_and_database(web_workers=1, db_workers=1, web_service_ms=20, db_service_ms=20), dns=None)
    users = [1_000, 20_000]
    curve = analytic.predict_curve(arch, users, percents=(95,))
    for point, u in zip(curve, users):
        rate = Workload(users=u).rate
        assert point["bottleneck"] == analytic.predict(arch, Workload(users=u))["bottleneck"] == "web"
        assert point["p95_ms"] == pytest.approx(1_000 * analytic.tandem_response_percentile(95, rate, [50, 50]),
                                                rel=1e-9)


def test_a_predicted_curve_of_single_worker_tiers_adds_the_lookup_to_the_delayed_share():
    """With DNS in front, a share of requests (the browser-cache misses) pay the lookup first: each point's
    percentiles are the chain's with that share delayed, and the lookup does shift them."""
    arch = web_and_database(web_workers=1, db_workers=1, web_service_ms=20, db_service_ms=10)
    curve = analytic.predict_curve(arch, [2_000, 20_000], percents=(50, 95), requests_per_user=2)
    for point, users in zip(curve, [2_000, 20_000]):
        workload = Workload(users=users, requests_per_user=2)
        share, delay_s = arch.dns.entry_delay(workload)
        assert 0 < share < 1 and delay_s > 0
        for q in (50, 95):
            expected = analytic.tandem_response_percentile(q, workload.rate, [50, 100], delay_s=delay_s,
                                                           delay_share=share)
            assert point[f"p{q}_ms"] == pytest.approx(1_000 * expected, rel=1e-9)
            assert point[f"p{q}_ms"] > 1_000 * analytic.tandem_response_percentile(q, workload.rate, [50, 100])


def test_no_resolver_by_default_and_the_first_bad_argument_is_named():
    """The delay's defaults add nothing (the same figures as 0 s paid by nobody); the arrival rate is checked
    before the list of stages."""
    plain = dict(delay_s=0.0, delay_share=0.0)
    assert analytic.tandem_independent_percentile(95, 8, STAGES) == analytic.tandem_independent_percentile(
        95, 8, STAGES, **plain)
    assert (analytic.tandem_independent_percentiles(95, [8, 12], STAGES)
            == analytic.tandem_independent_percentiles(95, [8, 12], STAGES, **plain)).all()
    assert analytic.response_time_percentile(95, 8, 10) == analytic.response_time_percentile(95, 8, 10, **plain)
    with pytest.raises(ValueError, match="^arrival_rate must be a number >= 0; got -1$"):
        analytic.tandem(-1, [])


@pytest.mark.parametrize("percent", [99, 99.9])
def test_the_convolution_reaches_the_far_tail_of_a_busy_queue(percent):
    """M/M/1 at 80 %: the response time's tail decays at mu - lambda = 2, five times slower than service,
    so p99 (2.3 s) and p99.9 (3.5 s) lie far beyond 21 service times (measured within 0.03 %)."""
    expected = math.log(100 / (100 - percent)) / 2
    assert analytic.tandem_independent_percentile(percent, 8, [(10, 1)]) == pytest.approx(expected, rel=4e-3)
