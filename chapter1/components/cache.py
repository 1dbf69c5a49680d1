"""A read-through cache (읽기 주도형 캐시) in front of a database, and the exact LRU hit-ratio curve.

:class:`Cache` holds its backend (a :class:`~chapter1.components.server.Database`) as a part.  A read
whose key is cached answers from memory in ``hit_ms``; a miss asks the backend and then stores the
answer, evicting a key by ``policy`` (:data:`~chapter1.components.eviction.EVICTION`) when full.  A
write always goes to the database; afterwards the cache drops the key (``on_write="invalidate"``),
stores the new value (``"update"``), or is not told at all (``"ignore"``: only expiry refreshes it,
and reads in between get old data).  Entries expire ``ttl_s`` seconds after they were stored.

Keys come from the Workload's Zipf popularity (``sim.key``), reads and writes from ``sim.write``.
When the cache node dies, every request goes straight to the database, and the cache comes back
empty (cold).  By default it starts warm: before the first request it has seen a stretch of
requests drawn from the same popularity (``warm=False`` starts it empty).  :meth:`Cache.flush` schedules
a flush: at that moment the cache loses its contents but keeps serving, so every read misses and goes
to the database until the popular keys are back (:func:`cold_hit_ratio` is the theory of that warm-up).

>>> from chapter1 import Workload, simulate, cached
>>> result = simulate(cached(cache_size=1_000), Workload.from_rate(100), requests=4_000, seed=1)
>>> 0.5 < result.summary()["cache_hit_ratio"] < 0.8
True
"""

import math
import types
from collections import deque
from dataclasses import dataclass, field, replace
from heapq import heappop, heappush

import numpy as np
import pandas as pd

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import OK, Component, Runtime, Share, register
from ..core.simulation import Simulation
from ..core.workload import Workload
from .eviction import EVICTION, LRU
from .server import Database

WRITES = ("invalidate", "update", "ignore")
MAX_CAPACITY = 10_000_000
WARMUP = (10, 10_000, 200_000)  # warm-up requests: 10 x capacity, at least 10,000, at most 200,000


def _example():
    # 50 req/s, 10 % writes: about 21 req/s reach a database that completes 40; with the cache down, all
    # 50 do, and its short queue turns requests away (the cache is a single point of failure at this load).
    database = Database(workers=4, service_time_ms=100, queue_limit=20, timeout_ms=2_000)
    return Architecture("cached database", (Cache(backend=database, capacity=1_000),))


@register(example=_example)
@dataclass(frozen=True)
class Cache(Component):
    """A read-through cache of ``capacity`` keys in front of ``backend``; see the module docstring.

    >>> Cache(capacity=100, policy="sieve").describe()
    ['sieve, 100 keys', 'hit 1 ms · writes invalidate']
    """

    name: str = "cache"
    backend: Component = field(default_factory=Database)
    capacity: int = 1_000
    policy: str = "lru"
    ttl_s: float | None = None
    hit_ms: float = 1.0
    on_write: str = "invalidate"
    warm: bool = True
    flushes: tuple = ()

    def __post_init__(self):
        super().__post_init__()
        check.instance("backend", self.backend, Component, "Database()")
        check.number("capacity", self.capacity, low=1, high=MAX_CAPACITY, integer=True)
        check.choice("policy", self.policy, tuple(EVICTION))
        if self.ttl_s is not None:
            check.number("ttl_s", self.ttl_s, low=0, low_open=True, high=10 ** 9)
        check.number("hit_ms", self.hit_ms, low=0, high=60_000)
        check.choice("on_write", self.on_write, WRITES)
        if not isinstance(self.warm, bool):
            raise TypeError(f"warm must be True or False; got {self.warm!r}")
        if isinstance(self.flushes, (str, bytes)) or not hasattr(self.flushes, "__iter__"):
            raise TypeError(f"flushes must be a sequence of times in seconds, e.g. (60,); got {self.flushes!r}")
        object.__setattr__(self, "flushes", tuple(sorted(float(check.number("flush at_s", t, low=0))
                                                         for t in self.flushes)))

    def flush(self, at_s):
        """A copy of this cache that loses every key at ``at_s`` (a restart, a bad deploy, a ``FLUSHALL``) and
        keeps serving, cold: every read misses until the keys come back.

        >>> Cache().flush(at_s=60).flushes
        (60.0,)
        """
        return replace(self, flushes=self.flushes + (at_s,))

    @property
    def parts(self):
        return (self.backend,)

    def runtime(self, sim, index):
        return CacheRun(self, sim, index)

    def describe(self):
        ttl = f" · TTL {self.ttl_s:g} s" if self.ttl_s is not None else ""
        flushed = [f"flushed at {', '.join(f'{t:g}' for t in self.flushes)} s"] if self.flushes else []
        return [f"{self.policy}, {self.capacity:,} keys{ttl}", f"hit {self.hit_ms:g} ms · writes {self.on_write}",
                *flushed]

    def label(self):
        return f"{self.policy} cache, {self.capacity:,} keys"


class CacheRun(Runtime):
    """A :class:`Cache` at run time: the policy's state, expiry times, versions of each key, what each request did."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        keys = sim.workload.keys
        if spec.capacity > keys:
            raise ValueError(f"capacity must be at most the workload's key space ({keys:,} keys): a cache that size "
                             f"already holds every key; got {spec.capacity:,}")
        rng = sim.stream(spec.name)
        self.policy = EVICTION[spec.policy](spec.capacity, int(rng.integers(2 ** 63)))
        self.key, self.write = sim.key.tolist(), sim.write.tolist()
        self.hit_s, self.ttl = spec.hit_ms / 1_000.0, spec.ttl_s
        self.expires, self.cached_version = {}, {}
        self.version = [0] * keys  # the database's version of each key: a write that completes bumps it
        self.outcome = np.zeros(sim.n, dtype=np.int8)  # 0 write/not seen, 1 hit, 2 miss, 3 bypassed (cache down)
        self.stale = np.zeros(sim.n, dtype=bool)
        # the cache loses its contents at each flush and each death (it comes back empty, even unvisited while down)
        self.flushes, self.flushed = sorted([*spec.flushes, *(o.start_s for o in spec.outages)]), 0
        if spec.warm:
            self._warm_up(rng, sim.workload)

    def _warm_up(self, rng, workload):
        """Run the policy over earlier requests from the same popularity (reads only), so the run starts warm."""
        factor, low, high = WARMUP
        keys = workload.sample_keys(rng, int(min(max(factor * self.spec.capacity, low), high)))
        if type(self.policy) is LRU:  # its state after any reads: the most recent distinct keys, oldest first
            self.policy.fill(recent_keys(keys, self.spec.capacity))
        else:
            lookup, insert = self.policy.lookup, self.policy.insert
            for key in keys.tolist():
                if not lookup(key):
                    insert(key)
        if self.ttl is not None:  # stored at a random moment within the last TTL
            ages = rng.uniform(0.0, self.ttl, len(self.policy))
            self.expires = {k: self.ttl - age for k, age in zip(self._cached_keys(), ages)}

    def _cached_keys(self):
        return sorted(k for k in range(self.sim.workload.keys) if k in self.policy)

    def serve(self, i):
        env, spec, backend, key = self.env, self.spec, self.parts[0], self.key[i]
        if spec.outages and not spec.is_up(env.now):
            self.outcome[i] = 3
            return (yield from self.pass_on(backend, i))
        flushed = self.flushed
        while self.flushed < len(self.flushes) and self.flushes[self.flushed] <= env.now:
            self.flushed += 1
        if self.flushed > flushed:  # back from an outage, or flushed: empty
            self._empty()
        if self.write[i]:
            status = yield from self.pass_on(backend, i)
            if status == OK:
                self.version[key] += 1
                if spec.on_write == "invalidate":
                    self._drop(key)
                elif spec.on_write == "update" and key in self.policy:
                    self.cached_version[key] = self.version[key]
                    if self.ttl is not None:
                        self.expires[key] = env.now + self.ttl
            return status
        if key in self.policy and self.ttl is not None and self.expires.get(key, math.inf) <= env.now:
            self._drop(key)  # expired: a miss
        if self.hit_s > 0:
            yield env.timeout(self.hit_s)
        if self.policy.lookup(key):
            self.outcome[i] = 1
            self.stale[i] = self.cached_version.get(key, 0) < self.version[key]
            return OK
        self.outcome[i] = 2
        status = yield from self.pass_on(backend, i)
        read_version = self.version[key]
        if status == OK and spec.is_up(env.now) and key not in self.policy:
            evicted = self.policy.insert(key)
            if evicted is not None:
                self.expires.pop(evicted, None)
                self.cached_version.pop(evicted, None)
            self.cached_version[key] = read_version
            if self.ttl is not None:
                self.expires[key] = env.now + self.ttl
        return status

    # -- the event-free path ----------------------------------------------------------------------

    def batchable(self):
        """Without events when the cache never dies (a flush is applied as :meth:`serve` applies it) and its
        backend admits one request at a time without events."""
        backend = self.parts[0]
        return not self.spec.outages and backend.batchable() and type(backend).admit is not Runtime.admit

    def exact_times(self):
        """A hit takes a constant ``hit_ms``: with another constant-time tier in a row, events could tie."""
        return self.spec.hit_ms > 0 or self.parts[0].exact_times()

    def admit_all(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: what the cache does at each request's
        arrival, at its lookup (``hit_ms`` later) and when the database answers (a write bumps the version, a
        miss stores the key) happens in order of time, and the database admits misses and writes in order of
        their arrival there.  Returns (statuses, leave times) as lists."""
        spec, backend, sim = self.spec, self.parts[0], self.sim
        admit, failed_at, part = backend.admit, sim.failed_at, backend.index
        key, write, outcome, stale = self.key, self.write, self.outcome, self.stale
        version, cached_version, expires = self.version, self.cached_version, self.expires
        ttl, hit_s = self.ttl, self.hit_s
        policy = self.policy
        lookup_key, insert = policy.lookup, policy.insert
        flushes, invalidate, update = self.flushes, spec.on_write == "invalidate", spec.on_write == "update"
        n = len(requests)
        status, leave = [OK] * n, [0.0] * n
        lookups, answers = deque(), []  # reads due at their lookup (in order); OK answers from the database (a heap)

        def lookup(t, p):
            i = requests[p]
            k = key[i]
            if lookup_key(k):
                outcome[i] = 1
                stale[i] = cached_version.get(k, 0) < version[k]
                leave[p] = t
                return
            outcome[i] = 2
            to_database(t, p, i)

        def to_database(t, p, i):
            """The database admits request ``i`` at ``t``; its answer comes back later (or it failed there)."""
            done, e = admit(i, t)
            leave[p] = e
            if done != OK:
                status[p] = done
                if failed_at[i] < 0:
                    failed_at[i] = part
            else:
                heappush(answers, (e, p))

        def answer(e, p):
            i = requests[p]
            k = key[i]
            if write[i]:
                version[k] += 1
                if invalidate:
                    self._drop(k)
                elif update and k in policy:
                    cached_version[k] = version[k]
                    if ttl is not None:
                        expires[k] = e + ttl
            elif k not in policy:
                evicted = insert(k)
                if evicted is not None:
                    expires.pop(evicted, None)
                    cached_version.pop(evicted, None)
                cached_version[k] = version[k]
                if ttl is not None:
                    expires[k] = e + ttl

        def until(t):
            """Everything due before ``t``, in order of time."""
            while lookups or answers:
                if answers and (not lookups or answers[0][0] < lookups[0][0]):
                    if answers[0][0] >= t:
                        return
                    answer(*heappop(answers))
                else:
                    if lookups[0][0] >= t:
                        return
                    lookup(*lookups.popleft())

        for p, t in enumerate(times):
            until(t)
            i = requests[p]
            if self.flushed < len(flushes) and flushes[self.flushed] <= t:
                while self.flushed < len(flushes) and flushes[self.flushed] <= t:
                    self.flushed += 1
                self._empty()
            if write[i]:
                to_database(t, p, i)
                continue
            k = key[i]
            if ttl is not None and k in policy and expires.get(k, math.inf) <= t:
                self._drop(k)  # expired: a miss
            if hit_s > 0:
                lookups.append((t + hit_s, p))
            else:
                lookup(t, p)
        until(math.inf)
        return status, leave

    def _empty(self):
        self.policy.clear()
        self.expires.clear()
        self.cached_version.clear()

    def _drop(self, key):
        self.policy.remove(key)
        self.expires.pop(key, None)
        self.cached_version.pop(key, None)

    def columns(self):
        """``cache``: what the cache did with each request ('hit', 'miss', 'bypass' while down, '' for writes);
        ``cache_hit`` (True for a hit); ``stale`` (a hit that returned data older than the database's)."""
        names = np.array(["", "hit", "miss", "bypass"], dtype=object)
        return {"cache": names[self.outcome], "cache_hit": self.outcome == 1, "stale": self.stale}

    def figures(self):
        """``cache_hit_ratio``: hits / reads that reached the cache; ``stale_read_share``: stale hits / reads."""
        reads = int(np.sum((self.outcome == 1) | (self.outcome == 2)))
        hits = int(np.sum(self.outcome == 1))
        return {"cache_hit_ratio": Share(hits, reads), "stale_read_share": Share(float(self.stale.sum()), reads)}

    def row(self):
        """A cache has no queue here; ``served`` counts the reads it answered from memory."""
        return {"workers": None, "served": int(np.sum(self.outcome == 1)), "mean_wait_ms": math.nan}


def recent_keys(keys, capacity):
    """The keys an LRU cache of ``capacity`` holds after reading ``keys`` from empty, least recent first: the
    ``capacity`` distinct keys read last, in the order of their last reads.

    >>> recent_keys(np.array([1, 2, 3, 1, 4, 2]), 3)
    [1, 4, 2]
    """
    last = len(keys) - 1 - np.unique(keys[::-1], return_index=True)[1]   # each distinct key's last read
    order = np.sort(last)[-capacity:]
    return keys[order].tolist()


# -- the whole LRU curve in one pass --------------------------------------------------------------

def workload_keys(workload, requests, seed):
    """The keys ``simulate(..., requests=requests, seed=seed)`` gives its requests (the same named stream)."""
    check.instance("workload", workload, Workload, "Workload(keys=10_000, zipf_s=0.8)")
    check.number("requests", requests, low=1, high=10_000_000, integer=True)
    check.number("seed", seed, low=0, integer=True)
    stream = Simulation.stream(types.SimpleNamespace(seed=seed), "key")  # the simulation's own stream, no run
    return workload.sample_keys(stream, requests)


def stack_distances(keys):
    """Each request's LRU stack distance: how many other keys were asked for since this key's last request
    (-1 for a key's first request).  An LRU cache of C keys hits exactly the requests at distance < C.

    Mattson's stack algorithm, vectorised: the distance is the gap since the last request minus the
    repeats inside it, and the repeats are counted for every request at once, one bit of the
    previous-request index at a time (a stable radix partition, as in a wavelet tree).

    >>> stack_distances([0, 1, 0, 2, 1, 0]).tolist()
    [-1, -1, 1, -1, 2, 2]
    """
    keys = np.asarray(keys, dtype=np.int64)
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    previous = np.full(n, -1, dtype=np.int64)
    same = sorted_keys[1:] == sorted_keys[:-1]
    previous[order[1:][same]] = order[:-1][same]
    inside = _earlier_greater(previous + 1)  # repeats in (previous, i): earlier requests whose own previous > it
    return np.where(previous >= 0, np.arange(n) - previous - 1 - inside, -1)


def _earlier_greater(values):
    """For each position, how many earlier positions hold a greater value (0 <= values < 2**31), in O(n log max).

    From the top bit down, positions are kept grouped by the bits above the current one, in their
    original order within a group; each position whose current bit is 0 counts the 1s before it
    in its group, then each group is split stably into its 0s and its 1s.
    """
    n = len(values)
    count = np.zeros(n, dtype=np.int32)
    if n == 0:
        return count
    where, v = np.arange(n, dtype=np.int32), values.astype(np.int32)
    positions = where.copy()
    total = np.zeros(n + 1, dtype=np.int32)
    for bit in reversed(range(max(int(v.max()).bit_length(), 1))):
        group = v >> (bit + 1)
        ones = (v >> bit) & 1
        starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1]))).astype(np.int32)
        sizes = np.diff(np.append(starts, n)).astype(np.int32)
        start_of = np.repeat(starts, sizes)
        np.cumsum(ones, out=total[1:])
        ones_before = total[:-1] - total[start_of]              # ones earlier in the same group
        zero = ones == 0
        count[where[zero]] += ones_before[zero]                 # each earlier one is greater than this zero
        first_one = start_of + np.repeat(sizes - (total[starts + sizes] - total[starts]), sizes)
        new = np.where(zero, positions - ones_before, first_one + ones_before)
        where_next, v_next = np.empty_like(where), np.empty_like(v)
        where_next[new], v_next[new] = where, v
        where, v = where_next, v_next
    return count


def hit_ratio_curve(workload, requests=1_000_000, seed=0, warmup=0):
    """The exact LRU hit ratio for every cache size 1..keys, from one pass over ``requests`` keys.

    The keys are those :func:`chapter1.simulate` draws with the same ``seed`` (every request read as a
    read; the cache starts empty).  ``warmup``: the first requests warm the cache and are not counted.
    Returns a DataFrame with ``cache_size`` and ``hit_ratio``.

    >>> from chapter1 import Workload
    >>> curve = hit_ratio_curve(Workload(keys=100, zipf_s=1.0), requests=10_000)
    >>> len(curve), curve["hit_ratio"].is_monotonic_increasing
    (100, True)
    """
    check.number("warmup", warmup, low=0, high=requests - 1, integer=True)
    distance = stack_distances(workload_keys(workload, requests, seed))[warmup:]
    hits = np.cumsum(np.bincount(distance[distance >= 0], minlength=workload.keys)[:workload.keys])
    return pd.DataFrame({"cache_size": np.arange(1, workload.keys + 1), "hit_ratio": hits / len(distance)})


def cache_of(architecture, name=None):
    """The (named, or only) Cache of ``architecture``."""
    found = [c for c in architecture.components if isinstance(c, Cache) and name in (None, c.name)]
    if len(found) != 1:
        raise ValueError(f"expected one Cache{f' named {name!r}' if name else ''} in {architecture.name!r}; "
                         f"found {len(found)}")
    return found[0]




# -- warming up after a flush ----------------------------------------------------------------------

def cold_hit_ratio(workload, capacity, after_s):
    """Theory's LRU hit ratio of reads ``after_s`` seconds after the cache was emptied (a flush, a restart).

    Requests are independent with the workload's Zipf popularity p_i at ``workload.rate`` r, a share w of
    them writes that invalidate.  Until the cache is full it holds every key read since the flush, so a
    read ``after_s`` = t later hits with chance (1 - w) sum_i p_i (1 - e^(-p_i r t)); once r t reaches
    Che's time T (the requests it takes to fill C keys) it is warm, at Che's steady hit ratio.  Assumes a
    miss fills the cache at once: an overloaded database that answers late warms it later.

    >>> from chapter1 import Workload
    >>> w = Workload.from_rate(100, keys=10_000, read_ratio=0.9)
    >>> [round(cold_hit_ratio(w, 1_000, t), 2) for t in (0, 1, 10, 1_000)]
    [0.0, 0.32, 0.53, 0.62]
    """
    from ..theory.caching import che_time

    check.instance("workload", workload, Workload, "Workload.from_rate(100)")
    check.number("capacity", capacity, low=1, high=workload.keys, integer=True)
    times = np.asarray(after_s, dtype=float)
    if np.any(~np.isfinite(times)) or np.any(times < 0):
        raise ValueError(f"after_s must be finite seconds >= 0; got {after_s!r}")
    p, read = workload.key_popularity(), workload.read_ratio
    full = che_time(p, capacity / read) if read > 0 and capacity / read < workload.keys else math.inf
    seen = np.minimum(times * workload.rate, full)
    hit = read * (p * -np.expm1(-np.multiply.outer(seen, p))).sum(axis=-1)
    return float(hit) if np.ndim(after_s) == 0 else hit


def warmup_s(workload, capacity, share=0.9):
    """Seconds after a flush until theory's hit ratio (:func:`cold_hit_ratio`) is back to ``share`` of its warm value.

    >>> from chapter1 import Workload
    >>> round(warmup_s(Workload.from_rate(100), 1_000), 1)
    13.6
    """
    check.number("share", share, low=0, high=1, low_open=True)
    warm = cold_hit_ratio(workload, capacity, 1e12)
    low, high = 0.0, 1.0
    while cold_hit_ratio(workload, capacity, high) < share * warm * (1 - 1e-12) and high < 1e12:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cold_hit_ratio(workload, capacity, mid) < share * warm else (low, mid)
    return high
