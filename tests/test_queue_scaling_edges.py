"""When a message queue's autoscaler stops watching, and a consumer's death at the edges of a delivery.

Messages placed by hand on a broker of constant work (500 ms) and acknowledgement (250 ms), as in
tests/test_queue_rules.py: every moment below is exact in binary floating point.  The autoscaler checks every
second (or every 0.8 s, to fall just after a delivery ends) and forgets a wish at once (no cooldown).
"""

import math

import pytest
from test_queue_rules import run

from chapter1.components.autoscaling import Autoscaler


def scale(check_every_s=1.0, min_workers=1, max_workers=4):
    return {"autoscale": Autoscaler(min_workers=min_workers, max_workers=max_workers, target_backlog_per_worker=2,
                                    check_every_s=check_every_s, provision_s=0.5, cooldown_s=0)}


@pytest.mark.parametrize("burst_at_s", [2.0, 3.0])
def test_a_burst_that_lands_at_the_moment_of_the_first_check_is_scaled_for_like_any_other(burst_at_s):
    # (a burst at 10 s under checks every 10 s: the defaults of both) the two messages are done at 1.5 s; at the
    # first check, at 2 s, nothing waits, but the burst is still to come
    result, queue = run([0.0, 0.25], consumers_options=scale(2.0), burst_messages=40, burst_at_s=burst_at_s)
    assert result.summary()["workers_max"] == 4, f"the autoscaler stopped before the burst at {burst_at_s} s"
    assert queue.pool.served == 42


def test_an_idle_pool_is_scaled_in_while_messages_are_still_to_come():
    # two messages on two consumers, done at 0.75 s; at the check at 0.8 s the pool is idle and one more comes at 4 s
    result, queue = run([0.0, 0.0, 4.0], workers=2, consumers_options=scale(0.8))
    assert result.summary()["workers_end"] == 1
    times, running, _ = queue.pool.scaling.workers()
    assert times[running.tolist().index(1)] == pytest.approx(0.8)  # scaled in at the first idle check


def test_once_the_last_message_is_in_and_done_the_autoscaler_leaves_the_pool_as_it_is():
    # done by 0.79 s: the check at 1.6 s finds nothing more to come, and no burst (whatever burst_at_s)
    result, queue = run([0.0, 0.03125], workers=2, consumers_options=scale(0.8), burst_at_s=5.0)
    s = result.summary()
    assert s["workers_end"] == 2 and s["workers_max"] == 2
    assert queue.pool.scaling.workers()[0][-1] <= 0.8  # its last record: the check at 0.8 s, if any


@pytest.mark.parametrize("order", [[(1.0, math.inf), (0.0, 1.0)], [(0.0, 1.0), (1.0, math.inf)]])
def test_an_autoscaler_orders_no_workers_for_consumers_down_for_good_however_their_outages_are_listed(order):
    # down from 0 s on (one outage, then another from its end for ever): no worker ordered could take a message
    result, queue = run([k / 64 for k in range(20)], fails=order, consumers_options=scale(0.5))
    s = result.summary()
    assert s["workers_max"] == 1
    assert queue.pool.served == 0 and result.requests["done_ms"].isna().all()
