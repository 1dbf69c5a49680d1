"""Sharding (chapter 12): how even the shards are, how hot the busiest key is, how slow a query to all of them is.

* **Load spread vs virtual nodes** (:func:`load_spread`): on a consistent-hash ring each of n shards
  places v points at random; a shard owns the arcs in front of its points.  Its share of the key
  space is then Beta(v, (n - 1) v), whose coefficient of variation is sqrt((n - 1) / (n v + 1)):
  about 1/sqrt(v) for many shards (100 vnodes, about 10 %).  :func:`vnodes_for_spread` inverts it.
* **The top key** (:func:`top_key_share`): under Zipf(s) over N keys the most popular key gets
  1/H(N, s) of the traffic, H the generalised harmonic number.  Its shard gets that plus its 1/n of
  the rest (:func:`chapter1.analytic.nat_share`, the same sum as one big NAT in chapter 08), however
  many shards there are.
* **Fan-out** (:func:`fanout_cdf`, :func:`fanout_quantile_ms`): a query sent to k shards waits for
  the slowest, so P(max <= t) = F(t)^k and the tail grows with k.

Resharding's keys moved is :func:`chapter1.analytic.keys_moved` (shared with chapter 08).
"""

import math

import numpy as np

from ..core import validation as check

__all__ = ["fanout_cdf", "fanout_mean_ms", "fanout_quantile_ms", "harmonic", "load_spread", "top_key_share",
           "vnodes_for_spread"]

MAX_SHARDS = 1_000_000
MAX_VNODES = 1_000_000
MAX_KEYS = 100_000_000


def load_spread(vnodes, shards=None):
    """Coefficient of variation (standard deviation / mean) of the shards' shares of a consistent-hash ring.

    With ``shards`` n: sqrt((n - 1) / (n v + 1)) (each share is Beta(v, (n - 1) v)); without, the limit
    for many shards, 1/sqrt(v).  The shares of the key space; a shard's traffic spreads this much when its
    keys are many and none of them is hot.

    >>> load_spread(100), round(load_spread(100, shards=4), 4)
    (0.1, 0.0865)
    """
    check.number("vnodes", vnodes, low=1, high=MAX_VNODES, integer=True)
    v = int(vnodes)
    if shards is None:
        return 1.0 / math.sqrt(v)
    check.number("shards", shards, low=1, high=MAX_SHARDS, integer=True)
    n = int(shards)
    return math.sqrt((n - 1) / (n * v + 1))


def vnodes_for_spread(target, shards=None):
    """The fewest virtual nodes per shard whose :func:`load_spread` is at most ``target``.

    >>> vnodes_for_spread(0.1), vnodes_for_spread(0.05, shards=8)
    (100, 350)
    """
    check.number("target", target, low=0, low_open=True, high=1)
    if shards is None:
        return max(1, math.ceil(1.0 / target**2 - 1e-9))
    check.number("shards", shards, low=2, high=MAX_SHARDS, integer=True)
    n = int(shards)
    v = max(1, math.ceil(((n - 1) / target**2 - 1) / n - 1e-9))
    if v > MAX_VNODES:
        raise ValueError(f"target must be a spread {MAX_VNODES:,} vnodes a shard can reach, about "
                         f"{math.sqrt((n - 1) / (n * MAX_VNODES + 1)):.2g} or more; got {target}")
    while v > 1 and load_spread(v - 1, n) <= target:
        v -= 1
    while load_spread(v, n) > target:
        v += 1
    return v


def harmonic(keys, s=1.0):
    """The generalised harmonic number H(N, s) = sum over k = 1..N of 1/k^s.

    >>> round(harmonic(4), 4)
    2.0833
    """
    check.number("keys", keys, low=1, high=MAX_KEYS, integer=True)
    check.number("s", s, low=0)
    return float(np.sum(1.0 / np.arange(1, int(keys) + 1, dtype=float) ** s))


def top_key_share(keys, s=1.0):
    """Share of all requests that ask for the most popular of ``keys`` keys under Zipf(``s``): 1/H(N, s).

    >>> round(top_key_share(10_000), 4)      # the course's default workload
    0.1022
    """
    return 1.0 / harmonic(keys, s)


def _k(k):
    check.number("k", k, low=1, high=MAX_SHARDS, integer=True)
    return int(k)


def fanout_cdf(cdf, k):
    """P(the slowest of ``k`` independent answers <= t), given P(one answer <= t) = ``cdf``: F(t)^k.

    >>> fanout_cdf(0.99, 1), round(fanout_cdf(0.99, 16), 3)   # 1 % slow on one shard, 15 % on 16
    (0.99, 0.851)
    """
    if isinstance(cdf, (list, tuple, np.ndarray)):
        values = np.asarray(cdf, dtype=float)
        if values.size and (values.min() < 0 or values.max() > 1):
            raise ValueError("cdf values must be probabilities in [0, 1]")
        return values ** _k(k)
    check.number("cdf", cdf, low=0, high=1)
    return float(cdf) ** _k(k)


def fanout_quantile_ms(q, k, mean_ms):
    """The ``q`` quantile of the slowest of ``k`` exponential answers of mean ``mean_ms``: -mean ln(1 - q^(1/k)).

    >>> round(fanout_quantile_ms(0.99, 1, 10), 1), round(fanout_quantile_ms(0.99, 8, 10), 1)
    (46.1, 66.8)
    """
    check.number("q", q, low=0, low_open=True, high=1)
    check.number("mean_ms", mean_ms, low=0)
    k = _k(k)
    if q == 1:
        return math.inf
    return -mean_ms * math.log1p(-(q ** (1.0 / k)))


def fanout_mean_ms(k, mean_ms):
    """Mean of the slowest of ``k`` exponential answers of mean ``mean_ms``: mean x H(k, 1).

    >>> round(fanout_mean_ms(4, 10), 2)
    20.83
    """
    check.number("mean_ms", mean_ms, low=0)
    return mean_ms * harmonic(_k(k))
