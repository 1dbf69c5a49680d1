"""Database replication: one primary takes every write, replicas copy it and serve the reads.

A :class:`ReplicaSet` holds a primary :class:`~chapter1.components.server.Database` and ``k``
:class:`Replica` databases as parts, and routes each request by its kind (``Simulation.write``,
drawn from the workload's ``read_ratio``):

* a **write** goes to the primary.  Once the primary has committed it, the write travels to every
  replica; it reaches each one after its own replication lag (exponential, mean
  ``replication_lag_ms``, drawn from the set's named stream) and costs that replica a replay
  (``replay_cost`` times its service time), so every replica does the work of every write;
* a **read** goes to a live replica (in turn, or at random), or to the primary when no replica is
  left.  It is **stale** when some write to its key (``Simulation.key``) that the primary has
  acknowledged has not yet reached that replica when the read is answered.  The set keeps, per key
  and per member, the moment the last write to that key arrives there, so staleness is simulated,
  never drawn from a formula.

Faults.  A dead member keeps receiving its share until the set notices, ``failover_s`` after the
death (those requests fail).  A dead replica's reads then move to the others.  A dead primary's
writes fail until the set promotes the first live replica; every write the old primary had
acknowledged that had not reached that replica when the primary died is **lost**.  The other
replicas re-synchronise from the new primary (instantly, in this model) and the old primary does
not come back as a member.

``mode="sync"``: the primary acknowledges a write only once every live replica has it.  Writes then
wait for the slowest replica's lag, but no acknowledged write can be lost and no read is stale.
"""

import math
from dataclasses import dataclass, field, replace
from heapq import heappop, heappush, heapreplace
from operator import itemgetter

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, Share, register
from .server import Database, ServerRun, WebServer

MODES = ("async", "sync")
ROUTINGS = ("round_robin", "random")
MAX_REPLICAS = 32


def _example(replicas=2):
    primary = Database(name="primary", workers=4)
    copies = tuple(Replica(name=f"replica-{k + 1}", workers=4) for k in range(replicas))
    return Architecture("replicated", (WebServer(workers=8, service_time_ms=20),
                                       ReplicaSet(primary=primary, replicas=copies, failover_s=3.0)))


@register(example=_example)
@dataclass(frozen=True)
class Replica(Database):
    """A read replica (부 데이터베이스): a database that serves reads and replays every write it receives.

    >>> Replica(name="replica-1").roles
    ('database', 'replica')
    """

    name: str = "replica"
    roles: tuple = ("database", "replica")

    def runtime(self, sim, index):
        return ReplicaRun(self, sim, index)


@register(example=_example)
@dataclass(frozen=True)
class ReplicaSet(Component):
    """A primary database (주 데이터베이스) and its read ``replicas``, reached as one data tier.

    ``replicas`` are :class:`Replica` objects (a plain Database becomes one).  ``replication_lag_ms``
    is the mean time for a committed write to reach a replica; ``failover_s`` how long the set takes
    to notice a dead member (and, for the primary, to promote a replica); ``mode`` "async" or
    "sync"; ``routing`` of reads "round_robin" or "random"; ``replay_cost`` what replaying one write
    costs a replica, as a share of its mean service time.

    >>> rs = ReplicaSet(primary=Database(name="primary"), replicas=(Replica(name="r1"), Replica(name="r2")))
    >>> [p.name for p in rs.parts], rs.describe()[0]
    (['primary', 'r1', 'r2'], 'primary + 2 replicas')
    """

    name: str = "database"
    primary: Database = field(default_factory=lambda: Database(name="primary"))
    replicas: tuple = ()
    replication_lag_ms: float = 100.0
    failover_s: float = 10.0
    mode: str = "async"
    routing: str = "round_robin"
    replay_cost: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check.instance("primary", self.primary, Database, "Database(name='primary')")
        replicas = check.sequence("replicas", self.replicas, Database, "Replica(name='replica-1')")
        if len(replicas) > MAX_REPLICAS:
            raise ValueError(f"replicas must hold 0 to {MAX_REPLICAS} databases; got {len(replicas)}")
        object.__setattr__(self, "replicas", tuple(r if isinstance(r, Replica) else _as_replica(r) for r in replicas))
        check.number("replication_lag_ms", self.replication_lag_ms, low=0, high=3_600_000)
        check.number("failover_s", self.failover_s, low=0, high=86_400)
        check.choice("mode", self.mode, MODES)
        check.choice("routing", self.routing, ROUTINGS)
        check.number("replay_cost", self.replay_cost, low=0, high=100)

    @property
    def parts(self):
        return (self.primary, *self.replicas)

    def runtime(self, sim, index):
        return ReplicaSetRun(self, sim, index)

    def describe(self):
        k = len(self.replicas)
        how = "sync" if self.mode == "sync" else f"async, lag {self.replication_lag_ms:g} ms"
        return [f"primary + {k} replica{'' if k == 1 else 's'}", how, f"failover {self.failover_s:g} s"]

    def label(self):
        return f"primary + {len(self.replicas)} replicas"

    def part_note(self, part):
        return ["primary: writes"] if part.name == self.primary.name else ["replica: reads"]


def _as_replica(database):
    fields = {name: getattr(database, name) for name in database.__dataclass_fields__ if name != "roles"}
    return Replica(**fields)


# -- at run time -----------------------------------------------------------------------------

class ReplicaRun(ServerRun):
    """A :class:`Replica` at run time: a server that also replays writes (its busy time counts them)."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.replay_work = sim.stream(f"{spec.name} replay").exponential(spec.service_time_ms / 1_000.0, sim.n)
        self.replay_from, self.replay_to = [], []
        self.due, self.replayed, self.queued = [], [], 0  # event-free: replays due (a heap), (end, start) of the others

    def replay(self, i, delay_s, cost):
        """Apply write ``i`` after ``delay_s``: wait for a worker, then work ``cost`` x a draw of its service time.

        Driven by event callbacks rather than a process: a replica replays every write, so this is its hot path.
        """
        if cost > 0:
            self.env.timeout(max(0.0, delay_s)).callbacks.append(lambda _: self._queue_replay(i, cost))

    def _queue_replay(self, i, cost):
        if self.up:
            slot = self.workers.request()
            slot.callbacks.append(lambda _: self._start_replay(slot, i, cost))

    def _start_replay(self, slot, i, cost):
        if not self.up:
            self.workers.release(slot)
            return
        start = self.env.now
        self.env.timeout(self.replay_work[i] * cost).callbacks.append(lambda _: self._end_replay(slot, start))

    def _end_replay(self, slot, start):
        self.workers.release(slot)
        self.replay_from.append(start)
        self.replay_to.append(self.env.now)

    # -- the event-free path, one request at a time ------------------------------------------------------------

    def queue_replay(self, at, work):
        """A replay that joins the line at ``at`` and needs ``work`` seconds (without events: it joins when a later
        read arrives, or at the end of the run)."""
        self.queued += 1
        heappush(self.due, (at, self.queued, work))  # (the count keeps replays due at one moment in order)

    def admit(self, i, t):
        """A read without events: the replays due before ``t`` join the line first (a read first at the same moment)."""
        if self.due:
            self._replay_until(t)
        return ServerRun.admit(self, i, t)

    def _replay_until(self, t):
        """:meth:`_step` for the replays due before ``t``, in order of arrival: never refused, never giving up."""
        due, free, waiting, bounded, replayed = self.due, self.free, self.waiting, self.bounded, self.replayed
        while due and due[0][0] < t:
            at, _, work = heappop(due)
            start = free[0]
            if bounded:
                while waiting and waiting[0] <= at:
                    waiting.popleft()
            if start > at:
                if bounded:
                    waiting.append(start)
            else:
                start = at
            heapreplace(free, start + work)
            replayed.append((start + work, start))

    def _flush(self):
        """The replays still due when the run ends, then every replay's period in order of its end (as the events
        record them)."""
        if self.due:
            self._replay_until(math.inf)
        if self.replayed:
            periods = sorted(self.replayed, key=itemgetter(0))
            self.replay_to += [end for end, _ in periods]
            self.replay_from += [start for _, start in periods]
            self.replayed = []

    def row(self):
        self._flush()
        return {**super().row(), "replayed": len(self.replay_from)}

    def busy(self):
        self._flush()
        starts, ends, workers = super().busy()
        return np.concatenate([starts, self.replay_from]), np.concatenate([ends, self.replay_to]), workers


class ReplicaSetRun(Runtime):
    """A :class:`ReplicaSet` at run time: routing by kind, per-key replication state, promotion."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)  # self.parts: the primary's runtime, then each replica's
        n, members = sim.n, len(spec.parts)
        rng = sim.stream(spec.name)
        lag_s = spec.replication_lag_ms / 1_000.0
        self.lag = rng.exponential(lag_s, (n, members)) if lag_s > 0 else np.zeros((n, members))
        self.picks = rng.random(n)
        self.pick = self.picks.tolist()
        self.is_write, self.key = sim.write.tolist(), sim.key.tolist()
        self.member = np.full(n, -1, dtype=np.int16)     # which member served the request
        self.as_replica = np.zeros(n, dtype=bool)         # sent there as a replica (a read)
        self.stale, self.lost = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        self.time_s = np.full(n, np.nan)
        self.commit = np.full(n, np.nan)                  # when the primary committed each write
        self.primary, self.retired, self.turn = 0, set(), -1
        self.fresh = {}     # key -> [time the last acknowledged write to it reaches member m, for each m]
        self.since = []     # writes acknowledged by the current primary (a promotion checks them)
        self.promoted_at = math.nan
        self.changing = any(p.outages for p in spec.parts)
        self.static = list(range(1, members))
        self.pending = [], []  # event-free path, one at a time: writes committed and (read, answer, replica) to settle
        for m, part in enumerate(spec.parts):
            for outage in part.outages:
                self.env.process(self._notice(m, outage))

    # -- routing -----------------------------------------------------------------------------------

    def _seen_down(self, m, t):
        wait = self.spec.failover_s
        return any(o.start_s + wait <= t < o.end_s for o in self.spec.parts[m].outages)

    def readers(self, t):
        """Replicas the set sends reads to at ``t``: not the primary, not retired, not known to be down."""
        if not self.changing:
            return self.static
        return [m for m in range(1, len(self.parts)) if m != self.primary and m not in self.retired
                and not self._seen_down(m, t)]

    def serve(self, i):
        env, start = self.env, self.env.now
        if self.spec.outages and not self.spec.is_up(start):
            return ERROR
        if self.is_write[i]:
            status = yield from self._write(i)
        else:
            status = yield from self._read(i)
        self.time_s[i] = env.now - start
        return status

    def _forward(self, i, m):
        self.member[i] = m
        backend = self.parts[m]
        status = yield from backend.serve(i)
        if status != OK:
            self.sim.failed_at[i] = backend.index
        return status

    def _read(self, i):
        readers = self.readers(self.env.now)
        if readers:
            if self.spec.routing == "random":
                m = readers[int(self.pick[i] * len(readers))]
            else:
                self.turn += 1
                m = readers[self.turn % len(readers)]
            self.as_replica[i] = True
        else:
            m = self.primary
        status = yield from self._forward(i, m)
        if status == OK and self.as_replica[i]:
            fresh = self.fresh.get(self.key[i])
            self.stale[i] = fresh is not None and fresh[m] > self.env.now
        return status

    def _write(self, i):
        env, p = self.env, self.primary
        status = yield from self._forward(i, p)
        if status != OK:
            return status
        self.commit[i] = committed = env.now
        if self.spec.mode == "sync":
            up = [m for m in self.readers(committed) if self.spec.parts[m].is_up(committed)]
            wait = max((self.lag[i, m] for m in up), default=0.0)
            if wait > 0:
                yield env.timeout(wait)
            if self.primary != p or not self.spec.parts[p].is_up(env.now) or self._died_between(p, committed):
                self.sim.failed_at[i] = self.parts[p].index  # the primary died before the replicas confirmed
                return ERROR
        self._replicate(i, p, committed)
        return OK

    def _died_between(self, m, start):
        return any(start < o.start_s <= self.env.now for o in self.spec.parts[m].outages)

    def _replicate(self, i, p, committed):
        """Write ``i`` (acknowledged now) travels from primary ``p`` to every other current member."""
        now, parts = self.env.now, self.spec.parts
        fresh = self.fresh.setdefault(self.key[i], [0.0] * len(parts))
        for m in range(1, len(parts)):
            if m == p or m in self.retired:
                continue
            arrive = _back_up(parts[m], committed + self.lag[i, m])
            if arrive > fresh[m]:
                fresh[m] = arrive
            if math.isfinite(arrive):
                self.parts[m].replay(i, arrive - now, self.spec.replay_cost)
        self.since.append(i)

    # -- the event-free path -----------------------------------------------------------------------

    def batchable(self):
        """Without events when nothing fails, writes are asynchronous and service times are drawn (no ties)."""
        return (self.spec.mode == "async" and not self.spec.outages and not self.changing
                and all(p.batchable() and not p.exact_times() for p in self.parts))

    def admit(self, i, t):
        """:meth:`serve` for one request without events (requests come in order of arrival): a write goes to the
        primary, and once committed its replays are due at each replica when its lag has passed (they join a
        replica's line when a later read arrives there); a read goes to its replica, or to the primary when there is
        none.  Whether a read was stale is settled when the run is read (:meth:`_settle`): a write that arrives
        after it may commit before its answer."""
        parts = self.parts
        if self.is_write[i]:
            m = 0
            status, leave = parts[0].admit(i, t)
            if status == OK:
                self.commit[i] = leave
                self.since.append(i)
                self.pending[0].append(i)
                cost = self.spec.replay_cost
                if cost > 0:
                    lag = self.lag[i].tolist()
                    for r in range(1, len(parts)):  # each fires at commit + (arrival - commit), as a timer does
                        parts[r].queue_replay(leave + ((leave + lag[r]) - leave), parts[r].replay_work[i] * cost)
        else:
            replicas = len(parts) - 1
            if not replicas:
                m = 0
            elif self.spec.routing == "random":
                m = 1 + int(self.pick[i] * replicas)
            else:
                self.turn += 1
                m = 1 + self.turn % replicas
            status, leave = parts[m].admit(i, t)
            if m:
                self.as_replica[i] = True
                if status == OK:
                    self.pending[1].append((i, leave, m))
        self.member[i] = m
        if status != OK:
            self.sim.failed_at[i] = parts[m].index
        self.time_s[i] = leave - t
        return status, leave

    def _settle(self):
        """Stale reads among those :meth:`admit` answered, the commits and answers walked in time order."""
        written, reads = self.pending
        if reads:
            read, answered, member = zip(*reads)
            self._mark_stale(np.array(written, dtype=np.int64), self.commit[written], np.array(read, dtype=np.int64),
                             np.array(answered), np.array(member, dtype=np.int64))
        self.pending = [], []

    def admit_batch(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: the primary admits the writes (and the
        reads when there is no replica); each replica serves its reads and, first come first served among them,
        the replays of the writes committed, each arriving when its lag has passed.  The same answer as
        :meth:`serve`; a read is stale when a write to its key committed before the read's answer reaches its
        replica after it."""
        n, replicas = len(requests), len(self.parts) - 1
        status, leave = np.empty(n, dtype=np.int8), np.empty(n)
        writes = self.sim.write[requests]
        member = np.zeros(n, dtype=np.int64)
        if replicas:
            reads = np.flatnonzero(~writes)
            if self.spec.routing == "random":
                member[reads] = 1 + (self.picks[requests[reads]] * replicas).astype(np.int64)
            else:
                member[reads] = 1 + (self.turn + 1 + np.arange(len(reads))) % replicas
                self.turn += len(reads)
        self.member[requests] = member
        self.as_replica[requests] = member > 0
        mine = np.flatnonzero(member == 0)
        status[mine], leave[mine] = self.parts[0].admit_batch(requests[mine], times[mine])
        done = mine[writes[mine] & (status[mine] == OK)]
        written, commit = requests[done], leave[done]
        self.commit[written] = commit
        self.since += written.tolist()
        replays = [self._replays(m, written, commit) for m in range(1, replicas + 1)]
        for m, (at, work) in enumerate(replays, start=1):
            ours = np.flatnonzero(member == m)
            status[ours], leave[ours] = self._serve_with_replays(self.parts[m], requests[ours], times[ours], at, work)
        failed = status != OK
        self.sim.failed_at[requests[failed]] = np.array([p.index for p in self.parts])[member[failed]]
        self.time_s[requests] = leave - times
        if replicas:
            answered = np.flatnonzero(~writes & ~failed)
            self._mark_stale(written, commit, requests[answered], leave[answered], member[answered])
        return status, leave

    def _replays(self, m, written, commit):
        """When each committed write reaches replica ``m`` (as its timer fires: commit + (arrival - commit)) and
        the work of replaying it; none when replays cost nothing."""
        if self.spec.replay_cost <= 0:
            return np.zeros(0), np.zeros(0)
        arrive = commit + self.lag[written, m]
        return commit + (arrive - commit), self.parts[m].replay_work[written] * self.spec.replay_cost

    @staticmethod
    def _serve_with_replays(replica, requests, times, at, work):
        """First come first served at ``replica`` over its reads (``requests`` arriving at ``times``) and replays
        (arriving ``at``, needing ``work``): :meth:`ServerRun._step` with replays that join the line but are never
        refused and never give up.  Books the reads and the replays; returns the reads' (statuses, leave times)."""
        service = replica.service.take(requests)
        arrivals = np.concatenate([times, at])
        order = np.argsort(arrivals, kind="stable")
        needs = np.concatenate([service, work])[order].tolist()
        is_read = (order < len(times)).tolist()
        free, waiting, timeout = replica.free, replica.waiting, replica.timeout
        limit = replica.queue_limit if replica.bounded else math.inf
        starts = []
        for t, s, read in zip(arrivals[order].tolist(), needs, is_read):
            start = free[0]
            while waiting and waiting[0] <= t:
                waiting.popleft()
            if start > t:
                if read and len(waiting) >= limit:
                    starts.append(math.nan)
                    continue
                waiting.append(start)
            else:
                start = t
            heapreplace(free, start if read and start - t > timeout else start + s)
            starts.append(start)
        start = np.empty(len(order))
        start[order] = starts
        begun, ended = start[len(times):], start[len(times):] + work
        by_end = np.argsort(ended, kind="stable")
        replica.replay_from += begun[by_end].tolist()
        replica.replay_to += ended[by_end].tolist()
        return replica.book(requests, times, service, start[:len(times)])

    def _mark_stale(self, written, commit, reads, answered, member):
        """Walk the commits and the reads' answers in time order, keeping :attr:`fresh` as :meth:`serve` does."""
        key, lag, fresh, members = self.key, self.lag, self.fresh, len(self.parts)
        events = np.concatenate([commit, answered])
        for e in np.argsort(events, kind="stable").tolist():
            if e < len(written):
                i, t = int(written[e]), float(commit[e])
                due = fresh.setdefault(key[i], [0.0] * members)
                for m in range(1, members):
                    arrive = t + lag[i, m]
                    if arrive > due[m]:
                        due[m] = arrive
            else:
                e -= len(written)
                due = fresh.get(key[int(reads[e])])
                self.stale[reads[e]] = due is not None and due[member[e]] > answered[e]

    # -- failover ----------------------------------------------------------------------------------

    def _notice(self, m, outage):
        """``failover_s`` after member ``m`` dies the set notices; a dead primary is replaced then."""
        yield self.env.timeout(outage.start_s + self.spec.failover_s)
        now, parts = self.env.now, self.spec.parts
        if m != self.primary or parts[m].is_up(now):
            return
        alive = [r for r in range(1, len(parts)) if r != m and r not in self.retired and parts[r].is_up(now)]
        if not alive:
            return  # nothing to promote: writes wait for the primary to come back
        new = alive[0]
        since = np.array(self.since, dtype=int)
        if since.size:
            arrive = np.array([_back_up(parts[new], t) for t in self.commit[since] + self.lag[since, new]])
            self.lost[since[(self.commit[since] <= outage.start_s) & (arrive > outage.start_s)]] = True
        self.retired.add(m)
        self.primary, self.since, self.fresh, self.promoted_at = new, [], {}, now

    # -- what it reports ---------------------------------------------------------------------------

    def _reads_ok(self):
        return (self.member >= 0) & ~self.sim.write & (self.sim.status == OK)

    def columns(self):
        """``write`` or read, the ``member`` that served it and its ``role``, ``stale`` reads, ``lost`` writes, and
        the time spent in the set."""
        self._settle()
        names = np.array([p.name for p in self.spec.parts] + [""], dtype=object)
        role = np.where(self.member < 0, "", np.where(self.as_replica, "replica", "primary"))
        return {"write": self.sim.write.copy(), "member": names[self.member], "role": role,
                "stale": self.stale.copy(), "lost": self.lost.copy(),
                f"{self.spec.name}_ms": self.time_s * 1_000.0}

    def figures(self):
        """``stale_read_ratio`` (stale among successful reads) and ``lost_writes`` (acknowledged, then lost)."""
        self._settle()
        reads = self._reads_ok()
        return {"stale_read_ratio": Share(int(self.stale[reads].sum()), int(reads.sum()), empty=0.0),
                "lost_writes": int(self.lost.sum())}

    def row(self):
        return {"workers": None, "served": int(np.sum(self.member >= 0)), "mean_wait_ms": float("nan")}


def _back_up(component, t):
    """``t``, or the end of the outage of ``component`` that covers ``t`` (inf if it never recovers)."""
    for outage in component.outages:
        if outage.covers(t):
            return _back_up(component, outage.end_s) if math.isfinite(outage.end_s) else math.inf
    return t


def replica_names(count):
    """``replica-1``, ``replica-2``, ...

    >>> replica_names(2)
    ('replica-1', 'replica-2')
    """
    return tuple(f"replica-{k + 1}" for k in range(count))


def with_replicas(replica_set, count):
    """A copy of ``replica_set`` with ``count`` replicas like its first (or like its primary when it has none)."""
    check.number("replicas", count, low=0, high=MAX_REPLICAS, integer=True)
    model = replica_set.replicas[0] if replica_set.replicas else _as_replica(replica_set.primary)
    return replace(replica_set, replicas=tuple(replace(model, name=n, outages=()) for n in replica_names(count)))
