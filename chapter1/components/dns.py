"""DNS: clients turn the site's name into an address, and cache the answer for a TTL.

>>> from chapter1 import Workload, simulate, single_server
>>> result = simulate(single_server(), Workload(users=1_000), requests=1_000)
>>> 0 < result.summary()["dns_hit_ratio"] < 1
True
"""

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

    Clients cache the answer for ``ttl_s`` seconds, so only some requests pay ``lookup_ms``.
    While DNS is down, a client whose cached answer has expired cannot reach the site.

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
    """DNS at run time, vectorised before the first event: a miss pays the lookup, a miss while DNS is down fails."""

    def prepare(self):
        sim, dns = self.sim, self.spec
        rng = sim.stream(dns.name)
        miss = rng.random(sim.n) >= dns.hit_ratio(sim.workload.per_user_rate)
        if dns.outages:
            # A cached answer is on average half a TTL old (uniform age); if DNS was down when it would
            # have been fetched, the client has none and must look up now.  So an outage longer than
            # the TTL empties every client's cache.
            age = rng.random(sim.n) * dns.ttl_s
            miss |= down(dns, sim.arrival - age)
        self.lookup_s = np.where(miss, dns.lookup_ms / 1_000.0, 0.0)
        sim.entry_s += self.lookup_s
        lost = miss & down(dns, sim.arrival)
        sim.status[lost], sim.failed_at[lost] = ERROR, self.index
        sim.end[lost] = sim.arrival[lost] + self.lookup_s[lost]

    def columns(self):
        return {"dns_ms": self.lookup_s * 1_000.0}

    def figures(self):
        return {"dns_hit_ratio": float(np.mean(self.lookup_s == 0))}

    def row(self):
        return {"workers": None, "served": int(np.sum(self.lookup_s > 0)), "mean_wait_ms": float("nan")}
