"""Hashing clients (or keys) to servers: how many move when the servers change, how uneven the shares are.

A sticky balancer sends every request of a client to the server its hash picks, so that the
client's session (kept in that server's memory) is there.  Three questions follow, with closed forms:

* **How many clients move** when a server joins or leaves (:func:`keys_moved`)?  With *modulo*
  hashing (``hash mod n``) almost everyone: n/(n+1) when one server joins.  With a *consistent-hash
  ring* only the share the new server takes: 1/(n+1).  A client that moves loses its session.
* **How uneven is the split** (:func:`max_load`)?  Hashing m clients to n servers is throwing m
  balls into n bins: the busiest server holds more than m/n.
* **What does one big client do** (:func:`nat_share`)?  Everyone behind one NAT gateway shares one
  address, so all of them hash to one server.

Chapter 08 uses these; chapter 12 (sharding) reuses :func:`keys_moved` for keys.
"""

import math

import numpy as np

from ..core import validation as check

__all__ = ["SCHEMES", "keys_moved", "max_load", "nat_share", "sessions_lost_share"]

SCHEMES = ("modulo", "ring")
MAX_BINS = 1_000_000
MAX_BALLS = 10**8
_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)


def _lgamma(x):
    return _LGAMMA(x).astype(float)


def keys_moved(servers_before, servers_after, scheme="modulo"):
    """Expected share of clients (or keys) whose server changes when ``servers_before`` become ``servers_after``.

    * ``"modulo"``: a client with hash h goes to server h mod n.  It stays only if h mod n = h mod m,
      which holds for min(n, m) of every lcm(n, m) hash values: moved = 1 - min(n, m) / lcm(n, m).
      One server joining moves n/(n+1); one leaving moves (n-1)/n; doubling moves half.
    * ``"ring"``: consistent hashing (servers and clients on one circle, each client served by the
      next server clockwise).  Only the clients of the servers that join (or leave) move, on
      average |m - n| / max(n, m): one joining moves 1/(n+1).

    >>> keys_moved(4, 5), keys_moved(4, 5, "ring")
    (0.8, 0.2)
    >>> keys_moved(4, 8), keys_moved(5, 4)
    (0.5, 0.8)
    """
    check.number("servers_before", servers_before, low=1, high=MAX_BINS, integer=True)
    check.number("servers_after", servers_after, low=1, high=MAX_BINS, integer=True)
    check.choice("scheme", scheme, SCHEMES)
    n, m = int(servers_before), int(servers_after)
    if scheme == "ring":
        return abs(m - n) / max(n, m)
    return 1.0 - min(n, m) / math.lcm(n, m)


def max_load(balls, bins):
    """Expected number of balls in the fullest of ``bins`` bins when ``balls`` are thrown at random.

    Clients hashed to servers are balls in bins.  Each bin's count is Binomial(m, 1/n); treating the
    n counts as independent, P(max <= k) = F(k)^n and E[max] = sum over k of 1 - F(k)^n.  The counts
    are in fact negatively correlated (together they make m), which spreads them a little more, so
    this understates the maximum: by about 1 % for 1,000 balls in 4 to 10 bins, 2 % for 100 balls in 2
    bins or 200 in 8, 7 % for 10 balls in 4 bins (measured by throwing balls; tests/test_stateless.py).
    For m >> n log n it approaches m/n + sqrt(2 (m/n) ln n).

    >>> round(max_load(1_000, 4), 1)    # 250 on average; the fullest about 6 % more
    264.1
    >>> max_load(5, 1)
    5.0
    """
    check.number("balls", balls, low=0, high=MAX_BALLS, integer=True)
    check.number("bins", bins, low=1, high=MAX_BINS, integer=True)
    m, n = int(balls), int(bins)
    if n == 1 or m <= 1:   # one ball: its bin is the fullest (the independent counts would say 1 - (1 - 1/n)^n)
        return float(m)
    mean, spread = m / n, 12 * math.sqrt(m / n) + 20
    low, top = int(max(0, mean - spread)), int(min(m, mean + spread))
    k = np.arange(low, top + 1)
    log_pmf = (math.lgamma(m + 1) - _lgamma(k + 1) - _lgamma(m - k + 1)
               + k * math.log(1 / n) + (m - k) * math.log1p(-1 / n))
    cdf = np.minimum(np.cumsum(np.exp(log_pmf)), 1.0)   # P(count <= k); below ``low`` it is negligible
    return float(low + np.sum(1.0 - cdf ** n))           # every k below ``low`` adds 1 - 0 = 1


def nat_share(share, servers):
    """The share of all traffic reaching the server that a NAT gateway's address hashes to.

    A ``share`` of the users sit behind one address (a company network, a mobile carrier's NAT);
    hashing by IP sends all of them to one server, which also gets its 1/n of everyone else:
    s + (1 - s)/n, against 1/n for the others' servers.

    >>> nat_share(0.3, 4)            # 30 % of users behind one NAT, 4 servers: 47.5 % on one server
    0.475
    """
    check.number("share", share, low=0, high=1)
    check.number("servers", servers, low=1, high=MAX_BINS, integer=True)
    return share + (1.0 - share) / servers


def sessions_lost_share(servers, event="death", scheme="modulo"):
    """Expected share of active sticky sessions lost when one of ``servers`` dies or one server joins.

    * ``"death"``: the sessions in the dead server's memory, 1/n (a balancer that re-hashes only the
      dead server's clients, as nginx's ``ip_hash`` and this course's balancer do).
    * ``"join"``: every client whose hash now picks another server arrives where its session is not:
      :func:`keys_moved` (n, n + 1), n/(n+1) for modulo hashing, 1/(n+1) for a ring.

    A shared session store loses none in either case.

    >>> sessions_lost_share(4), sessions_lost_share(4, "join"), sessions_lost_share(4, "join", "ring")
    (0.25, 0.8, 0.2)
    """
    check.number("servers", servers, low=1, high=MAX_BINS, integer=True)
    check.choice("event", event, ("death", "join"))
    check.choice("scheme", scheme, SCHEMES)
    if event == "death":
        return 1.0 / servers
    check.number("servers", servers, low=1, high=MAX_BINS - 1, integer=True)  # the one joining must fit too
    return keys_moved(servers, servers + 1, scheme)
