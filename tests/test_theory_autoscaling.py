"""The autoscaler's rule and what a step in traffic costs, walked by hand (chapter 10's numbers).

Each expected value follows the rule in chapter1/theory/autoscaling.py's docstring one check at a time:
desired = ceil(backlog / target) within [min, max]; order at once, retire only down to the highest wish of
the last ``cooldown_s`` seconds; the fluid backlog moves at lambda - running x mu and stops at zero.
"""

import math

import pytest

from chapter1.theory.autoscaling import ScalingRule, autoscaled_backlog, backlog_when_help_arrives, scale_out_threshold


def test_desired_workers_is_the_backlog_over_the_target_within_the_pool_limits():
    rule = ScalingRule(min_workers=2, max_workers=10, target_backlog_per_worker=5, cooldown_s=30)
    assert [rule.desired(b) for b in (0, 10, 11, 15, 25, 49, 1_000)] == [2, 2, 3, 3, 5, 10, 10]
    # 0.9 / 0.3 is 3.0000000000000004 in floating point: still 3 workers
    assert ScalingRule(1, 10, 0.3, 30).desired(0.9) == 3
    assert isinstance(rule.desired(12.5), int)


def test_the_rule_orders_at_once_and_retires_only_after_the_cooldown():
    rule = ScalingRule(min_workers=2, max_workers=10, target_backlog_per_worker=5, cooldown_s=30)
    assert rule.decide(0, backlog=31, paid=2) == 5          # wants 7
    assert rule.decide(10, backlog=12, paid=7) == 0         # wants 3, but 7 was wished 10 s ago
    assert rule.decide(29.9, backlog=12, paid=7) == 0
    assert rule.decide(30, backlog=12, paid=7) == -4        # the wish at 0 is 30 s old: out of the window
    assert rule.decide(40, backlog=15, paid=3) == 0         # wants what it pays for


def test_scale_out_threshold_is_target_times_workers_and_checks_its_inputs():
    assert scale_out_threshold(4, 5) == 20
    assert scale_out_threshold(3, 2.5) == 7.5
    with pytest.raises(ValueError, match=r"workers must be a whole number >= 1"):
        scale_out_threshold(0, 5)
    with pytest.raises(ValueError, match=r"target_backlog_per_worker must be a number > 0"):
        scale_out_threshold(4, 0)


def test_backlog_when_help_arrives_on_average():
    """lambda = 12 on 4 workers of 1/s: grows 8 a second; threshold 4 x 5 = 20; help after d + h/2 = 22.5 s more."""
    common = dict(provision_s=20, check_every_s=5, target_backlog_per_worker=5)
    assert backlog_when_help_arrives(12, 1.0, 4, **common) == pytest.approx(20 + 8 * 22.5)
    assert backlog_when_help_arrives(12, 1.0, 4, provision_s=0, check_every_s=10,
                                     target_backlog_per_worker=1) == pytest.approx(4 + 8 * 5)
    assert backlog_when_help_arrives(4, 1.0, 4, **common) == math.inf       # keeps up exactly: never needs help
    assert backlog_when_help_arrives(3, 1.0, 4, **common) == math.inf


@pytest.mark.parametrize("step_at_s, wait", [(0, 2.5), (3, 4.5), (2.5, 5.0), (4, 3.5)])
def test_backlog_when_help_arrives_for_a_step_on_the_checks_clock(step_at_s, wait):
    """Checks at 5, 10, ...; the backlog crosses 20 at step + 2.5 s and the next check after that orders
    (a check at the very moment of crossing sees B = B*, not above it, and orders nothing)."""
    got = backlog_when_help_arrives(12, 1.0, 4, provision_s=20, check_every_s=5, target_backlog_per_worker=5,
                                    step_at_s=step_at_s)
    assert got == pytest.approx(20 + 8 * (20 + wait))


@pytest.mark.parametrize("call, message", [
    (lambda: backlog_when_help_arrives(0, 1.0, 4, provision_s=1, check_every_s=5, target_backlog_per_worker=5),
     r"arrival_rate must be a number > 0"),
    (lambda: backlog_when_help_arrives(12, 0, 4, provision_s=1, check_every_s=5, target_backlog_per_worker=5),
     r"service_rate must be a number > 0"),
    (lambda: backlog_when_help_arrives(12, 1.0, 4, provision_s=-1, check_every_s=5, target_backlog_per_worker=5),
     r"provision_s must be a number >= 0"),
    (lambda: backlog_when_help_arrives(12, 1.0, 4, provision_s=1, check_every_s=0, target_backlog_per_worker=5),
     r"check_every_s must be a number > 0"),
    (lambda: autoscaled_backlog([0, 1], ((0, 1.0),), 1.0, 2, ScalingRule(1, 4, 2, 10), check_every_s=0,
                                provision_s=5), r"check_every_s must be a number > 0"),
    (lambda: autoscaled_backlog([0, 1], ((0, 1.0),), 1.0, 2, ScalingRule(1, 4, 2, 10), check_every_s=5,
                                provision_s=-1), r"provision_s must be a number >= 0"),
])
def test_inputs_out_of_range_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _fluid(times, provision_s=5, cooldown_s=20):
    """Pool of 2 workers at 1/s (2..8), target 2 a worker; the rate steps from 1 to 6 a second at 5 s."""
    rule = ScalingRule(2, 8, target_backlog_per_worker=2, cooldown_s=cooldown_s)
    backlog, paid = autoscaled_backlog(times, ((0, 1.0), (5, 6.0)), 1.0, 2, rule, check_every_s=5,
                                       provision_s=provision_s)
    return backlog.tolist(), paid.tolist()


def test_fluid_backlog_under_the_autoscaler_step_by_step():
    """+4 a second from 5 s (20 at the check at 10 s, which orders 6: ready at 15 s, 40 by then); eight
    workers drain 2 a second (30 at 20 s, 10 at 30 s, empty at 35 s).  The wishes fall to 5 at 30 s and
    to 2 from 35 s: 5 workers kept at 45 s (the 30 s wish is still in the 20 s window); 5 < 6 a second, so
    the backlog grows again (5 at 50 s, where 3 are kept, then +3 a second: 20 at 55 s, which orders 8)."""
    times = [0, 5, 10, 12.5, 15, 20, 30, 35, 40, 45, 50, 55]
    backlog, paid = _fluid(times)
    assert backlog == pytest.approx([0, 0, 20, 30, 40, 30, 10, 0, 0, 0, 5, 20])
    assert paid == [2, 2, 8, 8, 8, 8, 8, 8, 8, 5, 3, 8]


def test_fluid_backlog_with_workers_ready_at_once():
    """No start-up delay: the 6 ordered at 10 s work from 10 s on, draining 2 a second."""
    backlog, paid = _fluid([10, 15, 20], provision_s=0)
    assert backlog == pytest.approx([20, 10, 0])
    assert paid == [8, 8, 8]


def test_fluid_backlog_at_times_between_checks_and_in_any_order():
    backlog, paid = _fluid([12.5, 7, 17.5])
    assert backlog == pytest.approx([30, 8, 35])
    assert paid == [8, 2, 8]


def test_fluid_backlog_reaches_the_mean_of_backlog_when_help_arrives():
    """A step at 0 on the checks' clock: the fluid model's backlog when the first worker is ready is the
    closed form's, B* + g (d + W)."""
    rule = ScalingRule(4, 40, target_backlog_per_worker=5, cooldown_s=60)
    ready = 5 + 20   # crossing at 2.5 s, ordered at the check at 5 s, ready 20 s later
    backlog, _ = autoscaled_backlog([ready], ((0, 12.0),), 1.0, 4, rule, check_every_s=5, provision_s=20)
    expected = backlog_when_help_arrives(12, 1.0, 4, provision_s=20, check_every_s=5, target_backlog_per_worker=5,
                                         step_at_s=0)
    assert backlog[0] == pytest.approx(expected)
