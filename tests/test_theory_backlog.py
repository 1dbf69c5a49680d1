"""The autoscaled backlog a learner reads off chapter 10's chart: its peak, when it drains, when help arrives.

Every expected value is walked by hand on the fluid model (arrivals and work at their mean rates): between
two events (a check, a worker ready, a rate step) the backlog moves in a straight line at
lambda - running x mu and stops at zero; at each check (h, 2h, ...) the autoscaler wants
ceil(backlog / target) workers within [min, max], orders the difference at once (ready ``provision_s``
later) and removes workers only down to the highest wish of the last ``cooldown_s`` seconds.  A fluid
model has exact answers, so the comparisons are to 1e-9.
"""

import numpy as np
import pytest

from chapter1 import analytic
from chapter1.theory.autoscaling import ScalingRule, autoscaled_backlog

EXACT = dict(rel=1e-9, abs=1e-9)

SCENARIOS = {  # name: (the call's arguments but times, times, backlog, workers paid for), walked below
    "step up": (dict(rates=((0, 1.0), (1, 7.0)), service_rate=2.0, workers=1, rule=(1, 6, 4, 60), check_every_s=2,
                     provision_s=3), [1, 2, 4, 6, 8, 10, 12, 13, 14], [0, 5, 15, 23, 25, 19, 9, 4, 0],
                [1, 2, 4, 6, 6, 6, 6, 6, 6]),
    "scale in while starting": (dict(rates=((0, 3.0), (5, 0.2)), service_rate=1.0, workers=1, rule=(1, 8, 2, 0),
                                     check_every_s=5, provision_s=7), [5, 10, 11, 13, 15, 20],
                                [10, 6, 6.2, 2.6, 0, 0], [5, 4, 4, 4, 1, 1]),
    "first check": (dict(rates=((0, 3.0),), service_rate=1.0, workers=4, rule=(1, 8, 2, 0), check_every_s=5,
                         provision_s=0), [4, 5, 7.5, 10, 12.5, 15], [0, 0, 5, 10, 5, 0], [4, 1, 1, 5, 5, 1]),
    "half-second checks": (dict(rates=((0, 3.0),), service_rate=1.0, workers=1, rule=(1, 4, 1, 10),
                                check_every_s=0.5, provision_s=0), [0.5, 1, 1.25, 1.5, 5], [1, 2, 2.25, 2.5, 2.5],
                           [1, 2, 2, 3, 3]),
}


def _walk(name, times=None):
    """(backlog, workers paid for) of a scenario at its times (or at ``times``), with a fresh rule."""
    kwargs, walked, _, _ = SCENARIOS[name]
    backlog, paid = autoscaled_backlog(walked if times is None else times,
                                       **{**kwargs, "rule": ScalingRule(*kwargs["rule"])})
    return backlog.tolist(), paid.tolist()


def _agrees_with_the_hand_walk(name):
    backlog, paid = _walk(name)
    return backlog == pytest.approx(SCENARIOS[name][2], **EXACT) and paid == SCENARIOS[name][3]


def test_a_step_up_grows_the_backlog_until_the_workers_ordered_are_ready():
    """One worker takes 2 of 7 a second: +5 a second from 1 s (5 at the check at 2 s, which orders 1 more;
    15 at 4 s, which orders 2).  The first is ready at 5 s, between two checks: +3 a second from there (23
    at 6 s, which orders the last 2 the ceiling allows), the next two at 7 s: -1 a second (25 at 8 s, where
    7 are wanted but 6 is the ceiling); all six at 9 s: -5 a second (19 at 10 s, 9 at 12 s, 4 at 13 s)."""
    assert _agrees_with_the_hand_walk("step up")


def test_the_peak_of_the_backlog_and_when_it_drains_are_read_off_a_fine_grid():
    """The peak is 26 at 7 s (the moment the third and fourth workers start: the pool first keeps up then);
    the backlog is gone at 9 + 24 / 5 = 13.8 s."""
    times = np.arange(0, 201) / 10
    backlog = np.array(_walk("step up", times)[0])
    assert backlog.max() == pytest.approx(26, **EXACT) and times[backlog.argmax()] == 7
    drained = times[(times > 7) & (backlog <= 1e-9)]
    assert drained[0] == pytest.approx(13.8, **EXACT)


def test_scaling_in_while_ordered_workers_start_stops_only_the_running_ones():
    """Cooldown 0, 7 s to start, checks every 5 s, workers of 1 a second (1 to 8, target 2 a worker).  At 3 a
    second the backlog is 10 at 5 s: 4 more ordered (ready at 12 s).  The rate falls to 0.2 at 5 s; at 10 s
    the backlog is 6, 3 workers are wanted and 5 are paid for: 2 must go, but only 1 runs, so none runs (as
    the simulated autoscaler stops at most the running ones) and the backlog grows 0.2 a second until the
    4 start at 12 s (6.4), then drains at 3.8 a second; at 15 s it is empty and 3 of the 4 go."""
    assert _agrees_with_the_hand_walk("scale in while starting")


def test_the_first_check_comes_one_interval_after_the_start():
    """A pool started with 4 workers for 3 a second keeps them until the first check at 5 s (no backlog), which
    keeps 1 (cooldown 0): +2 a second, 10 at 10 s, which orders 4 ready at once: -2 a second, empty at 15 s."""
    assert _agrees_with_the_hand_walk("first check")


def test_a_time_a_billionth_of_an_interval_in_is_no_check():
    """Checks every second: 1e-9 s in is no check (the pool of 4 started for 3 a second is untouched); the check at
    1 s finds no backlog and keeps 1."""
    rule = ScalingRule(min_workers=1, max_workers=8, target_backlog_per_worker=2, cooldown_s=0)
    _, paid = autoscaled_backlog([1e-9, 1], ((0, 3.0),), 1.0, 4, rule, check_every_s=1, provision_s=0)
    assert paid.tolist() == [4, 1]


def test_checks_every_half_second_settle_the_backlog_where_the_pool_keeps_up():
    """3 a second on 1 worker of 1 a second, target 1 a worker, workers ready at once: 1 at 0.5 s (enough),
    2 at 1 s (a second worker: +1 a second), 2.5 at 1.5 s (a third: the pool keeps up) and 2.5 from then on,
    since 2.5 waiting want 3 workers, not 4."""
    assert _agrees_with_the_hand_walk("half-second checks")


def test_no_scaling_when_the_pool_keeps_up():
    rule = ScalingRule(min_workers=2, max_workers=8, target_backlog_per_worker=2, cooldown_s=20)
    backlog, paid = autoscaled_backlog(np.arange(0, 61, 5), ((0, 1.5), (20, 2.0)), 1.0, 2, rule,
                                       check_every_s=5, provision_s=5)
    assert backlog.tolist() == [0.0] * 13 and paid.tolist() == [2] * 13


def _chapter(peak=12.0, provision_s=20, max_workers=16):
    """Chapter 10's scenario: 3 a second on 4 workers of 1 a second, ``peak`` a second from 30 s to 70 s;
    target 5 a worker, checks every 10 s, cooldown 60 s.  (peak backlog, time the backlog is gone)."""
    times = np.arange(0, 481) / 2
    rule = ScalingRule(4, max_workers, target_backlog_per_worker=5, cooldown_s=60)
    backlog, _ = autoscaled_backlog(times, ((0, 3.0), (30, peak), (70, 3.0)), 1.0, 4, rule, check_every_s=10,
                                    provision_s=provision_s)
    return backlog.max(), times[(times > 30) & (backlog <= 1e-9)][0]


def test_a_slower_start_up_costs_a_higher_peak_until_help_comes_after_the_spike():
    """Peak and drain time grow with the start-up delay; from 30 s on the first worker ordered (at 40 s) starts
    after the spike ends at 70 s, and the peak is the whole spike's excess, (12 - 4) x 40 = 320."""
    delays = (0, 5, 10, 20, 30, 45, 60)
    peaks, drains = zip(*(_chapter(provision_s=d) for d in delays))
    assert all(a < b for a, b in zip(peaks[:5], peaks[1:5]))
    assert peaks[4:] == pytest.approx([320] * 3, **EXACT)
    assert all(a < b for a, b in zip(drains, drains[1:]))
    # with no delay the 16 workers ordered at 40 s drain the 80 waiting then at 16 - 12 = 4 a second
    assert peaks[0] == pytest.approx(80, **EXACT) and drains[0] == 60


def test_a_higher_ceiling_lowers_the_peak_until_it_matches_the_spike_and_always_drains_sooner():
    """The peak falls with the ceiling up to 12 workers, which take the spike's 12 a second: the backlog stops
    growing when they are all running, at 240 (as with 16); more workers still drain it sooner."""
    ceilings = (5, 6, 8, 10, 12, 16)
    peaks, drains = zip(*(_chapter(max_workers=m) for m in ceilings))
    assert all(a > b for a, b in zip(peaks[:5], peaks[1:5]))
    assert peaks[4:] == pytest.approx([240, 240], **EXACT)
    assert all(a > b for a, b in zip(drains, drains[1:]))


@pytest.mark.parametrize("times, rates, message", [
    ([-5, 10], ((0, 1.0),), "times must be a number >= 0; got -5"),
    ([0, 10], ((5, 6.0),), "rates must start at 0 s, e.g. ((0, 3.0), (30, 12.0)); got ((5, 6.0),)"),
    ([0, 10], (), "rates must start at 0 s, e.g. ((0, 3.0), (30, 12.0)); got ()"),
    ([0, 10], ((0, 1.0), (-5, 6.0)), "rates (a step's time) must be a number >= 0; got -5"),
    ([0, 10], ((0, 1.0), (5, -6.0)), "rates (a step's arrival rate) must be a number >= 0; got -6.0"),
])
def test_times_before_the_start_and_rates_not_from_the_start_are_refused(times, rates, message):
    """A backlog before 0 s, or a rate left unsaid before the first step, would be silent nonsense."""
    rule = ScalingRule(1, 4, target_backlog_per_worker=2, cooldown_s=10)
    with pytest.raises(ValueError) as error:
        autoscaled_backlog(times, rates, 1.0, 2, rule, check_every_s=5, provision_s=5)
    assert str(error.value) == message


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_backlog_at_a_time_does_not_depend_on_the_other_times_asked(name):
    """A chart may ask for any times: each one asked alone gives the value walked by hand for it (the checks,
    the workers becoming ready and the rate steps between are followed whether asked for or not)."""
    kwargs, times, backlog, paid = SCENARIOS[name]
    for t, b, w in zip(times, backlog, paid):
        got = autoscaled_backlog([t], **{**kwargs, "rule": ScalingRule(*kwargs["rule"])})
        assert (got[0][0], got[1][0]) == (pytest.approx(b, **EXACT), w), f"{name} at {t} s"


def test_a_rate_of_zero_is_a_quiet_spell():
    rule = ScalingRule(1, 8, target_backlog_per_worker=2, cooldown_s=0)
    backlog, paid = autoscaled_backlog([5, 10, 12], ((0, 4.0), (5, 0.0)), 1.0, 2, rule, check_every_s=5,
                                       provision_s=10)
    # +2 a second to 10 at 5 s (5 wanted: 3 ordered); then -2 a second: empty at 10 s, where 4 of 5 go, but only
    # the 2 running can stop (the 3 still start)
    assert backlog.tolist() == pytest.approx([10, 0, 0], **EXACT)
    assert paid.tolist() == [5, 3, 3]


def test_read_time_at_a_replica_is_its_mmc_queue_worked_by_hand():
    """500 a second, 90 % reads, 3 replicas of 4 workers at 10 ms: 150 reads + 50 replays = 200 a second on
    each, 100 a second a worker, a = 2, rho = 0.5.  Erlang C = (16/24 x 2) / (1 + 2 + 2 + 4/3 + 16/24 x 2) =
    4/23; the mean wait is C / (c mu - lambda) = (4/23) / 200 s, so a read takes 10 + 20/23 ms.  The response
    time's tail is e^{-mu t} (1 + C - C e^{-mu t}) (service, plus with probability C an exponential wait at
    c mu - lambda = 2 mu); its 95th percentile solves C y^2 - (1 + C) y + 0.05 = 0 for y = e^{-mu t}."""
    mean = analytic.read_time_ms(500, 0.9, replicas=3, workers=4, service_ms=10)
    assert mean == pytest.approx(10 + 20 / 23, rel=1e-12)
    c = 4 / 23
    y = ((1 + c) - np.sqrt((1 + c) ** 2 - 4 * c * 0.05)) / (2 * c)
    p95 = analytic.read_time_ms(500, 0.9, replicas=3, workers=4, service_ms=10, percent=95)
    assert p95 == pytest.approx(-np.log(y) / 100 * 1_000, rel=1e-6)


def test_backlog_when_help_arrives_with_faster_workers_and_a_slight_overload():
    """Workers of 2 a second: 12 a second on 4 of them grow the backlog 12 - 8 = 4 a second; threshold 4 x 5 =
    20; help after d + h/2 = 22.5 s more: 20 + 4 x 22.5 = 110.  Half a message a second over capacity still
    needs help, only later: 20 + 0.5 x 22.5 = 31.25."""
    common = dict(provision_s=20, check_every_s=5, target_backlog_per_worker=5)
    assert analytic.backlog_when_help_arrives(12, 2.0, 4, **common) == pytest.approx(110, **EXACT)
    assert analytic.backlog_when_help_arrives(4.5, 1.0, 4, **common) == pytest.approx(31.25, **EXACT)


def test_backlog_when_help_arrives_waits_for_the_check_after_the_crossing():
    """Threshold 4 x 4 = 16 reached 16 / 8 = 2 s after a step at 0: the next check is at 5 s (W = 3 s), help
    20 s later: 16 + 8 x 23 = 200.  A step at 4 s crosses at 6 s: W = 4 s, 16 + 8 x 24 = 208."""
    common = dict(provision_s=20, check_every_s=5, target_backlog_per_worker=4)
    assert analytic.backlog_when_help_arrives(12, 1.0, 4, step_at_s=0, **common) == pytest.approx(200, **EXACT)
    assert analytic.backlog_when_help_arrives(12, 1.0, 4, step_at_s=4, **common) == pytest.approx(208, **EXACT)
