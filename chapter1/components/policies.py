"""Load-balancing policies: how a load balancer picks a server for each request.

Each chooser gets the balancer at run time, the members its health view holds (indices into
``members``, never empty) and the request index; it returns one of those members.  A new
policy is one function added to :data:`POLICIES`.
"""

import numpy as np


def _round_robin(run, healthy, i):
    """Next server in turn: each gets every n-th request (theory: E_n/M/1 per server)."""
    run.turn += 1
    return healthy[run.turn % len(healthy)]


def _random(run, healthy, i):
    """A server drawn uniformly at random (theory: n independent M/M/1 queues)."""
    if len(healthy) == run.everyone:  # every member healthy (healthy[k] is k): the pick drawn for the whole pool
        return run.picks[i]
    return healthy[int(run.u[i] * len(healthy))]


def _least_connections(run, healthy, i):
    """The server with the fewest requests in flight, ties taken in turn (approaches M/M/c, one shared queue)."""
    run.turn += 1
    connections, m = run.connections, len(healthy)
    start = run.turn % m
    if m == run.everyone:  # every member is healthy (members 0..m-1): the first fewest from start, or before
        low = min(connections)
        try:
            return connections.index(low, start)
        except ValueError:
            return connections.index(low)
    return min(healthy[start:] + healthy[:start], key=connections.__getitem__)


def _power_of_two(run, healthy, i):
    """Of two distinct servers drawn at random, the one with fewer requests in flight (supermarket model)."""
    m = len(healthy)
    if m == run.everyone and m > 1:  # every member healthy (healthy[k] is k): the pair drawn for the whole pool
        a, b = run.first[i], run.second[i]
    elif m == 1:
        return healthy[0]
    else:
        a, b = int(run.u[i] * m), int(run.v[i] * (m - 1))
        a, b = healthy[a], healthy[b + (b >= a)]
    connections = run.connections
    return b if connections[b] < connections[a] else a


def draw_pairs(u, v, m):
    """The two distinct servers :func:`_power_of_two` draws from uniforms ``u``, ``v`` among ``m`` (arrays of picks).

    >>> [p.tolist() for p in draw_pairs(np.array([0.1, 0.9]), np.array([0.5, 0.2]), 4)]
    [[0, 3], [2, 0]]
    """
    first = (u * m).astype(np.int64)
    second = (v * (m - 1)).astype(np.int64)
    return first, second + (second >= first)


def _weighted(run, healthy, i):
    """Smooth weighted round robin (as nginx): server k gets a share weight_k / sum of weights, evenly spread."""
    if len(healthy) == len(run.current) and (run.cycle or _cycle(run)):  # every member healthy: picks come round
        cycle, at = run.cycle, run.cycle_at
        run.cycle_at = at + 1 if at + 1 < len(cycle) else 0
        return cycle[at]
    _leave_cycle(run)
    current, weights, total, best = run.current, run.weights, 0.0, healthy[0]
    for k in healthy:
        current[k] += weights[k]
        total += weights[k]
        if current[k] > current[best]:
            best = k
    current[best] -= total
    return best


def _weighted_step(current, weights):
    """One pick of :func:`_weighted` over every member (the same steps on whole lists); ``current`` is updated."""
    current[:] = [c + w for c, w in zip(current, weights)]
    best = current.index(max(current))
    current[best] -= sum(weights, 0.0)  # (added in order from 0.0, as _weighted adds)
    return best


def _cycle(run, longest=1_000):
    """The picks over every member from the current weights until these come back (``run.cycle``, next at
    ``run.cycle_at``; after sum(weights) picks for whole-number weights); empty if not within ``longest``."""
    if run.cycle is None:
        current, picks = list(run.current), []
        while len(picks) < longest:
            picks.append(_weighted_step(current, run.weights))
            if current == run.current:
                break
        run.cycle, run.cycle_at = (picks if current == run.current else []), 0
    return run.cycle


def _leave_cycle(run):
    """Bring ``run.current`` to where the picks taken from the cycle left it (some member is out)."""
    if run.cycle:
        for _ in range(run.cycle_at):
            _weighted_step(run.current, run.weights)
        run.cycle = None


def _ip_hash(run, healthy, i):
    """Sticky: a client's hash picks its server among those configured; if that one is out, another by hash."""
    h, joined = run.client_hash[run.client[i]], run.joined
    home = joined[h % len(joined)]
    if home in run.healthy_set:
        return home
    return healthy[(h // len(joined)) % len(healthy)]


POLICIES = {
    "round_robin": _round_robin,
    "random": _random,
    "least_connections": _least_connections,
    "power_of_two": _power_of_two,
    "weighted": _weighted,
    "ip_hash": _ip_hash,
}

def _round_robin_all(run, healthy, requests):
    """:func:`_round_robin` for an array of requests at once."""
    turns = run.turn + 1 + np.arange(len(requests))
    run.turn += len(requests)
    return np.asarray(healthy)[turns % len(healthy)]


def _random_all(run, healthy, requests):
    """:func:`_random` for an array of requests at once."""
    return np.asarray(healthy)[(run.u_draws[requests] * len(healthy)).astype(np.int64)]


def _ip_hash_all(run, healthy, requests):
    """:func:`_ip_hash` for an array of requests at once."""
    h, joined = run.client_hashes[run.sim.client[requests]], np.asarray(run.joined)
    home = joined[(h % len(joined)).astype(np.int64)]
    other = np.asarray(healthy)[((h // len(joined)) % len(healthy)).astype(np.int64)]
    return np.where(np.isin(home, healthy), home, other)


def _weighted_all(run, healthy, requests):
    """:func:`_weighted` for an array of requests: one cycle of picks, tiled."""
    if len(healthy) == len(run.current) and _cycle(run):
        cycle = np.roll(run.cycle, -run.cycle_at)
        run.cycle_at = (run.cycle_at + len(requests)) % len(cycle)
        return np.resize(cycle, len(requests))
    return np.array([_weighted(run, healthy, None) for _ in range(len(requests))], dtype=np.int64)


# The same choices for a whole run at once, for the policies that ignore connections (the event-free path).
BATCH_POLICIES = {"round_robin": _round_robin_all, "random": _random_all, "ip_hash": _ip_hash_all,
                  "weighted": _weighted_all}

# Policies that read the two uniform draws each request carries (``run.u``, ``run.v``).
DRAWS = frozenset({"random", "power_of_two"})

# Policies whose choice reads the connections each server holds: the event-free path must then route
# one request at a time; the others can route a whole run first.
READS_CONNECTIONS = frozenset({"least_connections", "power_of_two"})
