"""DNS: clients turn the site's name into an address, and cache the answer for a TTL.

>>> from chapter1 import Workload, simulate, single_server
>>> result = simulate(single_server(), Workload(users=1_000), requests=1_000)
>>> 0 < result.summary()["dns_hit_ratio"] < 1
True
"""

import math
from dataclasses import dataclass

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, Component, Runtime, register
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
        held, life = rng.random(sim.n).tolist(), (rng.random(sim.n) * dns.ttl_s).tolist()
        warm = dns.hit_ratio(sim.workload.per_user_rate)
        lookup_s, ttl = dns.lookup_ms / 1_000.0, dns.ttl_s
        down_now = down(dns, sim.arrival).tolist()
        expiry, missed = {}, [False] * sim.n
        for k, (user, t) in enumerate(zip(sim.user.tolist(), sim.arrival.tolist())):
            fresh_until = expiry.get(user)
            if fresh_until is None:  # first visit: the answer the user held at the start, if any and still fresh
                fresh_until = life[k] if held[k] < warm else -math.inf
            if fresh_until > t:
                expiry[user] = fresh_until
                continue
            missed[k] = True
            if not down_now[k]:
                expiry[user] = t + ttl
        self.missed = np.array(missed, dtype=bool)
        self.lookup_s = np.where(self.missed, lookup_s, 0.0)
        sim.entry_s += self.lookup_s
        lost = self.missed & np.array(down_now, dtype=bool)
        sim.status[lost], sim.failed_at[lost] = ERROR, self.index
        sim.end[lost] = sim.arrival[lost] + self.lookup_s[lost]

    def columns(self):
        return {"dns_ms": self.lookup_s * 1_000.0, "user": self.sim.user}

    def figures(self):
        return {"dns_hit_ratio": float(1 - np.mean(self.missed))}

    def row(self):
        return {"workers": None, "served": int(np.sum(self.missed)), "mean_wait_ms": float("nan")}
