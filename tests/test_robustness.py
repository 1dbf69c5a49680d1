"""Inputs a curious learner tries: each gets a clear error or a finite, in-range answer, quickly.

Every case here was a defect once: a hang inside an accepted range, a silent nonsense answer, an
error about a parameter the caller never passed, or overlapping outages counted twice.
"""

import math
import signal

import numpy as np
import pytest

import chapter1 as c
from chapter1 import analytic
from chapter1.sections import availability, datastores, failover

# -- no hangs inside accepted ranges ----------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: analytic.erlang_c(10_000_000, 1.0),
    lambda: analytic.mmc(1, 1, servers=10_000_000),
    lambda: analytic.tandem_response_percentile(95, 1, [5.0] * 200),
])
def test_large_but_valid_inputs_answer_instead_of_hanging(call):
    answer = within(20, call)  # a hang guard, not a speed target (benchmarks/ measure speed)
    assert math.isfinite(answer if isinstance(answer, float) else answer.p_wait)


def within(seconds, call):
    """Run ``call``; fail if it has not answered after ``seconds`` (it used to loop for hours)."""
    def hung(signum, frame):
        raise TimeoutError(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        return call()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_beyond_the_bounds_is_refused_with_the_range():
    with pytest.raises(ValueError, match=r"servers must be a whole number in the range \[1, 10,000,000\]"):
        analytic.erlang_c(10**9, 1.0)
    with pytest.raises(ValueError, match="service_rates must list 1 to 1,000 stages"):
        analytic.tandem_response_percentile(95, 1, [5.0] * 1_001)
    with pytest.raises(ValueError, match="horizon_s must cover at most 1,000,000 failure cycles"):
        availability.random_outages(c.Server(), 90, 10, 1e9, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"users x orders_per_user must be at most 5,000,000"):
        datastores.sample_shop(users=1_000_000, orders_per_user=1_000)


def test_many_stages_match_the_erlang_distribution():
    """60 identical M/M/1 stages: the total is Erlang-60 with rate mu - lambda (mean 60 / (mu - lambda))."""
    p50 = analytic.tandem_response_percentile(50, 1.0, [5.0] * 60)
    assert p50 == pytest.approx(59.67 / 4.0, rel=1e-3)  # the Erlang-60 median is about k - 1/3


# -- no silent nonsense -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: analytic.response_time_survival(-1, 8, 10), "t"),
    (lambda: analytic.tandem_response_percentile(95, 1, [5.0], delay_s=0.1, delay_share=5), "delay_share"),
    (lambda: analytic.tandem_response_percentile(95, 1, [5.0], delay_s=-0.1, delay_share=0.5), "delay_s"),
    (lambda: failover.expected_failed(100, 0, 22.5, 10), "servers"),
    (lambda: failover.expected_failed(100, 4, 22.5, 10, "DNS round robin", ttl_s=-60, hit_ratio=0.5), "ttl_s"),
    (lambda: failover.expected_failed(100, 4, 22.5, 10, "DNS round robin", ttl_s=60, hit_ratio=5), "hit_ratio"),
    (lambda: availability.expected_failed_share(2, 0.9, interval_s=0.5, mtbf_s=-5, mttr_s=10), "mtbf_s"),
    (lambda: failover.failover_pool(servers=1), "servers"),
])
def test_out_of_range_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value).startswith(name + " "), str(error.value)


def test_power_of_d_with_d_1_is_random_routing_at_any_load():
    for rho in (0.5, 0.99, 0.9999):
        one = analytic.power_of_two(rho * 80, 10, servers=8, d=1).mean_response_s
        assert one == pytest.approx(analytic.random_routing(rho * 80, 10, servers=8).mean_response_s, rel=1e-12)


def test_power_of_two_with_one_server_is_that_server():
    assert analytic.power_of_two(8, 10, servers=1).mean_response_s == pytest.approx(analytic.mmc(8, 10).mean_response_s)


def test_overlapping_outages_of_one_box_count_once():
    a = c.Server(name="a").fail(0, 10).fail(5, 20)
    assert availability.down_share([a, c.Server(name="b")], 100) == 0.0
    assert availability.down_share([a], 100) == pytest.approx(0.2)
    assert availability.down_share([a, c.Server(name="b").fail(8, 30)], 100) == pytest.approx(0.12)


# -- wrong types say what would have worked -----------------------------------------------------------

@pytest.mark.parametrize("call, fragment", [
    (lambda: analytic.predict(1, c.Workload()), "architecture must be a Architecture"),
    (lambda: analytic.predict(c.single_server(), 1000), "workload must be a Workload"),
    (lambda: c.database_tier.tier_table(c.web_and_database(), 300_000), "workload must be a Workload"),
    (lambda: c.diagram.draw("single server"), "architecture must be a Architecture"),
    (lambda: c.sweep(c.single_server(), users=1000), "users must be a list"),
])
def test_wrong_types_raise_type_error_naming_an_example(call, fragment):
    with pytest.raises(TypeError, match=fragment):
        call()


# -- what the simulation counts --------------------------------------------------------------------

def test_requests_killed_in_service_are_not_served():
    arch = c.single_server(workers=4, service_time_ms=200).fail("server", at_s=5, recover_s=15)
    result = c.simulate(arch, c.Workload.from_rate(15), requests=1_000, seed=3)
    row = result.components.set_index("component").loc["server"]
    assert row["served"] + row["error"] + row["timeout"] + row["rejected"] <= 1_000
    assert row["served"] == (result.requests["status"] == "ok").sum() + row["timeout"]


def test_answers_are_finite_numbers():
    assert math.isfinite(analytic.erlang_c(10_000_000, 9_999_999.0))
