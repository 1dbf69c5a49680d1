"""A content delivery network (CDN, 콘텐츠 전송 네트워크): edge caches near the clients, in front of an origin.

:class:`CDN` holds the origin's tiers (a web server, maybe a database behind it) as its parts.  Clients
live in :class:`Region` s at different distances from the origin; each region has an edge, a short hop
(``edge_km``) from its clients.  A request is for a static asset (an image, CSS, JavaScript) with
probability ``static_share``; its asset is the Workload's key (Zipf popularity), its region follows
from its client (``sim.client``: clients are split over the regions by share, so a client always
uses the same edge).

The chapter's five steps, per static request:

1. the client asks its region's edge (``round_trips`` round trips over ``edge_km``);
2. the edge has no fresh copy: it fetches the asset from the origin (``fill_round_trips`` round trips
   over the region's distance, then the origin's first tier serves it);
3. the origin's answer carries a TTL (``ttl_s``);
4. the edge keeps the copy and answers;
5. the next request for that asset in that region is a hit until the copy is ``ttl_s`` old.

Dynamic requests (the rest) travel to the origin and through every origin tier.  Light covers about
200 km per ms in fibre (:func:`chapter1.analytic.round_trip_ms`), so the network time is
``round_trips`` x 2 x km / 200 ms.

Faults and updates: while the CDN is down, clients fall back to the origin (``fallback=True``) over
the long distance, and the origin takes every static request; the edges keep their copies (the
outage is the CDN being unreachable, not its disks lost).  ``deploys`` are moments when every
asset changes at the origin; an edge then serves the old copy until it expires (``on_deploy="ttl"``),
until an invalidation reaches it ``invalidation_s`` later (``"invalidate"``), or never, when the new
version has a new URL (``"versioned"``: image.png?v=2, so every edge misses once instead).

Assumptions (and where the model breaks): straight-line distances (real routes are 1.5-2x longer);
a new connection per fetch; edges hold every asset (no eviction: a real edge of limited size also
evicts rare assets); the edge stores a copy as its fetch starts and requests arriving during the
fill are answered with it (request collapsing) without waiting for the fill; the origin's queue is
the only queue.

>>> from chapter1 import Workload, simulate, single_server, with_cdn
>>> result = simulate(with_cdn(single_server(), regions=2, ttl_s=600), Workload.from_rate(50), requests=2_000)
>>> 0.6 < result.summary()["cdn_hit_ratio"] < 0.9
True
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, Share, register
from ..core.simulation import down
from ..theory import cdn as theory

MAX_REGIONS = 50
DYNAMIC, HIT, MISS, FALLBACK, ORIGIN, LOST = range(6)
OUTCOMES = ("dynamic", "hit", "miss", "fallback", "origin", "lost")  # what the CDN did with each request


@dataclass(frozen=True)
class Region:
    """Where a group of clients lives: ``origin_km`` from the origin, with a ``share`` of the clients.

    >>> Region("Seoul", 11_100).origin_km
    11100
    """

    name: str
    origin_km: float
    share: float = 1.0

    def __post_init__(self):
        check.text("name", self.name)
        check.number("origin_km", self.origin_km, low=0, high=20_000)
        check.number("share", self.share, low=0, low_open=True)


#: The course's world, origin in Virginia (US East): clients near it, across the US, in Europe, South America,
#: Korea and Australia (straight-line distances, rounded).  ``with_cdn(regions=n)`` takes the first n.
REGIONS = (Region("Virginia", 300), Region("California", 3_900), Region("London", 5_900),
           Region("São Paulo", 7_600), Region("Seoul", 11_100), Region("Sydney", 15_700))


def regions_of(regions):
    """``regions`` as a tuple of Region: a count takes the first of :data:`REGIONS`."""
    if isinstance(regions, (int, np.integer)) and not isinstance(regions, bool):
        check.number("regions", int(regions), low=1, high=len(REGIONS), integer=True)
        return REGIONS[:int(regions)]
    if isinstance(regions, (str, bytes)) or not hasattr(regions, "__iter__"):
        raise TypeError(f"regions must be a number of regions (1-{len(REGIONS)}) or a tuple of Region; got {regions!r}")
    return check.sequence("regions", regions, Region, "Region('Seoul', 11_100)")


def _example():
    from .server import Server

    # 50 req/s, 80 % static: the edges answer about 90 % of those, so the origin (2 workers x 50 ms = 40 req/s)
    # serves about 14 req/s.  With the CDN down every request reaches it: 50 > 40, and its queue overflows.
    origin = Server(name="origin", workers=2, service_time_ms=50, queue_limit=10, timeout_ms=2_000)
    return Architecture("origin + CDN", (CDN(origin=(origin,), regions=REGIONS[:2], ttl_s=3_600),))


@register(example=_example)
@dataclass(frozen=True)
class CDN(Component):
    """Edge caches per region in front of ``origin`` (a tuple of tiers); see the module docstring.

    >>> CDN(regions=REGIONS[:3], ttl_s=600).describe()
    ['3 edges · TTL 600 s', '80% static · on deploy: ttl']
    """

    name: str = "cdn"
    origin: tuple = field(default_factory=lambda: _default_origin())
    regions: tuple = REGIONS[:4]
    ttl_s: float = 3_600.0
    static_share: float = 0.8
    edge_km: float = 100.0
    round_trips: int = 3
    fill_round_trips: int = 1
    hit_ms: float = 1.0
    asset_kb: float = 200.0
    deploys: tuple = ()
    on_deploy: str = "ttl"
    invalidation_s: float = 10.0
    fallback: bool = True
    serve_from_edges: bool = True
    warm: bool = True
    cdn_usd_per_gb: float = theory.PRICES["cdn_usd_per_gb"]
    origin_usd_per_gb: float = theory.PRICES["origin_usd_per_gb"]

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.origin, Component):
            object.__setattr__(self, "origin", (self.origin,))
        object.__setattr__(self, "origin", check.sequence("origin", self.origin, Component, "Server()"))
        if not self.origin:
            raise ValueError("origin must hold at least one component (the origin's first tier serves the assets)")
        regions = regions_of(self.regions)
        if not 1 <= len(regions) <= MAX_REGIONS:
            raise ValueError(f"regions must hold 1 to {MAX_REGIONS} regions; got {len(regions)}")
        names = [r.name for r in regions]
        if len(set(names)) != len(names):
            raise ValueError(f"regions must have distinct names; got {', '.join(names)}")
        object.__setattr__(self, "regions", regions)
        check.number("ttl_s", self.ttl_s, low=0, high=10 ** 8)
        check.number("static_share", self.static_share, low=0, high=1)
        check.number("edge_km", self.edge_km, low=0, high=20_000)
        check.number("round_trips", self.round_trips, low=0, high=20, integer=True)
        check.number("fill_round_trips", self.fill_round_trips, low=0, high=20, integer=True)
        check.number("hit_ms", self.hit_ms, low=0, high=60_000)
        check.number("asset_kb", self.asset_kb, low=0, high=10 ** 8)
        if isinstance(self.deploys, (str, bytes)) or not hasattr(self.deploys, "__iter__"):
            raise TypeError(f"deploys must be a tuple of times in seconds (e.g. (60.0,)); got {self.deploys!r}")
        deploys = tuple(check.number("deploys", t, low=0) for t in self.deploys)
        object.__setattr__(self, "deploys", tuple(sorted(deploys)))
        check.choice("on_deploy", self.on_deploy, theory.ON_DEPLOY)
        check.number("invalidation_s", self.invalidation_s, low=0, high=10 ** 6)
        for flag in ("fallback", "serve_from_edges", "warm"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be True or False; got {getattr(self, flag)!r}")
        check.number("cdn_usd_per_gb", self.cdn_usd_per_gb, low=0)
        check.number("origin_usd_per_gb", self.origin_usd_per_gb, low=0)

    @property
    def parts(self):
        return self.origin

    def runtime(self, sim, index):
        return CDNRun(self, sim, index)

    def shares(self):
        """Each region's share of the clients (summing to 1)."""
        values = np.array([r.share for r in self.regions], dtype=float)
        return values / values.sum()

    def hit_ratio(self, workload):
        """Theory's edge hit ratio for ``workload`` (:func:`chapter1.analytic.edge_hit_ratio`)."""
        return theory.edge_hit_ratio(workload.rate * self.static_share, self.ttl_s, len(self.regions),
                                     workload.keys, workload.zipf_s, shares=self.shares())

    def describe(self):
        plural = "" if len(self.regions) == 1 else "s"
        edges = f"{len(self.regions)} edge{plural} · TTL {self.ttl_s:g} s" if self.serve_from_edges else "edges off"
        return [edges, f"{self.static_share:.0%} static · on deploy: {self.on_deploy}"]

    def label(self):
        return f"CDN, {len(self.regions)} edges"


def _default_origin():
    from .server import WebServer

    return (WebServer(name="origin"),)


def client_regions(clients, shares):
    """The region of each of ``clients`` clients: consecutive blocks, sized by ``shares``.

    >>> client_regions(4, [0.5, 0.5]).tolist()
    [0, 0, 1, 1]
    """
    cumulative = np.cumsum(np.asarray(shares, dtype=float))
    cumulative /= cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, (np.arange(clients) + 0.5) / clients), len(cumulative) - 1)


def initial_copies(rng, rates, ttl_s):
    """Edges as a random moment finds them (Poisson requests, steady state): for each rate (one edge and asset),
    the time its copy expires (a copy is held with probability r*T / (1 + r*T), with a remaining life uniform
    over [0, T]; -inf when none is held)."""
    per = np.asarray(rates, dtype=float) * ttl_s
    held = rng.random(per.shape) < per / (1 + per)  # ttl_hit_ratio, for every edge and asset at once
    life = rng.random(per.shape) * ttl_s
    return np.where(held, life, -math.inf)


def copies_at(rng, shape, at, rates, ttl_s, chunk=1 << 15):
    """:func:`initial_copies` ``(rng, all_rates, ttl_s).ravel()[at]`` for the flat indices ``at`` (sorted, distinct;
    ``rates`` = ``all_rates.ravel()[at]``): the same times from the same draws, made a block at a time and
    kept only at ``at`` (a run asks for a few thousand of the edges x assets, which can be millions).

    >>> rates = np.array([[0.5, 0.1, 0.0], [1.0, 0.2, 0.05]])
    >>> at = np.array([1, 3, 5])
    >>> bool((copies_at(np.random.default_rng(4), rates.shape, at, rates.ravel()[at], 10.0, chunk=2)
    ...       == initial_copies(np.random.default_rng(4), rates, 10.0).ravel()[at]).all())
    True
    """
    size, at = math.prod(shape), np.asarray(at, dtype=np.int64)
    picked, block = np.empty((2, len(at))), np.empty(min(chunk, size))
    bounds = np.searchsorted(at, np.arange(0, size + chunk, chunk))
    for drawn in picked:  # first whether each copy is held, then its remaining life, as initial_copies draws them
        for k, start in enumerate(range(0, size, chunk)):
            rng.random(out=block[:min(chunk, size - start)])
            drawn[bounds[k]:bounds[k + 1]] = block[at[bounds[k]:bounds[k + 1]] - start]
    per = np.asarray(rates, dtype=float) * ttl_s
    return np.where(picked[0] < per / (1 + per), picked[1] * ttl_s, -math.inf)


def edge_outcomes(arrival, edge, key, static, ttl_s, *, keys, expires=None, down=None, deploys=(), on_deploy="ttl",
                  invalidation_s=0.0, fallback=True, serve_from_edges=True, starting=None):
    """What the edges do with each request, in order of arrival: (outcome codes, stale flags).

    Outcomes index :data:`OUTCOMES`.  ``edge`` and ``key`` give each request's edge and asset;
    ``expires`` (edges x keys, flattened) when each edge's starting copy expires (None: the edges start
    empty), or ``starting`` = (pairs, times): the expiry times of some pairs' starting copies (pairs sorted;
    the others start empty); ``down`` marks requests that arrive while the CDN is down.  Each edge keeps a
    copy ``ttl_s`` from the miss that fetched it; a copy fetched before a deploy is old (stale) until it
    expires, or is dropped when an invalidation lands (``on_deploy="invalidate"``) or the URL changes
    (``"versioned"``).

    >>> codes, stale = edge_outcomes([0.0, 1.0, 5.0], [0, 0, 0], [0, 0, 0], [True] * 3, 2.0, keys=1)
    >>> [OUTCOMES[c] for c in codes]
    ['miss', 'hit', 'miss']
    """
    n = len(arrival)
    codes, stale = [DYNAMIC] * n, [False] * n
    # only the (edge, asset) pairs requested get a slot: edges x assets can be millions, requests a few thousand
    used, slot = np.unique(np.asarray(edge, dtype=np.int64) * keys + np.asarray(key, dtype=np.int64),
                           return_inverse=True)
    until = np.full(len(used), -math.inf)
    if expires is not None:
        expires = np.asarray(expires, dtype=float)
        held = used < len(expires)
        until[held] = expires[used[held]]
    if starting is not None:
        known, times = (np.asarray(v) for v in starting)
        where = np.minimum(np.searchsorted(known, used), max(len(known) - 1, 0))
        held = known[where] == used if len(known) else np.zeros(len(used), dtype=bool)
        until[held] = np.asarray(times, dtype=float)[where[held]]
    until, pairs = until.tolist(), slot.reshape(-1).tolist()
    fetched = [-math.inf] * len(until)  # starting copies count as fetched long ago, before any deploy
    deploys = sorted(deploys)
    lag = 0.0 if on_deploy == "versioned" else invalidation_s
    drops = [d + lag for d in deploys] if on_deploy in ("invalidate", "versioned") else []
    down = [False] * n if down is None else list(down)
    next_deploy, last_deploy, next_drop, last_drop = 0, -math.inf, 0, -math.inf
    for k, (t, pair, is_static) in enumerate(zip(arrival, pairs, static)):
        while next_deploy < len(deploys) and deploys[next_deploy] <= t:
            last_deploy, next_deploy = deploys[next_deploy], next_deploy + 1
        while next_drop < len(drops) and drops[next_drop] <= t:
            last_drop, next_drop = drops[next_drop], next_drop + 1
        if not is_static:
            continue
        if not serve_from_edges:
            codes[k] = ORIGIN
            continue
        if down[k]:
            codes[k] = FALLBACK if fallback else LOST
            continue
        if until[pair] > t and fetched[pair] >= last_drop:
            codes[k] = HIT
            stale[k] = fetched[pair] < last_deploy
            continue
        codes[k] = MISS
        until[pair], fetched[pair] = t + ttl_s, t
    return np.array(codes, dtype=np.int8), np.array(stale, dtype=bool)


def edge_hits(arrival, pair, ttl_s, expires=None):
    """:func:`edge_outcomes` for static requests with no outage and no deploy, all pairs at once (numpy): True for
    a hit.  ``pair`` numbers each request's edge and asset; ``expires[pair]`` when its starting copy expires.

    Each round finds every pair's next miss at once (the first request at or after its copy's expiry), so
    it takes as many rounds as the busiest pair has misses.

    >>> edge_hits([0.0, 1.0, 5.0, 5.5], [0, 0, 0, 1], 2.0).tolist()
    [False, True, False, False]
    """
    t, pair = np.asarray(arrival, dtype=float), np.asarray(pair, dtype=np.int64)
    hit = np.ones(len(t), dtype=bool)
    if not len(t):
        return hit
    order = np.lexsort((t, pair))
    span = float(t.max()) + ttl_s + 1.0
    stamp = pair[order] * span + t[order]          # sorted: by pair, then by time
    pairs, first = np.unique(pair[order], return_index=True)
    end = np.append(first[1:], len(t))
    start = np.full(len(pairs), -math.inf) if expires is None else np.asarray(expires, dtype=float)[pairs]
    at = np.searchsorted(stamp, pairs * span + np.maximum(start, t[order][first]), side="left")
    live = at < end
    at, end, pairs = at[live], end[live], pairs[live]
    while len(at):
        hit[order[at]] = False
        at = np.searchsorted(stamp, stamp[at] + ttl_s, side="left")
        live = at < end
        at, end = at[live], end[live]
    return hit


class CDNRun(Runtime):
    """A :class:`CDN` at run time: each request's region, asset and outcome are settled before the first event
    (they depend on arrival times only); :meth:`serve` adds the network time and passes misses, fallbacks and
    dynamic requests on to the origin."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.hit_s = spec.hit_ms / 1_000.0

    def prepare(self):
        sim, spec = self.sim, self.spec
        rng = sim.stream(spec.name)
        self.static = rng.random(sim.n) < spec.static_share
        regions = client_regions(sim.clients, spec.shares())
        self.region = regions[sim.client]
        keys = sim.workload.keys
        counts = np.bincount(regions, minlength=len(spec.regions))
        region_rate = sim.workload.rate * spec.static_share * counts / sim.clients
        starting = None
        if spec.warm:  # the starting copies of the (edge, asset) pairs requested: each edge's requests/s per asset
            used = np.unique(self.region.astype(np.int64) * keys + sim.key)
            rates = region_rate[used // keys] * sim.workload.key_popularity()[used % keys]  # as np.outer's products
            starting = used, copies_at(rng, (len(spec.regions), keys), used, rates, spec.ttl_s)
        self.outcome, self.stale = edge_outcomes(
            sim.arrival.tolist(), self.region, sim.key, self.static.tolist(), spec.ttl_s, keys=keys, starting=starting,
            down=down(spec, sim.arrival).tolist(), deploys=spec.deploys, on_deploy=spec.on_deploy,
            invalidation_s=spec.invalidation_s, fallback=spec.fallback, serve_from_edges=spec.serve_from_edges)
        km = np.array([r.origin_km for r in spec.regions], dtype=float)[self.region]
        edge_s = theory.fetch_ms(spec.edge_km, spec.round_trips) / 1_000.0
        far_s = spec.round_trips * 2 * km / theory.FIBRE_KM_PER_MS / 1_000.0
        fill_s = spec.fill_round_trips * 2 * km / theory.FIBRE_KM_PER_MS / 1_000.0
        o = self.outcome
        network = np.where(o == HIT, edge_s + self.hit_s, np.where(o == MISS, edge_s + fill_s,
                                                                   np.where(o == LOST, edge_s, far_s)))
        self.network_s = network
        self.wait = network.tolist()

    def serve(self, i):
        wait, code = self.wait[i], self.outcome[i]
        if wait > 0:
            yield self.env.timeout(wait)
        if code == HIT:
            return OK
        if code == LOST:
            return ERROR
        for part in (self.parts if code == DYNAMIC else self.parts[:1]):
            status = yield from part.serve(i)
            if status != OK:
                if self.sim.failed_at[i] < 0:  # a holder among the parts may have named its own part
                    self.sim.failed_at[i] = part.index
                return status
        return OK

    # -- the event-free path -------------------------------------------------------------------------

    def batchable(self):
        """Without events when its origin can go without: what the edges do is settled before the run."""
        return self.parts_batchable()

    def admit_batch(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: each leaves the edge after its network
        time, a hit (or a lost request) done there; the others reach the origin then, in order of arrival there,
        a miss or a fallback its first tier only, a dynamic request every tier in turn."""
        sim, code = self.sim, self.outcome[requests]
        wait = self.network_s[requests]
        at = np.where(wait > 0, times + wait, times)
        status, leave = np.where(code == LOST, ERROR, OK).astype(np.int8), at.copy()
        going = np.flatnonzero((code != HIT) & (code != LOST))
        going = going[np.argsort(at[going], kind="stable")]
        for part in self.parts:
            if not len(going):
                break
            got, out = part.admit_batch(requests[going], at[going])
            failed = got != OK
            lost = requests[going[failed]]
            sim.failed_at[lost] = np.where(sim.failed_at[lost] < 0, part.index, sim.failed_at[lost])
            status[going], leave[going] = got, out
            on = ~failed & (code[going] == DYNAMIC)  # a miss or a fallback is done after the first tier
            going, out = going[on], out[on]
            by_time = np.argsort(out, kind="stable")
            going = going[by_time]
            at[going] = out[by_time]
        return status, leave

    def columns(self):
        """``region`` (the client's), ``static``, ``cdn`` (what the CDN did: :data:`OUTCOMES`), ``cdn_stale`` (an old
        copy answered) and ``network_ms`` (time on the wire)."""
        names = np.array([r.name for r in self.spec.regions], dtype=object)
        outcomes = np.array(OUTCOMES, dtype=object)[self.outcome]
        return {"region": names[self.region], "static": self.static, "cdn": outcomes, "cdn_stale": self.stale,
                "network_ms": self.network_s * 1_000.0}

    def figures(self):
        """``cdn_hit_ratio`` (hits / static requests the edges handled), ``stale_share`` (old copies among them),
        ``origin_rps`` (requests the origin received a second), egress cost in US dollars an hour
        (``cdn_egress_usd_per_h``, ``origin_egress_usd_per_h``, ``egress_usd_per_h``)."""
        counts = np.bincount(self.outcome, minlength=len(OUTCOMES))
        handled = counts[HIT] + counts[MISS]
        duration = max(float(self.sim.arrival[-1]), 1e-9)
        per_hour = 3_600.0 / duration * self.spec.asset_kb / 1e6  # asset GB an hour per request in the window
        cdn = handled * per_hour * self.spec.cdn_usd_per_gb
        origin = (counts[MISS] + counts[FALLBACK] + counts[ORIGIN]) * per_hour * self.spec.origin_usd_per_gb
        return {"cdn_hit_ratio": Share(int(counts[HIT]), int(handled)),
                "stale_share": Share(float(self.stale.sum()), int(handled)),
                "origin_rps": float(counts[[DYNAMIC, MISS, FALLBACK, ORIGIN]].sum()) / duration,
                "cdn_egress_usd_per_h": cdn, "origin_egress_usd_per_h": origin, "egress_usd_per_h": cdn + origin}

    def row(self):
        """The CDN has no queue; ``served`` counts the requests its edges answered from a copy."""
        return {"workers": None, "served": int(np.sum(self.outcome == HIT)), "mean_wait_ms": math.nan}


def cdn_of(architecture):
    """The (only) CDN of ``architecture``."""
    found = [c for c in architecture.components if isinstance(c, CDN)]
    if len(found) != 1:
        raise ValueError(f"expected one CDN in {architecture.name!r}; found {len(found)}")
    return found[0]
