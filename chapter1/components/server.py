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


class Workers:
    """What a pool of identical workers offers: each takes :meth:`busy_ms` per request (its service time)."""

    def check_workers(self):
        """Validate ``workers``, ``service_time_ms`` and ``distribution`` (the fields every pool has)."""
        check.number("workers", self.workers, low=1, high=10_000, integer=True)
        check.number("service_time_ms", self.service_time_ms, low=0, low_open=True, high=3_600_000)
        check.choice("distribution", self.distribution, DISTRIBUTIONS)

    def busy_ms(self):
        return self.service_time_ms

    @property
    def service_rate(self):
        """Requests per second one worker completes."""
        return 1_000.0 / self.busy_ms()

    @property
    def capacity(self):
        """Requests per second the whole pool completes when every worker is busy."""
        return self.workers * self.service_rate


def _example():
    return Architecture("one server", (Server(workers=4),))


@register(example=_example)
@dataclass(frozen=True)
class Server(Workers, Component):
    """A box with ``workers`` that each serve one request at a time, and a bounded queue in front.

    Service times are exponential by default (so queueing theory applies) or constant.  A request
    that finds ``queue_limit`` others waiting is rejected; one that has waited longer than
    ``timeout_ms`` is abandoned by its client (counted as a timeout).

    A ``backend`` (a database, say) is called after the server's own work.  ``blocking=False`` is an
    asynchronous worker, free for the next request as soon as the call is sent; ``blocking=True`` is
    thread per request: the worker waits, held, until the backend answers.

    >>> Server(workers=4, service_time_ms=50).capacity
    80.0
    >>> [part.name for part in Server(name="web", backend=Database(), blocking=True).parts]
    ['database']
    """

    name: str = "server"
    workers: int = 8
    service_time_ms: float = 50.0
    distribution: str = "exponential"
    queue_limit: int | None = 1_000
    timeout_ms: float | None = 10_000.0
    roles: tuple = ("web", "database", "cache")
    backend: Component | None = None
    blocking: bool = False

    def __post_init__(self):
        super().__post_init__()
        self.check_workers()
        if self.queue_limit is not None:
            check.number("queue_limit", self.queue_limit, low=0, integer=True)
        if self.timeout_ms is not None:
            check.number("timeout_ms", self.timeout_ms, low=0, low_open=True)
        object.__setattr__(self, "roles", check.sequence("roles", self.roles, str, "'web'"))
        if self.backend is not None:
            check.instance("backend", self.backend, Component, "Database()")
        if not isinstance(self.blocking, bool):
            raise TypeError("blocking must be True (thread per request) or False (asynchronous); "
                            f"got {self.blocking!r}")

    @property
    def parts(self):
        return () if self.backend is None else (self.backend,)

    def runtime(self, sim, index):
        return ServerRun(self, sim, index)

    def station(self):
        """An M/M/c queue when service is exponential and nothing stands behind it (else no closed form here)."""
        alone = self.distribution == "exponential" and self.backend is None
        return (self.service_rate, self.workers) if alone else None

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
    """A :class:`Server` at run time: simpy workers, a bounded queue, outages that kill requests in service.

    It records only the requests it admitted (their indices, waits and service periods), so a pool of
    many servers holds about one record per request, not one per server and request.
    """

    def __init__(self, server, sim, index):
        super().__init__(server, sim, index)
        self.workers = simpy.Resource(self.env, capacity=server.workers)
        mean_s, n = server.service_time_ms / 1_000.0, sim.n
        rng = sim.stream(server.name)
        draws = rng.exponential(mean_s, n) if server.distribution == "exponential" else np.full(n, mean_s)
        self.service = draws.tolist()  # request i's service time, drawn whether or not it comes here
        self.timeout = math.inf if server.timeout_ms is None else server.timeout_ms / 1_000.0
        self.queue_limit = math.inf if server.queue_limit is None else server.queue_limit
        self.admitted, self.waits, self.starts, self.finishes = [], [], [], []
        self.up, self.epoch, self.in_service, self.served = True, 0, set(), 0
        self.tracks_service = bool(server.outages)
        for outage in server.outages:
            self.env.process(self._outage(outage))
        self.free = [0.0] * server.workers   # event-free path: when each worker is next free (a heap)
        self.waiting = deque()                # and when each queued request will start (in order)

    def _admit(self, i, wait, start=math.nan, finish=math.nan):
        """Record request ``i`` as admitted; returns its position in the records."""
        self.admitted.append(i)
        self.waits.append(wait)
        self.starts.append(start)
        self.finishes.append(finish)
        return len(self.admitted) - 1

    def serve(self, i):
        env = self.env
        if not self.up:
            return ERROR
        if self.workers.count >= self.workers.capacity and len(self.workers.queue) >= self.queue_limit:
            return REJECTED
        arrived, epoch = env.now, self.epoch
        with self.workers.request() as slot:
            yield slot
            if env.now - arrived > self.timeout:  # the client gave up while queued (maybe before a failure)
                self._admit(i, env.now - arrived)
                return self._gave_up(i, arrived)
            if self.epoch != epoch:  # the server died while this request queued
                self._admit(i, env.now - arrived)
                return ERROR
            at = self._admit(i, env.now - arrived, env.now)
            if self.tracks_service:
                status = yield from self._tracked_service(i, at)
                if status != OK:
                    return self._gave_up(i, arrived) if env.now - arrived > self.timeout else status
            else:
                yield env.timeout(self.service[i])
                self.finishes[at] = env.now
            self.served += 1
            if self.parts and self.spec.blocking:  # thread per request: the worker waits for the answer
                if env.now - arrived > self.timeout:
                    return self._gave_up(i, arrived)
                status = yield from self.pass_on(self.parts[0], i)
                self.finishes[at] = env.now  # held all along: busy
                return status
        if env.now - arrived > self.timeout:
            return self._gave_up(i, arrived)
        if self.parts:  # asynchronous: the worker is already free for the next request
            return (yield from self.pass_on(self.parts[0], i))
        return OK

    def batchable(self):
        return not self.spec.outages and not self.parts

    def exact_times(self):
        return self.spec.distribution == "constant"

    def admit(self, i, t):
        (status,), (leave,) = self.admit_all((i,), (t,))
        return status, leave

    def admit_all(self, requests, times):
        """FCFS without events: each starts when the earliest worker is free; the same rules as :meth:`serve`."""
        free, waiting, service, record = self.free, self.waiting, self.service, self._admit
        timeout, limit, bounded = self.timeout, self.queue_limit, self.queue_limit != math.inf
        statuses, leaves = [], []
        for i, t in zip(requests, times):
            if bounded:
                while waiting and waiting[0] <= t:
                    waiting.popleft()
                if free[0] > t and len(waiting) >= limit:
                    statuses.append(REJECTED)
                    leaves.append(t)
                    continue
            start = free[0]
            if start <= t:
                start = t
            elif bounded:
                waiting.append(start)
            if start - t > timeout:  # gave up in the queue: the worker it finally got is released at once
                heapreplace(free, start)
                record(i, start - t)
                statuses.append(self._gave_up(i, t))
                leaves.append(start)
                continue
            finish = start + service[i]
            heapreplace(free, finish)
            record(i, start - t, start, finish)
            self.served += 1
            statuses.append(self._gave_up(i, t) if finish - t > timeout else OK)
            leaves.append(finish)
        return statuses, leaves

    def _gave_up(self, i, arrived):
        self.sim.end[i] = arrived + self.timeout  # the client's view: it stopped waiting then
        return TIMEOUT

    def _tracked_service(self, i, at):
        process = self.env.active_process
        self.in_service.add(process)
        try:
            yield self.env.timeout(self.service[i])
        except simpy.Interrupt:
            return ERROR
        finally:
            self.finishes[at] = self.env.now
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
        wait = np.full(self.sim.n, np.nan)
        wait[np.asarray(self.admitted, dtype=np.int64)] = self.waits
        return {f"{self.spec.name}_wait_ms": wait * 1_000.0}

    def row(self):
        waits = np.asarray(self.waits, dtype=float)
        return {"workers": self.spec.workers, "served": self.served,
                "mean_wait_ms": float(waits.mean() * 1_000.0) if waits.size else 0.0}

    def busy(self):
        return np.asarray(self.starts, dtype=float), np.asarray(self.finishes, dtype=float), self.spec.workers
