"""The compiled loops behind :mod:`chapter1.core.kernels` (importing this module imports numba)."""

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def fcfs(times, services, heaps, queue, tail, timeout, bounded, limit):
    starts = np.empty(len(times))
    head, workers = 0, heaps.shape[1]
    for k in range(len(times)):
        t, start = times[k], heaps[0, 0]
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
        replace_top_row(heaps, 0, workers, start if start - t > timeout else start + services[k])
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


@jit
def route(times, services, a, b, least, healthy, turn, connections, leave_at, leave_to, inside, heaps, workers,
          queues, head, count, timeouts, limits, bounded):
    """Route requests one at a time by connections (least connections, or the fewer of two picks ``a``/``b``);
    each server's FCFS step as :func:`fcfs`.  State (turn, connections, the heap of requests still inside,
    the servers' worker heaps and queues) is updated in place; returns (routes, starts, turn, inside)."""
    n, m = len(times), len(healthy)
    routes, starts = np.empty(n, dtype=np.int64), np.empty(n)
    for r in range(n):
        t = times[r]
        while inside and leave_at[0] <= t:  # answers back before this request: one connection fewer each
            connections[leave_to[0]] -= 1
            inside -= 1
            pop_top(leave_at, leave_to, inside)
        if least:  # the first server with the fewest connections, counting from the next in turn
            turn += 1
            first = turn % m
            k = healthy[first]
            for j in range(1, m):
                other = healthy[(first + j) % m]
                if connections[other] < connections[k]:
                    k = other
        else:
            k = b[r] if connections[b[r]] < connections[a[r]] else a[r]
        s, start, size = services[k, r], heaps[k, 0], queues.shape[1]
        routes[r] = k
        if bounded[k]:
            while count[k] and queues[k, head[k]] <= t:
                head[k] = (head[k] + 1) % size
                count[k] -= 1
            if start > t and count[k] >= limits[k]:
                starts[r] = np.nan
                continue
            if start > t:
                queues[k, (head[k] + count[k]) % size] = start
                count[k] += 1
        if start <= t:
            start = t
        leave = start if start - t > timeouts[k] else start + s
        replace_top_row(heaps, k, workers[k], leave)
        starts[r] = start
        if leave > t:
            connections[k] += 1
            push(leave_at, leave_to, inside, leave, k)
            inside += 1
    return routes, starts, turn, inside


@jit
def push(keys, values, size, key, value):  # heappush onto keys[:size] (values ride along)
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= key:
            break
        keys[i], values[i] = keys[parent], values[parent]
        i = parent
    keys[i], values[i] = key, value


@jit
def pop_top(keys, values, size):  # drop the top of keys[:size + 1], leaving a heap of size
    key, value = keys[size], values[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[i], values[i] = keys[child], values[child]
        i = child
    keys[i], values[i] = key, value


@jit
def replace_top_row(heaps, k, n, value):  # heapq.heapreplace on the heap heaps[k, :n], without the return
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heaps[k, child + 1] < heaps[k, child]:
            child += 1
        if heaps[k, child] >= value:
            break
        heaps[k, i] = heaps[k, child]
        i = child
    heaps[k, i] = value


@jit
def number(values):
    """Number the distinct values 0, 1, 2, ... in order of first appearance (an open-addressing hash table)."""
    size = 2
    while size < 2 * len(values):
        size *= 2
    keys, ids, out = np.full(size, -1, dtype=np.int64), np.empty(size, dtype=np.int64), np.empty(len(values), np.int64)
    count, mask = 0, size - 1
    for k in range(len(values)):
        v = values[k]
        h = ((v * 2654435761) ^ (v >> 16)) & mask
        while keys[h] != -1 and keys[h] != v:
            h = (h + 1) & mask
        if keys[h] == -1:
            keys[h], ids[h] = v, count
            count += 1
        out[k] = ids[h]
    return out, count
