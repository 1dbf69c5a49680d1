"""Workload: turns "daily active users" into requests per second, a read/write mix and key popularity."""

import functools
from dataclasses import dataclass

import numpy as np

from ..core import validation as check

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Workload:
    """Traffic offered to an architecture at its daily peak.

    rate = users x requests_per_user / 86,400 x peak_factor  (requests per second)

    >>> round(Workload(users=1_000_000).rate, 1)
    463.0
    >>> Workload.from_rate(100).rate
    100.0

    ``rate_steps``: an optional piecewise-constant change of the rate over simulated time, pairs
    ``(at_s, factor)`` with increasing ``at_s``: from ``at_s`` on, requests arrive at ``factor x rate``
    (e.g. ``((60, 2.0),)``: traffic doubles at 60 s).  ``rate`` stays the rate before the first step.
    A run with steps is not stationary: steady-state theory (queues, hit ratios) holds within a step at best.

    >>> Workload.from_rate(100, rate_steps=((60, 2.0),)).rate_at([0, 59.9, 60])
    array([100., 100., 200.])
    """

    users: float = 1_000
    requests_per_user: float = 20
    peak_factor: float = 2.0
    read_ratio: float = 0.9
    keys: int = 10_000
    zipf_s: float = 1.0
    rate_steps: tuple = ()

    def __post_init__(self):
        check.number("users", self.users, low=0, low_open=True)
        check.number("requests_per_user", self.requests_per_user, low=0, low_open=True)
        check.number("peak_factor", self.peak_factor, low=1)
        check.number("read_ratio", self.read_ratio, low=0, high=1)
        check.number("keys", self.keys, low=1, integer=True)
        check.number("zipf_s", self.zipf_s, low=0)
        object.__setattr__(self, "rate_steps", _steps(self.rate_steps))

    @classmethod
    def from_rate(cls, requests_per_s, **kwargs):
        """A workload with the given peak rate (requests per second); ``users`` is derived from it.

        >>> round(Workload.from_rate(50).users)
        108000
        """
        check.number("requests_per_s", requests_per_s, low=0, low_open=True)
        probe = cls(**kwargs)
        per_user = probe.requests_per_user * probe.peak_factor / SECONDS_PER_DAY
        return cls(users=requests_per_s / per_user, **kwargs)

    @property
    def rate(self):
        """Peak requests per second offered by all users together."""
        return self.users * self.per_user_rate

    @property
    def per_user_rate(self):
        """Peak requests per second offered by one user (sets how often a client's DNS cache is warm)."""
        return self.requests_per_user * self.peak_factor / SECONDS_PER_DAY

    def rate_at(self, times):
        """The arrival rate (requests per second) at each of ``times`` (simulated seconds), with its steps."""
        times = np.asarray(times, dtype=float)
        return self.rate * self._factors()[np.searchsorted(self._starts(), times, side="right")]

    def arrival_times(self, rng, n):
        """``n`` Poisson arrival times (s), drawn from ``rng``; with ``rate_steps`` the rate changes at each step.

        Without steps this is ``np.cumsum(rng.exponential(1 / rate, n))``.  With steps the same draws are
        time-changed (a Poisson process at ``rate`` in "base time" is stretched or squeezed where the
        factor differs), so a surge never changes the draws, only where they land.

        >>> rng = np.random.default_rng(1)
        >>> times = Workload.from_rate(10, rate_steps=((100, 2.0),)).arrival_times(rng, 4_000)
        >>> round(float(np.mean(times < 100) * 4_000), -2), round(float(times[-1]), -1)  # ~1,000 before, then 20 a s
        (1000.0, 250.0)
        """
        base = np.cumsum(rng.exponential(1.0 / self.rate, n))
        if not self.rate_steps:
            return base
        starts, factors = self._starts(), self._factors()
        # base time elapsed at each step: a segment of length d at factor f holds d x f seconds of base time
        knots = np.concatenate([[0.0], np.cumsum(np.diff(np.concatenate([[0.0], starts])) * factors[:-1])])
        segment = np.searchsorted(knots, base, side="right") - 1
        edges = np.concatenate([[0.0], starts])
        return edges[segment] + (base - knots[segment]) / factors[segment]

    def _starts(self):
        return np.array([at for at, _ in self.rate_steps], dtype=float)

    def _factors(self):
        return np.array([1.0] + [factor for _, factor in self.rate_steps], dtype=float)

    def key_popularity(self):
        """Probability of each key 0..keys-1 under Zipf(s): key k is asked for in proportion to 1/(k+1)^s."""
        if self.keys <= KEPT_KEYS:
            return _kept_popularity(self.keys, self.zipf_s).copy()
        return _popularity(self.keys, self.zipf_s)

    def sample_keys(self, rng, n):
        """Draw ``n`` keys (integers, 0 = most popular) from the Zipf popularity.

        Inversion: key = the number of cumulative probabilities at or below a uniform draw (the last key
        when rounding leaves the total just under 1), as ``np.searchsorted(cdf, u, side="right")`` gives it.

        >>> Workload(keys=100).sample_keys(np.random.default_rng(1), 5).tolist()
        [7, 77, 0, 76, 2]
        """
        return self.keys_at(rng.random(n))

    def keys_at(self, u):
        """The keys that uniform draws ``u`` (in [0, 1)) stand for: ``sample_keys(rng, n)`` is
        ``keys_at(rng.random(n))``, so a caller that needs the keys of only some draws inverts only those.

        >>> Workload(keys=100).keys_at([0.0, 0.1, 0.5, 0.99]).tolist()
        [0, 0, 7, 94]
        """
        u = np.asarray(u, dtype=float)
        kept = self.keys <= KEPT_KEYS  # a key space kept between draws; a larger one is built for each
        cdf = _cdf(self.keys, self.zipf_s) if kept else np.cumsum(_popularity(self.keys, self.zipf_s))
        if len(u) * 4 < len(cdf) or len(u) < 4_096:  # few draws: a guide table would cost more than it saves
            found = np.searchsorted(cdf, u, side="right")
        else:
            found = _invert_cdf(cdf, u, _guide(self.keys, self.zipf_s) if kept else None)
        return np.minimum(found, self.keys - 1)

    def sample_writes(self, rng, n):
        """Draw ``n`` booleans, True for a write, with probability 1 - read_ratio."""
        return rng.random(n) >= self.read_ratio


MAX_STEP_FACTOR = 1_000
KEPT_KEYS = 1 << 18  # key spaces up to this many keep their popularity, its CDF and guide table (8 MB at most)


def _popularity(keys, zipf_s):
    # Float powers: with an integer zipf_s, integer powers overflow int64 (10,000 ** 5) and give NaN.
    weights = 1.0 / np.arange(1, keys + 1, dtype=float) ** zipf_s
    return weights / weights.sum()


@functools.lru_cache(maxsize=2, typed=True)
def _kept_popularity(keys, zipf_s):
    """:func:`_popularity` (read-only), kept: a run's draws, its CDN's edges and the theory next to it ask again."""
    p = _popularity(keys, zipf_s)
    p.flags.writeable = False
    return p


@functools.lru_cache(maxsize=2, typed=True)
def _cdf(keys, zipf_s):
    """The cumulative key popularity (read-only): the warm-ups of a run's caches and its requests share it."""
    cdf = np.cumsum(_kept_popularity(keys, zipf_s))
    cdf.flags.writeable = False
    return cdf


@functools.lru_cache(maxsize=2, typed=True)
def _guide(keys, zipf_s):
    """:func:`_guide_table` of :func:`_cdf` (read-only)."""
    table = _guide_table(_cdf(keys, zipf_s))
    table.flags.writeable = False
    return table


def _guide_table(cdf):
    """A guide table (Chen and Asau) for :func:`_invert_cdf`: with m = 2^k slots (k = 1 + the bit length of
    ``len(cdf)``), entry b counts the ``cdf`` values at or below b / m (entries 0 to m + 1).

    >>> _guide_table(np.cumsum([0.5, 0.25, 0.25])).tolist()
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3]
    """
    m = 1 << (len(cdf).bit_length() + 1)
    kind = np.int32 if len(cdf) < 2 ** 29 else np.int64
    bounds = np.empty(len(cdf) + 2)  # 0, the slots, m + 2 (arrays written in place: fresh memory is slow to touch)
    bounds[0], bounds[-1], slots = 0, m + 2, bounds[1:-1]
    np.multiply(cdf, m, out=slots)
    np.ceil(slots, out=slots)
    np.minimum(slots, m + 1, out=slots)  # slot of cdf[i]: cdf[i] <= b / m  <=>  ceil(cdf[i] m) <= b
    # entries slots[i - 1] to slots[i] - 1 count i values: written once, no table of counts to add up
    return np.repeat(np.arange(len(cdf) + 1, dtype=kind), np.diff(bounds.astype(kind)))


def _invert_cdf(cdf, u, table=None):
    """``np.searchsorted(cdf, u, side="right")`` for a non-decreasing ``cdf`` and draws ``u`` in [0, 1), the same
    integers, through a guide table (:func:`_guide_table`; built here when not given): about a quarter of
    the search's time for many draws.

    m is a power of two, so u x m and b / m are exact in floating point: slot b = floor(u x m) holds the
    counts of ``cdf`` at or below b / m and (b + 1) / m, and a draw's answer lies between them; a binary
    search over that short range (a few keys at most where single keys are rarer than 1 / m, none where
    they are more common) finishes it.

    >>> cdf = np.cumsum([0.5, 0.25, 0.25])
    >>> _invert_cdf(cdf, np.array([0.0, 0.5, 0.6, 0.75, 0.99])).tolist()
    [0, 1, 1, 2, 2]
    """
    table = _guide_table(cdf) if table is None else table
    found = np.empty(len(u), dtype=np.intp)
    for start in range(0, len(u), BLOCK):  # in blocks: their scratch arrays stay small, in memory already touched
        _invert_block(cdf, u[start:start + BLOCK], table, found[start:start + BLOCK])
    return found


BLOCK = 1 << 15  # draws inverted at a time: about half the time of one pass over 200,000 draws


def _invert_block(cdf, u, table, out):
    """:func:`_invert_cdf` of the draws ``u`` into ``out``."""
    b = (u * (len(table) - 2)).astype(np.intp)
    found = table[b]
    b += 1
    high = table[b]
    todo = np.flatnonzero(found < high)
    out[:] = found
    low, high, u = found[todo].astype(np.intp), high[todo].astype(np.intp), u[todo]
    while len(todo):
        mid = (low + high) >> 1
        right = cdf[mid] <= u
        low, high = np.where(right, mid + 1, low), np.where(right, high, mid)
        done = low >= high
        out[todo[done]] = low[done]
        keep = ~done
        todo, low, high, u = todo[keep], low[keep], high[keep], u[keep]


def _steps(steps):
    """``rate_steps`` as a tuple of (at_s, factor) float pairs with increasing at_s; TypeError/ValueError otherwise."""
    if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
        raise TypeError(f"rate_steps must be a sequence of (at_s, factor) pairs, e.g. ((60, 2.0),); got {steps!r}")
    out = []
    for step in steps:
        if isinstance(step, (str, bytes)) or not hasattr(step, "__len__") or len(step) != 2:
            raise TypeError(f"rate_steps must hold (at_s, factor) pairs, e.g. ((60, 2.0),); got {step!r}")
        at_s = check.number("rate_steps at_s", step[0], low=0, low_open=True)
        factor = check.number("rate_steps factor", step[1], low=0, low_open=True, high=MAX_STEP_FACTOR)
        if out and at_s <= out[-1][0]:
            raise ValueError(f"rate_steps at_s must increase from one step to the next; got {at_s!r} after "
                             f"{out[-1][0]!r}")
        out.append((float(at_s), float(factor)))
    return tuple(out)
