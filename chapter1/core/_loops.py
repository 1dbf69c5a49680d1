"""The compiled loops behind :mod:`chapter1.core.kernels` (importing this module imports numba)."""

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def replace_top(heap, value):  # heapq.heapreplace without the return: the new value sinks to its place
    n, i = len(heap), 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= value:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = value


@jit
def fcfs(times, services, heap, queue, tail, timeout, bounded, limit):
    starts = np.empty(len(times))
    head = 0
    for k in range(len(times)):
        t, start = times[k], heap[0]
        if bounded:
            while head < tail and queue[head] <= t:
                head += 1
            if start > t and tail - head >= limit:
                starts[k] = np.nan
                continue
            if start > t:
                queue[tail] = start
                tail += 1
        if start <= t:
            start = t
        replace_top(heap, start if start - t > timeout else start + services[k])
        starts[k] = start
    return starts, head, tail


@jit
def dns(user, users, t, fresh, ttl, down):
    missed = np.zeros(len(t), dtype=np.bool_)
    chosen, expiry = np.zeros(users, dtype=np.bool_), np.empty(users)
    for k in range(len(t)):
        u = user[k]
        if not chosen[u]:  # no answer cached yet: the one held before the run, as this request finds it
            if fresh[k] > t[k]:
                chosen[u], expiry[u] = True, fresh[k]
                continue
            missed[k] = True
            if not down[k]:
                chosen[u], expiry[u] = True, t[k] + ttl
        elif t[k] >= expiry[u]:
            missed[k] = True
            if not down[k]:
                expiry[u] = t[k] + ttl
    return missed
