"""Content delivery networks (CDN, 콘텐츠 전송 네트워크): distance, edge hit ratio, origin load, egress cost.

* :func:`round_trip_ms` and :func:`fetch_ms` — light in fibre covers about 200 km per millisecond, and
  a fetch over a new connection needs a few round trips (TCP, TLS, the request itself).
* :func:`edge_hit_ratio` — each edge is a TTL cache: per asset the hit ratio is r*T / (1 + r*T), the
  formula of a client's DNS cache (chapter 01) and of a TTL cache before a database (chapter 06),
  :func:`chapter1.analytic.ttl_hit_ratio`.  The traffic of a region goes to its own edge, so the more
  edges, the fewer requests each sees, and the lower its hit ratio.
* :func:`origin_load` and :func:`egress_cost` — what still reaches the origin, and what the bytes cost.
* :func:`deploy_stale_requests` — after an asset changes at the origin, how many requests still get the
  old copy: until the copy expires (TTL, T/2 on average), until an invalidation lands, or none when
  the new version has a new URL.
* :func:`cost_table` — a plain table of assets (size, requests a day) with what each costs a month
  through the CDN and from the origin alone.
"""

import math

import numpy as np
import pandas as pd

from ..core import validation as check
from .caching import ttl_hit_ratio, zipf_popularity

__all__ = ["FIBRE_KM_PER_MS", "PRICES", "ON_DEPLOY", "round_trip_ms", "fetch_ms", "edge_hit_ratio", "edge_hit_curve",
           "origin_load", "egress_cost", "break_even_hit_ratio", "stale_window_s", "deploy_stale_requests",
           "cost_table"]

FIBRE_KM_PER_MS = 200.0  # light in glass: about two thirds of its speed in vacuum
#: Illustrative prices in US dollars per GB sent to the internet (change them: they vary by provider,
#: region and volume).  A CDN's volume price is usually below a cloud server's internet egress.
PRICES = {"cdn_usd_per_gb": 0.05, "origin_usd_per_gb": 0.09}
ON_DEPLOY = ("ttl", "invalidate", "versioned")
SECONDS_PER_MONTH = 30 * 86_400


def round_trip_ms(km):
    """Milliseconds for a signal to go ``km`` and back in fibre (straight line; real routes are longer).

    >>> round_trip_ms(11_000)   # Seoul to Virginia and back
    110.0
    """
    return 2 * check.number("km", km, low=0, high=40_000) / FIBRE_KM_PER_MS


def fetch_ms(km, round_trips=3):
    """Network time of one fetch over ``km``: ``round_trips`` x the round-trip time.

    Three round trips for a new HTTPS connection: TCP's handshake, TLS 1.3's, then the request.

    >>> fetch_ms(11_000), fetch_ms(100)
    (330.0, 3.0)
    """
    return check.number("round_trips", round_trips, low=0, high=20) * round_trip_ms(km)


def edge_hit_ratio(rate, ttl_s, edges=1, keys=1, zipf_s=0.0, shares=None):
    """Share of static requests an edge answers from its copy, over all edges, for TTL ``ttl_s``.

    ``rate`` requests a second for ``keys`` assets of Zipf(``zipf_s``) popularity are split over
    ``edges`` edges (equal ``shares`` by default).  Edge r sees asset k at rate x share_r x p_k and
    keeps each copy ``ttl_s`` seconds, so its hit ratio for k is the TTL formula
    :func:`~chapter1.analytic.ttl_hit_ratio`; the total weighs each by its traffic.

    >>> round(edge_hit_ratio(rate=10, ttl_s=60), 4)              # one asset, one edge: 600/601
    0.9983
    >>> round(edge_hit_ratio(rate=10, ttl_s=60, edges=100), 3)   # one asset, 100 edges: 6/7
    0.857
    """
    return edge_hit_curve(rate, [check.number("ttl_s", ttl_s, low=0)], edges, keys, zipf_s, shares)[0]


def edge_hit_curve(rate, ttls, edges=1, keys=1, zipf_s=0.0, shares=None):
    """:func:`edge_hit_ratio` at each TTL of ``ttls`` (a list), the traffic of each edge and asset worked out once.

    >>> [round(h, 4) for h in edge_hit_curve(rate=10, ttls=[6, 60], edges=100)]   # r*T = 0.6 and 6
    [0.375, 0.8571]
    """
    check.number("rate", rate, low=0)
    ttls = check.number_list("ttls", ttls, low=0).tolist()
    check.number("edges", edges, low=1, high=1_000, integer=True)
    share = _shares(edges, shares)
    same = shares is None or (share == share[0]).all()  # equal shares: every edge's row is the same numbers
    mix = np.outer(share[:1] if same else share, zipf_popularity(keys, zipf_s))  # each edge and asset's share
    traffic = rate * mix
    hits = []
    for ttl_s in ttls:
        per = traffic * ttl_s  # r*T for each edge and asset
        each = mix * per / (1 + per)
        hits.append(float((np.tile(each, (edges, 1)) if same and edges > 1 else each).sum()))  # summed as one table
    return hits


def _shares(edges, shares):
    if shares is None:
        return np.full(edges, 1.0 / edges)
    values = np.asarray([check.number("shares", s, low=0, low_open=True) for s in shares], dtype=float)
    if len(values) != edges:
        raise ValueError(f"shares must hold one share per edge ({edges}); got {len(values)}")
    return values / values.sum()


def origin_load(rate, hit_ratio, static_share=1.0):
    """Requests a second the origin still serves: every dynamic request, and the static ones the edges miss.

    rate x ((1 - s) + s x (1 - hit)), for a static share s.

    >>> round(origin_load(1_000, 0.9, static_share=0.8), 6)
    280.0
    """
    check.number("rate", rate, low=0)
    check.number("hit_ratio", hit_ratio, low=0, high=1)
    check.number("static_share", static_share, low=0, high=1)
    return rate * ((1 - static_share) + static_share * (1 - hit_ratio))


def egress_cost(gigabytes, hit_ratio, prices=None):
    """US dollars to send ``gigabytes`` of static assets to clients: through the CDN, and from the origin alone.

    Through the CDN every byte leaves an edge (the CDN's price) and the misses' bytes also leave the
    origin (the origin's price, to fill the edge).  Returns a dict: ``cdn``, ``origin_fill``, ``total``,
    ``origin_only`` (every byte from the origin).

    >>> {k: round(v, 2) for k, v in egress_cost(1_000, hit_ratio=0.9).items()}
    {'cdn': 50.0, 'origin_fill': 9.0, 'total': 59.0, 'origin_only': 90.0}
    """
    check.number("gigabytes", gigabytes, low=0)
    check.number("hit_ratio", hit_ratio, low=0, high=1)
    cdn_price, origin_price = _prices(prices)
    cdn, fill = gigabytes * cdn_price, gigabytes * (1 - hit_ratio) * origin_price
    return {"cdn": cdn, "origin_fill": fill, "total": cdn + fill, "origin_only": gigabytes * origin_price}


def _prices(prices):
    if prices is not None and not isinstance(prices, dict):
        raise TypeError(f"prices must be a dict setting {', '.join(PRICES)} (or None); got {prices!r}")
    prices = {**PRICES, **(prices or {})}
    unknown = sorted(set(prices) - set(PRICES))
    if unknown:
        raise ValueError(f"prices may set {', '.join(PRICES)}; got {', '.join(unknown)}")
    return (check.number("cdn_usd_per_gb", prices["cdn_usd_per_gb"], low=0),
            check.number("origin_usd_per_gb", prices["origin_usd_per_gb"], low=0))


def break_even_hit_ratio(prices=None):
    """The hit ratio above which the CDN costs less than the origin alone: cdn price / origin price.

    Below it, each miss pays twice (the origin fills the edge, the edge sends to the client).  Above 1
    (inf when the origin's bytes are free) no hit ratio makes the CDN the cheaper way.

    >>> round(break_even_hit_ratio(), 3)
    0.556
    """
    cdn_price, origin_price = _prices(prices)
    if origin_price == 0:
        return math.inf
    return cdn_price / origin_price


def stale_window_s(on_deploy, ttl_s, invalidation_s=0.0):
    """Mean time an edge keeps serving an asset's old version after it changes at the origin (a hot asset).

    ``"ttl"``: until the copy expires; its remaining life is uniform over [0, T], so T/2 on average.
    ``"invalidate"``: until the invalidation reaches the edge, ``invalidation_s`` (or the expiry, if
    sooner: E[min(D, U(0, T))]).  ``"versioned"``: the new version has a new URL, so no edge holds it
    stale: 0.

    >>> stale_window_s("ttl", 600), stale_window_s("invalidate", 600, 30), stale_window_s("versioned", 600)
    (300.0, 29.25, 0.0)
    """
    check.choice("on_deploy", on_deploy, ON_DEPLOY)
    t = check.number("ttl_s", ttl_s, low=0)
    d = check.number("invalidation_s", invalidation_s, low=0)
    if on_deploy == "versioned" or t == 0:
        return 0.0
    if on_deploy == "ttl" or d >= t:
        return t / 2
    return d - d * d / (2 * t)


def deploy_stale_requests(rates, ttl_s, on_deploy, invalidation_s=0.0):
    """Expected requests answered with an old copy after one deploy that changes assets requested at ``rates``.

    Each rate is one edge's requests a second for one changed asset.  The edge holds a copy with
    probability r*T / (1 + r*T) when the deploy lands, and then serves every request for the copy's
    stale window: r x h x E[window] summed (:func:`stale_window_s`).

    >>> round(deploy_stale_requests([1.0], ttl_s=60, on_deploy="ttl"), 2)   # 60/61 x 1 req/s x 30 s
    29.51
    """
    r = check.number_list("rates", rates, low=0)  # one per edge and asset
    window = stale_window_s(on_deploy, ttl_s, invalidation_s)
    hits = np.array([ttl_hit_ratio(x, ttl_s) for x in r.tolist()])
    return float((r * hits * window).sum())


def cost_table(assets, edges=4, ttl_s=3_600, prices=None):
    """A month of each asset through the CDN and from the origin alone (a table the learner can change).

    ``assets``: a DataFrame (or records) with ``asset``, ``size_kb`` and ``requests_per_day``.  Each of
    ``edges`` edges sees an equal share; its hit ratio is the TTL formula.  Columns added: ``hit_ratio``,
    ``gb_per_month``, ``cdn_usd``, ``origin_only_usd`` and ``keep_on_cdn`` (True when the CDN costs less).

    >>> table = cost_table([{"asset": "logo.png", "size_kb": 20, "requests_per_day": 5_000_000},
    ...                     {"asset": "2019-report.pdf", "size_kb": 4_000, "requests_per_day": 3}])
    >>> table["keep_on_cdn"].tolist()
    [True, False]
    """
    table = pd.DataFrame(assets).copy()
    missing = {"asset", "size_kb", "requests_per_day"} - set(table.columns)
    if missing:
        raise ValueError("assets needs the columns asset, size_kb, requests_per_day; "
                         f"missing {', '.join(sorted(missing))}")
    check.number("edges", edges, low=1, high=1_000, integer=True)
    check.number("ttl_s", ttl_s, low=0)
    for column in ("size_kb", "requests_per_day"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise ValueError(f"assets[{column!r}] must hold numbers >= 0; got {table[column].tolist()!r}")
        table[column] = values.astype(float)
    per_edge = table["requests_per_day"] / 86_400 / edges
    table["hit_ratio"] = [ttl_hit_ratio(r, ttl_s) for r in per_edge]
    table["gb_per_month"] = table["size_kb"] * table["requests_per_day"] * 30 / 1e6
    costs = [egress_cost(gb, h, prices) for gb, h in zip(table["gb_per_month"], table["hit_ratio"])]
    table["cdn_usd"] = [c["total"] for c in costs]
    table["origin_only_usd"] = [c["origin_only"] for c in costs]
    table["keep_on_cdn"] = table["cdn_usd"] < table["origin_only_usd"]
    return table
