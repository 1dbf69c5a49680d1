"""Compiled loops for long runs: the event-free engine's two per-request loops, in machine code.

A million requests through one server is a million steps of "start when the earliest worker is free",
and its users' DNS caches a million steps of "is my answer still fresh".  In Python each step costs
a few hundred nanoseconds; compiled with numba, a few.  These functions give exactly what the Python
loops give (the same floating-point operations in the same order), so a Result does not depend on
which ran.  numba is imported on the first run of at least :data:`MIN_REQUESTS` requests, never for
a notebook's panels; if it is missing or cannot compile, the Python loops run instead.

>>> import numpy as np
>>> starts, free, waiting = fcfs_starts(np.array([0.0, 0.1, 0.2]), np.array([1.0, 1.0, 1.0]),
...                                     [0.0, 0.0], [], timeout=np.inf, queue_limit=np.inf)
>>> starts.tolist(), sorted(free)  # two workers: the third request waits for the first to finish
([0.0, 0.1, 1.0], [1.1, 2.0])
"""

import math
from collections import deque
from types import SimpleNamespace

import numpy as np

MIN_REQUESTS = 100_000  # below this the Python loops take a few ms and numba's import would cost more
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
    """Whether a loop over ``n`` requests runs compiled."""
    return n >= MIN_REQUESTS and compiled() is not None


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
    workers = np.array([len(p.free) for p in parts])
    heaps = np.zeros((len(parts), workers.max()))
    for k, p in enumerate(parts):
        heaps[k, :workers[k]] = p.free
    bounded = np.array([p.bounded for p in parts])
    limits = np.array([min(p.queue_limit, len(requests) + len(p.waiting)) if p.bounded else 0 for p in parts],
                      dtype=np.int64)
    queues = np.zeros((len(parts), max(1, int(limits.max()))))
    count = np.array([len(p.waiting) for p in parts])
    for k, p in enumerate(parts):
        queues[k, :count[k]] = p.waiting
    head = np.zeros(len(parts), dtype=np.int64)
    timeouts = np.array([p.timeout for p in parts], dtype=float)
    inside = len(run.leaving)
    leave_at, leave_to = np.empty(inside + len(requests)), np.empty(inside + len(requests), dtype=np.int64)
    for at, (leave, k) in enumerate(sorted(run.leaving)):  # a sorted list is a heap
        leave_at[at], leave_to[at] = leave, k
    connections, turn = np.array(run.connections, dtype=np.int64), run.turn
    a, b = (np.zeros(len(requests), dtype=np.int64),) * 2 if least else pairs
    routes, starts, services = [], [], []
    for low in range(0, len(requests), block):
        part = slice(low, low + block)
        service = np.array([p.service.take(requests[part], keep=True) for p in parts])
        route, start, turn, inside = compiled().route(
            times[part], service, a[part], b[part], least, healthy, turn, connections, leave_at, leave_to, inside,
            heaps, workers, queues, head, count, timeouts, limits, bounded)
        routes.append(route)
        starts.append(start)
        services.append(service[route, np.arange(len(route))])
    for k, p in enumerate(parts):
        p.free = heaps[k, :workers[k]].tolist()
        p.waiting = deque(np.roll(queues[k], -head[k])[:count[k]].tolist())
    run.connections, run.turn = connections.tolist(), turn
    run.leaving = sorted(zip(leave_at[:inside].tolist(), leave_to[:inside].tolist()))
    return np.concatenate(routes), np.concatenate(services), np.concatenate(starts)


def _compile():
    from . import _loops  # imports numba

    loops = SimpleNamespace(fcfs=_loops.fcfs, dns=_loops.dns, route=_loops.route, number=_loops.number)
    # compile (or load the machine code kept from an earlier run) now, so that a failure here means the Python loops
    loops.fcfs(np.zeros(1), np.zeros(1), np.zeros((1, 1)), np.zeros(1), 0, 1.0, True, 1)
    loops.dns(np.zeros(1, dtype=np.int64), 1, np.zeros(1), np.zeros(1), 1.0, np.zeros(1, dtype=bool))
    loops.number(np.zeros(1, dtype=np.int64))
    one, ints = np.zeros((1, 1)), np.zeros(1, dtype=np.int64)
    loops.route(np.zeros(1), one, ints, ints, True, ints, 0, ints.copy(), np.zeros(1), ints.copy(), 0, one.copy(),
                np.ones(1, dtype=np.int64), one.copy(), ints.copy(), ints.copy(), np.zeros(1), ints.copy(),
                np.ones(1, dtype=bool))
    return loops
