"""Caching: the share of requests a cache answers, in closed form.

* :func:`ttl_hit_ratio` — a cache whose entries live a fixed time: the same formula serves a
  client's DNS cache (chapter 01), a TTL cache in front of a database (chapter 06) and a CDN edge
  (chapter 07).
* :func:`che_time` and :func:`cache_hit_ratio` — a cache holding ``cache_size`` of ``keys`` keys
  requested independently with Zipf popularity: Che's approximation for LRU, its cousin for FIFO
  and random eviction, and the top-C bound that a static LFU reaches.
* :func:`ttl_stale_ratio` — with updates the cache is not told about, how many reads see old data.
* :func:`database_load` — what still reaches the database: rate x (1 - hit ratio).
"""

import functools
import math

import numpy as np

from ..core import validation as check
from ..core.workload import KEPT_KEYS, _kept_popularity

POLICIES_WITH_THEORY = ("lru", "fifo", "random", "lfu")


def ttl_hit_ratio(rate, ttl_s):
    """Share of requests answered from a cache whose entries live ``ttl_s`` seconds, at ``rate`` requests/s.

    After each miss the fetched answer serves every request in the next ``ttl_s`` seconds, on
    average ``rate * ttl_s`` of them (Poisson requests), so hits / all = r*T / (1 + r*T).

    >>> ttl_hit_ratio(rate=1 / 60, ttl_s=300)   # one request a minute, answers kept 5 minutes
    0.8333333333333334
    """
    served = check.number("rate", rate, low=0) * check.number("ttl_s", ttl_s, low=0)
    return served / (1 + served)


def ttl_stale_ratio(read_rate, write_rate, ttl_s):
    """Share of one key's reads that get data older than the database's, when updates do not touch the cache.

    A miss fetches the key; the copy serves every read for ``ttl_s`` seconds.  Reads are Poisson, so a
    hit's copy has an age uniform over [0, T]; it is stale when at least one write (Poisson, rate w) came
    after the fetch: 1 - (1 - e^(-wT)) / (wT).  Times the hit ratio r*T / (1 + r*T).

    >>> round(ttl_stale_ratio(read_rate=1.0, write_rate=0.01, ttl_s=60), 3)  # a write every 100 s, kept 60 s
    0.244
    """
    check.number("read_rate", read_rate, low=0)
    check.number("write_rate", write_rate, low=0)
    hit = ttl_hit_ratio(read_rate, ttl_s)
    x = write_rate * ttl_s
    stale_given_hit = 0.0 if x == 0 else 1 - (-math.expm1(-x)) / x
    return hit * stale_given_hit


def zipf_popularity(keys, zipf_s):
    """Probability of each key 0..keys-1 when key k is asked for in proportion to 1/(k+1)^s (as the Workload).

    >>> zipf_popularity(3, 0).tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    """
    check.number("keys", keys, low=1, integer=True)
    check.number("zipf_s", zipf_s, low=0)
    if keys <= KEPT_KEYS:  # the popularity a run's key draws keep (worked out once for the draws and the theory)
        return _kept_popularity(keys, zipf_s).copy()
    weights = 1.0 / np.arange(1, keys + 1, dtype=float) ** zipf_s  # as Workload.key_popularity, bit for bit
    return weights / weights.sum()


@functools.lru_cache(maxsize=16, typed=True)
def _zipf_ranked(keys, zipf_s):
    """:func:`zipf_popularity` and the same popularities most popular first (read-only), drawn and sorted once
    per (keys, zipf_s): a theory line asks for them at every cache size."""
    p = zipf_popularity(keys, zipf_s)
    ranked = np.sort(p)[::-1]
    p.flags.writeable = ranked.flags.writeable = False
    return p, ranked


def che_time(popularity, cache_size, policy="lru"):
    """Che's characteristic time T (in requests): the C keys an LRU cache holds are those asked for in the last T.

    Solves sum_i (1 - e^(-p_i T)) = C for LRU; for FIFO and random eviction the occupancy of key i is
    p_i T / (1 + p_i T) instead, and sum_i p_i T / (1 + p_i T) = C.  Newton's method from below (the
    sum is concave in T, so each step stays below the root), checked by a bracket.

    >>> round(che_time(np.full(100, 0.01), 50))   # 100 equally popular keys, half of them cached
    69
    """
    p = check.probabilities("popularity", popularity)
    check.number("cache_size", cache_size, low=0, high=len(p), low_open=True)
    check.choice("policy", policy, ("lru", "fifo", "random"))  # LFU has no characteristic time
    if cache_size >= len(p):
        return math.inf
    return _che(p, cache_size, policy)[0]


def _che(p, cache_size, policy):
    """:func:`che_time` of checked arguments, and each key's occupancy at it (the hit ratio reads them)."""
    if policy == "lru":
        return _che_lru(p, cache_size)
    if policy in ("fifo", "random"):
        return _che_fifo(p, cache_size)
    return _newton(p, cache_size, _occupancy(policy), _slope(policy))


def _newton(p, cache_size, occupancy, slope):
    """Newton's steps of :func:`_che` for a policy's ``occupancy`` and ``slope`` (functions of p and t)."""
    t = cache_size  # sum of occupancies <= p_i t summed = t: the root is at least C
    for _ in range(200):
        held = occupancy(p, t)
        gap = cache_size - held.sum()
        if gap <= 1e-9 * cache_size:
            break
        t += gap / (p * slope(p, t)).sum()
    else:
        held = occupancy(p, t)
    return t, held


def _che_lru(p, cache_size):
    """:func:`_che` for LRU, each step's -p t worked out once into arrays kept for the whole search (the same
    floats as the occupancy and slope of :func:`_occupancy` and :func:`_slope`)."""
    x, held, slope = np.empty_like(p), np.empty_like(p), np.empty_like(p)

    def occupy(t):
        np.multiply(p, -t, out=x)  # -p t, as (-p) t: the sign alone differs
        np.negative(np.expm1(x, out=held), out=held)
        return held

    t = cache_size
    for _ in range(200):
        gap = cache_size - occupy(t).sum()
        if gap <= 1e-9 * cache_size:
            break
        t += gap / np.multiply(p, np.exp(x, out=slope), out=slope).sum()
    else:
        occupy(t)
    return t, held


def _che_fifo(p, cache_size):
    """:func:`_che` for FIFO and random eviction, each step's p t and 1 + p t worked out once into arrays kept for
    the whole search (the same floats as :func:`_newton` with :func:`_occupancy` and :func:`_slope`)."""
    x, held, slope = np.empty_like(p), np.empty_like(p), np.empty_like(p)

    def occupy(t):
        np.multiply(p, t, out=x)        # p t
        np.add(x, 1, out=slope)         # 1 + p t
        return np.divide(x, slope, out=held)

    t = cache_size
    for _ in range(200):
        gap = cache_size - occupy(t).sum()
        if gap <= 1e-9 * cache_size:
            break
        np.multiply(slope, slope, out=slope)  # (1 + p t)^2, as ** 2 squares
        np.divide(1, slope, out=slope)
        t += gap / np.multiply(p, slope, out=slope).sum()
    else:
        occupy(t)
    return t, held


def _slope(policy):
    if policy == "lru":
        return lambda p, t: np.exp(-p * t)
    return lambda p, t: 1 / (1 + p * t) ** 2


def _occupancy(policy):
    if policy == "lru":
        return lambda p, t: -np.expm1(-p * t)
    if policy in ("fifo", "random"):
        return lambda p, t: p * t / (1 + p * t)
    raise ValueError(f"policy must be one of {', '.join(repr(p) for p in POLICIES_WITH_THEORY)}; got {policy!r}")


def hit_ratio_from_popularity(popularity, cache_size, policy="lru", write_share=0.0):
    """Hit ratio of a cache of ``cache_size`` keys for independent requests with the given key popularity.

    LRU: Che's approximation, sum_i p_i (1 - e^(-p_i T)).  FIFO and random: sum_i p_i * p_i T / (1 + p_i T)
    with its own T.  LFU (counting every request, a static cache): the top-C popularity, the best any
    policy can do without knowing the future.

    ``write_share`` w: a share of the requests are writes that drop their key from the cache.  A read
    then hits only if the key's previous request was a read, so each key's occupancy and hit chance
    are multiplied by (1 - w), and T solves sum_i (1 - w)(1 - e^(-p_i T)) = C.

    >>> round(hit_ratio_from_popularity([0.5, 0.3, 0.2], 1, "lfu"), 6)
    0.5
    """
    p = check.probabilities("popularity", popularity)
    check.number("cache_size", cache_size, low=1, high=len(p), integer=True)
    check.choice("policy", policy, POLICIES_WITH_THEORY)
    read = 1 - check.number("write_share", write_share, low=0, high=1)
    return _hit_ratio(p, cache_size, policy, read, None)


def _hit_ratio(p, cache_size, policy, read, ranked):
    """:func:`hit_ratio_from_popularity` of checked arguments; ``ranked`` is ``p`` most popular first, if known."""
    if policy == "lfu":
        ranked = np.sort(p)[::-1] if ranked is None else ranked
        return float(read * min(1.0, ranked[:cache_size].sum()))  # the sum may round above 1
    if read == 0:
        return 0.0
    effective = cache_size / read
    if effective >= len(p):
        return float(read)
    return float(read * (p * _che(p, effective, policy)[1]).sum())


def cache_hit_ratio(policy, cache_size, keys, zipf_s, write_share=0.0):
    """Theory's hit ratio for a cache of ``cache_size`` of ``keys`` Zipf(``zipf_s``) keys under ``policy``.

    ``policy``: "lru" (Che's approximation), "fifo" or "random" (their approximation), "lfu" (the top-C
    bound).  Independent requests, a warm cache, no expiry; ``write_share`` of the requests are writes
    that invalidate their key (the ratio is hits / reads).

    >>> round(cache_hit_ratio("lru", 1_000, 10_000, 0.8), 3)
    0.437
    >>> round(cache_hit_ratio("lfu", 1_000, 10_000, 0.8), 3)
    0.571
    >>> round(cache_hit_ratio("lru", 1_000, 10_000, 1.0, write_share=0.1), 3)
    0.62
    """
    check.choice("policy", policy, POLICIES_WITH_THEORY)
    check.number("keys", keys, low=1, integer=True)
    check.number("cache_size", cache_size, low=1, high=keys, integer=True)
    read = 1 - check.number("write_share", write_share, low=0, high=1)
    check.number("zipf_s", zipf_s, low=0)
    p, ranked = _zipf_ranked(keys, zipf_s)
    return _hit_ratio(p, cache_size, policy, read, ranked)


def database_load(rate, hit_ratio, write_share=0.0):
    """Requests per second that still reach the database: read misses plus every write.

    rate x (1 - w) x (1 - hit) + rate x w.

    >>> round(database_load(1_000, 0.8), 6)
    200.0
    >>> round(database_load(1_000, 0.8, write_share=0.1), 6)
    280.0
    """
    check.number("rate", rate, low=0)
    check.number("hit_ratio", hit_ratio, low=0, high=1)
    check.number("write_share", write_share, low=0, high=1)
    return rate * (1 - write_share) * (1 - hit_ratio) + rate * write_share
