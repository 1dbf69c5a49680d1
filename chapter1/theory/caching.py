"""Caching with a time to live: the share of requests a cached answer serves.

The same formula serves a client's DNS cache (chapter 01), a TTL cache (chapter 06) and a CDN
edge (chapter 07).
"""

from ..core import validation as check


def ttl_hit_ratio(rate, ttl_s):
    """Share of requests answered from a cache whose entries live ``ttl_s`` seconds, at ``rate`` requests/s.

    After each miss the fetched answer serves every request in the next ``ttl_s`` seconds, on
    average ``rate * ttl_s`` of them (Poisson requests), so hits / all = r*T / (1 + r*T).

    >>> ttl_hit_ratio(rate=1 / 60, ttl_s=300)   # one request a minute, answers kept 5 minutes
    0.8333333333333334
    """
    served = check.number("rate", rate, low=0) * check.number("ttl_s", ttl_s, low=0)
    return served / (1 + served)
