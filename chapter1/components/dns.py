"""DNS: clients turn the site's name into an address, and cache the answer for a TTL.

>>> from chapter1 import Workload, simulate, single_server
>>> result = simulate(single_server(), Workload(users=1_000), requests=1_000)
>>> 0 < result.summary()["dns_hit_ratio"] < 1
True
"""

import math
from dataclasses import dataclass

import numpy as np

from ..core import kernels
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, Component, Runtime, Share, register
from ..core.simulation import down
from ..theory.caching import ttl_hit_ratio


def _example():
    from .server import Server

    return Architecture("dns + server", (Server(workers=4),), dns=DNS(ttl_s=60))


@dataclass(frozen=True)
class Resolver(Component):
    """What every name resolver shares: a lookup that costs ``lookup_ms``, an answer clients cache for ``ttl_s``."""

    lookup_ms: float = 30.0
    ttl_s: float = 300.0

    place = "resolver"
    max_ttl_s = None

    def __post_init__(self):
        super().__post_init__()
        check.number("lookup_ms", self.lookup_ms, low=0)
        check.number("ttl_s", self.ttl_s, low=0, high=self.max_ttl_s)

    def hit_ratio(self, per_user_rate):
        """Share of requests answered from the client's cache, for one client's request rate (per s).

        After each lookup the answer serves every request in the next ``ttl_s`` seconds, on average
        ``per_user_rate * ttl_s`` of them, so hits / all = r*ttl / (1 + r*ttl)
        (:func:`chapter1.analytic.ttl_hit_ratio`).
        """
        check.number("per_user_rate", per_user_rate, low=0)
        return ttl_hit_ratio(per_user_rate, self.ttl_s)


@register(example=_example, default_for="dns")
@dataclass(frozen=True)
class DNS(Resolver):
    """Domain Name System (도메인 이름 시스템): turns a domain name into an IP address.

    Each user's browser caches the answer for ``ttl_s`` seconds, so only some requests pay
    ``lookup_ms`` (``Result.requests`` has the ``user`` and what each paid).  While DNS is down, a
    user whose cached answer has expired cannot reach the site.

    >>> DNS(lookup_ms=30, ttl_s=300).hit_ratio(per_user_rate=1 / 60)
    0.8333333333333334
    """

    name: str = "dns"

    def runtime(self, sim, index):
        return DNSRun(self, sim, index)

    def entry_delay(self, workload):
        return 1 - self.hit_ratio(workload.per_user_rate), self.lookup_ms / 1_000.0

    def describe(self):
        return [f"lookup {self.lookup_ms:g} ms", f"TTL {self.ttl_s:g} s"]


class DNSRun(Runtime):
    """DNS at run time, before the first event: each user's browser cache, request by request.

    A request whose user holds a fresh answer pays nothing; otherwise it pays the lookup and the
    answer is kept ``ttl_s``.  While DNS is down a lookup fails (the request with it), and cached
    answers keep working until they expire.  At the start every user's cache is as a random moment
    finds it (Poisson visits): holding an answer with probability r*ttl / (1 + r*ttl), with a
    remaining life uniform over [0, ttl].
    """

    def prepare(self):
        sim, dns = self.sim, self.spec
        rng = sim.stream(dns.name)
        held, life = rng.random(sim.n), rng.random(sim.n) * dns.ttl_s
        start = np.where(held < dns.hit_ratio(sim.workload.per_user_rate), life, -math.inf)
        down_now = down(dns, sim.arrival)
        missed = cache_misses(sim.user, sim.arrival, start, dns.ttl_s, down_now)
        lookup_s = dns.lookup_ms / 1_000.0
        self.missed = missed
        self.lookup_s = np.where(self.missed, lookup_s, 0.0)
        sim.entry_s += self.lookup_s
        lost = self.missed & down_now
        sim.status[lost], sim.failed_at[lost] = ERROR, self.index
        sim.end[lost] = sim.arrival[lost] + self.lookup_s[lost]

    def columns(self):
        return {"dns_ms": self.lookup_s * 1_000.0, "user": self.sim.user}

    def figures(self):
        missed = self.missed
        return {"dns_hit_ratio": Share(int(np.sum(~missed)), len(missed), value=float(1 - np.mean(missed)))}

    def row(self):
        return {"workers": None, "served": int(np.sum(self.missed)), "mean_wait_ms": float("nan")}


def cache_misses(user, arrival, start, ttl, down_now):
    """Which requests find no fresh answer in their user's cache (they look the name up).

    ``arrival`` is sorted; ``start[k]`` is how long the answer a user held before the run stays fresh, read at
    the user's first request ``k`` (-inf: none).  A miss caches the answer until ``t + ttl``, unless DNS is down
    then (``down_now``): the user keeps what it had, and a user that never held one starts afresh at its next
    request.  Each user's misses form a chain (the next miss is the first request at or after the expiry),
    followed for every user at once by pointer doubling.

    >>> cache_misses(np.array([0, 0, 0, 1]), np.array([0.0, 1.0, 2.5, 3.0]), np.full(4, -np.inf), 2.0,
    ...              np.zeros(4, dtype=bool)).tolist()
    [True, False, True, True]
    """
    n = len(arrival)
    if kernels.use_compiled(n):
        return kernels.dns_misses(user, arrival, start, ttl, down_now)
    order = stable_order(user)  # each user's requests together, in order of arrival
    users, t = user[order], arrival[order]
    first = np.r_[True, users[1:] != users[:-1]]
    group = np.cumsum(first) - 1
    key = group * (n + 1) + order

    last = order[np.r_[np.flatnonzero(first)[1:] - 1, n - 1]]  # each user's last request

    def at_or_after(position, index):
        """The first request of the user at ``position`` whose index is ``index`` or later (n: none)."""
        found = np.full(len(position), n)
        some = index <= last[group[position]]
        found[some] = np.searchsorted(key, group[position[some]] * (n + 1) + index[some])
        return found

    fresh, positions = start[order], np.arange(n)
    # after a miss: the first request at or after t + ttl; most often the user's next request, else searched
    same_user = np.r_[~first[1:], False]
    following = np.where(same_user, positions + 1, n)
    near = np.flatnonzero(same_user & (np.r_[t[1:], np.inf] < t + ttl))
    following[near] = at_or_after(near, np.maximum(np.searchsorted(arrival, t[near] + ttl), order[near] + 1))
    missed = np.zeros(n + 1, dtype=bool)
    chooses = np.flatnonzero(first)  # the request that first caches something: each user's first
    if down_now.any():  # a miss while DNS is down caches nothing: the very next request misses too
        down_sorted = down_now[order]
        following = np.where(down_sorted, np.where(same_user, positions + 1, n), following)
        # a user with no answer yet reads its held answer afresh at each request, until one caches something
        unset = (fresh <= t) & down_sorted
        settled = np.cumsum(~unset)
        before_user = (settled - ~unset)[chooses][group]
        missed[:n] = unset & (settled == before_user)
        chooses = np.flatnonzero(~unset & (settled == before_user + 1))
    held = fresh[chooses] > t[chooses]
    roots = np.where(held, at_or_after(chooses, np.searchsorted(arrival, fresh[chooses])), chooses)
    jump, chain = np.r_[following, n], roots[roots < n]
    missed[chain] = True
    while True:  # after round r, each chain is marked up to its 2**r-th miss; jump skips 2**r misses
        reached = jump[chain]
        reached = reached[reached < n]
        if not reached.size:
            break
        missed[reached] = True
        chain, jump = np.concatenate([chain, reached]), jump[jump]
    result = np.zeros(n, dtype=bool)
    result[order] = missed[:n]
    return result


def stable_order(values):
    """``np.argsort(values, kind="stable")`` for whole numbers >= 0, sorting 16 bits at a time (numpy's radix
    sort, several times faster than a comparison sort of a million numbers).

    >>> stable_order(np.array([70_000, 3, 70_000, 2])).tolist()
    [3, 1, 0, 2]
    """
    order = np.arange(len(values))
    for shift in range(0, max(1, int(values.max(initial=0)).bit_length()), 16):
        digit = ((values[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order
