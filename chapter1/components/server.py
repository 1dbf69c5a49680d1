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

from ..core import kernels
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, REJECTED, TIMEOUT, Component, Runtime, register
from .downtime import AdmitThroughOutages, admit_through_outages

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


DRAW_SHIFT = 14  # service times are drawn in chunks of 2**14 requests
DRAW_MASK = (1 << DRAW_SHIFT) - 1  # a request's place in its chunk


class ServiceTimes:
    """Each request's service time at one server: request ``i`` gets the ``i``-th draw of the server's stream.

    The draws are made in chunks of 2**14 as requests need them, noting the generator's state at the start
    of each (to draw an old chunk again).  Read one request at a time, the last :attr:`KEEP` chunks are
    kept; a whole share at once (:meth:`take`) draws the span it covers and keeps nothing.  A pool of many
    servers so holds a few chunks per server, not one draw per server and request.  Chunks give the
    numbers of one draw of n.

    >>> times = ServiceTimes(np.random.default_rng(1), 0.05, 100_000)
    >>> times[70_000] == np.random.default_rng(1).exponential(0.05, 100_000)[70_000].item()
    True
    """

    KEEP = 2  # chunks kept for requests one at a time (one arriving a little out of order finds its chunk)

    def __init__(self, rng, mean_s, n):
        self.rng, self.mean_s, self.n = rng, mean_s, n
        self.states = [rng.bit_generator.state]  # the generator's state at the start of chunk c
        self.chunks = {}
        self.read, self.view = -1, None  # the chunk read last, seen as a memoryview (it gives Python floats)

    def __getitem__(self, i):
        if i >> DRAW_SHIFT != self.read:
            self.read = i >> DRAW_SHIFT
            self.view = memoryview(self.chunk(self.read))
        return self.view[i & DRAW_MASK]

    def chunk(self, c):
        """The draws of requests c * 2**14 up to (c + 1) * 2**14 (fewer in the last chunk)."""
        found = self.chunks.get(c)
        if found is not None:
            return found
        return self._draw(c)

    def _draw(self, c, keep=True):
        for earlier in range(len(self.states) - 1, c):  # draw forward, noting where each chunk starts
            self._draw(earlier, keep=False)
        size = min(1 << DRAW_SHIFT, self.n - (c << DRAW_SHIFT))
        self.rng.bit_generator.state = self.states[c]
        values = self.rng.exponential(self.mean_s, size)
        if c + 1 == len(self.states):
            self.states.append(self.rng.bit_generator.state)
        if keep:
            if len(self.chunks) >= self.KEEP:
                del self.chunks[next(iter(self.chunks))]
            self.chunks[c] = values
        return values

    def take(self, requests, keep=False):
        """The service times of ``requests`` (an array of request indices), as an array; ``keep`` keeps the chunks
        drawn, as reading one request at a time does (for blocks of requests in order of arrival)."""
        if not len(requests):
            return np.zeros(0)
        which = requests >> DRAW_SHIFT
        first, last = int(which.min()), int(which.max())
        span = np.concatenate([self.chunk(c) if keep else self.chunks.get(c) if c in self.chunks
                               else self._draw(c, keep=False) for c in range(first, last + 1)])
        return span[requests - (first << DRAW_SHIFT)]


class ConstantTimes:
    """Service times that are all ``mean_s`` (no draws), read as :class:`ServiceTimes` are."""

    def __init__(self, mean_s):
        self.mean_s = mean_s

    def __getitem__(self, i):
        return self.mean_s

    def take(self, requests, keep=False):
        return np.full(len(requests), self.mean_s)


class Slots:
    """A server's workers for the simpy engine: ``simpy.Resource``'s request and release, with the same events at the
    same moments, in fewer Python calls.

    A request takes a free worker at once, else waits in line (``queue``, first come first served); ``count``
    workers are busy.  As in simpy, a release frees the worker at once but hands it to the next in line only when
    its own (release) event comes up, and a new request is granted only if the one at the head of the line is.

    >>> env = simpy.Environment()
    >>> workers = Slots(env, 1)
    >>> first, second = workers.request(), workers.request()
    >>> workers.count, len(workers.queue), first.triggered, second.triggered
    (1, 1, True, False)
    >>> workers.release(first)
    >>> env.run()
    >>> workers.count, len(workers.queue), second.triggered
    (1, 0, True)
    """

    def __init__(self, env, capacity):
        self.env, self.capacity, self.count, self.queue = env, capacity, 0, deque()

    def request(self):
        """An event that succeeds when this request holds a worker."""
        slot = simpy.Event(self.env)
        self.queue.append(slot)
        if self.count < self.capacity:
            self._grant()
        return slot

    def release(self, slot):
        """Free the worker ``slot`` holds; the next in line gets it when the release event comes up."""
        self.count -= 1
        released = simpy.Event(self.env)
        released.callbacks.append(self._grant)
        released.succeed()

    def _grant(self, _=None):
        """The head of the line takes a free worker (simpy's ``_trigger_put``: it looks at the head only)."""
        if self.queue and self.count < self.capacity:
            self.count += 1
            self.queue.popleft().succeed()


class ServerRun(Runtime):
    """A :class:`Server` at run time: simpy workers, a bounded queue, outages that kill requests in service.

    It records only the requests it admitted (their indices, waits and service periods), so a pool of
    many servers holds about one record per request, not one per server and request.
    """

    def __init__(self, server, sim, index):
        super().__init__(server, sim, index)
        self.workers = Slots(self.env, server.workers)
        mean_s = server.service_time_ms / 1_000.0  # request i's service time, were it to come here:
        self.service = (ConstantTimes(mean_s) if server.distribution == "constant"
                        else ServiceTimes(sim.stream(server.name), mean_s, sim.n))
        self.timeout = math.inf if server.timeout_ms is None else server.timeout_ms / 1_000.0
        self.queue_limit = math.inf if server.queue_limit is None else server.queue_limit
        self.bounded = server.queue_limit is not None
        self.admitted, self.waits, self.starts, self.finishes = [], [], [], []
        self.batches = []  # the event-free path's records, as arrays
        self.up, self.epoch, self.in_service, self.served = True, 0, set(), 0
        self.tracks_service = bool(server.outages)
        self.holds_worker = bool(self.parts) and server.blocking
        for outage in server.outages:
            self.env.process(self._outage(outage))
        self.free = [0.0] * server.workers   # event-free path: when each worker is next free (a heap)
        self.waiting = deque()                # and when each queued request will start (in order)
        if server.outages:  # the event-free path through its deaths
            self.admit = AdmitThroughOutages(self)

    def _admit(self, i, wait, start=math.nan, finish=math.nan):
        """Record request ``i`` as admitted; returns its position in the records."""
        self.admitted.append(i)
        self.waits.append(wait)
        self.starts.append(start)
        self.finishes.append(finish)
        return len(self.admitted) - 1

    def add_records(self, requests, waits, starts, finishes):
        """Record admitted requests (arrays, in order of admission) after those already recorded."""
        if self.admitted:  # (records kept one at a time come after the arrays: keep them in one order)
            for listed, values in zip((self.admitted, self.waits, self.starts, self.finishes),
                                      (requests, waits, starts, finishes)):
                listed.extend(values.tolist())
        elif len(requests):
            self.batches.append((requests, waits, starts, finishes))

    def records(self, fields=(0, 1, 2, 3)):
        """(requests, waits, starts, finishes) of every admitted request, as arrays in order of admission; ``fields``
        picks some of them (by place in that tuple), the others are not converted."""
        lists = (self.admitted, self.waits, self.starts, self.finishes)
        found = []
        for f in fields:
            listed = np.asarray(lists[f], dtype=np.int64 if f == 0 else float)
            found.append(np.concatenate([b[f] for b in self.batches] + [listed]) if self.batches else listed)
        return tuple(found)

    def serve(self, i):
        env, workers = self.env, self.workers
        if not self.up:
            return ERROR
        if len(workers.queue) >= self.queue_limit and workers.count >= workers.capacity:
            return REJECTED
        arrived, epoch = env.now, self.epoch
        slot = workers.request()  # released by hand at each way out (a with block costs three calls a request)
        yield slot
        start = env.now
        if start - arrived > self.timeout or self.epoch != epoch:  # gave up while queued, or the server died then
            self._admit(i, start - arrived)
            status = self._gave_up(i, arrived) if start - arrived > self.timeout else ERROR
            workers.release(slot)
            return status
        at = len(self.admitted)  # (_admit, inlined: the hot path of every request)
        self.admitted.append(i)
        self.waits.append(start - arrived)
        self.starts.append(start)
        self.finishes.append(math.nan)
        if self.tracks_service:
            status = yield from self._tracked_service(i, at)
            if status != OK:
                status = self._gave_up(i, arrived) if env.now - arrived > self.timeout else status
                workers.release(slot)
                return status
            end = env.now
        else:
            yield env.timeout(self.service[i])
            self.finishes[at] = end = env.now
        self.served += 1
        if self.holds_worker:  # thread per request: the worker waits for the answer
            if end - arrived > self.timeout:
                status = self._gave_up(i, arrived)
            else:
                status = yield from self.pass_on(self.parts[0], i)
                self.finishes[at] = env.now  # held all along: busy
            workers.release(slot)
            return status
        workers.release(slot)
        if end - arrived > self.timeout:
            return self._gave_up(i, arrived)
        if self.parts:  # asynchronous: the worker is already free for the next request
            return (yield from self.pass_on(self.parts[0], i))
        return OK

    def batchable(self):
        if self.parts:  # a backend: only a worker held for a plain one runs without events (compiled)
            return kernels.holds_for_a_plain_backend(self)
        # outages as this class runs them (a subclass may run its own: a standby taking over)
        return not self.spec.outages or type(self)._outage is ServerRun._outage

    def exact_times(self):
        return self.spec.distribution == "constant"

    def _step(self, t, s):
        """FCFS without events, one request arriving at ``t`` needing ``s``: when it starts (NaN: rejected), as
        :meth:`serve` would decide.

        It starts when the earliest worker is free (a heap of free times); a queued request holds its place
        until it starts; one that waited past the timeout releases its worker at once."""
        free, waiting = self.free, self.waiting
        start = free[0]
        if self.bounded:
            while waiting and waiting[0] <= t:
                waiting.popleft()
            if start > t and len(waiting) >= self.queue_limit:
                return math.nan
            if start > t:
                waiting.append(start)
        if start <= t:
            start = t
        heapreplace(free, start if start - t > self.timeout else start + s)
        return start

    def _schedule(self, times, services, bounded=True):
        """:meth:`_step` for many requests; ``bounded=False`` leaves the queue limit out in a tighter loop."""
        if bounded and self.bounded:
            step = self._step
            return [step(t, s) for t, s in zip(times, services)]
        free, timeout, starts = self.free, self.timeout, []
        for t, s in zip(times, services):
            start = free[0]
            if start <= t:
                start = t
            heapreplace(free, start if start - t > timeout else start + s)
            starts.append(start)
        return starts

    def admit(self, i, t):
        """One request without events (a balancer that reads connections routes one at a time)."""
        s = self.service[i]
        return self._settle(i, t, s, self._step(t, s))

    def _settle(self, i, t, s, start, death=math.inf):
        """Record request ``i`` (arrived at ``t``, needs ``s``, starts at ``start``; NaN: the queue was full) and
        return its (status, leave time).  If the server dies at ``death`` while it is queued or in service, it
        fails then: a queued one gets a freed worker at that moment and finds the server dead (as simpy's cascade
        of released workers does), unless its client had already stopped waiting.  Work due to end at the very
        moment of the death fails too: in the event loop the death comes first."""
        if start != start:
            return REJECTED, t
        if start >= death:
            self._admit(i, death - t)
            return (self._gave_up(i, t) if death - t > self.timeout else ERROR), death
        if start - t > self.timeout:
            self._admit(i, start - t)
            return self._gave_up(i, t), start
        finish = start + s
        if finish >= death:
            self._admit(i, start - t, start, death)
            return (self._gave_up(i, t) if death - t > self.timeout else ERROR), death
        self._admit(i, start - t, start, finish)
        self.served += 1
        return (self._gave_up(i, t) if finish - t > self.timeout else OK), finish

    def admit_batch(self, requests, times):
        """:meth:`admit` for arrays of requests in order of arrival, with the bookkeeping in numpy."""
        if self.parts:
            return kernels.held_batch(self, requests, times)
        if self.spec.outages:
            if (isinstance(self.admit, AdmitThroughOutages) and type(self)._settle is ServerRun._settle
                    and type(self)._starts is ServerRun._starts and bool(np.all(times[1:] >= times[:-1]))):
                return admit_through_outages(self, requests, times)
            return Runtime.admit_batch(self, requests, times)
        service = self.service.take(requests)
        return self.book(requests, times, service, self._starts(times, service))

    def book(self, requests, times, service, start, death=math.inf):
        """Record requests (arrays, in order of arrival) that came at ``times``, needed ``service`` and started at
        ``start`` (NaN: rejected) as :meth:`_step` gave it; returns their (statuses, leave times) as :meth:`admit`.
        The server dies at ``death``: what is queued or in service then fails then, as :meth:`_settle` says."""
        kept, timeout = ~np.isnan(start), self.timeout
        dead = kept & (start >= death)
        gave_up = kept & ~dead & (start - times > timeout)
        finish = start + service
        served = kept & ~dead & ~gave_up
        cut, ok = served & (finish >= death), served & (finish < death)
        late = np.where(dead | cut, death - times > timeout, gave_up | (ok & (finish - times > timeout)))
        self.sim.end[requests[late]] = times[late] + timeout
        status = np.where(~kept, REJECTED, np.where(late, TIMEOUT, np.where(ok, OK, ERROR))).astype(np.int8)
        leave = np.where(dead | cut, death, np.where(gave_up, start, np.where(ok, finish, times)))
        finishes = np.where(cut, death, np.where(ok, finish, np.nan))
        self.add_records(requests[kept], np.where(dead, death - times, start - times)[kept],
                         np.where(served, start, np.nan)[kept], finishes[kept])
        self.served += int(ok.sum())
        return status, leave

    def _starts(self, times, services, block=1 << 14):
        """:meth:`_schedule` for a whole share, ``block`` requests at a time.  A block is first run in a tighter
        loop that leaves the queue limit out, and kept when no request would have found the queue full:
        FCFS starts never decrease, so the queue request k finds (those still waiting, from earlier blocks
        and this one) is a count.  Otherwise it runs again with the limit, and so do the next blocks until
        one ends with nobody waiting (an overload keeps the queue full).  A block with more work than its workers can
        do in its time is overloaded: it goes to the loop with the limit at once (either loop gives the same starts)."""
        if kernels.use_compiled(self.sim.n):  # a long run: every share compiled, however many servers
            start, self.free, waiting = kernels.fcfs_starts(times, services, self.free, self.waiting, self.timeout,
                                                            self.queue_limit)
            self.waiting = deque(waiting)
            return start
        if not self.bounded:
            return np.array(self._schedule(times.tolist(), services.tolist()), dtype=float)
        parts, tight = [np.zeros(0)], True
        for low in range(0, len(times), block):
            t, s = times[low:low + block], services[low:low + block]
            free, waiting = list(self.free), np.array(self.waiting, dtype=float)
            tight = tight and float(s.sum()) <= len(free) * float(t[-1] - t[0])
            if tight:
                start = np.array(self._schedule(t.tolist(), s.tolist(), bounded=False))
                k = np.arange(len(start))
                queued = (len(waiting) - np.searchsorted(waiting, t, side="right")
                          + k - np.minimum(np.searchsorted(start, t, side="right"), k))
                tight = not np.any((queued >= self.queue_limit) & (start > t))
                if tight:
                    held = np.concatenate([waiting, start])
                    self.waiting = deque(held[held > t[-1]].tolist())  # still queued after the last arrival
                else:
                    self.free, self.waiting = free, deque(waiting.tolist())  # someone found the queue full
            if not tight:
                start = np.array(self._schedule(t.tolist(), s.tolist()))
                tight = not any(w > t[-1] for w in self.waiting)
            parts.append(start)
        return np.concatenate(parts)

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
        admitted, waits = self.records((0, 1))
        wait = np.full(self.sim.n, np.nan)
        wait[admitted] = waits
        return {f"{self.spec.name}_wait_ms": wait * 1_000.0}

    def row(self):
        waits, = self.records((1,))
        return {"workers": self.spec.workers, "served": self.served,
                "mean_wait_ms": float(waits.mean() * 1_000.0) if waits.size else 0.0}

    def busy(self):
        starts, finishes = self.records((2, 3))
        return starts, finishes, self.spec.workers
