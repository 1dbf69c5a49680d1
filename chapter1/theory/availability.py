"""Availability: components in series and in parallel, and what a share of downtime means in hours."""

import math

from ..core import validation as check

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
