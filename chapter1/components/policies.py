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
    return healthy[int(run.u[i] * len(healthy))]


def _least_connections(run, healthy, i):
    """The server with the fewest requests in flight, ties taken in turn (approaches M/M/c, one shared queue)."""
    run.turn += 1
    connections, m = run.connections, len(healthy)
    start = run.turn % m
    if m == len(connections):  # every member is healthy (members 0..m-1): search the counts themselves
        turned = connections[start:] + connections[:start]
        return (start + turned.index(min(turned))) % m
    return min(healthy[start:] + healthy[:start], key=connections.__getitem__)


def _power_of_two(run, healthy, i):
    """Of two distinct servers drawn at random, the one with fewer requests in flight (supermarket model)."""
    m = len(healthy)
    if m == 1:
        return healthy[0]
    a, b = int(run.u[i] * m), int(run.v[i] * (m - 1))
    a, b = healthy[a], healthy[b + (b >= a)]
    return b if run.connections[b] < run.connections[a] else a


def _weighted(run, healthy, i):
    """Smooth weighted round robin (as nginx): server k gets a share weight_k / sum of weights, evenly spread."""
    current, weights, total, best = run.current, run.weights, 0.0, healthy[0]
    if len(healthy) == len(current):  # every member healthy (members 0..m-1): the same steps over whole lists
        current = run.current = [c + w for c, w in zip(current, weights)]
        best = current.index(max(current))
        current[best] -= sum(weights, 0.0)  # (added in order from 0.0, as the loop below adds)
        return best
    for k in healthy:
        current[k] += weights[k]
        total += weights[k]
        if current[k] > current[best]:
            best = k
    current[best] -= total
    return best


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


def _weighted_all(run, healthy, requests, longest=100_000):
    """:func:`_weighted` for an array of requests: its picks repeat from the moment every server's current
    weight is back where it began (after sum(weights) picks for whole-number weights), so one cycle is tiled."""
    begin, cycle, n = list(run.current), [], len(requests)
    while len(cycle) < min(n, longest):
        cycle.append(_weighted(run, healthy, None))
        if run.current == begin:
            picks = np.resize(np.array(cycle), n)
            for _ in range(n % len(cycle)):  # the state after n picks is the state after n mod cycle
                _weighted(run, healthy, None)
            return picks
    return np.array(cycle + [_weighted(run, healthy, None) for _ in range(n - len(cycle))])


# The same choices for a whole run at once, for the policies that ignore connections (the event-free path).
BATCH_POLICIES = {"round_robin": _round_robin_all, "random": _random_all, "ip_hash": _ip_hash_all,
                  "weighted": _weighted_all}

# Policies that read the two uniform draws each request carries (``run.u``, ``run.v``).
DRAWS = frozenset({"random", "power_of_two"})

# Policies whose choice reads the connections each server holds: the event-free path must then route
# one request at a time; the others can route a whole run first.
READS_CONNECTIONS = frozenset({"least_connections", "power_of_two"})
