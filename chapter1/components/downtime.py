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
"""

import math
from bisect import bisect_right
from heapq import heappop, heappush

from ..core.component import ERROR, OK


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


def balance_through_changes(run, requests, times):
    """``admit_batch`` of a :class:`~chapter1.components.pool.LoadBalancerRun` whose view changes during the
    run (a member's outage or join, outlier ejection) or that has outages itself: one request at a time,
    in order of arrival, with a heap of the requests still inside to count connections and errors."""
    spec, parts, connections, routed = run.spec, run.parts, run.connections, run.routed
    choose, failed_at, interval = run.choose, run.sim.failed_at, run.interval
    ejects, own = spec.eject_after is not None, Downtime(spec.outages) if spec.outages else None
    inside, statuses, leaves = [], [], []
    for i, t in zip(requests.tolist(), times.tolist()):
        while inside and inside[0][0] <= t:  # answers that came back before this request
            back, k, status = heappop(inside)
            connections[k] -= 1
            if ejects:
                run._count_error(k, status, back)
        if own is not None and not own.up(t):
            statuses.append(ERROR)
            leaves.append(t)
            continue
        if math.floor(t / interval) != run.view_key:
            run._view(t)
        if not run.healthy:  # no healthy server: 503
            statuses.append(ERROR)
            leaves.append(t)
            continue
        k = routed[i] = choose(run, run.healthy, i)
        status, leave = parts[k].admit(i, t)
        if leave > t:
            connections[k] += 1
            heappush(inside, (leave, k, status))
        elif ejects:
            run._count_error(k, status, t)
        if status != OK:
            failed_at[i] = parts[k].index
        elif own is not None and own.next_death(t)[1] <= leave:  # the balancer died while it was inside
            failed_at[i], status = run.index, ERROR
        statuses.append(status)
        leaves.append(leave)
    return statuses, leaves
