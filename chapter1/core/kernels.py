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
    heap = np.array(free, dtype=float)
    queue = np.empty(len(waiting) + len(times))
    queue[:len(waiting)] = waiting
    bounded = queue_limit != math.inf
    limit = int(queue_limit) if bounded else 0
    starts, head, tail = compiled().fcfs(np.asarray(times, dtype=float), np.asarray(services, dtype=float), heap,
                                         queue, len(waiting), float(timeout), bounded, limit)
    return starts, heap.tolist(), queue[head:tail].tolist()


def dns_misses(user, arrival, fresh, ttl, down):
    """Which requests miss their user's DNS cache, compiled, as :func:`chapter1.components.dns.cache_misses` says
    (requests in order of arrival; ``fresh`` is read at a user's requests until it caches an answer)."""
    user = np.asarray(user)
    if len(user) and user.max() >= 4 * len(user):  # sparse ids: number the users 0, 1, 2, ... first
        user = np.unique(user, return_inverse=True)[1]
    return compiled().dns(user.astype(np.int64, copy=False), int(user.max(initial=-1)) + 1,
                          np.asarray(arrival, dtype=float), np.asarray(fresh, dtype=float), float(ttl),
                          np.asarray(down, dtype=bool))


def _compile():
    from . import _loops  # imports numba

    loops = SimpleNamespace(fcfs=_loops.fcfs, dns=_loops.dns)
    # compile (or load the machine code kept from an earlier run) now, so that a failure here means the Python loops
    loops.fcfs(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 0, 1.0, True, 1)
    loops.dns(np.zeros(1, dtype=np.int64), 1, np.zeros(1), np.zeros(1), 1.0, np.zeros(1, dtype=bool))
    return loops
