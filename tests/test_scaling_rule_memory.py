"""The autoscaler's memory of recent wishes: what a cooldown of 0 means, and what a remembered wish may do.

The rule (chapter1/theory/autoscaling.py): order at once when the backlog wants more workers than are paid
for; remove workers only down to the highest wish of the last ``cooldown_s`` seconds.  ``cooldown_s = 0``
is allowed (Autoscaler checks 0 <= cooldown_s <= 86,400): it remembers nothing but the present wish.
"""

import pytest

import chapter1 as c
from chapter1.components.autoscaling import Autoscaler
from chapter1.theory.autoscaling import ScalingRule, autoscaled_backlog, backlog_when_help_arrives


def test_a_cooldown_of_zero_follows_each_check_with_no_memory():
    rule = ScalingRule(min_workers=1, max_workers=8, target_backlog_per_worker=2, cooldown_s=0)
    assert rule.decide(0, backlog=10, paid=1) == 4      # wants 5
    assert rule.decide(5, backlog=2, paid=5) == -4      # wants 1: the wish for 5 at 0 s is already forgotten
    assert rule.decide(5, backlog=6, paid=1) == 2       # a second check at the same moment wants 3


def test_a_remembered_wish_holds_workers_back_but_never_orders_more():
    """7 wished at 0 s; at 10 s only 5 are paid for and 3 are wanted: nothing is ordered (the 7 only stops
    removals), nothing is removed (5 < 7)."""
    rule = ScalingRule(min_workers=2, max_workers=10, target_backlog_per_worker=5, cooldown_s=30)
    assert rule.decide(0, backlog=35, paid=2) == 5
    assert rule.decide(10, backlog=12, paid=5) == 0
    assert rule.decide(20, backlog=12, paid=8) == -1    # down to the 7 remembered, not to the 3 wanted


def test_a_pool_autoscaled_with_no_cooldown_runs_and_the_fluid_model_follows_it():
    scale = Autoscaler(min_workers=1, max_workers=4, target_backlog_per_worker=2, check_every_s=1, provision_s=1,
                       cooldown_s=0)
    result = c.simulate(c.queued(workers=1, autoscale=scale), c.Workload.from_rate(20), requests=200, seed=1)
    assert len(result.requests) == 200 and result.summary()["workers_max"] > 1
    backlog, paid = autoscaled_backlog([0, 5, 10], ((0, 6.0),), 1.0, 1, scale.rule(), check_every_s=1, provision_s=1)
    assert backlog[0] == 0 and paid.tolist()[0] == 1 and max(paid) == 4


@pytest.mark.parametrize("call, message", [
    (lambda: backlog_when_help_arrives(0, 1.0, 4, provision_s=1, check_every_s=5, target_backlog_per_worker=5),
     "arrival_rate must be a number > 0; got 0"),
    (lambda: backlog_when_help_arrives(12, 0, 4, provision_s=1, check_every_s=5, target_backlog_per_worker=5),
     "service_rate must be a number > 0; got 0"),
    (lambda: backlog_when_help_arrives(12, 1.0, 4, provision_s=-1, check_every_s=5, target_backlog_per_worker=5),
     "provision_s must be a number >= 0; got -1"),
    (lambda: backlog_when_help_arrives(12, 1.0, 4, provision_s=1, check_every_s=0, target_backlog_per_worker=5),
     "check_every_s must be a number > 0; got 0"),
    (lambda: backlog_when_help_arrives(12, 1.0, 0, provision_s=1, check_every_s=5, target_backlog_per_worker=5),
     "workers must be a whole number >= 1; got 0"),
    (lambda: autoscaled_backlog([0, 1], ((0, 1.0),), 1.0, 2, ScalingRule(1, 4, 2, 10), check_every_s=0,
                                provision_s=5), "check_every_s must be a number > 0; got 0"),
    (lambda: autoscaled_backlog([0, 1], ((0, 1.0),), 1.0, 2, ScalingRule(1, 4, 2, 10), check_every_s=5,
                                provision_s=-1), "provision_s must be a number >= 0; got -1"),
])
def test_autoscaling_inputs_are_named_with_their_range_in_full(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()


def test_the_fluid_model_at_no_times_and_with_steps_given_out_of_order():
    backlog, paid = autoscaled_backlog([], ((0, 1.0),), 1.0, 2, ScalingRule(1, 4, 2, 10), check_every_s=5,
                                       provision_s=5)
    assert backlog.tolist() == [] and paid.tolist() == []
    shuffled = autoscaled_backlog([0, 10, 20], ((5, 6.0), (0, 1.0)), 1.0, 2, ScalingRule(2, 8, 2, 20),
                                  check_every_s=5, provision_s=5)
    ordered = autoscaled_backlog([0, 10, 20], ((0, 1.0), (5, 6.0)), 1.0, 2, ScalingRule(2, 8, 2, 20),
                                 check_every_s=5, provision_s=5)
    assert [a.tolist() for a in shuffled] == [a.tolist() for a in ordered] == [[0.0, 20.0, 30.0], [2, 8, 8]]
