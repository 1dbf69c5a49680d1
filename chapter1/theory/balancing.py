"""Load balancing: n servers, one worker each, exponential service; one model per policy."""

import math

from ..components.policies import POLICIES
from ..core import validation as check
from .queues import MAX_SERVERS, QueueStats, check_queue, mmc

__all__ = ["LOAD_BALANCING", "load_balancing", "pooled", "power_of_two", "random_routing", "round_robin"]


def random_routing(arrival_rate, service_rate, servers, workers=1):
    """Random routing: each of ``servers`` servers gets an independent Poisson share lambda/n (n M/M/c queues).

    Every request's figures are those of one server at rate ``arrival_rate / servers``;
    ``mean_in_system`` counts all servers together.

    >>> round(random_routing(80, 10, servers=10).mean_response_s, 6)   # 10 M/M/1 at 80%: 1 / (10 - 8)
    0.5
    """
    check_queue(arrival_rate, service_rate, servers)
    check.number("workers", workers, low=1, high=MAX_SERVERS, integer=True)
    one = mmc(arrival_rate / servers, service_rate, workers)
    return QueueStats(one.utilization, one.p_wait, one.mean_wait_s, one.mean_response_s,
                      arrival_rate * one.mean_response_s)


def round_robin(arrival_rate, service_rate, servers):
    """Round robin over single-worker servers: each sees every n-th arrival, an E_n/M/1 queue.

    The gaps between a server's arrivals are Erlang-n (n exponential gaps of rate lambda), far more
    regular than Poisson, so the queues are shorter than random routing's.  GI/M/1 theory: the
    wait is positive with probability sigma, the root in (0, 1) of sigma = (lambda / (lambda + mu(1 - sigma)))^n,
    and the mean response is 1 / (mu (1 - sigma)).  ``servers=1`` is M/M/1.

    >>> round(round_robin(8, 10, servers=1).mean_response_s, 6)
    0.5
    >>> round(round_robin(80, 10, servers=10).mean_response_s, 4)   # vs 0.5 for random routing
    0.2922
    """
    check_queue(arrival_rate, service_rate, servers)
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1:
        return QueueStats(rho, 1.0, math.inf, math.inf, math.inf)
    if arrival_rate == 0:
        return QueueStats(0.0, 0.0, 0.0, 1 / service_rate, 0.0)
    low, high = 0.0, 1.0  # f(s) - s is > 0 below the root, < 0 between it and 1
    for _ in range(200):  # until the bracket stops moving (about 55 halvings): more would change nothing
        sigma = (low + high) / 2
        if (arrival_rate / (arrival_rate + service_rate * (1 - sigma))) ** servers > sigma:
            if low == sigma:
                break
            low = sigma
        else:
            if high == sigma:
                break
            high = sigma
    sigma = (low + high) / 2
    response = 1 / (service_rate * (1 - sigma))
    return QueueStats(rho, sigma, response - 1 / service_rate, response, arrival_rate * response)


def power_of_two(arrival_rate, service_rate, servers, d=2):
    """Power of d choices (the supermarket model): each request joins the shorter of ``d`` random queues.

    Mean-field limit as the number of servers grows (Vvedenskaya, Dobrushin & Karpelevich 1996;
    Mitzenmacher, "The power of two choices in randomized load balancing", IEEE TPDS 2001): with
    per-server load rho = lambda / (n mu), the share of servers holding at least i requests is
    s_i = rho^((d^i - 1)/(d - 1)), so a server holds sum_i s_i requests on average and, by Little's
    law at rate lambda/n, a request spends T = (1/mu) sum_{i>=1} rho^((d^i - d)/(d - 1)).
    The queue length tail falls doubly exponentially instead of geometrically (d = 1 is random
    routing, M/M/1).  ``servers`` only scales ``mean_in_system``; for a few servers the true
    mean is a little higher.

    >>> round(power_of_two(8, 10, servers=1, d=1).mean_response_s, 6)    # d = 1: M/M/1
    0.5
    >>> round(power_of_two(80, 10, servers=10).mean_response_s, 4)      # vs 0.5 for random routing
    0.1947
    """
    check_queue(arrival_rate, service_rate, servers)
    check.number("d", d, low=1, integer=True)
    d = min(d, servers)  # one cannot sample more distinct servers than there are
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1:
        return QueueStats(rho, 1.0, math.inf, math.inf, math.inf)
    if d == 1:  # random routing: the series is geometric, sum rho^(i-1) = 1 / (1 - rho)
        total = 1 / (1 - rho)
    else:  # doubly exponential tail: a few dozen terms at the most
        total, i, term = 0.0, 1, 1.0
        while term >= 1e-17:
            term = rho ** ((d ** i - d) // (d - 1))
            total, i = total + term, i + 1
    response = total / service_rate
    return QueueStats(rho, rho ** d, response - 1 / service_rate, response, arrival_rate * response)


def pooled(arrival_rate, service_rate, servers):
    """All servers fed from one shared queue (M/M/c): the best any balancer can do.

    Least connections (join the shortest queue) comes close to it: a request waits only when
    every server is busy, but then it waits at one server and cannot move to the first that
    frees up, so its mean response is a little higher, most at high load.

    >>> round(pooled(80, 10, servers=10).mean_response_s, 4)
    0.1205
    """
    return mmc(arrival_rate, service_rate, servers)


LOAD_BALANCING = {
    "random": random_routing,
    "round_robin": round_robin,
    "weighted": round_robin,  # identical servers: weighted round robin is round robin
    "power_of_two": power_of_two,
    "least_connections": pooled,  # a lower bound that join-the-shortest-queue approaches
}


def load_balancing(policy, arrival_rate, service_rate, servers):
    """Theory for a balancing ``policy`` over identical single-worker servers (see :data:`LOAD_BALANCING`).

    ``None`` for ``"ip_hash"``: its load depends on how the clients happen to hash.

    >>> {p: round(load_balancing(p, 80, 10, 10).mean_response_s, 3) for p in ("random", "power_of_two")}
    {'random': 0.5, 'power_of_two': 0.195}
    """
    check.choice("policy", policy, tuple(POLICIES))
    theory = LOAD_BALANCING.get(policy)
    return None if theory is None else theory(arrival_rate, service_rate, servers)
