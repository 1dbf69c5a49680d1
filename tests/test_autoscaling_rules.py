"""An autoscaler's decisions on a short run whose backlog is placed by hand, and what it is paid for.

:class:`~chapter1.components.autoscaling.Scaling` reads a broker's backlog every ``check_every_s``; the broker
here is a stand-in holding the backlog the test sets at chosen moments, whose consumers stop as soon as they
are told to.  Every order, start and stop is then known in advance from the Autoscaler's docstring.
"""

import math

import pytest
import simpy

import chapter1 as c
from chapter1.components.autoscaling import Autoscaler, Scaling, worker_seconds


class Broker:
    """The backlog over time, set by hand: ``backlog`` is a list of (time, messages waiting from then on)."""

    def __init__(self, backlog, busy=False):
        self.env, self.waiting, self.retire, self.working = simpy.Environment(), [], 0, 0
        self.busy, self.consumed, self.told = busy, 0, []
        self.env.process(self._backlog(backlog))

    def _backlog(self, backlog):
        for at, n in backlog:
            yield self.env.timeout(at - self.env.now)
            self.waiting = [None] * n

    def finished(self, last_input_s):
        return self.env.now >= last_input_s and not self.waiting

    def wake(self):
        self.told.append((self.env.now, self.retire))
        while self.retire and not self.busy:  # every consumer told to stop stops at once (an idle pool)
            self.retire -= 1
            self.scaling.stopped()

    def consume(self):
        self.consumed += 1
        return
        yield


def run(policy, backlog, workers=1, last_input_s=100.0, busy=False):
    broker = Broker(backlog, busy)
    broker.scaling = Scaling(policy, broker, workers, last_input_s)
    broker.env.run()
    return broker.scaling, broker


def steps(scaling):
    """The changes of the workers' step function: [(time, running, paid for)], each a change from the one before."""
    out = []
    for t, running, paid in zip(*(x.tolist() for x in scaling.workers())):
        if not out or out[-1][1:] != (running, paid):
            out.append((t, running, paid))
    return out


POLICY = Autoscaler(min_workers=1, max_workers=5, target_backlog_per_worker=10, check_every_s=10, provision_s=5,
                    cooldown_s=30)


def test_scales_out_on_backlog_then_in_once_the_cooldown_has_passed():
    # 35 waiting: 4 wanted at 10 s, ready at 15 s; empty from 25 s, but the wish for 4 is kept until 40 s
    # has passed its 30 s: at 50 s the pool goes back to 1; the run is over at the 100 s check
    scaling, broker = run(POLICY, [(0, 35), (25, 0)])
    assert steps(scaling) == [(0, 1, 1), (10, 1, 4), (15, 4, 4), (50, 1, 1)]
    assert scaling.workers()[0].tolist() == [0, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90], "traced at every check"
    assert broker.consumed == 3 and broker.env.now == 100
    assert scaling.figures(100) == {"worker_seconds": 10 + 4 * 40 + 50, "workers_max": 4.0, "workers_end": 1.0}
    assert scaling.mean_running(100) == pytest.approx((15 + 4 * 35 + 50) / 100)
    assert scaling.mean_running(0) == 1


def test_stays_within_its_bounds():
    scaling, _ = run(POLICY, [(0, 1_000), (35, 0)])
    assert scaling.figures(100)["workers_max"] == 5, "at most max_workers"
    assert steps(scaling)[-1][1:] == (1, 1), "back to min_workers, never fewer"
    low = Autoscaler(min_workers=2, max_workers=3, target_backlog_per_worker=10, check_every_s=10, provision_s=0,
                     cooldown_s=0)
    scaling, _ = run(low, [(0, 0)], workers=3, last_input_s=20)
    assert steps(scaling) == [(0, 3, 3), (10, 2, 2)], "an empty queue: down to min_workers at the first check"


def test_a_backlog_of_exactly_the_target_needs_no_more_workers():
    scaling, _ = run(POLICY, [(0, 20), (15, 0)], workers=2, last_input_s=15)
    assert steps(scaling) == [(0, 2, 2)]
    scaling, _ = run(POLICY, [(0, 21), (15, 0)], workers=2, last_input_s=15)
    assert steps(scaling) == [(0, 2, 2), (10, 2, 3), (15, 3, 3)], "one message more: a third worker"


def test_workers_are_paid_for_from_the_order_and_run_from_provisioning():
    slow = Autoscaler(min_workers=1, max_workers=5, target_backlog_per_worker=10, check_every_s=10,
                      provision_s=25, cooldown_s=60)
    scaling, _ = run(slow, [(0, 30), (15, 0)], last_input_s=30)
    assert steps(scaling) == [(0, 1, 1), (10, 1, 3), (35, 3, 3)]
    assert scaling.figures(40)["worker_seconds"] == 10 + 3 * 30
    assert scaling.mean_running(40) == pytest.approx((35 + 3 * 5) / 40)


def test_it_stops_checking_once_nothing_more_can_happen():
    scaling, broker = run(POLICY, [(0, 0)], last_input_s=0)
    assert broker.env.now == 10 and scaling.workers()[0].tolist() == [0], "done at its first check"
    scaling, broker = run(POLICY, [(0, 0)], last_input_s=35)
    assert broker.env.now == 40


def test_workers_still_finishing_a_message_are_not_told_to_stop_twice():
    # 6 busy workers, 1 wanted: 5 are told to stop at 10 s; at 20 s they are still busy, and nobody more is told
    policy = Autoscaler(min_workers=1, max_workers=6, target_backlog_per_worker=10, check_every_s=10, provision_s=0,
                        cooldown_s=0)
    scaling, broker = run(policy, [(0, 0)], workers=6, last_input_s=30, busy=True)
    assert broker.retire == 5 and scaling.running == 6, "the pool never goes below min_workers"


def test_orders_add_up_while_workers_are_still_starting():
    slow = Autoscaler(min_workers=1, max_workers=8, target_backlog_per_worker=10, check_every_s=10, provision_s=25,
                      cooldown_s=60)
    scaling, _ = run(slow, [(0, 30), (15, 60), (38, 0)], last_input_s=50)
    assert steps(scaling) == [(0, 1, 1), (10, 1, 3), (20, 1, 6), (35, 3, 6), (45, 6, 6)]
    assert scaling.figures(50)["workers_end"] == 6.0
    assert scaling.mean_running(0.5) == 1, "one worker ran over the first half second"


def test_stops_pending_while_workers_start_are_never_more_than_those_running():
    policy = Autoscaler(min_workers=1, max_workers=8, target_backlog_per_worker=10, check_every_s=10, provision_s=25,
                        cooldown_s=0)
    _, broker = run(policy, [(0, 60), (15, 0)], workers=4, last_input_s=50, busy=True)
    # 10 s: 2 ordered; 20 s: 1 wanted of 6 paid, the 4 running told to stop; 30 s: none left to tell;
    # 35 s: the 2 ordered start; 40 s: one of them told
    assert broker.told == [(20, 4), (30, 4), (40, 5)]


# -- the policy object -----------------------------------------------------------------------------------


def test_autoscaler_describes_itself_and_gives_a_fresh_rule_per_run():
    assert POLICY.describe() == "autoscale 1-5 on backlog/worker > 10 · check 10 s · start 5 s"
    first, second = POLICY.rule(), POLICY.rule()
    assert first is not second
    assert (first.low, first.high, first.target, first.cooldown) == (1, 5, 10, 30)
    assert first.decide(0, 35, 1) == 3 and second.decide(0, 0, 3) == -2


def test_a_pool_must_start_within_the_bounds():
    POLICY.check_start(1), POLICY.check_start(5)
    for workers in (0, 6):
        with pytest.raises(ValueError, match=rf"workers must be between min_workers and max_workers \(1-5\) when the "
                                             rf"pool autoscales; got {workers}"):
            POLICY.check_start(workers)


@pytest.mark.parametrize("options, message", [
    ({"min_workers": 0}, r"min_workers must be a whole number in the range \[1, 10,000\]; got 0"),
    ({"max_workers": 10_001}, r"max_workers must be a whole number in the range \[1, 10,000\]; got 10001"),
    ({"min_workers": 4, "max_workers": 3}, r"max_workers must be >= min_workers \(4\); got 3"),
    ({"target_backlog_per_worker": 0}, r"target_backlog_per_worker must be a number in the range \(0, 1,000,000\]"),
    ({"target_backlog_per_worker": 1e6 + 1}, r"target_backlog_per_worker must be a number in the range"),
    ({"check_every_s": 0}, r"check_every_s must be a number in the range \(0, 86,400\]; got 0"),
    ({"check_every_s": 86_401}, r"check_every_s must be a number in the range \(0, 86,400\]"),
    ({"provision_s": -1}, r"provision_s must be a number in the range \[0, 86,400\]; got -1"),
    ({"provision_s": 86_401}, r"provision_s must be a number in the range \[0, 86,400\]"),
    ({"cooldown_s": -1}, r"cooldown_s must be a number in the range \[0, 86,400\]; got -1"),
    ({"cooldown_s": 86_401}, r"cooldown_s must be a number in the range \[0, 86,400\]"),
])
def test_bad_autoscaler_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        Autoscaler(**options)


def test_the_widest_autoscaler_is_allowed():
    wide = Autoscaler(min_workers=10_000, max_workers=10_000, target_backlog_per_worker=1e6, check_every_s=86_400,
                      provision_s=86_400, cooldown_s=86_400)
    assert wide.max_workers == 10_000 and Autoscaler(min_workers=3, max_workers=3, provision_s=0, cooldown_s=0)


def test_worker_seconds_between_two_moments():
    assert worker_seconds([0, 10], [2, 5], 0, 20) == 70
    assert worker_seconds([0, 10], [2, 5], 5, 20) == 60
    assert worker_seconds([0, 10, 30], [2, 5, 1], 5, 40) == 10 + 100 + 10
    assert worker_seconds([0], [3], 0, 0) == 0


def test_a_queued_run_pays_for_what_its_trace_shows():
    arch = c.queued(workers=2, autoscale=Autoscaler(min_workers=2, max_workers=6, provision_s=5, check_every_s=5))
    result = c.simulate(arch, c.Workload.from_rate(60, rate_steps=((10, 2.0),)), requests=1_500, seed=1)
    s = result.summary()
    assert 2 < s["workers_max"] <= 6 and s["workers_end"] >= 2
    assert s["worker_seconds"] >= 2 * result.requests["arrival_s"].max()
    assert math.isfinite(s["worker_seconds"])
