"""Several data centres: failover behind GeoDNS, writes lost with a site, headroom, the cost of a standby.

The model (:class:`chapter1.components.datacentre.GeoDNS`): each client belongs to a region and
caches GeoDNS's answer (a site) for a TTL; GeoDNS checks the sites every ``interval_s`` seconds;
the sites copy each other's writes asynchronously, each write reaching each other site after an
exponential lag of mean L.
"""

import math

import numpy as np

from ..core import validation as check
from .caching import ttl_hit_ratio

__all__ = ["SITE_MODES", "site_detected_at", "failover_failures", "geo_hit_ratio", "expected_lost_site_writes",
           "headroom_limit", "survivor_utilisation", "survival_capacity", "idle_share", "conflict_rate"]

SITE_MODES = ("active-passive", "active-active")


def site_detected_at(fail_at_s, interval_s):
    """When health checks at 0, h, 2h, ... first see a site that died at ``fail_at_s``.

    >>> site_detected_at(17.5, 5), site_detected_at(20, 5)
    (20.0, 20.0)
    """
    check.number("fail_at_s", fail_at_s, low=0)
    check.number("interval_s", interval_s, low=0, low_open=True)
    checks = fail_at_s / interval_s
    if math.isinf(checks):  # a subnormal interval: checks so close together that they see the death at once
        return float(fail_at_s)
    return max(float(fail_at_s), math.ceil(checks) * float(interval_s))  # never before the death, after rounding


def geo_hit_ratio(rate, clients, ttl_s):
    """Share of requests a client sends from its cached GeoDNS answer: r*TTL / (1 + r*TTL), r = rate / clients.

    >>> round(geo_hit_ratio(40, clients=1_000, ttl_s=10), 3)     # 0.04 req/s per client: 0.4 / 1.4
    0.286
    """
    check.number("rate", rate, low=0)
    check.number("clients", clients, low=1, integer=True)
    return ttl_hit_ratio(rate / clients, ttl_s)


def failover_failures(rate, fail_at_s, interval_s, ttl_s=0.0, hit_ratio=0.0, in_site_s=0.0, recover_s=math.inf):
    """Requests that fail when a site that receives ``rate`` requests a second dies at ``fail_at_s``.

    Chapter 04's shape: everything sent there fails until GeoDNS's next health check notices
    (detection), then the requests that clients send from an answer cached before that keep
    failing until it expires: on average a ``hit_ratio`` share of them over half a TTL.  The
    requests inside the site when it dies (``rate x in_site_s``, Little's law) fail too.

        failed = rate x (detection + hit share x TTL/2 + time in the site)

    A site that comes back at ``recover_s`` cuts both short: from then on, cached answers that
    point to it work again.

    >>> failover_failures(20, fail_at_s=17.5, interval_s=5, ttl_s=10, hit_ratio=0.3)   # 20 x (2.5 + 1.5)
    80.0
    >>> failover_failures(20, fail_at_s=17.5, interval_s=5, ttl_s=10, hit_ratio=0.3, recover_s=20)
    50.0
    """
    check.number("rate", rate, low=0)
    check.number("ttl_s", ttl_s, low=0)
    check.number("hit_ratio", hit_ratio, low=0, high=1)
    check.number("in_site_s", in_site_s, low=0)
    seen = site_detected_at(fail_at_s, interval_s)
    check.number("recover_s", recover_s, low=fail_at_s, allow_inf=True)
    detection = min(seen, recover_s) - fail_at_s
    window = min(ttl_s, max(0.0, recover_s - seen))   # how long cached answers keep failing after the check
    tail = hit_ratio * (window - window ** 2 / (2 * ttl_s)) if ttl_s > 0 else 0.0
    return float(rate * (detection + tail + in_site_s))


def expected_lost_site_writes(write_rate, lag_ms, datacentres=2):
    """Writes a site had acknowledged but not yet copied to every other site when it died.

    Little's law: writes on their way to one other site = write rate x mean lag L.  A write is
    safe once every other site has it, so with N sites (independent exponential lags) it is at
    risk for the longest of N - 1 lags, on average L x (1 + 1/2 + ... + 1/(N-1)).

    >>> expected_lost_site_writes(10, lag_ms=200)       # 10 writes a second x 0.2 s
    2.0
    >>> expected_lost_site_writes(10, lag_ms=200, datacentres=3)
    3.0
    """
    check.number("write_rate", write_rate, low=0)
    check.number("lag_ms", lag_ms, low=0)
    check.number("datacentres", datacentres, low=2, integer=True)
    return float(write_rate * lag_ms / 1_000.0 * sum(1 / k for k in range(1, datacentres)))


def headroom_limit(datacentres, lost=1):
    """Highest utilisation each of ``datacentres`` equal active sites may run at so that the others carry
    everything after ``lost`` of them die: (N - lost) / N.

    >>> headroom_limit(2), round(headroom_limit(3), 3)
    (0.5, 0.667)
    """
    check.number("datacentres", datacentres, low=1, integer=True)
    check.number("lost", lost, low=0, high=datacentres - 1, integer=True)
    return (datacentres - lost) / datacentres


def survivor_utilisation(utilisation, datacentres, lost=1):
    """What each surviving active site is asked to do after ``lost`` of ``datacentres`` die: rho x N / (N - lost).

    Above 1 the survivors are overloaded: queues grow without end and requests time out.

    >>> survivor_utilisation(0.7, 2)        # two sites at 70 %: the survivor is asked for 140 %
    1.4
    """
    check.number("utilisation", utilisation, low=0)
    check.number("datacentres", datacentres, low=1, integer=True)
    check.number("lost", lost, low=0, high=datacentres - 1, integer=True)
    return utilisation * datacentres / (datacentres - lost)


def survival_capacity(peak_rate, datacentres, mode="active-active"):
    """Capacity (requests a second, all sites together) to buy so that losing any one site loses no traffic.

    Active-passive: every site must carry the whole peak alone (the active one, and each standby
    that may replace it): N x peak.  Active-active: the N - 1 survivors share the peak:
    N x peak / (N - 1).

    >>> survival_capacity(1_000, 2, "active-passive"), survival_capacity(1_000, 2, "active-active")
    (2000.0, 2000.0)
    >>> survival_capacity(1_000, 3, "active-passive"), survival_capacity(1_000, 3, "active-active")
    (3000.0, 1500.0)
    """
    check.number("peak_rate", peak_rate, low=0)
    check.number("datacentres", datacentres, low=2, integer=True)
    check.choice("mode", mode, SITE_MODES)
    sites = 1 if mode == "active-passive" else datacentres - 1
    return float(datacentres * peak_rate / sites)


def idle_share(datacentres, mode="active-passive"):
    """Share of the capacity bought by :func:`survival_capacity` that does no work on a normal day.

    Active-passive: the standbys, (N - 1) / N.  Active-active at the headroom limit: 1 / N.

    >>> idle_share(2, "active-passive"), idle_share(3, "active-active")
    (0.5, 0.3333333333333333)
    """
    check.number("datacentres", datacentres, low=2, integer=True)
    check.choice("mode", mode, SITE_MODES)
    return (datacentres - 1) / datacentres if mode == "active-passive" else 1 / datacentres


def conflict_rate(write_rates, key_popularity, lag_ms):
    """Write conflicts a second in active-active: pairs of writes to one key, at two sites, neither seeing the other.

    A write at site a at time s and one at site b at time u conflict when each was committed
    before the other reached its site: -lag_b < u - s < lag_a, a window of mean 2L.  Key k is
    written at each site at w_a x p_k (Poisson), so pairs arrive at sum over site pairs of
    w_a w_b x sum_k p_k^2 x 2L.

    >>> round(conflict_rate([5, 5], [0.5, 0.5], lag_ms=100), 3)    # 25 x 0.5 x 0.2
    2.5
    """
    rates = [check.number("write_rates", w, low=0) for w in write_rates]
    squares = float(np.sum(check.probabilities("key_popularity", key_popularity) ** 2))
    check.number("lag_ms", lag_ms, low=0)
    pairs = sum(rates[a] * rates[b] for a in range(len(rates)) for b in range(a + 1, len(rates)))
    return pairs * squares * 2 * lag_ms / 1_000.0
