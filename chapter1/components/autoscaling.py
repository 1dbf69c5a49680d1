"""Autoscaling (오토스케일링) a consumer pool on queue depth: the policy, and the process that applies it.

An :class:`Autoscaler` is a policy a :class:`~chapter1.components.queue.Consumers` pool carries
(``Consumers(autoscale=Autoscaler(...))`` or ``c.queued(autoscale=...)``).  Every ``check_every_s``
seconds it reads the backlog and wants ceil(backlog / ``target_backlog_per_worker``) workers, within
[``min_workers``, ``max_workers``] (the rule is :class:`chapter1.theory.autoscaling.ScalingRule`, which
the fluid model follows too).  Scaling out orders workers that are ready ``provision_s`` later (a
machine or a container starting) and are paid for from the order on; scaling in waits: the pool keeps
the highest wish of the last ``cooldown_s`` seconds, and a worker told to stop finishes its message
first.

>>> from chapter1 import Workload, simulate, queued
>>> arch = queued(workers=2, autoscale=Autoscaler(min_workers=2, max_workers=12, provision_s=10))
>>> result = simulate(arch, Workload.from_rate(60, rate_steps=((20, 2.0),)), requests=3_000, seed=1)
>>> s = result.summary()
>>> int(s["workers_max"]), s["worker_seconds"] > 0
(12, True)
"""

import math
from dataclasses import dataclass

import numpy as np

from ..core import validation as check
from ..theory.autoscaling import ScalingRule

MAX_WORKERS = 10_000


@dataclass(frozen=True)
class Autoscaler:
    """Scale a consumer pool between ``min_workers`` and ``max_workers`` on its backlog.

    ``target_backlog_per_worker``: the backlog one worker may have waiting for it (the wait you accept,
    counted in messages: a 5 s wait at 1 message a second per worker is 5); ``check_every_s``: how often
    the backlog is read; ``provision_s``: how long a new worker takes to start; ``cooldown_s``: how long
    a wish for more workers is remembered before workers are removed.

    >>> Autoscaler(min_workers=2, max_workers=8).describe()
    'autoscale 2-8 on backlog/worker > 10 · check 10 s · start 30 s'
    """

    min_workers: int = 1
    max_workers: int = 16
    target_backlog_per_worker: float = 10.0
    check_every_s: float = 10.0
    provision_s: float = 30.0
    cooldown_s: float = 60.0

    def __post_init__(self):
        check.number("min_workers", self.min_workers, low=1, high=MAX_WORKERS, integer=True)
        check.number("max_workers", self.max_workers, low=1, high=MAX_WORKERS, integer=True)
        if self.max_workers < self.min_workers:
            raise ValueError(f"max_workers must be >= min_workers ({self.min_workers}); got {self.max_workers}")
        check.number("target_backlog_per_worker", self.target_backlog_per_worker, low=0, low_open=True,
                     high=1_000_000)
        check.number("check_every_s", self.check_every_s, low=0, low_open=True, high=86_400)
        check.number("provision_s", self.provision_s, low=0, high=86_400)
        check.number("cooldown_s", self.cooldown_s, low=0, high=86_400)

    def rule(self):
        """A fresh :class:`~chapter1.theory.autoscaling.ScalingRule` for one run (it remembers recent wishes)."""
        return ScalingRule(self.min_workers, self.max_workers, self.target_backlog_per_worker, self.cooldown_s)

    def check_start(self, workers):
        """Refuse a pool that starts outside [min_workers, max_workers]."""
        if not self.min_workers <= workers <= self.max_workers:
            raise ValueError(f"workers must be between min_workers and max_workers ({self.min_workers}-"
                             f"{self.max_workers}) when the pool autoscales; got {workers}")

    def describe(self):
        return (f"autoscale {self.min_workers}-{self.max_workers} on backlog/worker > "
                f"{self.target_backlog_per_worker:g} · check {self.check_every_s:g} s · start {self.provision_s:g} s")


class Scaling:
    """The autoscaler at run time: a simpy process that reads the broker's backlog and starts or stops consumers.

    ``broker`` is the queue's runtime: it offers ``waiting`` (the backlog), ``working`` (messages in
    service), ``start_consumer()`` and ``retire`` (how many consumers should stop at their next free moment).
    ``paid`` traces the workers paid for (running + starting) and ``running`` those taking messages.
    """

    def __init__(self, policy, broker, workers, last_input_s):
        self.policy, self.broker, self.env = policy, broker, broker.env
        self.rule = policy.rule()
        self.running, self.starting = workers, 0
        self.last_input_s = last_input_s
        self.trace_t, self.trace_running, self.trace_paid = [0.0], [workers], [workers]
        self.env.process(self._checks())

    def _traced(self):
        self.trace(self.env.now)

    def trace(self, now):
        """Note the workers running and paid for at ``now`` (a later note at the same moment replaces it)."""
        paid = self.running + self.starting
        if self.trace_t[-1] == now:
            self.trace_running[-1], self.trace_paid[-1] = self.running, paid
        else:
            self.trace_t.append(now)
            self.trace_running.append(self.running)
            self.trace_paid.append(paid)

    def _checks(self):
        env, broker, policy = self.env, self.broker, self.policy
        while True:
            yield env.timeout(policy.check_every_s)
            if broker.finished(self.last_input_s):
                return
            # workers already told to stop (still finishing a message) count as gone
            change = self.rule.decide(env.now, len(broker.waiting), self.running + self.starting - broker.retire)
            if change > 0:
                self.starting += change
                for _ in range(change):
                    env.process(self._start())
            elif change < 0:
                stop = min(-change, self.running - broker.retire)
                broker.retire += stop
                broker.wake()
            self._traced()

    def _start(self):
        yield self.env.timeout(self.policy.provision_s)
        self.starting -= 1
        self.running += 1
        self._traced()
        yield from self.broker.consume()

    def stopped(self):
        """A consumer told to stop has stopped (called by the broker)."""
        self.running -= 1
        self._traced()

    def workers(self):
        """Workers over time as step functions: (times, running, paid for = running + starting)."""
        return np.asarray(self.trace_t), np.asarray(self.trace_running), np.asarray(self.trace_paid)

    def mean_running(self, until_s):
        """Mean workers running over [0, until_s] (the denominator of the pool's utilisation)."""
        return _integral(self.trace_t, self.trace_running, until_s) / until_s if until_s > 0 else self.running

    def figures(self, end_s):
        """Worker-seconds paid for until ``end_s`` (the run's end: the last message done), the most workers paid."""
        return {"worker_seconds": _integral(self.trace_t, self.trace_paid, end_s),
                "workers_max": float(max(self.trace_paid)), "workers_end": float(self.trace_running[-1])}


def _integral(times, values, until_s):
    """The integral of a step function (values[k] from times[k] on) over [0, until_s]."""
    t = np.minimum(np.append(np.asarray(times, dtype=float), math.inf), until_s)
    return float(np.sum(np.diff(t) * np.asarray(values, dtype=float)))


def worker_seconds(times, paid, start_s, end_s):
    """Worker-seconds of a step function of workers (``paid[k]`` from ``times[k]`` on) over [start_s, end_s].

    >>> worker_seconds([0, 10], [2, 5], 0, 20)
    70.0
    """
    return _integral(times, paid, end_s) - _integral(times, paid, start_s)
