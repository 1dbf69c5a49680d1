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
def route(times, services, a, b, least, healthy, turn, connections, leave_at, leave_to, ties, inside, heaps, workers,
          queues, head, count, timeouts, limits, bounded):
    """Route requests one at a time by connections (least connections, or the fewer of two picks ``a``/``b``);
    each server's FCFS step as :func:`fcfs`.  State (turn, connections, the heap of requests still inside: when
    each leaves, its server, and ``ties``, zeros, for :func:`push3`; the servers' worker heaps and queues) is
    updated in place; returns (routes, starts, turn, inside)."""
    n, m = len(times), len(healthy)
    routes, starts = np.empty(n, dtype=np.int64), np.empty(n)
    for r in range(n):
        t = times[r]
        while inside and leave_at[0] <= t:  # answers back before this request: one connection fewer each
            connections[leave_to[0]] -= 1
            inside -= 1
            pop_top3(leave_at, leave_to, ties, inside)
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
            push3(leave_at, leave_to, ties, inside, leave, k, 0)
            inside += 1
    return routes, starts, turn, inside


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


LEAST, ROBIN, RANDOM, PAIR = range(4)  # the policies :func:`balance` picks with
OK, ERROR, TIMEOUT, REJECTED = range(4)  # (as chapter1.core.component)


@jit
def balance(times, u, v, services, rule, views, outages, own, state, servers, served):
    """:func:`chapter1.components.downtime.balance_through_changes` over plain servers, for requests in order of
    arrival.  ``rule``: (policy, eject after this many errors in a row (0: never), health-check interval);
    ``views``: (the members each check finds healthy, the members up at it), checks x members; ``outages``: the
    servers' (changes, stretches, deaths, each server's slice of those in ``offsets``, their state ``down`` and
    deaths seen ``reset``); ``own``: the balancer's (stretches, deaths); ``state``: (turn, view key, members in
    view, requests inside; when to ask the view again; the view; ejected; when; errors in a row; connections; the
    heap of requests inside: when they leave, where, their status), updated in place; ``servers`` as
    :func:`route` takes them.  Returns, per request: status, leave time, route (-1: none), failure (-1: none;
    the number of servers: the balancer), and (admitted, wait, start, finish) at its server, and end (NaN: not
    set here)."""
    policy, eject_after, interval = rule
    checked, up_at = views
    ints, recheck, healthy, ejected, ejected_at, errors, connections, back, back_to, back_status = state
    n, members = len(times), len(servers[1])
    status, leaves, routes = np.empty(n, dtype=np.int8), np.empty(n), np.full(n, -1, dtype=np.int64)
    failed, ends = np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    records = (np.zeros(n, dtype=np.bool_), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan))
    turn, view_key, m, inside = ints[0], ints[1], ints[2], ints[3]
    for r in range(n):
        t = times[r]
        while inside and back[0] <= t:  # answers back before this request
            at, k, st = back[0], back_to[0], back_status[0]
            inside -= 1
            pop_top3(back, back_to, back_status, inside)
            connections[k] -= 1
            if eject_after:
                m = count_error(k, st, at, eject_after, errors, ejected, ejected_at, healthy, m)
        if len(own[0][0]) and not up(own[0][0], own[0][1], 0, len(own[0][0]), t):  # the balancer is down: 503
            status[r], leaves[r] = ERROR, t
            continue
        if t >= recheck[0]:
            key = np.int64(np.floor(t / interval))
            if key != view_key:
                view_key, m = key, view(checked[key], up_at[key], key * interval, healthy, ejected, ejected_at)
            recheck[0] = (view_key + 1) * interval * (1.0 - 1e-12)
        if m == 0:  # no healthy server: 503
            status[r], leaves[r] = ERROR, t
            continue
        k = pick(policy, healthy, m, turn, connections, u[r], v[r])
        if policy == LEAST or policy == ROBIN:
            turn += 1
        routes[r] = k
        st, leave, death = OK, t, np.inf
        down = outages[4]
        if outages[3][2, k + 1] > outages[3][2, k]:  # a server with outages: up at t? its next death?
            if not down[k, 0] <= t < down[k, 1]:
                refresh(k, t, outages, servers)
            if not down[k, 2]:
                st = ERROR
            death = down[k, 3]
        if st == OK:
            st, leave = step(k, r, t, death, services[k, r], servers, served, records, ends)
        if leave > t:
            connections[k] += 1
            push3(back, back_to, back_status, inside, leave, k, st)
            inside += 1
        elif eject_after:
            m = count_error(k, st, t, eject_after, errors, ejected, ejected_at, healthy, m)
        if st != OK:
            failed[r] = k
        elif len(own[1]) and next_after(own[1], t) <= leave:  # the balancer died while it was inside
            failed[r], st = members, ERROR
        status[r], leaves[r] = st, leave
    ints[0], ints[1], ints[2], ints[3] = turn, view_key, m, inside
    return status, leaves, routes, failed, records, ends


@jit
def view(checked, up_at, seen, healthy, ejected, ejected_at):
    """The members a new health check finds healthy, into ``healthy`` (returns how many): it readmits the ejected
    servers it finds up, and leaves out those still ejected (LoadBalancerRun._view)."""
    m = 0
    for k in range(len(checked)):
        if checked[k]:
            healthy[m] = k
            m += 1
    if ejected.any():
        for k in range(len(checked)):
            if ejected[k] and seen >= ejected_at[k] and up_at[k]:
                ejected[k] = False
        m = leave_out(healthy, m, ejected)
    return m


@jit
def pick(policy, healthy, m, turn, connections, u, v):  # the policy's member among healthy[:m]
    if policy == LEAST:  # the first with the fewest connections, counting from the next in turn
        first = (turn + 1) % m
        k = healthy[first]
        for j in range(1, m):
            other = healthy[(first + j) % m]
            if connections[other] < connections[k]:
                k = other
        return k
    if policy == ROBIN:
        return healthy[(turn + 1) % m]
    if policy == RANDOM:
        return healthy[int(u * m)]
    if m == 1:
        return healthy[0]
    a, b = int(u * m), int(v * (m - 1))
    a, b = healthy[a], healthy[b + (b >= a)]
    return b if connections[b] < connections[a] else a


@jit
def step(k, r, t, death, s, servers, served, records, ends):
    """Server k's FCFS step for request r (ServerRun._step and _settle, as the loop in downtime inlines them);
    ``records``: (admitted, wait, start, finish) per request."""
    heaps, workers, queues, head, count, timeouts, limits, bounded = servers
    admitted, waits, starts, finishes = records
    start, timeout, size = heaps[k, 0], timeouts[k], queues.shape[1]
    if bounded[k]:
        while count[k] and queues[k, head[k]] <= t:
            head[k] = (head[k] + 1) % size
            count[k] -= 1
        if start > t and count[k] >= limits[k]:
            return REJECTED, t
        if start > t:
            queues[k, (head[k] + count[k]) % size] = start
            count[k] += 1
    if start <= t:
        start = t
    replace_top_row(heaps, k, workers[k], start if start - t > timeout else start + s)
    admitted[r] = True
    if start - t > timeout or start >= death:  # it gave up waiting, or the server died meanwhile
        wait = death - t if start >= death else start - t
        waits[r] = wait
        st, leave = ERROR, death
        if start < death:
            st, leave = TIMEOUT, start
        if wait > timeout:
            st, ends[r] = TIMEOUT, t + timeout
        return st, leave
    finish = start + s
    waits[r], starts[r] = start - t, start
    st, leave = OK, finish
    if finish >= death:  # the server died while it served this one
        st, leave = ERROR, death
    else:
        served[k] += 1
    finishes[r] = leave
    if leave - t > timeout:
        st, ends[r] = TIMEOUT, t + timeout
    return st, leave


@jit
def refresh(k, t, outages, servers):
    """Server k's state at t (up? its next death) and the stretch it holds over; back from a death: empty."""
    changes, stretches, deaths, offsets, down, reset = outages
    heaps, workers, head, count = servers[0], servers[1], servers[3], servers[4]
    low, high = offsets[0, k], offsets[0, k + 1]
    j = bisect_right(changes, low, high, t)
    down[k, 0] = changes[j - 1] if j > low else -np.inf
    down[k, 1] = changes[j] if j < high else np.inf
    down[k, 2] = up(stretches[0], stretches[1], offsets[1, k], offsets[1, k + 1], t)
    if down[k, 2]:
        low, high = offsets[2, k], offsets[2, k + 1]
        passed = bisect_right(deaths, low, high, t)
        down[k, 3] = deaths[passed] if passed < high else np.inf
        if passed - low > reset[k]:
            heaps[k, :workers[k]] = 0.0
            head[k], count[k], reset[k] = 0, 0, passed - low


@jit
def count_error(k, st, now, eject_after, errors, ejected, ejected_at, healthy, m):
    """Outlier ejection (LoadBalancerRun._count_error); returns how many members the view holds now."""
    if st == ERROR:
        errors[k] += 1
        if errors[k] >= eject_after and not ejected[k]:
            ejected[k], ejected_at[k] = True, now
            m = leave_out(healthy, m, ejected)
    elif st == OK:
        errors[k] = 0
    return m


@jit
def leave_out(healthy, m, ejected):  # the view less the ejected members, unless that leaves none
    kept = 0
    for j in range(m):
        kept += not ejected[healthy[j]]
    if kept == 0:
        return m
    kept = 0
    for j in range(m):
        if not ejected[healthy[j]]:
            healthy[kept] = healthy[j]
            kept += 1
    return kept


@jit
def bisect_right(values, low, high, x):  # bisect.bisect_right on values[low:high], as an index into values
    while low < high:
        middle = (low + high) // 2
        if x < values[middle]:
            high = middle
        else:
            low = middle + 1
    return low


@jit
def up(starts, ends, low, high, t):  # Downtime.up over the stretches starts[low:high], ends[low:high]
    j = bisect_right(starts, low, high, t) - 1
    return j < low or t >= ends[j]


@jit
def next_after(deaths, t):  # the first death after t, or inf
    j = bisect_right(deaths, 0, len(deaths), t)
    return deaths[j] if j < len(deaths) else np.inf


@jit
def before(a, b, c, x, y, z):  # (a, b, c) < (x, y, z), as Python compares tuples
    return a < x or (a == x and (b < y or (b == y and c < z)))


@jit
def push3(keys, second, third, size, key, value, other):  # heappush of (key, value, other) onto the heap of size
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if not before(key, value, other, keys[parent], second[parent], third[parent]):
            break
        keys[i], second[i], third[i] = keys[parent], second[parent], third[parent]
        i = parent
    keys[i], second[i], third[i] = key, value, other


@jit
def pop_top3(keys, second, third, size):  # drop the top of a heap of size + 1 (tuples compared whole)
    key, value, other = keys[size], second[size], third[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and before(keys[child + 1], second[child + 1], third[child + 1], keys[child],
                                       second[child], third[child]):
            child += 1
        if not before(keys[child], second[child], third[child], key, value, other):
            break
        keys[i], second[i], third[i] = keys[child], second[child], third[child]
        i = child
    keys[i], second[i], third[i] = key, value, other


@jit
def held(times, s_web, s_db, known, web_queue, web_state, web_timeout, web_limit, web_bounded, web_records, backend,
         served, db_records, ends, sent):
    """A thread-per-request server in front of a plain one, for requests in order of arrival: a web worker is held
    from its start until the backend answers.  A worker whose request waits for the backend is free at a time not
    known yet; the backend's arrivals are taken in their order as soon as no later one can come before them (a
    request not yet started starts after every worker's known free time or after the backend arrival asked).
    ``known`` holds the workers' free times (a heap, all known at the start and the end), ``web_state`` the web
    queue's (head, count), the web's served count and how many reached the backend; ``backend`` is the backend's
    state as :func:`route` takes a server's.  Returns each request's status and leave time; records go into
    ``web_records`` and ``db_records`` (admitted, wait, start, finish), ``ends`` (a client's end, NaN: not set
    here) and ``sent`` (the requests that reached the backend, in the order they did)."""
    n, size = len(times), len(web_queue)
    status, leaves = np.empty(n, dtype=np.int8), np.empty(n)
    pending, pending_to, zero, waiting = np.empty(n), np.empty(n, dtype=np.int64), np.zeros(n, dtype=np.int64), 0
    free, head, count = known.shape[1], web_state[0], web_state[1]
    web_admitted, web_waits, web_starts, web_finishes = web_records
    for r in range(n):
        t = times[r]
        while waiting and pending[0] < max(t, known[0, 0] if free else np.inf):  # answers before it could start
            waiting, free = answer(pending, pending_to, zero, waiting, known, free, s_db, status, leaves, backend,
                                   served, db_records, ends, web_finishes, sent, web_state)
        start = known[0, 0]
        if web_bounded:
            while count and web_queue[head] <= t:
                head = (head + 1) % size
                count -= 1
            if start > t and count >= web_limit:
                status[r], leaves[r] = REJECTED, t
                continue
            if start > t:
                web_queue[(head + count) % size] = start
                count += 1
        if start <= t:
            start = t
        web_admitted[r], web_waits[r] = True, start - t
        if start - t > web_timeout:  # it gave up waiting: the worker is free at once
            replace_top_row(known, 0, free, start)
            status[r], leaves[r], ends[r] = TIMEOUT, start, t + web_timeout
            continue
        end = start + s_web[r]
        web_starts[r], web_finishes[r] = start, end
        web_state[2] += 1
        if end - t > web_timeout:  # its client stopped waiting during the web's own work: no backend call
            replace_top_row(known, 0, free, end)
            status[r], leaves[r], ends[r] = TIMEOUT, end, t + web_timeout
            continue
        free -= 1  # the worker waits, held, for the backend
        if free:
            replace_top_row(known, 0, free, known[0, free])
        push3(pending, pending_to, zero, waiting, end, r, 0)
        waiting += 1
    while waiting:
        waiting, free = answer(pending, pending_to, zero, waiting, known, free, s_db, status, leaves, backend, served,
                               db_records, ends, web_finishes, sent, web_state)
    web_state[0], web_state[1] = head, count
    return status, leaves


@jit
def answer(pending, pending_to, zero, waiting, known, free, s_db, status, leaves, backend, served, db_records, ends,
           web_finishes, sent, web_state):
    """The backend serves the earliest of the requests sent to it; the web worker that waited is free then."""
    a, r = pending[0], pending_to[0]
    waiting -= 1
    pop_top3(pending, pending_to, zero, waiting)
    st, leave = step(0, r, a, np.inf, s_db[r], backend, served, db_records, ends)
    status[r], leaves[r], web_finishes[r] = st, leave, leave
    sent[web_state[3]] = r
    web_state[3] += 1
    push_row(known, 0, free, leave)
    return waiting, free + 1


@jit
def push_row(heaps, k, n, value):  # heapq.heappush onto the heap heaps[k, :n]
    i = n
    while i > 0:
        parent = (i - 1) // 2
        if heaps[k, parent] <= value:
            break
        heaps[k, i] = heaps[k, parent]
        i = parent
    heaps[k, i] = value
