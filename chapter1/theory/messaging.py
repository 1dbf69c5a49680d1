"""Message queues: the backlog a queue holds, how fast it drains, and why decoupling keeps the producer up.

While consumers keep up (arrival rate λ below c·μ, ``workers`` consumers each completing μ messages a
second) the queue is an M/M/c queue: Erlang C gives the chance a message waits, and Little's law turns
the mean wait into the mean number waiting.  When the consumers stop for ``t`` seconds, messages pile up
at λ a second: a backlog of λ·t.  Once they are back, they clear it at their spare capacity c·μ − λ, so
it drains in backlog / (c·μ − λ) seconds — and never, when λ ≥ c·μ.

>>> round(drain_time(3_000, arrival_rate=50, service_rate=10, workers=8), 1)   # 3,000 / (80 - 50)
100.0
"""

import math

import numpy as np

from ..core import validation as check
from .availability import availability_series
from .queues import MAX_SERVERS, check_queue, mmc

__all__ = ["backlog_curve", "decoupled_availability", "drain_time", "mean_backlog", "mean_queue_wait_s",
           "outage_backlog", "synchronous_availability", "workers_to_drain"]


def mean_queue_wait_s(arrival_rate, service_rate, workers):
    """Mean seconds a message waits in the queue before a consumer takes it (M/M/c; inf when λ ≥ c·μ).

    >>> round(mean_queue_wait_s(50, 10, 8) * 1_000, 1)
    5.6
    """
    return mmc(arrival_rate, service_rate, _workers(workers)).mean_wait_s


def _workers(workers):
    """The consumers, checked under their own name (the queueing formulas call them servers)."""
    return check.number("workers", workers, low=1, high=MAX_SERVERS, integer=True)


def mean_backlog(arrival_rate, service_rate, workers):
    """Mean number of messages waiting (not yet taken): Little's law, λ × mean wait (inf when λ ≥ c·μ).

    >>> round(mean_backlog(50, 10, 8), 2)
    0.28
    """
    wait = mean_queue_wait_s(arrival_rate, service_rate, workers)
    return arrival_rate * wait if math.isfinite(wait) else math.inf


def outage_backlog(arrival_rate, outage_s):
    """Messages that pile up while the consumers are down for ``outage_s`` seconds: λ·t.

    >>> outage_backlog(50, 60)
    3000.0
    """
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("outage_s", outage_s, low=0)
    return float(arrival_rate * outage_s)


def drain_time(backlog, arrival_rate, service_rate, workers):
    """Seconds for ``workers`` consumers to clear ``backlog`` messages while new ones keep arriving at λ.

    backlog / (c·μ − λ): only the spare capacity works the backlog off.  inf when λ ≥ c·μ.

    >>> drain_time(600, 50, 10, 6)
    60.0
    >>> drain_time(600, 80, 10, 8)
    inf
    """
    check.number("backlog", backlog, low=0)
    check_queue(arrival_rate, service_rate, _workers(workers))
    spare = workers * service_rate - arrival_rate
    if backlog == 0:
        return 0.0
    return backlog / spare if spare > 0 else math.inf


def workers_to_drain(backlog, within_s, arrival_rate, service_rate):
    """The fewest consumers that clear ``backlog`` within ``within_s`` seconds: c > (λ + backlog / t) / μ.

    >>> workers_to_drain(3_000, 60, 50, 10)
    10
    """
    check.number("backlog", backlog, low=0)
    check.number("within_s", within_s, low=0, low_open=True)
    check_queue(arrival_rate, service_rate, 1)
    need = (arrival_rate + backlog / within_s) / service_rate
    workers = max(1, math.ceil(need - 1e-12))
    return workers + 1 if workers * service_rate <= arrival_rate else workers


def backlog_curve(times, arrival_rate, service_rate, workers, *, outage=None, burst=None):
    """The fluid model of the backlog at each of ``times`` (s): none while consumers keep up, λ a second
    while they are down (``outage`` = (start_s, end_s)), a step of ``burst`` = (at_s, messages), then a
    drain at c·μ − λ a second.  It leaves out the few messages M/M/c keeps waiting (:func:`mean_backlog`).

    >>> backlog_curve([0, 20, 40, 60, 80], 50, 10, 8, outage=(10, 30)).tolist()
    [0.0, 500.0, 700.0, 100.0, 0.0]
    """
    check_queue(arrival_rate, service_rate, _workers(workers))
    times = check.number_list("times", times, low=0)
    events = sorted(set(times.tolist()) | _edges(outage) | _edges(burst and (burst[0], burst[0])))
    level, last, values = 0.0, 0.0, {}
    spare = workers * service_rate - arrival_rate
    for t in events:
        dt = t - last
        down = outage is not None and outage[0] <= last < outage[1]
        level = level + arrival_rate * dt if down else max(0.0, level - spare * dt)
        if burst is not None and t == burst[0] and (t, "burst") not in values:
            values[(t, "burst")] = True
            level += burst[1]
        values[t] = level
        last = t
    return np.array([values[t] for t in times.tolist()])


def _edges(interval):
    return set() if interval is None else {float(interval[0]), float(interval[1])}


def synchronous_availability(*availabilities):
    """A request that must pass every part in turn (web, then the worker service) is up only when all are:
    the product.

    >>> round(synchronous_availability(0.999, 0.99), 5)
    0.98901
    """
    return availability_series(*availabilities)


def decoupled_availability(producer, broker, consumers=None):
    """What the producer's users see when a queue decouples the work: the producer and the broker must be
    up; the consumers' downtime only delays the work (``consumers`` is accepted and left out on purpose).

    >>> round(decoupled_availability(0.999, 0.9999, consumers=0.99), 5)
    0.9989
    """
    check.number("producer", producer, low=0, high=1)
    check.number("broker", broker, low=0, high=1)
    if consumers is not None:
        check.number("consumers", consumers, low=0, high=1)
    return availability_series(producer, broker)
