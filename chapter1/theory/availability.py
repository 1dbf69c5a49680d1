"""Availability: components in series, in parallel, k of n, and what a share of downtime means in hours."""

import math

import numpy as np

from ..core import validation as check

__all__ = [
    "HOURS_PER_YEAR", "availability_parallel", "availability_series", "downtime_per_year", "k_of_n_availability",
    "servers_needed", "overload_fluid", "overload_fluid_curve",
]

HOURS_PER_YEAR = 365.25 * 24


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


def k_of_n_availability(k, n, availability):
    """Availability of ``n`` independent parts when at least ``k`` must be up (to carry the peak, say).

    P(at least k of n up) = sum over j >= k of C(n, j) a^j (1 - a)^(n - j).  k = 1 is
    :func:`availability_parallel`; k = n is :func:`availability_series`.  If two boxes must both be
    up to carry the peak, the pair is *less* available than one box.

    >>> round(k_of_n_availability(1, 2, 0.995), 6), round(k_of_n_availability(2, 2, 0.995), 6)
    (0.999975, 0.990025)
    >>> round(downtime_per_year(k_of_n_availability(3, 4, 0.995)), 2)   # 4 boxes, 3 needed: hours a year
    1.31
    """
    check.number("n", n, low=1, high=100_000, integer=True)
    check.number("k", k, low=0, high=n, integer=True)
    (a,) = _availabilities((availability,))
    if a in (0, 1):  # every part down, or every part up
        return float(a == 1 or k == 0)
    # each term in logs: C(n, j) overflows a float from n of about 1,030 on, and a^j underflows
    log_c = math.lgamma(n + 1)
    return min(1.0, sum(math.exp(log_c - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * math.log(a)
                                 + (n - j) * math.log1p(-a)) for j in range(k, n + 1)))


def servers_needed(load, servers):
    """Fewest of ``servers`` identical boxes that carry a peak which keeps all ``servers`` a ``load`` share
    busy, each below 100 %: floor(load x n) + 1.  N+1 means this is at most n - 1.

    >>> servers_needed(0.6, 2), servers_needed(0.45, 2), servers_needed(0.6, 4)
    (2, 1, 3)
    """
    check.number("servers", servers, low=1, high=100_000, integer=True)
    check.number("load", load, low=0)
    return math.floor(load * servers + 1e-9) + 1


def overload_fluid(arrival_rate, capacity, queue_room, after_s):
    """A queue fed faster than it drains, as a fluid: (requests queued, wait in s, share turned away)
    ``after_s`` seconds after the overload begins, starting empty.

    The queue grows at arrival_rate - capacity until it holds ``queue_room`` requests; a request that
    joins it waits queued / capacity; once it is full, 1 - capacity / arrival_rate of the requests are
    turned away.  Below capacity: nothing queues here (see the M/M/c formulas for the wait there).
    Random arrivals and service make the real queue fill a little sooner and reject a little less.

    >>> [round(x, 3) for x in overload_fluid(192, 160, 1_000, 10)]     # 120 % load, after 10 s
    [320.0, 2.0, 0.0]
    >>> [round(x, 3) for x in overload_fluid(192, 160, 1_000, 60)]     # full: 1/6 turned away
    [1000.0, 6.25, 0.167]
    """
    check.number("after_s", after_s, low=0)
    return tuple(float(x[0]) for x in overload_fluid_curve(arrival_rate, capacity, queue_room, [after_s]))


def overload_fluid_curve(arrival_rate, capacity, queue_room, after_s):
    """:func:`overload_fluid` at each moment of ``after_s`` (a list or array): three arrays, the same floats.

    >>> [x.round(3).tolist() for x in overload_fluid_curve(192, 160, 1_000, [10, 60])]
    [[320.0, 1000.0], [2.0, 6.25], [0.0, 0.167]]
    """
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("capacity", capacity, low=0, low_open=True)
    check.number("queue_room", queue_room, low=0)
    after_s = check.number_list("after_s", after_s, low=0)
    excess = arrival_rate - capacity
    if excess <= 0:
        return np.zeros(len(after_s)), np.zeros(len(after_s)), np.zeros(len(after_s))
    queued = np.minimum(queue_room, excess * after_s)
    turned_away = np.where(queued >= queue_room, 1 - capacity / arrival_rate, 0.0)
    return queued, queued / capacity, turned_away


def downtime_per_year(availability):
    """Hours per year a part with this availability is down.

    >>> round(downtime_per_year(0.999), 2)
    8.77
    """
    (a,) = _availabilities((availability,))
    return (1 - a) * HOURS_PER_YEAR


def _availabilities(values):
    if not values:
        raise ValueError("availabilities must list at least one availability, e.g. availability_series(0.99, 0.999)")
    return [check.number("availability", a, low=0, high=1) for a in values]
