"""Argument checks that name the parameter, its value and the valid range."""

import math
import numbers


def number(name, value, *, low=None, high=None, low_open=False, integer=False, allow_inf=False):
    """Return ``value`` if it is a number in range, else raise ValueError naming ``name``.

    >>> number("users", 10, low=0, low_open=True)
    10
    """
    kind = "a whole number" if integer else "a number"
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(value, bool)
    if not ok_type or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{name} must be {kind} {_range(low, high, low_open)}; got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be {kind} {_range(low, high, low_open)}; got {value!r}")
    return value


def choice(name, value, options):
    """Return ``value`` if it is one of ``options``, else raise ValueError listing them."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def _range(low, high, low_open):
    if low is not None and high is not None:
        return f"in the range {'(' if low_open else '['}{low:,}, {high:,}]"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:,}"
    if high is not None:
        return f"<= {high:,}"
    return ""
