"""The chapter's building blocks, described as plain immutable objects.

A component says *what* it is (workers, service time, failures); :mod:`chapter1.simulation`
turns it into a running simpy process.  Change one with ``dataclasses.replace`` or
:meth:`Component.fail`; the original is never modified, so a slider can rebuild freely.
"""

import math
from dataclasses import dataclass, field, replace

from ..core import validation as check

DISTRIBUTIONS = ("exponential", "constant")


@dataclass(frozen=True)
class Outage:
    """A component is down from ``start_s`` until ``end_s`` (simulated seconds; inf = never recovers).

    >>> Outage(30, 45).covers(40)
    True
    """

    start_s: float
    end_s: float = math.inf

    def __post_init__(self):
        check.number("start_s", self.start_s, low=0)
        check.number("end_s", self.end_s, low=self.start_s, low_open=True, allow_inf=True)

    def covers(self, t):
        return self.start_s <= t < self.end_s


@dataclass(frozen=True)
class Component:
    """Anything in the request path that can fail and recover."""

    name: str = "component"
    outages: tuple = field(default=(), kw_only=True)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string; got {self.name!r}")
        for outage in self.outages:
            if not isinstance(outage, Outage):
                raise ValueError(f"outages must hold Outage objects; got {outage!r}")

    def fail(self, at_s, recover_s=math.inf):
        """A copy of this component that goes down at ``at_s`` and comes back at ``recover_s``.

        >>> WebServer().fail(at_s=30, recover_s=60).outages
        (Outage(start_s=30, end_s=60),)
        """
        return replace(self, outages=self.outages + (Outage(at_s, recover_s),))

    def is_up(self, t):
        """True when no outage covers simulated time ``t``."""
        return not any(o.covers(t) for o in self.outages)

    @property
    def kind(self):
        return type(self).__name__


@dataclass(frozen=True)
class DNS(Component):
    """Domain Name System: turns a domain name into an IP address.

    Clients cache the answer for ``ttl_s`` seconds, so only some requests pay ``lookup_ms``.
    While DNS is down, a client whose cached answer has expired cannot reach the site.

    >>> DNS(lookup_ms=30, ttl_s=300).hit_ratio(per_user_rate=1 / 60)
    0.8333333333333334
    """

    name: str = "dns"
    lookup_ms: float = 30.0
    ttl_s: float = 300.0

    def __post_init__(self):
        super().__post_init__()
        check.number("lookup_ms", self.lookup_ms, low=0)
        check.number("ttl_s", self.ttl_s, low=0)

    def hit_ratio(self, per_user_rate):
        """Share of requests answered from the client's cache, for one client's request rate (per s).

        After each lookup the answer serves every request in the next ``ttl_s`` seconds, on average
        ``per_user_rate * ttl_s`` of them, so hits / all = r*ttl / (1 + r*ttl).
        """
        served = check.number("per_user_rate", per_user_rate, low=0) * self.ttl_s
        return served / (1 + served)


@dataclass(frozen=True)
class Server(Component):
    """A box with ``workers`` that each serve one request at a time, and a bounded queue in front.

    Service times are exponential by default (so queueing theory applies) or constant.  A request
    that finds ``queue_limit`` others waiting is rejected; one that has waited longer than
    ``timeout_ms`` is abandoned by its client (counted as a timeout).

    >>> Server(workers=4, service_time_ms=50).capacity
    80.0
    """

    name: str = "server"
    workers: int = 8
    service_time_ms: float = 50.0
    distribution: str = "exponential"
    queue_limit: int | None = 1_000
    timeout_ms: float | None = 10_000.0
    roles: tuple = ("web", "database", "cache")

    def __post_init__(self):
        super().__post_init__()
        check.number("workers", self.workers, low=1, high=10_000, integer=True)
        check.number("service_time_ms", self.service_time_ms, low=0, low_open=True, high=3_600_000)
        check.choice("distribution", self.distribution, DISTRIBUTIONS)
        if self.queue_limit is not None:
            check.number("queue_limit", self.queue_limit, low=0, integer=True)
        if self.timeout_ms is not None:
            check.number("timeout_ms", self.timeout_ms, low=0, low_open=True)

    @property
    def service_rate(self):
        """Requests per second one worker completes."""
        return 1_000.0 / self.service_time_ms

    @property
    def capacity(self):
        """Requests per second the whole box completes when every worker is busy."""
        return self.workers * self.service_rate


@dataclass(frozen=True)
class WebServer(Server):
    """A server in the web tier: runs the application and answers HTTP requests."""

    name: str = "web"
    roles: tuple = ("web",)


@dataclass(frozen=True)
class Database(Server):
    """A database server: every request that needs data queries it."""

    name: str = "database"
    service_time_ms: float = 10.0
    roles: tuple = ("database",)
