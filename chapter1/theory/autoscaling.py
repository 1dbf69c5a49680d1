"""Autoscaling consumers on queue depth: the rule an autoscaler follows, and what a step in traffic costs.

The rule (Kubernetes' HPA with a queue-length metric, as KEDA feeds it, or AWS's "backlog per instance"):
every ``check_every_s`` seconds the autoscaler reads the backlog B and wants

    desired = ceil(B / target_backlog_per_worker), kept within [min_workers, max_workers]

workers.  It orders more at once when ``desired`` is above the workers it pays for (running and still
starting); each new one is ready ``provision_s`` later.  It removes workers only down to the highest
``desired`` of the last ``cooldown_s`` seconds (HPA's stabilisation window), so one quiet check does not
undo a scale-out.  Why that target: in steady overload the backlog settles near target x workers, and
Little's law turns it into a wait of about target / μ — the target is the wait you accept, in messages.

**What a step costs.**  The pool runs c workers; at some moment the arrival rate steps from below c·μ to
λ > c·μ.  Until new workers are ready the backlog grows at g = λ − c·μ (arrivals minus what c busy
workers take).  It must first reach the scale-out threshold B* = target x c (desired > c needs B / target
> c), which takes B* / g; the next check comes some time W later, uniform between 0 and
``check_every_s`` when the step is unrelated to the checks' clock, so h/2 on average; the first new
worker is ready ``provision_s`` = d after that.  The backlog then is

    B* + g·(W + d),   on average   B* + (λ − c·μ)·(d + h/2)          (:func:`backlog_when_help_arrives`)

— everything after B* is backlog the provisioning delay and the check interval cost.  What happens after
(how many workers, how high the backlog peaks, when it is gone) depends on how the orders pile up while
workers start; :func:`autoscaled_backlog` follows the same rule on the fluid model (arrivals and work at
their mean rates) to draw it.

>>> round(backlog_when_help_arrives(12, 1.0, 4, provision_s=20, check_every_s=5, target_backlog_per_worker=5))
200
"""

import bisect
import math
from collections import deque

import numpy as np

from ..core import validation as check

__all__ = ["ScalingRule", "autoscaled_backlog", "backlog_when_help_arrives", "scale_out_threshold"]


class ScalingRule:
    """The autoscaler's decision at each check, with its memory of recent wishes (one per run).

    ``decide(now, backlog, paid)`` returns how many workers to order (> 0) or to remove (< 0), given the
    backlog and the workers paid for (running and starting).  The simulation and the fluid model both call
    it, so they follow the same rule.

    >>> rule = ScalingRule(min_workers=2, max_workers=10, target_backlog_per_worker=5, cooldown_s=30)
    >>> rule.decide(0, backlog=31, paid=2), rule.decide(10, backlog=0, paid=7), rule.decide(40, backlog=0, paid=7)
    (5, 0, -5)
    """

    def __init__(self, min_workers, max_workers, target_backlog_per_worker, cooldown_s):
        self.low, self.high = min_workers, max_workers
        self.target, self.cooldown = target_backlog_per_worker, cooldown_s
        self.wishes = deque()  # (time, desired) within the stabilisation window

    def desired(self, backlog):
        """ceil(backlog / target), kept within [min_workers, max_workers]."""
        return int(min(self.high, max(self.low, math.ceil(backlog / self.target - 1e-9))))

    def decide(self, now, backlog, paid):
        want = self.desired(backlog)
        while self.wishes and self.wishes[0][0] <= now - self.cooldown:   # a cooldown of 0 keeps only this wish
            self.wishes.popleft()
        self.wishes.append((now, want))
        if want > paid:
            return want - paid
        keep = max(w for _, w in self.wishes)
        return min(0, keep - paid)


def scale_out_threshold(workers, target_backlog_per_worker):
    """The backlog above which a pool of ``workers`` orders more: target x workers.

    >>> scale_out_threshold(4, 5)
    20
    """
    check.number("workers", workers, low=1, integer=True)
    check.number("target_backlog_per_worker", target_backlog_per_worker, low=0, low_open=True)
    return workers * target_backlog_per_worker


def backlog_when_help_arrives(arrival_rate, service_rate, workers, *, provision_s, check_every_s,
                              target_backlog_per_worker, step_at_s=None):
    """The mean backlog when the first ordered worker is ready, after the rate steps up to ``arrival_rate``
    on ``workers`` workers: B* + (λ − c·μ)·(d + h/2) (see the module docstring).  ``inf`` if λ ≤ c·μ never
    needs help (the backlog never reaches the threshold in the fluid model).  ``step_at_s``: when the step
    comes on the checks' clock (checks at h, 2h, ...): W is then the wait from the threshold to the next
    check instead of h/2 on average.

    >>> backlog_when_help_arrives(12, 1.0, 4, provision_s=0, check_every_s=10, target_backlog_per_worker=1)
    44.0
    """
    check.number("arrival_rate", arrival_rate, low=0, low_open=True)
    check.number("service_rate", service_rate, low=0, low_open=True)
    check.number("provision_s", provision_s, low=0)
    check.number("check_every_s", check_every_s, low=0, low_open=True)
    threshold = scale_out_threshold(workers, target_backlog_per_worker)
    growth = arrival_rate - workers * service_rate
    if growth <= 0:
        return math.inf
    wait = check_every_s / 2
    if step_at_s is not None:
        crossing = step_at_s + threshold / growth
        wait = math.floor(crossing / check_every_s + 1) * check_every_s - crossing
    return float(threshold + growth * (provision_s + wait))


def autoscaled_backlog(times, rates, service_rate, workers, rule, *, check_every_s, provision_s):
    """The fluid model under the autoscaler: (backlog, workers paid for) at each of ``times`` (s).

    ``rates``: the arrival rate as steps from 0 s, ``((0, λ0), (t1, λ1), ...)``; ``times`` >= 0; ``workers``: the
    pool at 0; ``rule``: a fresh :class:`ScalingRule`.  Checks come at h, 2h, ... as in the simulation.
    Between two events (a check, a worker ready, a rate step) the backlog moves in a straight line at
    λ − running·μ and stops at zero, so the curve is exact for the fluid model.  It leaves out the few
    messages a queue holds in normal running.

    >>> rule = ScalingRule(2, 8, target_backlog_per_worker=2, cooldown_s=20)
    >>> b, w = autoscaled_backlog([0, 10, 15, 20, 30, 40], ((0, 1.0), (5, 6.0)), 1.0, 2, rule, check_every_s=5,
    ...                           provision_s=5)
    >>> b.tolist(), w.tolist()    # +4 a second from 5 s; 6 more ordered at 10 s drain 2 a second from 15 s
    ([0.0, 20.0, 40.0, 30.0, 10.0, 0.0], [2, 8, 8, 8, 8, 8])
    """
    check.number("check_every_s", check_every_s, low=0, low_open=True)
    check.number("provision_s", provision_s, low=0)
    times = check.number_list("times", times, low=0)
    end = float(times.max()) if times.size else 0.0
    steps = sorted((float(check.number("rates (a step's time)", t, low=0)),
                    float(check.number("rates (a step's arrival rate)", r, low=0))) for t, r in rates)
    if not steps or steps[0][0] != 0:
        raise ValueError(f"rates must start at 0 s, e.g. ((0, 3.0), (30, 12.0)); got {rates!r}")
    events = {float(t) for t in times} | {t for t, _ in steps if t <= end}
    events |= {k * check_every_s for k in range(1, int(end / check_every_s) + 1)}
    pending, backlog, running, last, step = [], 0.0, workers, 0.0, 0  # pending: ready times, ascending
    rate, out, queue, k = steps[0][1], {}, sorted(events), 0
    while k < len(queue):
        t = queue[k]
        k += 1
        backlog = max(0.0, backlog + (rate - running * service_rate) * (t - last))
        last = t
        ready_now = bisect.bisect_right(pending, t)
        if ready_now:
            running += ready_now
            del pending[:ready_now]
        while step + 1 < len(steps) and steps[step + 1][0] <= t:
            step += 1
        rate = steps[step][1]
        # a check (at h, 2h, ...): order or retire
        h = t / check_every_s
        if t > 0 and abs(h - round(h)) < 1e-9:
            change = rule.decide(t, backlog, running + len(pending))
            if change > 0:
                ready = t + provision_s
                pending += [ready] * change
                at = bisect.bisect_left(queue, ready, k)
                if ready <= end and ready != t and (at == len(queue) or queue[at] != ready):
                    queue.insert(at, ready)
                elif ready == t:
                    running, pending = running + change, pending[:-change]
            elif change < 0:
                running = max(0, running + change)
        out[t] = (backlog, running + len(pending))
    values = [out[float(t)] for t in times]
    return np.array([v[0] for v in values]), np.array([v[1] for v in values])
