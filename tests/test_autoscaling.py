"""Chapter 10's autoscaling consumers: the rule, the backlog a start-up delay costs, the fluid model, the bounds."""

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

import chapter1 as c
from chapter1 import analytic
from chapter1.components.autoscaling import Autoscaler, worker_seconds
from chapter1.components.queue import Consumers
from chapter1.sections import autoscaling as sec


def test_the_rule_orders_at_once_and_removes_only_after_the_cooldown():
    rule = analytic.ScalingRule(min_workers=2, max_workers=10, target_backlog_per_worker=5, cooldown_s=30)
    assert rule.decide(10, backlog=0, paid=2) == 0
    assert rule.decide(20, backlog=23, paid=2) == 3             # ceil(23 / 5) = 5 wanted, 2 paid
    assert rule.decide(30, backlog=400, paid=5) == 5            # capped at max_workers
    assert rule.decide(40, backlog=0, paid=10) == 0             # the wish for 10 at 30 s is remembered
    assert rule.decide(60, backlog=0, paid=10) == -8            # 30 s later: back to min_workers


@pytest.mark.parametrize("peak, provision_s", [(12, 20), (12, 0), (16, 10)])
def test_backlog_when_help_arrives_follows_threshold_plus_growth_times_delay_and_half_a_check(peak, provision_s):
    # The step falls at 16 places spread evenly over the check interval (so W averages h/2), two runs each.
    measured, expected = [], []
    for k in range(32):
        at_s = sec.PEAK_AT_S + (k % 16 + 0.5) * sec.CHECK_S / 16
        result = sec.runs(peak, provision_s, 16, seed=k, seeds=1, at_s=at_s)[0]
        measured.append(sec.help_arrives(result)[1])
        expected.append(sec.help_theory(peak, provision_s, step_at_s=at_s))
    theory = sec.help_theory(peak, provision_s)  # 220, 60 and 200 photos
    assert abs(np.mean(expected) / theory - 1) < 0.02  # the 16 phases average W to h/2 (within h/32)
    # Measured over seeds 0-31: 214.7 vs 220, 59.9 vs 60, 200.4 vs 200 (seeds 100-131: 217.5, 61.8, 197.2).  A run
    # strays by a whole check, (λ − cμ) x h, when Poisson noise moves the threshold crossing past a check, so
    # runs scatter by 21-37 photos around their own phase's theory: the mean's standard error is 4-7 photos.
    residual = np.array(measured) - np.array(expected)
    error = residual.std(ddof=1) / np.sqrt(len(residual))
    assert abs(np.mean(measured) - theory) < max(3 * error, 0.03 * theory), (measured, theory)
    assert abs(np.mean(measured) / theory - 1) < 0.15, (measured, theory)


def test_the_fluid_model_follows_the_simulated_backlog_workers_and_cost():
    grid = np.arange(0.0, sec.HORIZON_S, 1.0)
    line = sec.fluid(12, 20, 16, grid)
    results = sec.runs(12, 20, 16, seeds=4)
    peaks = [r.summary()["backlog_max"] for r in results]
    paid = [sec.cost(r)[0] for r in results]
    # measured peaks 240-262 against the fluid's 240; worker-seconds 1,883-1,920 against 1,900
    assert abs(np.mean(peaks) / line["backlog"].max() - 1) < 0.1, peaks
    assert abs(np.mean(paid) / sec.fluid_cost(12, 20, 16) - 1) < 0.05, paid
    same = [np.mean(sec._workers(r, grid) == line["workers"]) for r in results]
    assert np.mean(same) > 0.85, same  # the workers' timeline agrees at most moments (a check can differ by one)


def test_workers_stay_within_bounds_start_after_the_delay_and_leave_only_after_the_cooldown():
    policy = Autoscaler(min_workers=2, max_workers=9, target_backlog_per_worker=4, check_every_s=5,
                        provision_s=15, cooldown_s=40)
    arch = c.queued(workers=2, service_time_ms=195, autoscale=policy)   # 5 messages/s a worker
    workload = c.Workload.from_rate(8, rate_steps=((20, 5.0), (60, 1.0)))
    result = c.simulate(arch, workload, requests=3_000, seed=3)
    times, running, paid = result.runtimes[-1].scaling.workers()
    assert paid.min() >= 2 and paid.max() == 9 and running.max() == 9
    ups = times[1:][np.diff(paid) > 0]
    downs = times[1:][np.diff(paid) < 0]
    started = times[1:][np.diff(running) > 0]
    assert set(np.round(started, 9)) <= set(np.round(ups + 15, 9))     # every start is an order + 15 s
    assert downs.size and all(t - ups[ups < t].max() >= 40 for t in downs)
    assert running[-1] <= 4   # scaled in after the peak (80 % busy on 2 workers, a backlog of 5-8 wants 2-4)
    s = result.summary()
    assert s["worker_seconds"] == pytest.approx(worker_seconds(times, paid, 0, result.runtimes[-2].last_s))
    assert 0.3 < s["consumers_utilization"] <= 1.0   # busy time over the mean running workers, not the first 2


def test_a_higher_ceiling_costs_more_and_shortens_the_longest_wait():
    low, high = sec.runs(14, 10, 8, seed=2, seeds=1)[0], sec.runs(14, 10, 20, seed=2, seeds=1)[0]
    (paid_low, wait_low), (paid_high, wait_high) = sec.cost(low), sec.cost(high)
    assert paid_high > paid_low and wait_high < wait_low
    fixed = sec.cost(sec.runs(14, 10, 20, seed=2, seeds=1, autoscale=False)[0])
    assert fixed[0] == 20 * sec.HORIZON_S and fixed[1] < wait_high and fixed[0] > paid_high


def test_same_seed_same_result():
    first, second = (sec.runs(12, 20, 16, seed=5, seeds=1)[0] for _ in range(2))
    assert_frame_equal(first.requests, second.requests)
    assert first.summary().equals(second.summary())


def test_the_panel_draws_every_example():
    for values in (sec.PANEL.defaults, *sec.PANEL.examples):
        chart, html = sec.PANEL.draw(**values)
        assert "<svg" in chart.data and "worker-seconds" in html


@pytest.mark.parametrize("make, error", [
    (lambda: Autoscaler(min_workers=0), ValueError),
    (lambda: Autoscaler(min_workers=5, max_workers=4), ValueError),
    (lambda: Autoscaler(target_backlog_per_worker=0), ValueError),
    (lambda: Autoscaler(check_every_s="10"), TypeError),
    (lambda: Autoscaler(provision_s=-1), ValueError),
    (lambda: Consumers(workers=1, autoscale=Autoscaler(min_workers=2)), ValueError),
    (lambda: Consumers(autoscale={"max_workers": 8}), TypeError),
    (lambda: c.queued(workers=20, autoscale=Autoscaler(max_workers=16)), ValueError),
    (lambda: analytic.backlog_when_help_arrives(12, 1, 4, provision_s=-5, check_every_s=10,
                                                target_backlog_per_worker=5), ValueError),
    (lambda: analytic.scale_out_threshold(0, 5), ValueError),
])
def test_bad_input_is_refused_clearly(make, error):
    with pytest.raises(error, match=r"must be"):
        make()
