"""Argument checks that name the parameter, its value and what would have worked.

A value of the wrong type raises TypeError; a value of the right type out of range raises
ValueError.  Both messages name the parameter and the valid range or choices.
"""

import math
import numbers

import numpy as np


def number(name, value, *, low=None, high=None, low_open=False, integer=False, allow_inf=False):
    """Return ``value`` if it is a number in range; TypeError if it is not a number, else ValueError.

    >>> number("users", 10, low=0, low_open=True)
    10
    >>> number("users", "10", low=0)
    Traceback (most recent call last):
    TypeError: users must be a number >= 0; got '10'
    """
    kind = type(value)  # a plain int or float needs no look at the number ABCs (slow in a theory's inner loop)
    if not (kind is int or (kind is float and not integer)) and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real)):
        raise TypeError(f"{_wanted(name, integer, low, high, low_open)}; got {value!r}")
    if (math.isnan(value) or (low is not None and (value <= low if low_open else value < low))
            or (high is not None and value > high) or (math.isinf(value) and not allow_inf)):
        raise ValueError(f"{_wanted(name, integer, low, high, low_open)}; got {value!r}")
    return value


def _wanted(name, integer, low, high, low_open):
    """'users must be a number >= 0': what :func:`number` asked for (written only when a value fails)."""
    return f"{name} must be {'a whole number' if integer else 'a number'} {_range(low, high, low_open)}".rstrip()


def number_list(name, values, **limits):
    """``values`` (a list or array) as a 1-D float array, each checked by :func:`number` under ``name``.

    >>> number_list("times", [0, 2.5], low=0).tolist()
    [0.0, 2.5]
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and not limits.get("integer"):
        flat = values.ravel()  # a float array (a curve's grid): checked at once, one by one only to name a failure
        low, high = limits.get("low"), limits.get("high")
        bad = np.isnan(flat) if limits.get("allow_inf") else ~np.isfinite(flat)
        if low is not None:
            bad |= flat <= low if limits.get("low_open") else flat < low
        if high is not None:
            bad |= flat > high
        if not bad.any():
            return flat.astype(float)
    return np.array([number(name, v, **limits) for v in np.asarray(values, dtype=object).ravel()], dtype=float)


def probabilities(name, value):
    """``value`` as a 1-D float array of probabilities summing to 1 (a key popularity); ValueError naming ``name``.

    >>> probabilities("popularity", [0.25, 0.75]).tolist()
    [0.25, 0.75]
    """
    wanted = f"{name} must be a list of probabilities that sum to 1 (e.g. Workload().key_popularity())"
    try:
        p = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{wanted}; got {value!r:.60}") from None
    if p.ndim != 1 or p.size == 0 or not np.isfinite(p).all() or (p < 0).any() or not math.isclose(p.sum(), 1.0,
                                                                                                      rel_tol=1e-6):
        raise ValueError(f"{wanted}; got {value!r:.60}")
    return p


def choice(name, value, options):
    """Return ``value`` if it is one of ``options``, else raise ValueError listing them.

    >>> choice("policy", "fastest", ("random", "round_robin"))
    Traceback (most recent call last):
    ValueError: policy must be one of 'random', 'round_robin'; got 'fastest'
    """
    if not isinstance(value, str) and any(isinstance(o, str) for o in options):
        raise TypeError(f"{name} must be one of {_listed(options)}; got {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {_listed(options)}; got {value!r}")
    return value


def text(name, value):
    """Return ``value`` if it is a non-empty string (TypeError if not a string, ValueError if empty)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a non-empty string; got {value!r}")
    if not value:
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    return value


def sequence(name, value, cls, example):
    """``value`` as a tuple of ``cls`` objects (a list or tuple); TypeError naming an ``example`` otherwise.

    >>> sequence("outages", [], object, "Outage(30, 60)")
    ()
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence (a tuple or list) of {cls.__name__} objects; got {value!r}")
    value = tuple(value)
    for item in value:
        if not isinstance(item, cls):
            raise TypeError(f"{name} must hold {cls.__name__} objects (e.g. {example}); got {item!r}")
    return value


def instance(name, value, cls, example):
    """Return ``value`` if it is a ``cls``, else raise TypeError naming an ``example`` that would work."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__} (e.g. {example}); got {value!r}")
    return value


def _listed(options):
    return ", ".join(repr(o) for o in options)


def _range(low, high, low_open):
    if low is not None and high is not None:
        return f"in the range {'(' if low_open else '['}{low:,}, {high:,}]"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:,}"
    if high is not None:
        return f"<= {high:,}"
    return ""
