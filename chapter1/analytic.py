"""Closed-form answers to the chapter's questions, to draw next to the simulation.

Rates are per second, times in seconds unless a name says ``_ms``.
"""

import math
from dataclasses import dataclass

from . import _validate as check

HOURS_PER_YEAR = 365.25 * 24


def erlang_c(servers, offered_load):
    """Probability that an arriving request has to wait in an M/M/c queue (Erlang C).

    ``offered_load`` is arrival rate / service rate of one server (in Erlangs).  At or above
    ``servers`` the queue never empties, so every request waits: the answer is 1.

    >>> round(erlang_c(1, 0.5), 6)   # M/M/1: P(wait) = utilisation
    0.5
    >>> round(erlang_c(2, 1.0), 6)
    0.333333
    """
    check.number("servers", servers, low=1, integer=True)
    check.number("offered_load", offered_load, low=0)
    if offered_load >= servers:
        return 1.0
    # Erlang B by its stable recurrence, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    rho = offered_load / servers
    return b / (1 - rho + rho * b)


@dataclass(frozen=True)
class QueueStats:
    """Steady-state figures of an M/M/c queue (times in seconds)."""

    utilization: float
    p_wait: float
    mean_wait_s: float
    mean_response_s: float
    mean_in_system: float

    @property
    def stable(self):
        return self.utilization < 1


def mmc(arrival_rate, service_rate, servers=1):
    """M/M/c queue: Poisson arrivals, ``servers`` workers with exponential service; ``servers=1`` is M/M/1.

    >>> q = mmc(arrival_rate=8, service_rate=10)      # M/M/1 at 80% load
    >>> round(q.mean_response_s, 6)                      # 1 / (mu - lambda)
    0.5
    >>> mmc(30, 10, servers=2).mean_response_s          # overloaded: never settles
    inf
    """
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("service_rate", service_rate, low=0, low_open=True)
    check.number("servers", servers, low=1, integer=True)
    load = arrival_rate / service_rate
    rho = load / servers
    if rho >= 1:
        return QueueStats(rho, 1.0, math.inf, math.inf, math.inf)
    p_wait = erlang_c(servers, load)
    wait = p_wait / (servers * service_rate - arrival_rate)
    response = wait + 1 / service_rate
    return QueueStats(rho, p_wait, wait, response, arrival_rate * response)


def response_time_survival(t, arrival_rate, service_rate, servers=1):
    """P(response time > t) in an M/M/c queue (FIFO).

    The wait is 0 with probability 1 - P(wait), else exponential with rate c*mu - lambda;
    the service that follows is exponential with rate mu.
    """
    mu = service_rate
    q = mmc(arrival_rate, service_rate, servers)
    if not q.stable:
        return 1.0
    theta = servers * mu - arrival_rate
    if abs(theta - mu) < 1e-12 * mu:
        after_wait = (1 + mu * t) * math.exp(-mu * t)
    else:
        after_wait = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
    return (1 - q.p_wait) * math.exp(-mu * t) + q.p_wait * after_wait


def response_time_percentile(percent, arrival_rate, service_rate, servers=1, delay_s=0.0, delay_share=0.0):
    """Response time (s) below which ``percent`` % of requests finish in an M/M/c queue; inf if overloaded.

    ``delay_share`` of requests pay a fixed extra ``delay_s`` first (a DNS lookup, say).

    >>> round(response_time_percentile(50, 8, 10), 4)   # M/M/1: ln 2 / (mu - lambda)
    0.3466
    """
    check.number("percent", percent, low=0, high=100, low_open=True)
    check.number("delay_s", delay_s, low=0)
    check.number("delay_share", delay_share, low=0, high=1)
    if percent == 100 or not mmc(arrival_rate, service_rate, servers).stable:
        return math.inf

    def survival(t):
        direct = response_time_survival(t, arrival_rate, service_rate, servers)
        delayed = response_time_survival(t - delay_s, arrival_rate, service_rate, servers) if t > delay_s else 1.0
        return (1 - delay_share) * direct + delay_share * delayed

    target = 1 - percent / 100
    low, high = 0.0, delay_s + 1 / service_rate
    while survival(high) > target:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if survival(mid) > target else (low, mid)
    return (low + high) / 2


def littles_law(arrival_rate, mean_time_s):
    """Little's law: mean number in a system = arrival rate x mean time spent in it.

    >>> littles_law(100, 0.05)
    5.0
    """
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("mean_time_s", mean_time_s, low=0, allow_inf=True)
    return arrival_rate * mean_time_s


def availability_series(*availabilities):
    """Availability of parts that must ALL be up (a chain): the product.

    >>> round(availability_series(0.99, 0.99), 4)
    0.9801
    """
    return math.prod(_availabilities(availabilities))


def availability_parallel(*availabilities):
    """Availability of redundant parts where ANY ONE up is enough: 1 - product of the downs.

    >>> round(availability_parallel(0.99, 0.99), 4)
    0.9999
    """
    return 1 - math.prod(1 - a for a in _availabilities(availabilities))


def downtime_per_year(availability):
    """Hours per year a part with this availability is down.

    >>> round(downtime_per_year(0.999), 2)
    8.77
    """
    (a,) = _availabilities((availability,))
    return (1 - a) * HOURS_PER_YEAR


def _availabilities(values):
    if not values:
        raise ValueError("give at least one availability, e.g. availability_series(0.99, 0.999)")
    return [check.number("availability", a, low=0, high=1) for a in values]


def predict(architecture, workload, percents=(50, 95, 99)):
    """Theory for an architecture with one exponential tier (and optional DNS): latency in ms, utilisation.

    Returns a dict with ``mean_ms``, ``p50_ms``, ... and ``utilization``; ``None`` where no closed
    form applies (several tiers, constant service).  Latencies are inf when the tier is overloaded.

    >>> from chapter1 import Workload, single_server
    >>> round(predict(single_server(workers=1, service_time_ms=100), Workload.from_rate(5))["utilization"], 2)
    0.5
    """
    if len(architecture.tiers) != 1 or getattr(architecture.tiers[0], "distribution", None) != "exponential":
        return None
    server, dns = architecture.tiers[0], architecture.dns
    miss = 0.0 if dns is None else 1 - dns.hit_ratio(workload.per_user_rate)
    lookup_s = 0.0 if dns is None else dns.lookup_ms / 1_000.0
    args = (workload.rate, server.service_rate, server.workers)
    queue = mmc(*args)
    theory = {"utilization": queue.utilization, "mean_ms": (miss * lookup_s + queue.mean_response_s) * 1_000.0}
    for q in percents:
        theory[f"p{q}_ms"] = response_time_percentile(q, *args, delay_s=lookup_s, delay_share=miss) * 1_000.0
    return theory
