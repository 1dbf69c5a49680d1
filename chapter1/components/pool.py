"""Load balancing: a pool of servers behind a load balancer or behind DNS round robin.

Two components hold a pool of servers (:class:`LoadBalancer`, :class:`DNSRoundRobin`); both
keep a *health view* of which servers are alive, and that view is only as fresh as the last
health check.  Between a server's death and the next check, requests sent to it fail.

* A :class:`LoadBalancer` picks a server for every request with a policy from :data:`POLICIES`.
  It is itself one box in the path: when it fails, nothing gets through.
* :class:`DNSRoundRobin` hands each *client* one server's address in turn, and the client keeps
  that address until its cached answer expires (``ttl_s``).  A client whose server died keeps
  failing until then, however quickly DNS itself notices.

Who is a client?  :func:`chapter1.simulate` gives every request a client id (the ``client``
column of ``Result.requests``), drawn uniformly from ``min(users, MAX_CLIENTS)`` clients (see
:func:`chapter1.core.simulation.client_population`).  Beyond 1,000 users, one simulated client stands
for a group of users sharing an address and a DNS cache, as users behind one NAT gateway or one
ISP resolver do.  That keeps repeat visits (stickiness, cached DNS answers) visible within a
budget of a few thousand requests.
"""

import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, replace
from functools import cached_property
from heapq import heappop, heappush

import numpy as np

from ..core import kernels
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, Share, register
from ..theory.caching import ttl_hit_ratio
from .dns import Resolver
from .downtime import Downtime, balance_through_changes
from .policies import BATCH_POLICIES, DRAWS, POLICIES, READS_CONNECTIONS, draw_pairs
from .server import Server, ServerRun, WebServer

MAX_SERVERS = 1_000


@dataclass(frozen=True)
class Join:
    """``server`` joins its pool at ``at_s`` simulated seconds (the pool notices at its next health check).

    >>> Join(Server(name="web-5"), at_s=30).at_s
    30
    """

    server: Server
    at_s: float

    def __post_init__(self):
        check.instance("server", self.server, Server, "WebServer(name='web-5')")
        check.number("at_s", self.at_s, low=0)


@dataclass(frozen=True)
class Pool(Component):
    """Servers that share the traffic, as a balancer or DNS sees them (the base of both).

    ``servers`` are there from the start; ``joins`` add servers mid-run (see :meth:`add_server`).
    ``health_check_interval_s``: the pool re-checks which servers are alive at 0, h, 2h, ...
    ``fall``: how many checks in a row a server must fail before the pool marks it down (HAProxy's
    ``fall``, 3 by default there); one passed check brings it back.  A server that dies at a random
    moment is then taken out about h/2 + (fall - 1) x h later (see :func:`detection_delay_s`).
    """

    name: str = "pool"
    servers: tuple = ()
    health_check_interval_s: float | None = 10.0
    joins: tuple = ()
    fall: int = 1

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "servers", check.sequence("servers", self.servers, Server, "WebServer()"))
        object.__setattr__(self, "joins", check.sequence("joins", self.joins, Join, "Join(WebServer(), at_s=30)"))
        if not self.servers:
            raise ValueError(f"servers must hold at least one Server; got {self.servers!r}")
        if len(self.members) > MAX_SERVERS:
            raise ValueError(f"a pool holds at most {MAX_SERVERS:,} servers; got {len(self.members):,}")
        if self.health_check_interval_s is not None:
            check.number("health_check_interval_s", self.health_check_interval_s, low=0, low_open=True, high=86_400)
        check.number("fall", self.fall, low=1, high=100, integer=True)

    @property
    def members(self):
        """Every server that is ever in the pool: the first ones, then the ones that join."""
        return self.servers + tuple(j.server for j in self.joins)

    @property
    def parts(self):
        """The components inside this one (an :class:`~chapter1.architectures.Architecture` lists them too)."""
        return self.members

    @property
    def capacity(self):
        """Requests per second the servers present from the start complete together.

        >>> LoadBalancer(servers=(Server(workers=1, service_time_ms=100),) * 2).capacity
        20.0
        """
        return sum(s.capacity for s in self.servers)

    def joins_at(self):
        """When each member is in the pool (0 for the first servers), in :attr:`members` order."""
        return (0.0,) * len(self.servers) + tuple(float(j.at_s) for j in self.joins)

    def add_server(self, at_s, server=None):
        """A copy in which ``server`` (default: a copy of the last one, numbered on) joins at ``at_s``.

        >>> lb = LoadBalancer(servers=(Server(name="web-1"),)).add_server(at_s=30)
        >>> [s.name for s in lb.members]
        ['web-1', 'web-2']
        """
        return replace(self, joins=self.joins + (self._join(at_s, server),))

    def _join(self, at_s, server):
        if server is None:
            last = self.members[-1]
            prefix = last.name.rsplit("-", 1)[0] if last.name.rsplit("-", 1)[-1].isdigit() else last.name
            server = replace(last, name=f"{prefix}-{len(self.members) + 1}", outages=())
        return Join(server, at_s)

    def describe(self):
        checks = (f"health check every {self.health_check_interval_s:g} s" if self.health_check_interval_s
                  else "no health checks")
        if self.health_check_interval_s and self.fall > 1:
            checks += f", down after {self.fall} failed"
        return [*self._route(), checks]

    def part_note(self, part):
        at = dict(zip((s.name for s in self.members), self.joins_at()))[part.name]
        return [f"joins at {at:g} s"] if at > 0 else []

    def with_part(self, name, new):
        """A copy in which member ``name`` is replaced by ``new`` (used by ``Architecture.fail``)."""
        servers = tuple(new if s.name == name else s for s in self.servers)
        joins = tuple(replace(j, server=new) if j.server.name == name else j for j in self.joins)
        return replace(self, servers=servers, joins=joins)


def detection_delay_s(interval_s, fall=1):
    """Mean time from a server's death (at a random moment) until health checks every ``interval_s``
    that need ``fall`` failures in a row take it out: interval / 2 + (fall - 1) x interval.

    >>> detection_delay_s(10), detection_delay_s(2, fall=3)    # HAProxy's defaults: 2 s, fall 3
    (5.0, 5.0)
    """
    check.number("interval_s", interval_s, low=0, low_open=True)
    check.number("fall", fall, low=1, integer=True)
    return interval_s / 2 + (fall - 1) * interval_s


def _servers(count):
    return tuple(WebServer(name=f"web-{k + 1}", workers=2) for k in range(count))


@register(example=lambda: Architecture("balanced", (LoadBalancer(servers=_servers(3), policy="least_connections"),)))
@dataclass(frozen=True)
class LoadBalancer(Pool):
    """A load balancer (로드밸런서): clients reach it by one address; it forwards each request to a server.

    ``policy`` is one of :data:`POLICIES`.  ``weights`` (for ``"weighted"`` only) give each member's
    share, in :attr:`members` order; by default a server's weight is its capacity.  The balancer
    checks its servers every ``health_check_interval_s``: a dead server keeps receiving (and
    failing) requests until the next check, and a recovered or new one gets none until then.

    ``eject_after`` (outlier ejection, a *passive* health check: Envoy's ``consecutive_5xx``, nginx's
    ``max_fails``): a server whose last ``eject_after`` requests all failed with an error (refused or
    reset, not a time-out) is taken out at once, until a health check finds it up again.  The balancer
    never ejects its last server.  ``None``: no ejection, only the periodic checks.

    >>> lb = LoadBalancer(servers=(Server(name="a"), Server(name="b", workers=16)), policy="weighted")
    >>> lb.weight_shares()
    (0.3333333333333333, 0.6666666666666666)
    """

    name: str = "load balancer"
    policy: str = "round_robin"
    weights: tuple | None = None
    eject_after: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check.choice("policy", self.policy, tuple(POLICIES))
        if self.eject_after is not None:
            check.number("eject_after", self.eject_after, low=1, high=1_000, integer=True)
        if self.health_check_interval_s is None:
            raise ValueError("health_check_interval_s must be a number > 0 for a load balancer; got None")
        if self.weights is not None:
            if self.policy != "weighted":
                raise ValueError(f"weights are used only by policy 'weighted'; got policy {self.policy!r}")
            object.__setattr__(self, "weights", check.sequence("weights", self.weights, object, "(1, 2)"))
            if len(self.weights) != len(self.members):
                raise ValueError(f"weights must give one number per server ({len(self.members)}: "
                                 f"{', '.join(s.name for s in self.members)}); got {len(self.weights)}")
            for w in self.weights:
                check.number("weights", w, low=0, low_open=True)

    def runtime(self, sim, index):
        return LoadBalancerRun(self, sim, index)

    def _route(self):
        eject = [] if self.eject_after is None else [f"ejects after {self.eject_after} errors in a row"]
        return [self.policy.replace("_", " "), f"{len(self.members)} servers", *eject]

    def add_server(self, at_s, server=None, weight=None):
        """A copy in which a server joins at ``at_s``; give its ``weight`` if this balancer has explicit weights."""
        if self.weights is None and weight is not None:
            raise ValueError("weight is used only when the balancer has explicit weights; got weight="
                             f"{weight!r} with weights=None (weights follow capacity)")
        if self.weights is not None and weight is None:
            raise ValueError("weight is needed: this balancer has explicit weights, one per server")
        weights = None if self.weights is None else self.weights + (weight,)
        return replace(self, joins=self.joins + (self._join(at_s, server),), weights=weights)

    def weight_shares(self):
        """Each member's share of requests under ``"weighted"`` when all are up (sums to 1)."""
        weights = self.weights or tuple(s.capacity for s in self.members)
        return tuple(w / sum(weights) for w in weights)


@register(example=lambda: Architecture("dns round robin", (DNSRoundRobin(servers=_servers(2), ttl_s=5),), dns=None))
@dataclass(frozen=True)
class DNSRoundRobin(Pool, Resolver):
    """DNS-based load balancing: the name resolves to each server's address in turn.

    A client that resolves gets the next live address (as DNS's own health view knows it) and
    caches it for ``ttl_s`` seconds, paying ``lookup_ms`` once.  Every request it sends in that
    time goes to that one server, dead or alive.  ``health_check_interval_s=None`` is plain DNS
    with no health checks: a dead server's address keeps being handed out.  While DNS itself is
    down, a client whose cached answer has expired cannot reach the site.

    >>> DNSRoundRobin(servers=(Server(),), ttl_s=60).ttl_s
    60
    """

    name: str = "dns"
    ttl_s: float = 60.0

    max_ttl_s = 86_400

    def runtime(self, sim, index):
        return DNSRoundRobinRun(self, sim, index)

    def _route(self):
        return [f"round robin over {len(self.members)} IPs", f"TTL {self.ttl_s:g} s"]


# -- at run time -----------------------------------------------------------------------------

class PoolRun(Runtime):
    """A :class:`Pool` at run time: its servers' runtimes, a health view, and request forwarding."""

    def __init__(self, spec, sim, index):
        members = spec.members
        super().__init__(spec, sim, index)
        self.members = members  # (the spec builds the tuple at each ask)
        self.rng = sim.stream(spec.name)
        self.routed = [-1] * sim.n  # member each request was sent to (-1: none), one at a time
        self.routed_all = []  # and (requests, members) arrays from the event-free path
        self.connections = [0] * len(members)
        self.joins = spec.joins_at()
        self.join_order = sorted(self.joins)
        self.view_key, self.healthy, self.healthy_set, self.joined = None, (), frozenset(), ()

    @cached_property
    def client(self):
        """Each request's client, as a list (read one request at a time)."""
        return self.sim.client.tolist()

    def _view(self, now):
        """Members the pool believes alive at ``now``: as seen at its last health check (with no checks: all joined)."""
        interval = self.spec.health_check_interval_s
        key = bisect_right(self.join_order, now) if interval is None else math.floor(now / interval)
        if key != self.view_key:
            seen = now if interval is None else key * interval
            joined = [k for k, at in enumerate(self.joins) if at <= seen]
            # marked down once the last `fall` checks (since the start) all found it down
            checks = [seen - j * interval for j in range(min(self.spec.fall, key + 1))] if interval else ()
            members = self.members
            up = joined if interval is None else [k for k in joined if any(members[k].is_up(t) for t in checks)]
            self.view_key, self.healthy, self.healthy_set, self.joined = key, tuple(up), frozenset(up), tuple(joined)
        return self.healthy

    def _forward(self, i, k):
        """Send request ``i`` to member ``k``; a failure there is attributed to that server."""
        self.routed[i] = k
        self.connections[k] += 1
        status = yield from self.pass_on(self.parts[k], i)
        self.connections[k] -= 1
        return status

    def columns(self):
        """``server``: the server each request was sent to ('' if none)."""
        names = np.array([s.name for s in self.spec.members] + [""], dtype=object)
        return {"server": names[self.routes()]}

    def routes(self):
        """The member each request was sent to (-1: none), as an array."""
        routed = np.array(self.routed, dtype=np.int64)
        for requests, members in self.routed_all:
            routed[requests] = members
        return routed

    def row(self):
        """A pool has no workers; ``served`` counts the requests it forwarded to a server."""
        return {"workers": None, "served": int(np.count_nonzero(self.routes() >= 0)), "mean_wait_ms": float("nan")}


class LoadBalancerRun(PoolRun):
    """A :class:`LoadBalancer` at run time: picks a server per request with its policy."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.choose = POLICIES[spec.policy]
        self.turn, self.everyone = -1, len(spec.members)
        if spec.policy in DRAWS:  # two uniform draws per request, for the policies that draw servers
            self.u_draws, self.v_draws = self.rng.random(sim.n), self.rng.random(sim.n)
            # what they pick while every member is healthy, read one request at a time
            if spec.policy == "random":
                self.picks = (self.u_draws * self.everyone).astype(np.int64).tolist()
            else:
                self.first, self.second = (p.tolist() for p in draw_pairs(self.u_draws, self.v_draws, self.everyone))
        self.weights = list(spec.weights or (s.capacity for s in spec.members))
        self.current = [0.0] * len(spec.members)
        self.cycle, self.cycle_at = None, 0  # smooth weighted round robin's picks, when they come round (policies)
        # A fixed pseudo-random hash per client (Knuth's multiplicative hash), for ip_hash.
        clients = np.arange(sim.clients, dtype=np.uint64)
        self.client_hashes = (clients * np.uint64(2654435761)) % np.uint64(2**32)
        self.client_hash = self.client_hashes.tolist()
        self.outages, self.interval, self.eject_after = spec.outages, spec.health_check_interval_s, spec.eject_after
        self.leaving = []  # event-free path: (when a request leaves its server, that server), a heap
        self.errors_in_row, self.ejected = [0] * len(spec.members), {}  # outlier ejection: member -> when
        self.recheck_at = -math.inf  # before this time the health view cannot have changed

    @cached_property
    def u(self):
        """Each request's first uniform draw, as a list (read while some member is out)."""
        return self.u_draws.tolist()

    @cached_property
    def v(self):
        """Each request's second uniform draw, as a list."""
        return self.v_draws.tolist()

    def _view(self, now):
        """The health view of the last check, less the servers ejected since (never all of them)."""
        key = self.view_key
        PoolRun._view(self, now)
        if self.view_key != key and self.ejected:  # a new check readmits the ejected servers it finds up
            seen = self.view_key * self.spec.health_check_interval_s
            for k, at in list(self.ejected.items()):
                if seen >= at and self.members[k].is_up(seen):
                    del self.ejected[k]
            self._leave_out_ejected()
        # floor(now / interval) stays view_key until now reaches (view_key + 1) x interval; a margin of 1e-12 of
        # it covers the rounding of both products, and from there on every request asks again
        self.recheck_at = (self.view_key + 1) * self.interval * (1.0 - 1e-12)
        return self.healthy

    def _leave_out_ejected(self):
        kept = tuple(k for k in self.healthy if k not in self.ejected)
        if kept:
            self.healthy, self.healthy_set = kept, frozenset(kept)

    def _count_error(self, k, status, now):
        """Outlier ejection: ``eject_after`` errors in a row from member ``k`` (the last came back at ``now``)
        take it out of the view."""
        if status == ERROR:
            self.errors_in_row[k] += 1
            if self.errors_in_row[k] >= self.spec.eject_after and k not in self.ejected:
                self.ejected[k] = now
                self._leave_out_ejected()
        elif status == OK:
            self.errors_in_row[k] = 0

    def serve(self, i):
        now = self.env.now
        if self.outages and not self.spec.is_up(now):
            return ERROR
        if now >= self.recheck_at:  # a new health check may have come (the test of _view, kept out of the hot path)
            self._view(now)
        healthy = self.healthy
        if not healthy:
            return ERROR  # no healthy server: the balancer answers 503
        # (_forward, inlined: this is the hot path of every balanced request)
        k = self.routed[i] = self.choose(self, healthy, i)
        backend, connections = self.parts[k], self.connections
        connections[k] += 1
        status = yield from backend.serve(i)
        connections[k] -= 1
        if self.eject_after is not None:
            self._count_error(k, status, self.env.now)
        if status != OK:
            self.sim.failed_at[i] = backend.index
        elif self.outages and any(now < o.start_s <= self.env.now for o in self.outages):
            self.sim.failed_at[i] = self.index  # the balancer died while the request was inside: answer lost
            return ERROR
        return status


    def batchable(self):
        return self.parts_batchable()

    def changes(self):
        """True when the view can change during the run, or the balancer itself can fail."""
        return bool(self.spec.outages or self.spec.joins or self.eject_after is not None
                    or any(m.outages for m in self.spec.members))

    def admit_batch(self, requests, times):
        """Route without events, then let each server admit its share (the same answer as :meth:`serve`).

        When the view can change (an outage, a join, outlier ejection) or the balancer can fail, a policy that
        reads connections, or a balancer that ejects, goes one request at a time through
        :func:`~chapter1.components.downtime.balance_through_changes`; any other policy routes each stretch of
        one view at once (:meth:`_route_blind`).  Otherwise a policy that ignores connections routes the whole
        run at once; one that reads them routes one request at a time, counting the requests each server holds
        at ``t`` from when they leave it."""
        if not len(requests):
            return np.zeros(0, dtype=np.int8), np.zeros(0)
        plain = all(type(p).admit is ServerRun.admit for p in self.parts)  # (else a server admits its own way)
        blind = self.eject_after is None and self.spec.policy not in READS_CONNECTIONS
        if self.changes() and blind and bool(np.all(times[1:] >= times[:-1])):
            return self._admit_routed(requests, times, self._route_blind(requests, times))
        if self.changes() or (self.spec.policy in READS_CONNECTIONS and not plain):
            statuses, leaves = balance_through_changes(self, requests, times)
            return np.asarray(statuses, dtype=np.int8), np.asarray(leaves, dtype=float)
        healthy = self._view(float(times[0]))
        if self.spec.policy in READS_CONNECTIONS:
            return self._admit_routed(requests, times, *self._route_one_by_one(healthy, requests, times))
        return self._admit_routed(requests, times, self._route(healthy, requests))

    def _route(self, healthy, requests):
        """The policy's picks among ``healthy`` for ``requests`` (an array), one view for all of them."""
        if self.spec.policy in BATCH_POLICIES:
            return BATCH_POLICIES[self.spec.policy](self, healthy, requests)
        return np.array([self.choose(self, healthy, i) for i in requests.tolist()], dtype=np.int64)

    def _route_blind(self, requests, times):
        """Routes (-1: none) for a policy that ignores connections while the view changes (``times`` in order):
        while the balancer is down, nothing; else each stretch of requests that one health check's view covers
        is routed at once, asking the view at the same requests the loop one request at a time asks it."""
        routes, live = np.full(len(requests), -1, dtype=np.int64), np.arange(len(requests))
        if self.spec.outages:  # a balancer that is down routes nothing (nor asks its view)
            down = Downtime(self.spec.outages)
            stretch = np.searchsorted(down.starts, times, side="right") - 1
            live = np.flatnonzero((stretch < 0) | (times >= np.asarray(down.ends + [math.inf])[stretch]))
        at, arrive = 0, times[live]
        while at < len(live):
            healthy = self._view(float(arrive[at]))
            stop = max(at + 1, int(np.searchsorted(arrive, self.recheck_at, side="left")))
            if healthy:  # (else 503s)
                routes[live[at:stop]] = self._route(healthy, requests[live[at:stop]])
            at = stop
        return routes

    def _admit_routed(self, requests, times, routes, service=None, start=None):
        """Each server admits its share of ``requests`` (its ``routes``; -1: refused here with a 503), in order;
        ``service`` and ``start`` given: already scheduled, the server only records them.  A balancer that dies
        while a request is inside loses its answer.  Returns (statuses, leave times) as arrays."""
        routed = routes >= 0
        self.routed_all.append((requests[routed], routes[routed]))
        status, leave = np.full(len(requests), ERROR, dtype=np.int8), np.asarray(times, dtype=float).copy()
        by_server = np.flatnonzero(routed)[np.argsort(routes[routed].astype(np.uint16), kind="stable")]  # (radix)
        bounds = np.searchsorted(routes[by_server], np.arange(len(self.parts) + 1))
        for k, part in enumerate(self.parts):
            share = by_server[bounds[k]:bounds[k + 1]]
            if len(share) and service is not None:  # already scheduled: the server records them
                status[share], leave[share] = part.book(requests[share], times[share], service[share], start[share])
            elif len(share):
                status[share], leave[share] = part.admit_batch(requests[share], times[share])
        failed = routed & (status != OK)
        self.sim.failed_at[requests[failed]] = np.array([p.index for p in self.parts])[routes[failed]]
        if self.spec.outages:  # the answers inside when the balancer died are lost
            deaths = np.append(np.sort([o.start_s for o in self.spec.outages]), math.inf)
            lost = routed & (status == OK) & (deaths[np.searchsorted(deaths, times, side="right")] <= leave)
            status[lost], self.sim.failed_at[requests[lost]] = ERROR, self.index
        if service is None:  # the requests still inside after the last one came (a schedule counted its own)
            held = np.bincount(routes[routed & (leave > times[-1])], minlength=len(self.parts))
            self.connections[:] = [c + int(h) for c, h in zip(self.connections, held)]
        return status, leave

    def _route_one_by_one(self, healthy, requests, times):
        """Routes for a policy that reads connections, one request at a time: the chosen server's FCFS step tells
        when the request leaves it, and a heap of those times counts the requests each server holds at ``t``.
        Returns the routes, each request's service time and start (NaN: rejected), as arrays, for
        :meth:`ServerRun.book`."""
        if (self.spec.policy in ("least_connections", "power_of_two") and kernels.use_compiled_routes(len(requests))
                and all(type(p)._step is ServerRun._step for p in self.parts)):
            return kernels.route_by_connections(self, healthy, requests, times, self._pairs(healthy, requests))
        leaving, connections, choose = self.leaving, self.connections, self.choose
        steps, draws = [p._step for p in self.parts], [p.service for p in self.parts]
        timeouts = [p.timeout for p in self.parts]
        routes, services, starts = [], [], []
        for i, t in zip(requests.tolist(), times.tolist()):
            while leaving and leaving[0][0] <= t:
                connections[heappop(leaving)[1]] -= 1
            k = choose(self, healthy, i)
            s = draws[k][i]
            start = steps[k](t, s)
            routes.append(k)
            services.append(s)
            starts.append(start)
            if start == start:  # admitted (NaN: the queue was full): it leaves when it gives up waiting, or served
                leave = start if start - t > timeouts[k] else start + s
                if leave > t:
                    connections[k] += 1
                    heappush(leaving, (leave, k))
        return np.array(routes, dtype=np.int64), np.array(services), np.array(starts)

    def _pairs(self, healthy, requests):
        """Power of two's two picks for each of ``requests`` among ``healthy``, as arrays (None: another policy)."""
        if self.spec.policy != "power_of_two":
            return None
        if len(healthy) == 1:
            return (np.full(len(requests), healthy[0], dtype=np.int64),) * 2
        first, second = draw_pairs(self.u_draws[requests], self.v_draws[requests], len(healthy))
        return np.asarray(healthy)[first], np.asarray(healthy)[second]


class DNSRoundRobinRun(PoolRun):
    """A :class:`DNSRoundRobin` at run time: one cached answer per client, expiring after the TTL.

    At the start the caches are in steady state: a client with request rate r holds a valid answer
    with probability r*ttl / (1 + r*ttl) (as :meth:`chapter1.components.DNS.hit_ratio`), with a
    remaining lifetime uniform over [0, ttl] and an address handed out in turn.
    """

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        clients, ttl = sim.clients, spec.ttl_s
        per_client = sim.workload.rate / clients
        warm = self.rng.random(clients) < ttl_hit_ratio(per_client, ttl)
        self.expiry = np.where(warm, self.rng.uniform(0.0, ttl, clients), -1.0).tolist()
        first = self._view(0.0) or (0,)
        self.address = [first[c % len(first)] for c in range(clients)]
        self.turn = -1
        self.lookup_s = np.zeros(sim.n)  # the lookup each request paid

    def serve(self, i):
        env, c = self.env, self.client[i]
        if self.expiry[c] <= env.now:  # cached answer expired: resolve again
            if self.spec.outages and not self.spec.is_up(env.now):
                return ERROR
            healthy = self._view(env.now)
            if not healthy:
                return ERROR
            self.turn += 1
            self.address[c], self.expiry[c] = healthy[self.turn % len(healthy)], env.now + self.spec.ttl_s
            lookup_s = self.lookup_s[i] = self.spec.lookup_ms / 1_000.0
            if lookup_s > 0:
                yield env.timeout(lookup_s)
        status = yield from self._forward(i, self.address[c])
        return status

    def batchable(self):
        return self.parts_batchable()

    def admit_batch(self, requests, times):
        """Resolve without events (what :meth:`serve` does at each arrival, in order), then let each server admit its
        share in order of arrival there: at ``t``, or ``t`` + the lookup for a request whose client looked the name
        up (requests arriving at one server at the very same moment keep their order of arrival here)."""
        status, leave = np.full(len(requests), ERROR, dtype=np.int8), np.asarray(times, dtype=float).copy()
        routes, lag = self._resolve(requests.tolist(), times.tolist())
        routes, arrive = np.asarray(routes, dtype=np.int64), times + np.asarray(lag)
        self.routed_all.append((requests, routes))
        for k, part in enumerate(self.parts):
            share = np.flatnonzero(routes == k)
            share = share[np.argsort(arrive[share], kind="stable")]
            if len(share):
                status[share], leave[share] = part.admit_batch(requests[share], arrive[share])
        failed = requests[(status != OK) & (routes >= 0)]
        self.sim.failed_at[failed] = np.array([p.index for p in self.parts])[routes[(status != OK) & (routes >= 0)]]
        return status, leave

    def _resolve(self, requests, times):
        """Each request's server (-1: DNS could not answer) and the lookup it paid (s), as :meth:`serve` decides.

        A request that looks the name up goes, once the lookup is over, to the address its client holds then: a
        request of the same client that resolved meanwhile (a TTL shorter than the lookup) has changed it."""
        spec, expiry, address, client = self.spec, self.expiry, self.address, self.client
        ttl, lookup = spec.ttl_s, spec.lookup_ms / 1_000.0
        routes, lag, looking = [], [], deque()  # (request's place, client, end of its lookup), in order
        for i, t in zip(requests, times):
            while looking and looking[0][2] <= t:
                place, c, _ = looking.popleft()
                routes[place] = address[c]
            c = client[i]
            if expiry[c] <= t:  # cached answer expired: resolve again
                healthy = () if spec.outages and not spec.is_up(t) else self._view(t)
                if not healthy:
                    routes.append(-1)
                    lag.append(0.0)
                    continue
                self.turn += 1
                address[c], expiry[c] = healthy[self.turn % len(healthy)], t + ttl
                if lookup > 0:
                    self.lookup_s[i] = lookup
                    looking.append((len(routes), c, t + lookup))
                lag.append(lookup)
            else:
                lag.append(0.0)
            routes.append(address[c])
        for place, c, _ in looking:
            routes[place] = address[c]
        return routes, lag

    def columns(self):
        return {**super().columns(), "dns_ms": self.lookup_s * 1_000.0}

    def figures(self):
        return {"dns_hit_ratio": Share(int(np.sum(self.lookup_s == 0)), len(self.lookup_s))}
