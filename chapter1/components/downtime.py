"""Event-free runs through downtime: servers that die and come back, balancers whose health view changes.

The simpy path stays the reference; these give exactly the Result its events give (tests/test_engines.py
draws random outages, joins and outlier ejection and compares whole Results), so chapter 03's and 04's
fault panels need no event loop.  What simpy does, and these follow:

* a server refuses every request while it is down; when it dies, the requests in service fail at that
  moment, and so do the queued ones (each gets a freed worker then and finds the server dead); it comes
  back empty;
* a balancer routes with the view of its last health check, less the servers ejected since; an error
  counts toward ejection when it comes back, not when the request was sent;
* a balancer that is down answers 503; one that dies while a request is inside loses the answer.

A server's share is admitted a stretch between two deaths at a time (:func:`admit_through_outages`); a
balancer whose view changes routes one request at a time (:func:`balance_through_changes`), in compiled
code when the run is long enough (:func:`chapter1.core.kernels.balance_through_changes`).
"""

import math
from bisect import bisect_right
from heapq import heappop, heappush, heapreplace

import numpy as np

from ..core import kernels
from ..core.component import ERROR, OK, REJECTED, TIMEOUT
from .policies import POLICIES, READS_CONNECTIONS, _least_connections, _round_robin


class Downtime:
    """A component's outages as disjoint stretches, for asking "up at t?" by bisection.

    >>> from chapter1.components import Server
    >>> down = Downtime(Server().fail(10, 20).fail(15, 30).outages)
    >>> [down.up(t) for t in (5, 10, 29.9, 30)], down.deaths
    ([True, False, False, True], [10, 15])
    """

    def __init__(self, outages):
        self.deaths = sorted(o.start_s for o in outages)  # each outage's start interrupts what is inside
        self.starts, self.ends = [], []
        for o in sorted(outages, key=lambda o: o.start_s):
            if self.ends and o.start_s <= self.ends[-1]:  # overlapping or touching: one stretch
                self.ends[-1] = max(self.ends[-1], o.end_s)
            else:
                self.starts.append(o.start_s)
                self.ends.append(o.end_s)

    def up(self, t):
        """True when no outage covers ``t`` (as ``Component.is_up``)."""
        k = bisect_right(self.starts, t) - 1
        return k < 0 or t >= self.ends[k]

    def next_death(self, t):
        """(how many deaths came at or before ``t``, the first one after ``t`` or inf)."""
        passed = bisect_right(self.deaths, t)
        return passed, (self.deaths[passed] if passed < len(self.deaths) else math.inf)


class AdmitThroughOutages:
    """``admit`` of a :class:`~chapter1.components.server.ServerRun` whose server has outages.

    >>> import chapter1 as c
    >>> arch = c.single_server().fail("server", 5, 8)
    >>> c.simulate(arch, c.Workload.from_rate(40), requests=400, engine="fast").summary()["error_rate"] > 0
    True
    """

    def __init__(self, run):
        self.run, self.down, self.reset = run, Downtime(run.spec.outages), 0

    def __call__(self, i, t):
        run = self.run
        if not self.down.up(t):
            return ERROR, t
        passed, death = self.down.next_death(t)
        if passed > self.reset:  # it died and came back since the last request: nobody is inside
            run.free[:] = [0.0] * len(run.free)
            run.waiting.clear()
            self.reset = passed
        s = run.service[i]
        return run._settle(i, t, s, run._step(t, s), death)


def admit_through_outages(run, requests, times):
    """``admit_batch`` of a :class:`~chapter1.components.server.ServerRun` whose server has outages, for requests in
    order of arrival: the requests of each stretch between two deaths are scheduled (``_starts``) and booked with
    that death at once, as :class:`AdmitThroughOutages` settles one (the same floats, records and state); a request
    that comes while the server is down fails at once."""
    outages = run.admit
    down, deaths = outages.down, np.append(outages.down.deaths, math.inf)
    stretch = np.searchsorted(down.starts, times, side="right") - 1
    up = (stretch < 0) | (times >= np.append(down.ends, -math.inf)[stretch])
    passed = np.searchsorted(deaths[:-1], times, side="right")  # deaths at or before each request
    status, leave = np.full(len(times), ERROR, dtype=np.int8), np.asarray(times, dtype=float).copy()
    live = np.flatnonzero(up)
    service = run.service.take(requests[live])
    bounds = np.flatnonzero(np.diff(passed[live])) + 1
    for part in np.split(np.arange(len(live)), bounds):
        if not len(part):
            continue
        group, count = live[part], int(passed[live[part[0]]])
        if count > outages.reset:  # it died and came back since the last request: nobody is inside
            run.free[:] = [0.0] * len(run.free)
            run.waiting.clear()
            outages.reset = count
        t, s, death = times[group], service[part], deaths[count]
        status[group], leave[group] = run.book(requests[group], t, s, run._starts(t, s), death)
    return status, leave


OUT = 1 << 40  # connections added to a member out of the view, so that least connections never picks it
DRAWN = 1 << 21  # service times drawn ahead for the members of a balancer: at most this many floats


def balance_through_changes(run, requests, times):
    """``admit_batch`` of a :class:`~chapter1.components.pool.LoadBalancerRun` whose view changes during the
    run (a member's outage or join, outlier ejection) or that has outages itself, when its policy reads
    connections or it ejects servers (else it routes a health check's stretch at once): one request at a
    time, in order of arrival, with a heap of the requests still inside to count connections and errors.
    (Arrivals out of order are served too, the view then asked at every request.)

    A member that is a plain :class:`~chapter1.components.server.ServerRun` (FCFS, its deaths as
    :class:`AdmitThroughOutages` runs them) is stepped here, with the arithmetic of ``_step`` and ``_settle``
    in the same order, so the floats are the same; least connections and round robin are picked here too.
    Any other member admits its own way, and any other pick is the policy's.  A long enough run over plain
    servers, in order of arrival, with one of the four policies the compiled loop knows, runs compiled
    (:func:`chapter1.core.kernels.balance_through_changes`, the same floats)."""
    if _compiles(run, times):
        return kernels.balance_through_changes(run, requests, times)
    spec, parts, connections, routed = run.spec, run.parts, run.connections, run.routed
    choose, failed_at, end = run.choose, run.sim.failed_at, run.sim.end
    ejects, own = spec.eject_after is not None, Downtime(spec.outages) if spec.outages else None
    counts = ejects or spec.policy in READS_CONNECTIONS  # (else the heap of requests inside tells nothing)
    stations, unserved = [_station(p) for p in parts], [0] * len(parts)
    admitted_before = [len(p.admitted) for p in parts]
    index_of, turn = [p.index for p in parts], run.turn
    least, masked, out, errors_in_row = choose is _least_connections, None, [False] * len(parts), run.errors_in_row
    robin = choose is _round_robin
    ordered = not len(times) or bool(np.all(times[1:] >= times[:-1]))  # (else the view is asked at every request)
    inside, statuses, leaves, nan, inf = [], [], [], math.nan, math.inf
    recheck = run.recheck_at if ordered else -inf
    answer, left = statuses.append, leaves.append
    for i, t in zip(requests.tolist(), times.tolist()):
        while inside and inside[0][0] <= t:  # answers that came back before this request
            back, k, status = heappop(inside)
            connections[k] -= 1
            if ejects and (status == ERROR or status == OK and errors_in_row[k]):  # (else it changes nothing)
                run._count_error(k, status, back)
        if own is not None and not own.up(t):
            answer(ERROR)
            left(t)
            continue
        if t >= recheck:
            run._view(t)
            recheck = run.recheck_at if ordered else -inf
        healthy = run.healthy
        if not healthy:  # no healthy server: 503
            answer(ERROR)
            left(t)
            continue
        if least:  # (_least_connections, inlined: members out of the view count OUT more connections)
            if healthy is not masked:
                _mask(connections, run.healthy_set, out)
                masked = healthy
            turn += 1
            low = min(connections)
            k, first = connections.index(low), healthy[turn % len(healthy)]  # the first with the fewest from the
            if k < first:  # turn's member on, else from the first member
                after = connections[first:]
                if low in after:
                    k = first + after.index(low)
        elif robin:  # (_round_robin, inlined)
            turn += 1
            k = healthy[turn % len(healthy)]
        else:
            run.turn = turn
            k = choose(run, healthy, i)
            turn = run.turn
        routed[i] = k
        station = stations[k]
        if station is None:
            status, leave = parts[k].admit(i, t)
        else:  # (ServerRun.admit, or AdmitThroughOutages, inlined)
            free, waiting, bounded, limit, timeout, service, down, admitted, waits, starts, finishes = station
            if down is None:
                death = inf
            else:
                if not down[0] <= t < down[1]:
                    _refresh(down, t, free, waiting)
                death = down[3] if down[2] else None
            start = free[0]  # (_step)
            if death is None:  # the server is down
                status, leave = ERROR, t
            else:
                if bounded:  # the queue: the requests that started by t leave it, this one takes a place
                    while waiting and waiting[0] <= t:
                        waiting.popleft()
                    if start > t and len(waiting) >= limit:
                        start = nan  # full: rejected
                    elif start > t:
                        waiting.append(start)
                if start != start:  # (_settle from here on)
                    status, leave = REJECTED, t
                else:
                    s = service[i]
                    if start <= t:
                        start = t
                    heapreplace(free, start if start - t > timeout else start + s)
                    if start - t > timeout or start >= death:  # it gave up waiting, or the server died meanwhile
                        wait = death - t if start >= death else start - t
                        admitted(i), waits(wait), starts(nan), finishes(nan)
                        unserved[k] += 1
                        status, leave = ERROR, death
                        if start < death:
                            status, leave = TIMEOUT, start
                        if wait > timeout:
                            status, end[i] = TIMEOUT, t + timeout
                    else:
                        finish = start + s
                        admitted(i), waits(start - t), starts(start)
                        status, leave = OK, finish
                        if finish >= death:  # the server died while it served this one
                            unserved[k] += 1
                            status, leave = ERROR, death
                        finishes(leave)
                        if leave - t > timeout:
                            status, end[i] = TIMEOUT, t + timeout
        if leave > t:
            if counts:
                connections[k] += 1
                heappush(inside, (leave, k, status))
        elif ejects and (status == ERROR or status == OK and errors_in_row[k]):
            run._count_error(k, status, t)
        if status != OK:
            failed_at[i] = index_of[k]
        elif own is not None and own.next_death(t)[1] <= leave:  # the balancer died while it was inside
            failed_at[i], status = run.index, ERROR
        answer(status)
        left(leave)
    run.turn = turn
    _mask(connections, range(len(parts)), out)
    if not counts and statuses:  # the requests the heap would still hold: no later one came after they left
        routes, leaving = np.asarray(routed)[requests], np.asarray(leaves)
        later = np.append(np.maximum.accumulate(times[::-1])[::-1][1:], -math.inf)
        held = (leaving > times) & (leaving > later) & (routes >= 0)
        for k, count in enumerate(np.bincount(routes[held], minlength=len(parts))):
            connections[k] += int(count)
    for part, before, count, station in zip(parts, admitted_before, unserved, stations):
        part.served += 0 if station is None else len(part.admitted) - before - count
    return statuses, leaves


def _compiles(run, times):
    """Whether :func:`balance_through_changes` runs compiled: plain servers, a policy the loop knows, times in order,
    and not far more health checks than requests (their views are worked out first)."""
    from .server import ServerRun

    checks = float(times.max(initial=0.0)) / run.interval + 1  # the views it works out, one per health check
    return (run.spec.policy in kernels.POLICY_CODES and run.choose is POLICIES[run.spec.policy]
            and kernels.use_compiled_routes(len(times))
            and checks * len(run.parts) <= 4 * len(times) + (1 << 20)
            and all(type(p) is ServerRun and (isinstance(p.admit, AdmitThroughOutages)
                                              or getattr(p.admit, "__func__", None) is ServerRun.admit)
                    for p in run.parts)
            and bool(np.all(times[1:] >= times[:-1])))


def _station(part):
    """What the loop of :func:`balance_through_changes` reads of a plain server, as a tuple (None: another kind,
    asked through its own ``admit``).  Its service times are drawn at once for every request (read by request
    index) unless a run's servers would then hold more than :data:`DRAWN` floats."""
    from .server import ServerRun  # (server.py imports this module)

    outages = part.admit if isinstance(part.admit, AdmitThroughOutages) else None
    plain = getattr(part.admit, "__func__", None) is ServerRun.admit
    if type(part) is not ServerRun or (outages is None and not plain):
        return None
    down = None
    if outages is not None:  # [from, until, up, next death] while the server's state holds, and what tells it
        d = outages.down
        down = [math.inf, -math.inf, True, math.inf, outages, sorted(set(d.starts + d.ends + d.deaths))]
    service, n = part.service, part.sim.n
    if n * len(part.sim.runtimes) <= DRAWN:
        service = memoryview(service.take(np.arange(n)))  # (read by request index, as Python floats)
    return (part.free, part.waiting, part.bounded, part.queue_limit, part.timeout, service, down,
            part.admitted.append, part.waits.append, part.starts.append, part.finishes.append)


def _mask(connections, healthy, out):
    """Members not in ``healthy`` hold OUT more connections, the others none more (``out`` tells which do)."""
    for k, was in enumerate(out):
        now = k not in healthy
        if now != was:
            connections[k] += OUT if now else -OUT
            out[k] = now


def _refresh(down, t, free, waiting):
    """The server's state at ``t`` (up? its next death) and the stretch it holds over, into ``down``; a server
    that died and came back since it was last asked comes back empty (as :class:`AdmitThroughOutages`)."""
    outages, changes = down[4], down[5]
    k = bisect_right(changes, t)
    down[0], down[1] = (changes[k - 1] if k else -math.inf), (changes[k] if k < len(changes) else math.inf)
    down[2] = outages.down.up(t)
    if down[2]:
        passed, down[3] = outages.down.next_death(t)
        if passed > outages.reset:
            free[:] = [0.0] * len(free)
            waiting.clear()
            outages.reset = passed
