"""Where users' sessions live: in each web server's memory (sticky), or in a shared session store.

A *session* is what a site remembers about a logged-in user between requests (who they are, their
cart).  Each simulated client (``Simulation.client``: one browser, or beyond 1,000 users a group of
users behind one address) starts one at its first successful request in a run, and keeps it while
its requests come less than ``session_ttl_s`` apart.  A later request **loses** its session when the
session is no longer where that request is served: the user is logged out and their cart is empty.

* :class:`StickySessions` follows a load balancer: sessions live in the memory of the web server
  that served the client.  The balancer must send every request of a client to the same server
  (sticky sessions, e.g. its ``ip_hash`` policy).  A session is lost when the client's request reaches
  another server (the balancer's hash moved it, or its server is known to be dead), or when its
  server died in between (its memory is gone, even if it came back).
* :class:`SessionStore` is a shared key-value store (Redis, Memcached, DynamoDB) that every request
  visits once: a stateless web tier.  No web server holds anything, so servers can die, join or be
  replaced without anyone noticing; but every request pays a round trip to the store, which is one
  more tier that can saturate or fail.  With a ``standby``, a failed store is replaced after
  ``failover_s`` (requests fail until then) and keeps its sessions; without one, it comes back empty.

Losses are found by following every client's requests in order of arrival, from where each was
served (the balancer's ``server`` column) and when each holder died: the mechanism, not a formula.
Both kinds report ``sessions`` (clients that held one) and ``sessions_lost`` in ``Result.summary()``,
and a ``session_lost`` column marking the request that found its session gone.
"""

import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, register
from .pool import LoadBalancer, Pool
from .server import Server, ServerRun, WebServer

MAX_TTL_S = 30 * 86_400


def _servers(count):
    return tuple(WebServer(name=f"web-{k + 1}", workers=2) for k in range(count))


def track(client, arrival, holder, wiped, ttl_s):
    """Which requests find their session gone; returns (lost, sessions) as (bool array, count of clients).

    ``holder[i]`` is where request ``i``'s session is served (-1: the request was not served), and
    ``wiped(h, t0, t1)`` tells whether holder ``h`` lost its memory in (t0, t1].  Requests are taken
    in order of arrival; a client's first served request starts its session.

    >>> lost, sessions = track([0, 0, 0], [1.0, 2.0, 3.0], [0, 1, 1], lambda h, a, b: False, 60)
    >>> lost.tolist(), sessions
    ([False, True, False], 1)
    """
    client, arrival, holder = (np.asarray(a) for a in (client, arrival, holder))
    lost = np.zeros(len(client), dtype=bool)
    last = {}
    for i in np.argsort(arrival, kind="stable").tolist():
        h = int(holder[i])
        if h < 0:
            continue
        c, t = int(client[i]), float(arrival[i])
        before = last.get(c)
        if before is not None and t - before[1] <= ttl_s and (before[0] != h or wiped(before[0], before[1], t)):
            lost[i] = True
        last[c] = (h, t)
    return lost, len(last)


def _wiper(moments):
    """``wiped(h, t0, t1)`` from sorted lists of the moments each holder lost its memory."""
    def wiped(h, t0, t1):
        times = moments[h]
        return bool(times) and bisect_right(times, t1) > bisect_right(times, t0)
    return wiped


class _Book:
    """What a sessions runtime reports, once the run is over: ``session_lost`` per request, two figures."""

    def holders(self):
        raise NotImplementedError

    def wipes(self):
        raise NotImplementedError

    @cached_property
    def _book(self):
        return track(self.sim.client, self.sim.arrival, self.holders(), _wiper(self.wipes()), self.spec.session_ttl_s)

    def columns(self):
        return {**super().columns(), "session_lost": self._book[0].copy()}

    def figures(self):
        lost, sessions = self._book
        return {**super().figures(), "sessions": sessions, "sessions_lost": int(lost.sum())}


# -- sticky sessions: in the web servers' memory -----------------------------------------------------

def _sticky_example():
    return Architecture("sticky sessions", (LoadBalancer(servers=_servers(3), policy="ip_hash"), StickySessions()))


@register(example=_sticky_example)
@dataclass(frozen=True)
class StickySessions(Component):
    """Sessions (세션) kept in each web server's memory, behind the load balancer named ``pool``.

    It takes no time: it only follows where the balancer sent each request.  Put it right after the
    balancer: ``Architecture(..., tiers=(LoadBalancer(..., policy="ip_hash"), StickySessions()))``, or
    use ``load_balanced(sessions="sticky")``.  Its own outage is the application restarting on every
    server at once (a deploy): requests fail while it lasts, and every session is gone afterwards.

    >>> StickySessions().describe()
    ["in each web server's memory", 'lost with its server', 'idle timeout 1800 s']
    """

    name: str = "sessions"
    pool: str = "load balancer"
    session_ttl_s: float = 1_800.0

    def __post_init__(self):
        super().__post_init__()
        check.text("pool", self.pool)
        check.number("session_ttl_s", self.session_ttl_s, low=0, low_open=True, high=MAX_TTL_S)

    def runtime(self, sim, index):
        return StickyRun(self, sim, index)

    def describe(self):
        return ["in each web server's memory", "lost with its server", f"idle timeout {self.session_ttl_s:g} s"]

    def label(self):
        return "sticky sessions"


class StickyRun(_Book, Runtime):
    """:class:`StickySessions` at run time: zero time in the path; sessions followed after the run."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        names = [c.name for c in sim.architecture.components]
        if spec.pool not in names:
            raise ValueError(f"pool must name the load balancer in front of the sessions; no component is called "
                             f"{spec.pool!r} (components: {', '.join(names)})")
        pool = sim.architecture[spec.pool]
        if not isinstance(pool, Pool):
            raise TypeError(f"pool must name a load balancer (a Pool of servers); {spec.pool!r} is a {pool.kind}")
        self.pool, self.balancer = pool, sim.build(pool)
        self.served = 0

    def serve(self, i):
        if self.spec.outages and not self.spec.is_up(self.env.now):
            return ERROR
        self.served += 1
        return OK
        yield  # a generator that answers at once

    def batchable(self):
        return not self.spec.outages

    def admit(self, i, t):
        self.served += 1
        return OK, t

    def admit_all(self, requests, times):
        self.served += len(requests)
        return [OK] * len(requests), list(times)

    def holders(self):
        members = {s.name: k for k, s in enumerate(self.pool.members)}
        served = self.balancer.columns()["server"]
        holder = np.array([members.get(name, -1) for name in served], dtype=np.int64)
        holder[self.sim.status != OK] = -1
        return holder

    def wipes(self):
        deploys = [o.start_s for o in self.spec.outages]
        return [sorted([o.start_s for o in s.outages] + deploys) for s in self.pool.members]

    def row(self):
        return {"workers": None, "served": self.served, "mean_wait_ms": math.nan}


# -- a shared session store ----------------------------------------------------------------------------

def _store_example():
    return Architecture("shared sessions", (LoadBalancer(servers=_servers(3)), SessionStore(failover_s=5.0)))


@register(example=_store_example)
@dataclass(frozen=True)
class SessionStore(Server):
    """A shared session store (세션 저장소): a key-value box every request visits once, for its session.

    A server with ``workers`` and ``service_time_ms`` per request (the round trip included), so it
    queues and saturates like any box.  When it dies, requests fail; with a ``standby`` (kept in sync),
    the standby takes over ``failover_s`` later with every session, otherwise the store is back only
    when its outage ends, and empty.

    >>> SessionStore().capacity, SessionStore().describe()[2]
    (4000.0, 'standby: failover 5 s')
    """

    name: str = "session store"
    workers: int = 8
    service_time_ms: float = 2.0
    roles: tuple = ("session store",)
    failover_s: float = 5.0
    standby: bool = True
    session_ttl_s: float = 1_800.0

    def __post_init__(self):
        super().__post_init__()
        check.number("failover_s", self.failover_s, low=0, high=86_400)
        if not isinstance(self.standby, bool):
            raise TypeError(f"standby must be True or False; got {self.standby!r}")
        check.number("session_ttl_s", self.session_ttl_s, low=0, low_open=True, high=MAX_TTL_S)

    def runtime(self, sim, index):
        return SessionStoreRun(self, sim, index)

    def describe(self):
        keeps = f"standby: failover {self.failover_s:g} s" if self.standby else "no standby: back empty"
        return ["shared sessions (key-value)", self.label(), keeps]


class SessionStoreRun(_Book, ServerRun):
    """A :class:`SessionStore` at run time: a server whose standby takes over ``failover_s`` after it dies."""

    def _outage(self, outage):
        spec = self.spec
        if not spec.standby:
            yield from super()._outage(outage)
            return
        yield self.env.timeout(outage.start_s)
        self.up, self.epoch = False, self.epoch + 1
        for process in list(self.in_service):
            process.interrupt("session store failed")
        yield self.env.timeout(min(spec.failover_s, outage.end_s - outage.start_s))
        self.up = True  # the standby (or the store itself, if it came back sooner) answers

    def holders(self):
        return np.where(self.sim.status == OK, 0, -1)

    def wipes(self):
        return [[] if self.spec.standby else sorted(o.start_s for o in self.spec.outages)]
