"""A message queue (메시지 큐): a broker that stores messages, and a pool of consumers that work them off later.

The first *asynchronous* kind.  A producer's request (the web tier publishing "resize this photo")
is answered as soon as the broker has stored the message: that is the request's own latency.  The
work happens later, when one of the :class:`Consumers` takes the message from the queue; each
message's ``done_ms`` (arrival to the end of its work) and ``queue_wait_ms`` (stored to taken) are
columns of ``Result.requests``, and ``backlog_max``, ``messages_lost`` and ``duplicates`` reach
``Result.summary()``.

What the model does, mechanism by mechanism:

* **Consumers down** (``arch.fail("consumers", ...)``): they take nothing; the producer is still
  answered and the backlog grows by λ·t.  A message a consumer held when it died goes back to the
  queue (at-least-once) or is gone (at-most-once: it was acknowledged on receipt).
* **Acknowledgement** (확인 응답): at-least-once consumers acknowledge after the work, which takes
  ``ack_ms``.  A consumer that dies after the work but before its acknowledgement reaches the broker
  gets the message redelivered, and the work is done twice: a **duplicate** — unless the consumer is
  ``idempotent`` (it remembers which messages it has done and skips them).
* **Crashes** (``crash_probability``): each delivery, the consumer process dies with that chance at a
  moment drawn uniformly over its work and acknowledgement, and restarts at once.
* **Broker down** (``arch.fail("queue", ...)``): publishing fails (the producer's requests fail).
  An in-memory broker (``durable=False``) comes back empty: every stored message is lost; a durable
  one writes each message to disk first (``persist_ms`` more per publish) and keeps them.
* **Burst** (``burst_messages`` at ``burst_at_s``): a batch job publishes that many messages at once
  (they are not requests of the workload, but the consumers work them off like any other).

Consumers take messages in the order they were stored (a redelivered message goes to the front).

>>> from chapter1 import Workload, simulate, queued
>>> result = simulate(queued(workers=8), Workload.from_rate(50), requests=2_000, seed=1)
>>> s = result.summary()
>>> bool(s["p95_ms"] < s["done_p95_ms"])      # answered once stored, done later
True
>>> int(s["messages_lost"]), int(s["duplicates"])
(0, 0)
"""

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, register
from .autoscaling import Autoscaler, Scaling
from .queue_walk import QueueWalk, cover_end
from .server import Workers

DELIVERY = ("at-least-once", "at-most-once")
MAX_BURST = 1_000_000


@dataclass(frozen=True)
class Consumers(Workers, Component):
    """A pool of ``workers`` consumers (소비자); each works one message at a time for ``service_time_ms``.

    ``ack_ms``: how long the acknowledgement (확인 응답) takes — after the work for at-least-once delivery
    (the window in which a crash makes a duplicate), before it for at-most-once; a consumer is busy for
    both, so one completes 1,000 / (service_time_ms + ack_ms) messages a second.
    ``crash_probability``: the chance a consumer process dies during one delivery; ``idempotent``: a
    consumer that skips a message it has already done.  ``autoscale``: an
    :class:`~chapter1.components.autoscaling.Autoscaler` that adds and removes workers on the backlog
    (``workers`` is then the pool at the start).

    >>> Consumers(workers=4, service_time_ms=195, ack_ms=5).capacity
    20.0
    """

    name: str = "consumers"
    workers: int = 8
    service_time_ms: float = 95.0
    distribution: str = "exponential"
    ack_ms: float = 5.0
    crash_probability: float = 0.0
    idempotent: bool = False
    autoscale: Autoscaler | None = None

    def __post_init__(self):
        super().__post_init__()
        self.check_workers()
        if self.autoscale is not None:
            check.instance("autoscale", self.autoscale, Autoscaler, "Autoscaler(min_workers=2, max_workers=16)")
            self.autoscale.check_start(self.workers)
        check.number("ack_ms", self.ack_ms, low=0, high=3_600_000)
        check.number("crash_probability", self.crash_probability, low=0, high=1)
        if not isinstance(self.idempotent, bool):
            raise TypeError(f"idempotent must be True or False; got {self.idempotent!r}")

    def busy_ms(self):
        """A consumer is busy for the work and its acknowledgement: service_rate = 1000 / (work + ack)."""
        return self.service_time_ms + self.ack_ms

    def runtime(self, sim, index):
        return ConsumersRun(self, sim, index)

    def station(self):
        fixed = self.distribution == "exponential" and self.autoscale is None
        return (self.service_rate, self.workers) if fixed else None

    def describe(self):
        extra = " · idempotent" if self.idempotent else ""
        scaling = [] if self.autoscale is None else [f"autoscaled, start {self.autoscale.provision_s:g} s"]
        return ["consumers", self.label(), f"up to {self.capacity:,.0f} msg/s{extra}", *scaling]

    def label(self):
        scaled = self.autoscale
        workers = self.workers if scaled is None else f"{scaled.min_workers}-{scaled.max_workers}"
        return f"{workers} workers x {self.service_time_ms + self.ack_ms:g} ms"


class ConsumersRun(Runtime):
    """The consumer pool's records: each delivery's work period (for utilisation) and what it did.

    The broker (:class:`QueueRun`) runs the consumer processes; a request never reaches this part
    directly, so :meth:`serve` is the base class's (answers at once).
    """

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.starts, self.finishes, self.served = [], [], 0
        self.scaling = None  # the autoscaler's runtime, set by the broker when the pool autoscales

    def row(self):
        return {"workers": self.spec.workers, "served": self.served, "mean_wait_ms": math.nan}

    def busy(self):
        """Service periods; an autoscaled pool's workers are its mean running workers over the window."""
        workers = self.spec.workers if self.scaling is None else self.scaling.mean_running(float(self.sim.arrival[-1]))
        return np.asarray(self.starts, dtype=float), np.asarray(self.finishes, dtype=float), workers


def _example():
    # 50 msg/s on 8 consumers x (95 ms of work + 5 ms to acknowledge) = 80 msg/s: 62 % busy.
    # The broker going down fails publishing.
    return Architecture("queued work", (MessageQueue(consumers=Consumers(workers=8)),))


@register(example=_example)
@dataclass(frozen=True)
class MessageQueue(Component):
    """A broker that stores each request as a message and answers at once; ``consumers`` work them off later.

    See the module docstring for what it models.

    >>> MessageQueue(durable=False).describe()
    ['broker, in memory', 'at-least-once · publish 2 ms']
    """

    name: str = "queue"
    consumers: Component = field(default_factory=Consumers)
    durable: bool = True
    delivery: str = "at-least-once"
    publish_ms: float = 2.0
    persist_ms: float = 3.0
    burst_messages: int = 0
    burst_at_s: float = 10.0

    def __post_init__(self):
        super().__post_init__()
        check.instance("consumers", self.consumers, Consumers, "Consumers(workers=8)")
        if not isinstance(self.durable, bool):
            raise TypeError(f"durable must be True or False; got {self.durable!r}")
        check.choice("delivery", self.delivery, DELIVERY)
        check.number("publish_ms", self.publish_ms, low=0, high=60_000)
        check.number("persist_ms", self.persist_ms, low=0, high=60_000)
        check.number("burst_messages", self.burst_messages, low=0, high=MAX_BURST, integer=True)
        check.number("burst_at_s", self.burst_at_s, low=0, high=10**7)

    @property
    def parts(self):
        return (self.consumers,)

    @property
    def store_s(self):
        """Seconds to store one message: the publish, plus the disk write of a durable broker."""
        return (self.publish_ms + (self.persist_ms if self.durable else 0.0)) / 1_000.0

    def runtime(self, sim, index):
        return QueueRun(self, sim, index)

    def describe(self):
        store = "durable (on disk)" if self.durable else "in memory"
        return [f"broker, {store}", f"{self.delivery} · publish {self.store_s * 1_000:g} ms"]

    def label(self):
        return f"message queue, {'durable' if self.durable else 'in memory'}"


class QueueRun(Runtime):
    """The broker at run time: the stored messages, ``workers`` consumer processes, every message's fate."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.pool = self.parts[0]
        consumers, n = spec.consumers, sim.n
        total = n + spec.burst_messages
        rng = sim.stream(spec.name)
        mean_s = consumers.service_time_ms / 1_000.0
        self.rng = rng
        self.mean_s = mean_s
        draws = rng.exponential(mean_s, total) if consumers.distribution == "exponential" else np.full(total, mean_s)
        self.work_s = draws.tolist()  # each message's first delivery; a redelivery draws anew
        self.ack_s = consumers.ack_ms / 1_000.0
        nan = math.nan  # per-message state in lists (numpy element access is slow in the event loop)
        self.stored, self.taken, self.done = [nan] * total, [nan] * total, [nan] * total
        self.applied = [0] * total     # times the work's effect happened
        self.deliveries = [0] * total
        self.lost = [False] * total
        self.waiting = deque()
        self.trace_t, self.trace_n = [0.0], [0]          # backlog (messages waiting) after every change
        self.idle = deque()  # the events idle consumers wait on, in the order they began to wait
        self.starts = sorted(o.start_s for o in consumers.outages)
        self.working, self.retire = 0, 0      # messages in service; consumers told to stop
        self.end_s = None                     # the event-free path's last moment (the event loop's: env.now)
        for _ in range(consumers.workers):
            self.env.process(self.consume())
        if consumers.autoscale is not None:
            last_input = max(float(sim.arrival[-1]), spec.burst_at_s if spec.burst_messages else 0.0)
            self.pool.scaling = Scaling(consumers.autoscale, self, consumers.workers, last_input)
        if not spec.durable:
            for outage in spec.outages:
                self.env.process(self._wipe(outage.start_s))
        if spec.burst_messages:
            self.env.process(self._burst())

    # -- the producer's side -------------------------------------------------------------------------

    def serve(self, i):
        env, spec = self.env, self.spec
        if not spec.is_up(env.now):
            return ERROR
        if spec.store_s:
            yield env.timeout(spec.store_s)
            if not spec.is_up(env.now):  # the broker died while storing it
                return ERROR
        self._store(i)
        return OK

    def _store(self, i, front=False):
        if self.stored[i] != self.stored[i]:  # NaN: stored for the first time
            self.stored[i] = self.env.now
        (self.waiting.appendleft if front else self.waiting.append)(i)
        self._traced()
        self._notify(1)

    def _burst(self):
        yield self.env.timeout(self.spec.burst_at_s)
        for m in range(self.sim.n, self.sim.n + self.spec.burst_messages):
            self.stored[m] = self.env.now
            self.waiting.append(m)
        self._traced()
        self._notify(self.spec.burst_messages)

    def _wipe(self, at_s):
        yield self.env.timeout(at_s)
        for m in self.waiting:
            self.lost[m] = True
        self.waiting.clear()
        self._traced()

    def _traced(self):
        now, size = self.env.now, len(self.waiting)
        if self.trace_t[-1] == now:
            self.trace_n[-1] = size
        else:
            self.trace_t.append(now)
            self.trace_n.append(size)

    # -- the consumers' side -------------------------------------------------------------------------

    def wake(self):
        """Wake every idle consumer (some are told to stop)."""
        self._notify(len(self.idle))

    def _notify(self, messages):
        """Wake as many idle consumers as new ``messages`` (every one while the consumers or the broker are down:
        each then waits for the end of the outage).  The same as waking all of them each time: those woken
        in vain would only go back to waiting, in the same order."""
        idle, now = self.idle, self.env.now
        if messages < len(idle) and (self.starts or self.spec.outages):
            if max(cover_end(self.spec.consumers, now), cover_end(self.spec, now)) > now:
                messages = len(idle)
        for _ in range(min(messages, len(idle))):
            idle.popleft().succeed()

    def finished(self, last_input_s):
        """True once nothing more can happen: every message is in, none waits or is in service (or the
        consumers or the broker are down for good)."""
        now, consumers = self.env.now, self.spec.consumers
        if math.isinf(max(cover_end(consumers, now), cover_end(self.spec, now))):
            return True
        # (after the last input: a check at that very moment may come before a burst is stored)
        return now > last_input_s and not self.waiting and not self.working

    def consume(self):
        """One consumer process: take the oldest message, work it, acknowledge; stop when told to."""
        env, spec, consumers = self.env, self.spec, self.spec.consumers
        while True:
            if self.retire:
                self.retire -= 1
                self.pool.scaling.stopped()
                return
            back = max(cover_end(consumers, env.now), cover_end(spec, env.now))
            if back > env.now:
                if math.isinf(back):
                    return
                yield env.timeout(back - env.now)
                continue
            if not self.waiting:
                woken = env.event()
                self.idle.append(woken)
                yield woken
                continue
            m = self.waiting.popleft()
            self._traced()
            self.working += 1
            yield from self._deliver(m)
            self.working -= 1

    def _deliver(self, m):
        """Deliver message ``m`` to this consumer: its work and acknowledgement, or a crash part-way."""
        env, spec, consumers = self.env, self.spec, self.spec.consumers
        at_least_once = spec.delivery == "at-least-once"
        self.deliveries[m] += 1
        if self.taken[m] != self.taken[m]:
            self.taken[m] = env.now
        work = self.work_s[m] if self.deliveries[m] == 1 else self._draw()
        if consumers.idempotent and self.applied[m] > 0:
            work = 0.0  # it recognises the message and skips the work
        ack, start = self.ack_s, env.now
        crash = self._crash_after(work + ack)
        # at-least-once: work, then acknowledge; at-most-once: acknowledge, then work
        first, second = (work, ack) if at_least_once else (ack, work)
        if crash < first:  # died in the first part: the broker still holds the message
            yield env.timeout(crash)
            self._worked(start)
            self._store(m, front=True)
            return
        yield env.timeout(first)
        if at_least_once:
            self._applied(m, work)
        if crash < first + second:  # died in the second part
            yield env.timeout(crash - first)
            self._worked(start)
            if at_least_once:
                self._store(m, front=True)  # done, but not acknowledged: it comes again
            else:
                self.lost[m] = True  # acknowledged on receipt, never done
            return
        yield env.timeout(second)
        if not at_least_once:
            self._applied(m, work)
        self._worked(start)

    def _applied(self, m, work):
        if work > 0 or not self.spec.consumers.idempotent:
            self.applied[m] += 1
        if self.done[m] != self.done[m]:
            self.done[m] = self.env.now

    def _draw(self):
        if self.spec.consumers.distribution == "exponential":
            return float(self.rng.exponential(self.mean_s))
        return self.mean_s

    def _crash_after(self, span):
        """Seconds into a delivery of length ``span`` at which this consumer dies (inf: it does not)."""
        now, crash = self.env.now, math.inf
        for s in self.starts:
            if now <= s < now + span:
                crash = s - now
                break
        p = self.spec.consumers.crash_probability
        if p and self.rng.random() < p:
            crash = min(crash, float(self.rng.uniform(0.0, span)))
        return crash

    def _worked(self, start):
        self.pool.starts.append(start)
        self.pool.finishes.append(self.env.now)
        self.pool.served += 1

    # -- the event-free path -------------------------------------------------------------------------

    def batchable(self):
        """Without events when the broker never dies and consumers do not crash at random (they may die and come
        back), and an autoscaled pool has no burst, no deaths and exponential work (its checks and start-ups fall
        on exact moments; work of random length never meets them)."""
        spec, consumers = self.spec, self.spec.consumers
        if spec.outages or consumers.crash_probability:
            return False
        return consumers.autoscale is None or (not spec.burst_messages and not consumers.outages
                                               and consumers.distribution == "exponential")

    def exact_times(self):
        return bool(self.spec.store_s) or self.spec.consumers.distribution == "constant"

    def admit_batch(self, requests, times):
        """Store each request's message (answered once stored) and let the consumers work them off without events."""
        stored = times + self.spec.store_s if self.spec.store_s else times
        QueueWalk(self).run(requests.tolist(), stored.tolist())
        return np.full(len(requests), OK, dtype=np.int8), stored

    # -- what it reports -----------------------------------------------------------------------------

    def backlog(self):
        """The backlog over time as a step function: (times, messages waiting from each time on)."""
        return np.asarray(self.trace_t), np.asarray(self.trace_n)

    @property
    def last_s(self):
        """The moment of the run's last event (the last message done, or the autoscaler's last check or start-up)."""
        return self.env.now if self.end_s is None else self.end_s

    def _arrays(self):
        return {name: np.asarray(getattr(self, name)) for name in
                ("stored", "taken", "done", "applied", "deliveries", "lost")}

    def queue_wait_ms(self):
        """Each request's message's wait in the queue (ms, stored to first taken; NaN if never taken): the
        ``queue_wait_ms`` column of ``Result.requests``, alone."""
        n = self.sim.n
        return (np.asarray(self.taken[:n]) - np.asarray(self.stored[:n])) * 1_000.0

    def columns(self):
        n, arrival, a = self.sim.n, self.sim.arrival, self._arrays()
        return {"done_ms": (a["done"][:n] - arrival) * 1_000.0, "queue_wait_ms": self.queue_wait_ms(),
                "deliveries": a["deliveries"][:n], "message_lost": a["lost"][:n]}

    def figures(self):
        n, a = self.sim.n, self._arrays()
        done = (a["done"][:n] - self.sim.arrival)[~np.isnan(a["done"][:n])] * 1_000.0
        waits = (a["taken"] - a["stored"])[~np.isnan(a["taken"])] * 1_000.0
        scaled = {} if self.pool.scaling is None else self.pool.scaling.figures(self.last_s)
        return {**scaled, "backlog_max": float(max(self.trace_n)), "messages_lost": float(a["lost"].sum()),
                "duplicates": float(np.maximum(a["applied"] - 1, 0).sum()),
                "redeliveries": float(np.maximum(a["deliveries"] - 1, 0).sum()),
                "done_p50_ms": float(np.percentile(done, 50)) if done.size else math.nan,
                "done_p95_ms": float(np.percentile(done, 95)) if done.size else math.nan,
                "queue_wait_mean_ms": float(waits.mean()) if waits.size else math.nan}

    def row(self):
        a = self._arrays()
        waits = (a["taken"] - a["stored"])[~np.isnan(a["taken"])]
        return {"workers": None, "served": int(np.sum(~np.isnan(a["stored"]))),
                "mean_wait_ms": float(waits.mean() * 1_000.0) if waits.size else 0.0}
