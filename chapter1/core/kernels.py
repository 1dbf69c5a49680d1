"""Compiled loops for long runs: the event-free engine's two per-request loops, in machine code.

A million requests through one server is a million steps of "start when the earliest worker is free",
and its users' DNS caches a million steps of "is my answer still fresh".  In Python each step costs
a few hundred nanoseconds; compiled with numba, a few.  These functions give exactly what the Python
loops give (the same floating-point operations in the same order), so a Result does not depend on
which ran.  numba is imported on the first run of at least :data:`MIN_REQUESTS` requests, or the first
balancer that routes at least :data:`MIN_ROUTED` requests one at a time (chapter 03's and 04's panels);
once loaded, every run of :data:`MIN_ROUTED` requests or more takes them.  If numba is missing or cannot
compile, the Python loops run instead.

>>> import numpy as np
>>> starts, free, waiting = fcfs_starts(np.array([0.0, 0.1, 0.2]), np.array([1.0, 1.0, 1.0]),
...                                     [0.0, 0.0], [], timeout=np.inf, queue_limit=np.inf)
>>> starts.tolist(), sorted(free)  # two workers: the third request waits for the first to finish
([0.0, 0.1, 1.0], [1.1, 2.0])
"""

import gc
import math
import os
from collections import deque
from types import SimpleNamespace

import numpy as np

MIN_REQUESTS = 100_000  # below this the Python loops take a few ms and numba's import would cost more
# A balancer that reads connections, or whose view changes, routes one request at a time: about 1.6 us a
# request in Python.  A live panel's few tens of thousands of requests then cost tens of ms an update,
# so these loops run compiled from far fewer requests (numba loads once, ~0.6 s of CPU, at the first).
MIN_ROUTED = 2_000
# A kernel whose numba cache starts empty every time (a graded submission's, in a folder of its own) would compile
# the loops afresh, 5-8 s: the grader sets this variable to "long", and only runs of MIN_REQUESTS or more take them.
LONG_RUNS_ONLY = "CHAPTER1_COMPILED_LOOPS"
_compiled = None


def compiled():
    """The compiled loops (a namespace with ``fcfs`` and ``dns``), or None where numba cannot give them."""
    global _compiled
    if _compiled is None:
        try:
            _compiled = _compile()
        except Exception:  # noqa: BLE001 - no numba, or no compiler for this machine: the Python loops serve
            _compiled = False
    return _compiled or None


def use_compiled(n):
    """Whether a loop over ``n`` requests runs compiled: from :data:`MIN_REQUESTS` on (loading them if need be), and
    from :data:`MIN_ROUTED` on once an earlier run has loaded them (then they cost nothing more)."""
    if n >= MIN_REQUESTS:
        return compiled() is not None
    return n >= MIN_ROUTED and bool(_compiled)


def use_compiled_routes(n):
    """Whether a balancer's routing of ``n`` requests one at a time runs compiled (see :data:`MIN_ROUTED`; from
    :data:`MIN_REQUESTS` on where :data:`LONG_RUNS_ONLY` is "long")."""
    least = MIN_REQUESTS if os.environ.get(LONG_RUNS_ONLY) == "long" else MIN_ROUTED
    return n >= least and compiled() is not None


def fcfs_starts(times, services, free, waiting, timeout, queue_limit):
    """When each request starts at a FCFS server (NaN: the queue was full), compiled.

    ``free`` is the heap of the workers' free times and ``waiting`` the start times of the requests still
    queued (both as :class:`~chapter1.components.server.ServerRun` keeps them); returns the starts and both
    updated.  A request that waits longer than ``timeout`` gives its worker back when it would have started.
    """
    heap = np.array([free], dtype=float)  # one worker heap, as a row
    queue = np.empty(len(waiting) + len(times))
    queue[:len(waiting)] = waiting
    bounded = queue_limit != math.inf
    limit = int(queue_limit) if bounded else 0
    starts, head, tail = compiled().fcfs(np.asarray(times, dtype=float), np.asarray(services, dtype=float), heap,
                                         queue, len(waiting), float(timeout), bounded, limit)
    return starts, heap[0].tolist(), queue[head:tail].tolist()


def dns_misses(user, arrival, fresh, ttl, down):
    """Which requests miss their user's DNS cache, compiled, as :func:`chapter1.components.dns.cache_misses` says
    (requests in order of arrival; ``fresh`` is read at a user's requests until it caches an answer)."""
    user = np.asarray(user, dtype=np.int64)
    users = int(user.max(initial=-1)) + 1
    if users > 4 * len(user):  # sparse ids (users >= 0): number them 0, 1, 2, ... first
        user, users = compiled().number(user)
    return compiled().dns(user, users, np.asarray(arrival, dtype=float), np.asarray(fresh, dtype=float), float(ttl),
                          np.asarray(down, dtype=bool))


def route_by_connections(run, healthy, requests, times, pairs=None, block=1 << 14):
    """``_route_one_by_one`` of a :class:`~chapter1.components.pool.LoadBalancerRun` over a fixed view, servers
    without outages, compiled: least connections, or with ``pairs`` (each request's two picks) power of two.
    Returns the routes, service times and starts, and leaves the balancer's and its servers' state as the Python
    loop leaves it.  Services are read ``block`` requests at a time, so memory stays one number per request
    however many servers there are."""
    parts, least = run.parts, pairs is None
    healthy = np.asarray(healthy, dtype=np.int64)
    servers = _servers(parts, len(requests))
    inside = len(run.leaving)
    leave_at, leave_to = np.empty(inside + len(requests)), np.empty(inside + len(requests), dtype=np.int64)
    ties = np.zeros(inside + len(requests), dtype=np.int64)
    for at, (leave, k) in enumerate(sorted(run.leaving)):  # a sorted list is a heap
        leave_at[at], leave_to[at] = leave, k
    connections, turn = np.array(run.connections, dtype=np.int64), run.turn
    a, b = (np.zeros(len(requests), dtype=np.int64),) * 2 if least else pairs
    routes, starts, services = [], [], []
    for low in range(0, len(requests), block):
        part = slice(low, low + block)
        service = np.array([p.service.take(requests[part], keep=True) for p in parts])
        route, start, turn, inside = compiled().route(
            times[part], service, a[part], b[part], least, healthy, turn, connections, leave_at, leave_to, ties, inside,
            *servers)
        routes.append(route)
        starts.append(start)
        services.append(service[route, np.arange(len(route))])
    _hand_back(parts, servers)
    run.connections, run.turn = connections.tolist(), turn
    run.leaving = sorted(zip(leave_at[:inside].tolist(), leave_to[:inside].tolist()))
    return np.concatenate(routes), np.concatenate(services), np.concatenate(starts)


def _compile():
    from . import _loops  # imports numba

    loops = SimpleNamespace(fcfs=_loops.fcfs, dns=_loops.dns, route=_loops.route, number=_loops.number,
                            balance=_loops.balance, held=_loops.held)
    # compile (or load the machine code kept from an earlier run) now, so that a failure here means the Python loops
    # run instead.  Any values of these types compile the same machine code (so `make mutate` leaves them alone).
    # pragma: no mutate start
    loops.fcfs(np.zeros(1), np.zeros(1), np.zeros((1, 1)), np.zeros(1), 0, 1.0, True, 1)
    loops.dns(np.zeros(1, dtype=np.int64), 1, np.zeros(1), np.zeros(1), 1.0, np.zeros(1, dtype=bool))
    loops.number(np.zeros(1, dtype=np.int64))
    one, ints = np.zeros((1, 1)), np.zeros(1, dtype=np.int64)
    server = SimpleNamespace(free=[0.0], queue_limit=1, waiting=(), bounded=True, timeout=1.0, admit=None,
                             spec=SimpleNamespace(outages=()))  # (one plain server, as the builders read it)
    pool = SimpleNamespace(parts=[server], healthy=(0,), ejected={}, turn=-1, view_key=None, recheck_at=-np.inf,
                           errors_in_row=[0], connections=[0])
    yes = np.ones((1, 1), dtype=bool)
    loops.route(np.zeros(1), one, ints, ints, True, ints, 0, ints.copy(), np.zeros(1), ints.copy(), ints.copy(), 0,
                *_servers([server], 1))
    loops.balance(np.zeros(1), np.zeros(1), np.zeros(1), one.copy(), (0, 0, 1.0), (yes, yes.copy()),
                  _outages([server]), _downtime(())[1:], _state(pool, 1), _servers([server], 1), ints.copy())
    loops.held(np.zeros(1), np.zeros(1), np.zeros(1), one.copy(), np.zeros(1), np.zeros(4, dtype=np.int64), 1.0, 1,
               True, _records(1), _servers([server], 1), ints.copy(), _records(1), np.zeros(1), ints.copy())
    # pragma: no mutate end
    # numba and LLVM's objects (about 80,000) live as long as the kernel: frozen, as chapter1.present.charts freezes
    # altair's, they are left out of the collector's full sweeps (30 ms each, now and then inside a panel update)
    gc.freeze()
    return loops


OK = 0  # (as chapter1.core.component)
POLICY_CODES = {"least_connections": 0, "round_robin": 1, "random": 2, "power_of_two": 3}  # as _loops.balance


def balance_through_changes(run, requests, times, block=1 << 14):
    """:func:`chapter1.components.downtime.balance_through_changes`, compiled, for plain servers and requests in
    order of arrival; the same statuses, leave times, records and state.  Services are read ``block`` requests at a
    time."""
    parts, spec, interval = run.parts, run.spec, run.interval
    views = _views(run, int(math.floor(float(times[-1]) / interval)))
    outages, state = _outages(parts), _state(run, len(requests))
    rule = (POLICY_CODES[spec.policy], spec.eject_after or 0, float(interval))
    servers, served = _servers(parts, len(requests)), np.zeros(len(parts), dtype=np.int64)
    u, v = (run.u_draws, run.v_draws) if hasattr(run, "u_draws") else (np.zeros(run.sim.n),) * 2
    out = []
    for low in range(0, len(requests), block):
        part = slice(low, low + block)
        service = np.array([p.service.take(requests[part], keep=True) for p in parts])
        status, leaves, routes, failed, records, ends = compiled().balance(
            times[part], u[requests[part]], v[requests[part]], service, rule, views, outages,
            _downtime(spec.outages)[1:], state, servers, served)
        out.append((status, leaves, routes, failed, *records, ends))
    status, leaves, routes, failed, admitted, waits, starts, finishes, ends = (np.concatenate(c) for c in zip(*out))
    _hand_back(parts, servers)
    for k, p in enumerate(parts):
        if hasattr(p.admit, "reset"):
            p.admit.reset = int(outages[5][k])
        p.served += int(served[k])
        mine = np.flatnonzero(admitted & (routes == k))
        p.add_records(requests[mine], waits[mine], starts[mine], finishes[mine])
    _keep_state(run, state)
    routed = routes >= 0
    run.routed_all.append((requests[routed], routes[routed]))
    hit, late = failed != -1, ~np.isnan(ends)
    run.sim.failed_at[requests[hit]] = np.array([p.index for p in parts] + [run.index])[failed[hit]]
    run.sim.end[requests[late]] = ends[late]
    return status, leaves


def _outages(parts):
    """The servers' outages as the compiled loop reads them: (changes, stretches, deaths) of every server one after
    another, each server's slice of them (``offsets``), its state (from, until, up, next death) and deaths seen."""
    each = [_downtime(p.spec.outages) for p in parts]
    offsets = np.zeros((3, len(parts) + 1), dtype=np.int64)
    for row, pieces in enumerate(zip(*[(changes, stretch[0], deaths) for changes, stretch, deaths in each])):
        offsets[row, 1:] = np.cumsum([len(p) for p in pieces])
    return (np.concatenate([o[0] for o in each]), np.concatenate([o[1] for o in each], axis=1),
            np.concatenate([o[2] for o in each]), offsets, np.tile([np.inf, -np.inf, 1.0, np.inf], (len(parts), 1)),
            np.array([getattr(p.admit, "reset", 0) for p in parts], dtype=np.int64))


def _state(run, n):
    """A balancer's state as the compiled loop keeps it, room for ``n`` requests inside."""
    members = len(run.parts)
    healthy, ejected, ejected_at = np.zeros(members, dtype=np.int64), np.zeros(members, dtype=bool), np.zeros(members)
    healthy[:len(run.healthy)] = run.healthy
    for k, at in run.ejected.items():
        ejected[k], ejected_at[k] = True, at
    ints = np.array([run.turn, -1 if run.view_key is None else run.view_key, len(run.healthy), 0], dtype=np.int64)
    return (ints, np.array([run.recheck_at]), healthy, ejected, ejected_at,
            np.array(run.errors_in_row, dtype=np.int64), np.array(run.connections, dtype=np.int64),
            np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64))


def _keep_state(run, state):
    """The compiled loop's balancer state back into ``run``."""
    ints, recheck, healthy, ejected, ejected_at, errors, connections = state[:7]
    run.turn, run.view_key = int(ints[0]), None if ints[1] < 0 else int(ints[1])
    run.healthy = tuple(healthy[:ints[2]].tolist())
    run.healthy_set = frozenset(run.healthy)
    if run.view_key is not None:
        run.joined = tuple(k for k, at in enumerate(run.joins) if at <= run.view_key * run.interval)
    run.recheck_at, run.errors_in_row = float(recheck[0]), errors.tolist()
    run.ejected = {k: float(ejected_at[k]) for k in np.argsort(ejected_at, kind="stable").tolist() if ejected[k]}
    run.connections[:] = connections.tolist()


def holds_for_a_plain_backend(run):
    """Whether :func:`held_batch` serves ``run`` (a :class:`~chapter1.components.server.ServerRun`): a tier of its
    own whose workers wait, held, for one plain backend, no outages, not both with constant service times, at
    least :data:`MIN_ROUTED` requests and the compiled loops at hand."""
    from ..components.server import ServerRun

    plain = [type(p) is ServerRun and not p.spec.outages for p in (run, *run.parts)]
    return (run.holds_worker and len(run.parts) == 1 and all(plain) and not run.parts[0].parts
            and any(t is run for t in run.sim.tiers)
            and not (run.exact_times() and run.parts[0].exact_times()) and use_compiled_routes(run.sim.n))


def held_batch(run, requests, times):
    """``admit_batch`` of a thread-per-request server in front of a plain backend (see
    :func:`holds_for_a_plain_backend`), compiled: the Result simpy's events give (tests/test_held_workers.py)."""
    backend, n = run.parts[0], len(requests)
    size = max(1, int(min(run.queue_limit, n + len(run.waiting)))) if run.bounded else 1
    queue = np.zeros(size)
    queue[:len(run.waiting)] = run.waiting
    state = np.array([0, len(run.waiting), 0, 0], dtype=np.int64)
    known = np.array([run.free], dtype=float)
    web, db = _records(n), _records(n)
    servers, served = _servers([backend], n), np.zeros(1, dtype=np.int64)
    ends, sent = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    status, leaves = compiled().held(
        np.ascontiguousarray(times, dtype=float), run.service.take(requests), backend.service.take(requests), known,
        queue, state, float(run.timeout), int(min(run.queue_limit, size)), run.bounded, web, servers, served, db, ends,
        sent)
    run.free, run.served = known[0].tolist(), run.served + int(state[2])
    run.waiting = deque(np.roll(queue, -state[0])[:state[1]].tolist())
    _hand_back([backend], servers)
    backend.served += int(served[0])
    sent = sent[:state[3]]  # (in order of arrival at the backend: the order it admits them)
    for server, order, (admitted, *records) in ((run, np.arange(n), web), (backend, sent, db)):
        order = order[admitted[order]]
        server.add_records(requests[order], *(r[order] for r in records))
    late = ~np.isnan(ends)
    run.sim.end[requests[late]] = ends[late]
    lost = sent[status[sent] != OK]
    run.sim.failed_at[requests[lost]] = backend.index
    return status, leaves


def _records(n):
    """(admitted, wait, start, finish) of each of ``n`` requests at a server, for a compiled loop to fill."""
    return np.zeros(n, dtype=bool), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)


def _views(run, last):
    """(views, up): for each check 0..``last``, the members it finds healthy (joined, and up at one of the last
    ``fall`` checks, as PoolRun._view asks) and the members up at it, as boolean arrays (checks x members)."""
    keys = np.arange(last + 1)
    seen = keys * float(run.interval)
    joined = np.asarray(run.joins)[None, :] <= seen[:, None]
    up = np.ones((len(keys), len(run.members)), dtype=bool)
    healthy = joined.copy()
    for k, member in enumerate(run.members):
        if member.outages:
            up[:, k] = _up(member.outages, seen)
            found = np.zeros(len(keys), dtype=bool)
            for j in range(run.spec.fall):  # (check j back exists from key j on)
                found[j:] |= _up(member.outages, seen[j:] - j * run.interval)
            healthy[:, k] &= found
    return healthy, up


def _up(outages, t):
    """Component.is_up at each of the times ``t`` (an array)."""
    from ..components.downtime import Downtime

    down = Downtime(outages)
    j = np.searchsorted(down.starts, t, side="right") - 1
    return (j < 0) | (t >= np.asarray(down.ends + [-np.inf])[j])


def _downtime(outages):
    """A component's outages as arrays: (the times its state changes, its merged stretches (2 x k), its deaths)."""
    from ..components.downtime import Downtime

    d = Downtime(outages)
    return (np.array(sorted(set(d.starts + d.ends + d.deaths)), dtype=float), np.array([d.starts, d.ends], dtype=float)
            .reshape(2, -1), np.array(d.deaths, dtype=float))


def _servers(parts, n):
    """The servers' FCFS state as :func:`route_by_connections` hands it to the compiled loop."""
    workers = np.array([len(p.free) for p in parts])
    heaps = np.zeros((len(parts), workers.max()))
    for k, p in enumerate(parts):
        heaps[k, :workers[k]] = p.free
    limits = np.array([min(p.queue_limit, n + len(p.waiting)) if p.bounded else 0 for p in parts], dtype=np.int64)
    queues = np.zeros((len(parts), max(1, int(limits.max()))))
    count = np.array([len(p.waiting) for p in parts])
    for k, p in enumerate(parts):
        queues[k, :count[k]] = p.waiting
    return (heaps, workers, queues, np.zeros(len(parts), dtype=np.int64), count,
            np.array([p.timeout for p in parts], dtype=float), limits, np.array([p.bounded for p in parts]))


def _hand_back(parts, servers):
    """The servers' worker heaps and queues, from the compiled loop's arrays back into their runtimes."""
    heaps, workers, queues, head, count = servers[:5]
    for k, p in enumerate(parts):
        p.free = heaps[k, :workers[k]].tolist()
        p.waiting = deque(np.roll(queues[k], -head[k])[:count[k]].tolist())
