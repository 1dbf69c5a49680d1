"""Availability: components in series, in parallel, k of n, and what a share of downtime means in hours."""

import math

from ..core import validation as check

__all__ = [
    "HOURS_PER_YEAR", "availability_parallel", "availability_series", "downtime_per_year", "k_of_n_availability",
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
    return min(1.0, sum(math.comb(n, j) * a ** j * (1 - a) ** (n - j) for j in range(k, n + 1)))


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
