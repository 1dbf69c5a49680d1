"""Servers: a box with workers and a bounded queue (the web tier, the database, the single server).

>>> from chapter1 import Workload, simulate, single_server
>>> result = simulate(single_server(workers=2, service_time_ms=100), Workload.from_rate(10), requests=5_000)
>>> abs(result.utilization("server") - 0.5) < 0.05  # 10 req/s on 2 workers x 10 req/s: half busy
True
"""

import math
from collections import deque
from dataclasses import dataclass
from heapq import heapreplace

import numpy as np
import simpy

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, REJECTED, TIMEOUT, Component, Runtime, register

DISTRIBUTIONS = ("exponential", "constant")


def _example():
    return Architecture("one server", (Server(workers=4),))


@register(example=_example)
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
        object.__setattr__(self, "roles", check.sequence("roles", self.roles, str, "'web'"))

    @property
    def service_rate(self):
        """Requests per second one worker completes."""
        return 1_000.0 / self.service_time_ms

    @property
    def capacity(self):
        """Requests per second the whole box completes when every worker is busy."""
        return self.workers * self.service_rate

    def runtime(self, sim, index):
        return ServerRun(self, sim, index)

    def station(self):
        """An M/M/c queue when service is exponential (no closed form here for constant service)."""
        return (self.service_rate, self.workers) if self.distribution == "exponential" else None

    def describe(self):
        return [", ".join(self.roles) or self.kind, self.label(), f"up to {self.capacity:,.0f} req/s"]

    def label(self):
        """'8 workers x 50 ms': the box in one line."""
        return f"{self.workers} workers x {self.service_time_ms:g} ms"


@register(example=lambda: Architecture("web + database", (WebServer(workers=4), Database(workers=2))))
@dataclass(frozen=True)
class WebServer(Server):
    """A server in the web tier: runs the application and answers HTTP requests."""

    name: str = "web"
    roles: tuple = ("web",)


@register(example=lambda: Architecture("database", (Database(workers=2),)))
@dataclass(frozen=True)
class Database(Server):
    """A database server: every request that needs data queries it."""

    name: str = "database"
    service_time_ms: float = 10.0
    roles: tuple = ("database",)


class ServerRun(Runtime):
    """A :class:`Server` at run time: simpy workers, a bounded queue, outages that kill requests in service."""

    def __init__(self, server, sim, index):
        super().__init__(server, sim, index)
        self.workers = simpy.Resource(self.env, capacity=server.workers)
        mean_s, n = server.service_time_ms / 1_000.0, sim.n
        rng = sim.stream(server.name)
        self.service = rng.exponential(mean_s, n) if server.distribution == "exponential" else np.full(n, mean_s)
        self.timeout = math.inf if server.timeout_ms is None else server.timeout_ms / 1_000.0
        self.queue_limit = math.inf if server.queue_limit is None else server.queue_limit
        self.wait = np.full(n, np.nan)
        self.busy_from = np.full(n, np.nan)
        self.busy_to = np.full(n, np.nan)
        self.up, self.epoch, self.in_service, self.served = True, 0, set(), 0
        self.tracks_service = bool(server.outages)
        for outage in server.outages:
            self.env.process(self._outage(outage))
        self.free = [0.0] * server.workers   # event-free path: when each worker is next free (a heap)
        self.waiting = deque()                # and when each queued request will start (in order)

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
                return self._gave_up(i, arrived)
            if self.epoch != epoch:  # the server died while this request queued
                return ERROR
            self.busy_from[i] = env.now
            if self.tracks_service:
                status = yield from self._tracked_service(i)
                if status != OK:
                    return self._gave_up(i, arrived) if env.now - arrived > self.timeout else status
            else:
                yield env.timeout(self.service[i])
                self.busy_to[i] = env.now
            self.served += 1
        return self._gave_up(i, arrived) if env.now - arrived > self.timeout else OK

    def batchable(self):
        return not self.spec.outages

    def exact_times(self):
        return self.spec.distribution == "constant"

    def admit(self, i, t):
        """FCFS without events: start when the earliest worker is free; the same rules as :meth:`serve`."""
        free, waiting = self.free, self.waiting
        while waiting and waiting[0] <= t:
            waiting.popleft()
        if free[0] > t and len(waiting) >= self.queue_limit:
            return REJECTED, t
        start = t if free[0] <= t else free[0]
        self.wait[i] = start - t
        if start > t:
            waiting.append(start)
        if start - t > self.timeout:  # gave up in the queue: the worker it finally got is released at once
            heapreplace(free, start)
            return self._gave_up(i, t), start
        finish = start + self.service[i]
        heapreplace(free, finish)
        self.busy_from[i], self.busy_to[i] = start, finish
        self.served += 1
        return (self._gave_up(i, t) if finish - t > self.timeout else OK), finish

    def _gave_up(self, i, arrived):
        self.sim.end[i] = arrived + self.timeout
        return TIMEOUT

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

    def columns(self):
        return {f"{self.spec.name}_wait_ms": self.wait * 1_000.0}

    def row(self):
        waited = ~np.isnan(self.wait)
        return {"workers": self.spec.workers, "served": self.served,
                "mean_wait_ms": float(np.mean(self.wait[waited]) * 1_000.0) if waited.any() else 0.0}

    def busy(self):
        return self.busy_from, self.busy_to, self.spec.workers
