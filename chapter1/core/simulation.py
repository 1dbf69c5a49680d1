"""simulate(): run an architecture under a workload with simpy, seeded and deterministic.

A fixed budget of requests is simulated whatever the number of users: the arrival rate
only sets how much simulated time the budget covers.  That keeps "10 million users" as
fast as "10 users".
"""

import math

import numpy as np
import simpy

from ..core import validation as check
from ..architectures import Architecture
from ..components.server import Server
from ..components.pool import DNSRoundRobin, DNSRoundRobinRun, LoadBalancer, LoadBalancerRun
from ..core.result import ERROR, OK, REJECTED, TIMEOUT, Result
from ..core.workload import Workload

MAX_REQUESTS = 2_000_000
MAX_CLIENTS = 1_000


def simulate(architecture, workload, *, requests=20_000, seed=0):
    """Send ``requests`` requests from ``workload`` through ``architecture``; return a :class:`Result`.

    Arrivals are Poisson at ``workload.rate``.  Same arguments and seed give an identical Result.

    >>> from chapter1 import Workload, simulate, single_server
    >>> result = simulate(single_server(workers=4), Workload.from_rate(40), requests=2_000, seed=1)
    >>> result.summary()["requests"]
    2000
    """
    if not isinstance(architecture, Architecture):
        raise ValueError(f"architecture must be an Architecture (e.g. single_server()); got {architecture!r}")
    if not isinstance(workload, Workload):
        raise ValueError(f"workload must be a Workload (e.g. Workload(users=1000)); got {workload!r}")
    check.number("requests", requests, low=1, high=MAX_REQUESTS, integer=True)
    check.number("seed", seed, low=0, integer=True)
    return _Simulation(architecture, workload, requests, seed).run()


class _Simulation:
    def __init__(self, architecture, workload, n, seed):
        self.architecture, self.workload, self.n, self.seed = architecture, workload, n, seed
        # One independent random stream per purpose, so changing one component leaves the others' draws alone.
        # (The client stream comes last, so adding it left every other stream's draws as they were.)
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3 + len(architecture.tiers))]
        self.arrival = np.cumsum(streams[0].exponential(1.0 / workload.rate, n))
        self.clients = client_population(workload)
        self.client = streams[-1].integers(0, self.clients, n)
        self.status = np.zeros(n, dtype=np.int8)
        self.failed_at = np.full(n, -1, dtype=np.int16)
        self.end = np.full(n, np.nan)
        self.env = simpy.Environment()
        self.dns_s = self._resolve(streams[1])
        # Each runtime's index is its component's position in architecture.components (DNS, tiers, their parts).
        index, self.tiers = (1 if architecture.dns is not None else 0), []
        for component, rng in zip(architecture.tiers, streams[2:]):
            self.tiers.append(self.build(component, rng, index))
            index += 1 + len(_parts(component))
        self.runtimes = [r for tier in self.tiers for r in _flatten(tier)]

    def build(self, component, rng, index):
        """The runtime of ``component`` (pools build their servers' runtimes with this)."""
        return _runtime(component, self, rng, index)

    def _resolve(self, rng):
        """DNS, vectorised: a cache miss pays the lookup; a miss while DNS is down fails the request."""
        dns = self.architecture.dns
        if dns is None:
            return np.zeros(self.n)
        miss = rng.random(self.n) >= dns.hit_ratio(self.workload.per_user_rate)
        if dns.outages:
            # A cached answer is on average half a TTL old (uniform age); if DNS was down when it would
            # have been fetched, the client has none and must look up now.  So an outage longer than
            # the TTL empties every client's cache.
            age = rng.random(self.n) * dns.ttl_s
            miss |= _down(dns, self.arrival - age)
        dns_s = np.where(miss, dns.lookup_ms / 1_000.0, 0.0)
        lost = miss & _down(dns, self.arrival)
        self.status[lost], self.failed_at[lost] = ERROR, 0
        self.end[lost] = self.arrival[lost] + dns_s[lost]
        return dns_s

    def run(self):
        enter = self.arrival + self.dns_s
        order = np.argsort(enter, kind="stable")
        order = order[self.status[order] == OK]
        self.env.process(self._source(order, enter))
        self.env.run()
        return Result(self)

    def _source(self, order, enter):
        env, request = self.env, self._request
        for i, t in zip(order.tolist(), enter[order].tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(request(i))

    def _request(self, i):
        for tier in self.tiers:
            status = yield from tier.serve(i)
            if status != OK:
                self.status[i] = status
                if self.failed_at[i] < 0:  # a pool has already named the server that failed
                    self.failed_at[i] = tier.index
                break
        if math.isnan(self.end[i]):
            self.end[i] = self.env.now


class ServerRun:
    """A :class:`~chapter1.components.Server` at run time: simpy workers, a bounded queue, outages."""

    def __init__(self, server, sim, rng, index):
        self.spec, self.sim, self.env, self.index = server, sim, sim.env, index
        self.workers = simpy.Resource(self.env, capacity=server.workers)
        self.service = _draw_service(server, rng, sim.n)
        self.timeout = math.inf if server.timeout_ms is None else server.timeout_ms / 1_000.0
        self.queue_limit = math.inf if server.queue_limit is None else server.queue_limit
        self.wait = np.full(sim.n, np.nan)
        self.busy_from = np.full(sim.n, np.nan)
        self.busy_to = np.full(sim.n, np.nan)
        self.up, self.epoch, self.in_service = True, 0, set()
        self.tracks_service = bool(server.outages)
        for outage in server.outages:
            self.env.process(self._outage(outage))

    def serve(self, i):
        env = self.env
        if not self.up:
            return ERROR
        if self.workers.count >= self.workers.capacity and len(self.workers.queue) >= self.queue_limit:
            return REJECTED
        arrived, epoch = env.now, self.epoch
        with self.workers.request() as slot:
            yield slot
            self.wait[i] = env.now - arrived
            if env.now - arrived > self.timeout:  # the client gave up while queued (maybe before a failure)
                self.sim.end[i] = arrived + self.timeout
                return TIMEOUT
            if self.epoch != epoch:  # the server died while this request queued
                return ERROR
            self.busy_from[i] = env.now
            if self.tracks_service:
                status = yield from self._tracked_service(i)
                if status != OK:
                    if env.now - arrived > self.timeout:  # the client had given up before the server died
                        self.sim.end[i] = arrived + self.timeout
                        return TIMEOUT
                    return status
            else:
                yield env.timeout(self.service[i])
                self.busy_to[i] = env.now
        if env.now - arrived > self.timeout:
            self.sim.end[i] = arrived + self.timeout
            return TIMEOUT
        return OK

    def _tracked_service(self, i):
        process = self.env.active_process
        self.in_service.add(process)
        try:
            yield self.env.timeout(self.service[i])
        except simpy.Interrupt:
            return ERROR
        finally:
            self.busy_to[i] = self.env.now
            self.in_service.discard(process)
        return OK

    def _outage(self, outage):
        yield self.env.timeout(outage.start_s)
        self.up, self.epoch = False, self.epoch + 1
        for process in list(self.in_service):
            process.interrupt("server failed")
        if math.isfinite(outage.end_s):
            yield self.env.timeout(outage.end_s - outage.start_s)
            self.up = self.spec.is_up(outage.end_s)  # another outage may still cover this moment


def _down(component, times):
    """For each time, whether one of ``component``'s outages covers it (vectorised)."""
    down = np.zeros(len(times), dtype=bool)
    for outage in component.outages:
        down |= (times >= outage.start_s) & (times < outage.end_s)
    return down


def _draw_service(server, rng, n):
    mean_s = server.service_time_ms / 1_000.0
    draw = {"exponential": lambda: rng.exponential(mean_s, n), "constant": lambda: np.full(n, mean_s)}
    return draw[server.distribution]()


RUNTIMES = {Server: ServerRun, LoadBalancer: LoadBalancerRun, DNSRoundRobin: DNSRoundRobinRun}


def client_population(workload):
    """How many distinct clients send the requests: the users, at most :data:`MAX_CLIENTS`.

    Each request's client is drawn uniformly from them (``Result.requests["client"]``).  The cap
    keeps repeat visits within a budget of a few thousand requests (5,000 requests give each of
    1,000 clients about 5); one simulated client then stands for a group of users behind one
    address and one DNS cache (a NAT gateway, an ISP resolver).

    >>> client_population(Workload(users=10)), client_population(Workload(users=1_000_000))
    (10, 1000)
    """
    return max(1, min(MAX_CLIENTS, int(workload.users)))


def _parts(component):
    return tuple(p for part in getattr(component, "parts", ()) for p in (part, *_parts(part)))


def _flatten(runtime):
    yield runtime
    for part in getattr(runtime, "parts", ()):
        yield from _flatten(part)


def _runtime(component, sim, rng, index):
    for cls in type(component).__mro__:
        if cls in RUNTIMES:
            return RUNTIMES[cls](component, sim, rng, index)
    known = ", ".join(c.__name__ for c in RUNTIMES)
    raise ValueError(f"cannot simulate a {type(component).__name__} in tiers; simulated kinds: {known}")


def sweep(architecture, users, *, requests=2_000, seed=0, **workload_options):
    """Simulate once per number of users; return one summary row per value (a tidy DataFrame).

    >>> from chapter1 import single_server
    >>> table = sweep(single_server(), users=[1_000, 100_000], requests=500)
    >>> list(table["users"])
    [1000, 100000]
    """
    import pandas as pd

    rows = []
    for u in users:
        summary = simulate(architecture, Workload(users=u, **workload_options), requests=requests, seed=seed).summary()
        rows.append({"users": u, **summary.to_dict()})
    return pd.DataFrame(rows)
