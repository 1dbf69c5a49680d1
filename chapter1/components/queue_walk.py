"""A message queue's consumers without an event loop (:class:`QueueWalk`): the event-free path of
:class:`~chapter1.components.queue.QueueRun`, which gives the event loop's moments in its order."""

import heapq
import itertools
import math


def cover_end(component, t):
    """When the outage covering ``t`` ends (t itself when none does); outages may follow one another.

    >>> from chapter1.core.component import Component
    >>> box = Component(name="box").fail(10, 20).fail(20, 30)
    >>> cover_end(box, 15), cover_end(box, 5)
    (30, 5)
    """
    end, moved = t, True
    while moved:
        moved = False
        for o in component.outages:
            if o.start_s <= end < o.end_s:
                end, moved = o.end_s, True
    return end


STORE, FREE, CHECK, READY, WAKE, HALF = range(6)


class QueueWalk:
    """A queue's consumers without an event loop: the moments the event loop would visit, in its order.

    Messages are stored at given moments (continuous: no other event falls on one).  A consumer works one message
    at a time; one busy when the consumers die stops there (the message goes back to the front, or is lost when it
    was acknowledged first) and waits for their return, as idle ones woken by a message do.  The autoscaler checks
    every ``check_every_s`` and orders workers ready ``provision_s`` later, or tells some to stop (idle ones at
    once).  Events at the same moment come in the order the event loop scheduled them: each gets a number when
    scheduled, as simpy's events do, and the heap orders by (moment, number).

    >>> from chapter1 import Workload, simulate, queued
    >>> result = simulate(queued(workers=2), Workload.from_rate(10), requests=50, seed=1, engine="fast")  # walked
    >>> int(result.summary()["redeliveries"])
    0
    """

    inline = True  # the common moments worked out in run (False: every one by the methods, as a test does)

    def __init__(self, queue):
        self.q, self.heap, self.number = queue, [], itertools.count()
        self.idle = queue.spec.consumers.workers  # every consumer starts idle (they wait before the first store)
        self.scaling = queue.pool.scaling
        self.consumers = queue.spec.consumers
        self.first = queue.spec.delivery == "at-least-once"  # the work comes first (else the acknowledgement)
        self.exact = self.consumers.distribution == "constant"

    def schedule(self, t, kind, payload=None):
        heapq.heappush(self.heap, (t, next(self.number), kind, payload))

    def run(self, messages, stored):
        """Walk the moments: messages stored at ``stored`` (ascending), the consumers' ends, checks and start-ups.

        The common moments are worked out here, inline (a new message, a delivery's end, the next one taken) while
        the consumers are up and a delivery cannot meet their death (:meth:`_calm`) and none is told to stop; every
        other moment goes to :meth:`event`, :meth:`store`, :meth:`next_message` and :meth:`deliver`, which do the
        same for the common moments and are the reference (a test walks a queue both ways)."""
        q, heap = self.q, self.heap
        if self.scaling is not None:
            self.schedule(self.scaling.policy.check_every_s, CHECK)
        if q.spec.burst_messages:
            self.schedule(q.spec.burst_at_s, STORE, range(q.sim.n, q.sim.n + q.spec.burst_messages))
        waiting, number, pop, push = q.waiting, self.number, heapq.heappop, heapq.heappush
        stored_at, taken, done, applied, deliveries = q.stored, q.taken, q.done, q.applied, q.deliveries
        work_s = q.work_s
        trace_t, trace_n, pool_starts, pool_finishes = q.trace_t, q.trace_n, q.pool.starts, q.pool.finishes
        ack, first, exact, idempotent = q.ack_s, self.first, self.exact, self.consumers.idempotent
        calm = self._calm() if self.inline else [(math.inf, math.inf)]
        g, (low, high) = 0, calm[0]
        idle, working, served, k, size, last = self.idle, q.working, 0, 0, len(stored), 0.0
        while k < size or heap:
            if k < size and (not heap or stored[k] < heap[0][0]):
                now, kind, m = stored[k], None, messages[k]
                k += 1
            else:
                now, _, kind, payload = pop(heap)
            last = now
            while now >= high:
                g += 1
                low, high = calm[g]
            if now < low or q.retire or (kind is not None and (kind != FREE or payload[2] is not None)):
                self.idle, q.working = idle, working
                if kind is None:
                    self.store(now, (m,))
                else:
                    self.event(now, kind, payload)
                idle, working = self.idle, q.working
                continue
            if kind is None:  # a new message: stored, and taken at once by an idle consumer
                if stored_at[m] != stored_at[m]:
                    stored_at[m] = now
                waiting.append(m)
                if not idle:
                    if trace_t[-1] == now:
                        trace_n[-1] = len(waiting)
                    else:
                        trace_t.append(now)
                        trace_n.append(len(waiting))
                    continue
                idle -= 1
            else:  # a delivery done: its consumer takes the next message or waits
                pool_starts.append(payload[0])
                pool_finishes.append(now)
                served += 1
                working -= 1
                if not waiting:
                    idle += 1
                    continue
            m = waiting.popleft()
            if trace_t[-1] == now:
                trace_n[-1] = len(waiting)
            else:
                trace_t.append(now)
                trace_n.append(len(waiting))
            working += 1
            deliveries[m] += 1
            if taken[m] != taken[m]:
                taken[m] = now
            work = work_s[m] if deliveries[m] == 1 else q._draw()
            if idempotent and applied[m] > 0:
                work = 0.0
            if now + (work + ack) > high:  # the consumers die before it ends
                self.timed(m, now, work)
                continue
            half = now + (work if first else ack)
            end = half + (ack if first else work)
            if work > 0 or not idempotent:
                applied[m] += 1
            if done[m] != done[m]:
                done[m] = half if first else end
            if exact:  # constant work: ends can tie, so the second part is scheduled when the event loop does
                push(heap, (half, next(number), HALF, (now, m, ack if first else work, None)))
            else:
                push(heap, (end, next(number), FREE, (now, m, None)))
        self.idle, q.working = idle, working
        q.pool.served += served
        q.end_s = last

    def _calm(self):
        """The stretches [low, high) in which no consumers' outage covers a moment and none starts, in time order
        (the last one's ``high`` infinite), then (inf, inf): a delivery from ``now`` in one meets their death iff it
        lasts past ``high``."""
        calm, low = [], -math.inf
        for o in sorted(self.consumers.outages, key=lambda o: o.start_s):
            if o.start_s > low:  # (an outage that starts where the last one ends covers on: cover_end)
                calm.append((low, o.start_s))
            low = max(low, o.end_s)
        return [*calm, (low, math.inf), (math.inf, math.inf)]

    def event(self, now, kind, payload):
        """One moment off the heap: a burst stored, a delivery's part done, a check, a start-up or a wake-up."""
        if kind == STORE:
            self.store(now, payload)
        elif kind == FREE:
            self.free(now, *payload)
        elif kind == HALF:  # the first part of a delivery done: the second one (start, message, length, end)
            self.schedule(now + payload[2], FREE, (payload[0], payload[1], payload[3]))
        elif kind == CHECK:
            self.check(now)
        elif kind == READY:
            self.scaling.starting -= 1
            self.scaling.running += 1
            self.scaling.trace(now)
            self.next_message(now)
        else:  # WAKE: an idle or waiting consumer comes back to the queue
            self.next_message(now)

    def store(self, now, messages, front=False):
        q = self.q
        for m in messages:
            if q.stored[m] != q.stored[m]:
                q.stored[m] = now
            (q.waiting.appendleft if front else q.waiting.append)(m)
        self.traced(now)
        woken = len(messages)  # as many idle consumers as messages came; every one while the consumers are down
        if woken < self.idle and self.q.starts and cover_end(self.consumers, now) > now:
            woken = self.idle
        if woken == 1 and self.idle and not front:  # a new message (its moment no other event's): taken now
            self.idle -= 1
            self.next_message(now)
            return
        for _ in range(min(woken, self.idle)):
            self.idle -= 1
            self.schedule(now, WAKE)

    def traced(self, now):
        q = self.q
        if q.trace_t[-1] == now:
            q.trace_n[-1] = len(q.waiting)
        else:
            q.trace_t.append(now)
            q.trace_n.append(len(q.waiting))

    def next_message(self, now):
        """A consumer free at ``now``: it stops if told to, waits while the consumers are down, else takes the oldest
        message, else waits for one."""
        q = self.q
        back = cover_end(self.consumers, now) if q.starts else now
        if q.retire:
            q.retire -= 1
            self.scaling.running -= 1
            self.scaling.trace(now)
        elif back > now:
            if back != math.inf:  # (down for good: it never comes back)
                self.schedule(now + (back - now), WAKE)
        elif q.waiting:
            m = q.waiting.popleft()
            self.traced(now)
            q.working += 1
            self.deliver(m, now)
        else:
            self.idle += 1

    def deliver(self, m, now):
        """Schedule the end of delivery ``m`` from ``now``: done, or the consumer's death part-way (as
        :meth:`QueueRun._deliver` times it)."""
        q, consumers = self.q, self.consumers
        q.deliveries[m] += 1
        if q.taken[m] != q.taken[m]:
            q.taken[m] = now
        work = q.work_s[m] if q.deliveries[m] == 1 else q._draw()
        if consumers.idempotent and q.applied[m] > 0:
            work = 0.0
        self.timed(m, now, work)

    def timed(self, m, now, work):
        """Schedule the end of delivery ``m`` taken at ``now`` with ``work`` seconds of work."""
        q = self.q
        crash = next((s - now for s in q.starts if now <= s < now + (work + q.ack_s)), math.inf)
        first, second = (work, q.ack_s) if self.first else (q.ack_s, work)
        if crash < first:  # dies in the first part: the broker still holds the message
            self.schedule(now + crash, FREE, (now, m, True))
            return
        half = now + first
        if self.first:
            self._applied(m, work, half)
        if crash < first + second:  # dies in the second part
            self.schedule(half, HALF, (now, m, crash - first, False))
            return
        end = half + second
        if not self.first:
            self._applied(m, work, end)
        if self.exact:  # constant work: ends can tie, so the second part is scheduled when the event loop does
            self.schedule(half, HALF, (now, m, second, None))
        else:
            self.schedule(end, FREE, (now, m, None))

    def _applied(self, m, work, at):
        q = self.q
        if work > 0 or not self.consumers.idempotent:
            q.applied[m] += 1
        if q.done[m] != q.done[m]:
            q.done[m] = at

    def free(self, now, start, m, again):
        """A delivery ends at ``now``: done (``again`` None), or cut short by the consumers' death, the message
        stored again (True) or lost (False: acknowledged, never done)."""
        q = self.q
        q.pool.starts.append(start)
        q.pool.finishes.append(now)
        q.pool.served += 1
        if again is not None:
            if again or self.first:
                self.store(now, (m,), front=True)
            else:
                q.lost[m] = True
        q.working -= 1
        self.next_message(now)

    def check(self, now):
        q, scaling = self.q, self.scaling
        if now > scaling.last_input_s and not q.waiting and not q.working:
            return  # nothing more can happen: the autoscaler stops watching
        change = scaling.rule.decide(now, len(q.waiting), scaling.running + scaling.starting - q.retire)
        ready = []
        if change > 0:
            scaling.starting += change
            ready = [now + scaling.policy.provision_s] * change
        elif change < 0:
            q.retire += min(-change, scaling.running - q.retire)
            for _ in range(self.idle):  # every idle consumer woken: the first ones told to stop do
                self.schedule(now, WAKE)
            self.idle = 0
        scaling.trace(now)
        self.schedule(now + scaling.policy.check_every_s, CHECK)  # the next check, then the start-ups (in order)
        for t in ready:
            self.schedule(t, READY)
