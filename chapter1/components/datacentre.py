"""Data centres (데이터 센터) in several regions, and GeoDNS sending each client to its nearest one.

A :class:`DataCentre` is a whole site: it holds a stack of components (a load balancer and its web
servers, by default; any components will do) and passes each request through them in order.  When
the site dies, everything in it is unreachable, and the requests inside it are lost.

:class:`GeoDNS` holds the sites.  Every client lives in a region: the first ``region_shares[0]``
share of the clients (by id, ``Result.requests["client"]``) in the region of the first site, the
next share in the second's, and so on.  A client resolves the site's name with GeoDNS, pays
``lookup_ms``, and keeps the answer ``ttl_s`` seconds (its own cache, as in chapter 04's DNS
round robin).  GeoDNS checks the sites every ``health_check_interval_s``; its answer is:

* ``mode="active-active"``: the client's own region's site while GeoDNS believes it alive, else one
  of the live sites (clients are spread evenly over them);
* ``mode="active-passive"``: the first site (the active one) while it is believed alive, else the
  first live standby, for every client.  The standbys are idle until then.

A request then crosses the network: ``local_ms`` from a client to the site in its own region,
``remote_ms`` to any other, unless ``delays_ms`` gives a round trip for every pair (row: the
client's region, column: the site).

The sites copy each other's data asynchronously.  A write acknowledged by a site travels to every
other site and reaches each after its own lag (exponential, mean ``replication_lag_ms``, drawn from
GeoDNS's named stream).  GeoDNS keeps that state because it is the one component that sees every
site (a modelling shortcut: in life the sites' databases replicate).  Three figures follow from it,
simulated write by write, never drawn from a formula:

* **lost writes**: a site that dies takes with it the writes it had acknowledged but not yet
  copied to every other site (they come back, too late, when it recovers);
* **stale reads** (``site_stale_read_ratio``): a read answered at a site that has not yet
  received an acknowledged write to its key from another site;
* **write conflicts**: two writes to one key at two sites, each acknowledged before the other
  reached its site (neither saw the other; some rule, e.g. last writer wins, must pick one).

>>> from chapter1 import Workload, multi_region, simulate
>>> result = simulate(multi_region(mode="active-active"), Workload.from_rate(50), requests=1_000, seed=1)
>>> sorted(result.requests["site"].unique())
['dc-1', 'dc-2']
"""

import math
from dataclasses import dataclass

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, Share, register
from ..core.simulation import down
from ..theory.caching import ttl_hit_ratio
from ..theory.datacentres import SITE_MODES
from .dns import Resolver
from .pool import LoadBalancer, Pool
from .server import Server, WebServer

MAX_DATACENTRES = 8
REGIONS = "ABCDEFGH"


def site(name, region, servers=2, workers=4, service_time_ms=50.0, *, health_check_interval_s=5.0,
         **server_options):
    """A data centre called ``name`` in ``region``: a load balancer and ``servers`` web servers named after it.

    >>> [c.name for c in site("dc-1", "A", servers=2).stack[0].servers]
    ['dc-1 web-1', 'dc-1 web-2']
    """
    check.number("servers", servers, low=1, high=1_000, integer=True)
    web = tuple(WebServer(name=f"{name} web-{k + 1}", workers=workers, service_time_ms=service_time_ms,
                          **server_options) for k in range(servers))
    balancer = LoadBalancer(name=f"{name} lb", servers=web, health_check_interval_s=health_check_interval_s)
    return DataCentre(name=name, region=region, stack=(balancer,))


def _example(mode="active-active"):
    sites = tuple(site(f"dc-{k + 1}", REGIONS[k], servers=2, workers=2) for k in range(2))
    return Architecture("two regions", (GeoDNS(datacentres=sites, ttl_s=5, health_check_interval_s=2, mode=mode),),
                        dns=None)


@register(example=_example)
@dataclass(frozen=True)
class DataCentre(Component):
    """A data centre (데이터 센터): a whole site in ``region``; a request passes through ``stack`` in order.

    >>> dc = site("dc-1", "A", servers=2, workers=4, service_time_ms=50)
    >>> dc.capacity, dc.describe()[0]
    (160.0, 'region A')
    """

    name: str = "dc-1"
    region: str = "A"
    stack: tuple = ()

    def __post_init__(self):
        super().__post_init__()
        check.text("region", self.region)
        object.__setattr__(self, "stack", check.sequence("stack", self.stack, Component,
                                                         "LoadBalancer(servers=(WebServer(),))"))
        if not self.stack:
            raise ValueError("stack must hold at least one component (e.g. a LoadBalancer); got ()")

    @property
    def parts(self):
        return self.stack

    @property
    def capacity(self):
        """Requests a second the site completes: its smallest pool or server (inf when it has neither)."""
        return min((c.capacity for c in self.stack if isinstance(c, (Pool, Server))), default=math.inf)

    def runtime(self, sim, index):
        return DataCentreRun(self, sim, index)

    def describe(self):
        return [f"region {self.region}", " -> ".join(c.kind for c in self.stack), f"up to {self.capacity:,.0f} req/s"]

    def label(self):
        return f"region {self.region}, {self.capacity:,.0f} req/s"


@register(example=_example)
@dataclass(frozen=True)
class GeoDNS(Resolver):
    """GeoDNS: answers each client with the address of a data centre near it (see the module's text).

    ``datacentres`` are :class:`DataCentre` objects; ``region_shares`` the share of clients in each
    one's region (default: equal); ``mode`` one of :data:`~chapter1.theory.datacentres.SITE_MODES`.

    >>> geo = _example().tiers[0]
    >>> geo.shares(), geo.describe()[0]
    ((0.5, 0.5), 'active-active, 2 sites')
    """

    name: str = "geodns"
    ttl_s: float = 60.0
    datacentres: tuple = ()
    region_shares: tuple | None = None
    mode: str = "active-active"
    local_ms: float = 10.0
    remote_ms: float = 80.0
    health_check_interval_s: float = 10.0
    replication_lag_ms: float = 100.0
    delays_ms: tuple | None = None

    max_ttl_s = 86_400

    def __post_init__(self):
        super().__post_init__()
        sites = check.sequence("datacentres", self.datacentres, DataCentre, "site('dc-1', 'A')")
        if not 1 <= len(sites) <= MAX_DATACENTRES:
            raise ValueError(f"datacentres must hold 1 to {MAX_DATACENTRES} DataCentre objects; got {len(sites)}")
        object.__setattr__(self, "datacentres", sites)
        check.choice("mode", self.mode, SITE_MODES)
        if self.region_shares is not None:
            shares = check.sequence("region_shares", self.region_shares, object, "(0.6, 0.4)")
            for share in shares:
                check.number("region_shares", share, low=0, high=1)
            if len(shares) != len(sites) or not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
                raise ValueError(f"region_shares must give one share per data centre ({len(sites)}), summing to 1; "
                                 f"got {self.region_shares!r}")
            object.__setattr__(self, "region_shares", tuple(float(s) for s in shares))
        check.number("local_ms", self.local_ms, low=0, high=10_000)
        check.number("remote_ms", self.remote_ms, low=0, high=10_000)
        check.number("health_check_interval_s", self.health_check_interval_s, low=0, low_open=True, high=86_400)
        check.number("replication_lag_ms", self.replication_lag_ms, low=0, high=3_600_000)
        if self.delays_ms is not None:
            rows = check.sequence("delays_ms", self.delays_ms, object, "((10, 80), (80, 10))")
            if len(rows) != len(sites):
                raise ValueError(f"delays_ms must give one row per region ({len(sites)} rows of {len(sites)} delays); "
                                 f"got {len(rows)} rows")
            matrix = []
            for row in rows:
                row = check.sequence("delays_ms", row, object, "(10, 80)")
                if len(row) != len(sites):
                    raise ValueError(f"delays_ms must give {len(sites)} delays in each row (one per site); got {row!r}")
                matrix.append(tuple(float(check.number("delays_ms", d, low=0, high=10_000)) for d in row))
            object.__setattr__(self, "delays_ms", tuple(matrix))

    @property
    def parts(self):
        return self.datacentres

    def delay_ms(self, region, site):
        """Round trip (ms) from a client in ``region`` (an index) to ``site`` (an index).

        >>> geo = _example().tiers[0]
        >>> geo.delay_ms(0, 0), geo.delay_ms(0, 1)
        (10.0, 80.0)
        """
        if self.delays_ms is not None:
            return self.delays_ms[region][site]
        return float(self.local_ms if region == site else self.remote_ms)

    def shares(self):
        """The share of clients in each site's region."""
        return self.region_shares or tuple(1 / len(self.datacentres) for _ in self.datacentres)

    def runtime(self, sim, index):
        return GeoDNSRun(self, sim, index)

    def describe(self):
        sites = len(self.datacentres)
        return [f"{self.mode}, {sites} site{'' if sites == 1 else 's'}",
                f"TTL {self.ttl_s:g} s, checks every {self.health_check_interval_s:g} s",
                f"lag {self.replication_lag_ms:g} ms between sites"]

    def part_note(self, part):
        if self.mode == "active-passive" and part.name != self.datacentres[0].name:
            return ["standby: idle"]
        return []


# -- at run time -----------------------------------------------------------------------------

class DataCentreRun(Runtime):
    """A :class:`DataCentre` at run time: down, it refuses everything; dying, it loses what is inside."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.served = 0

    def serve(self, i):
        env, start, outages = self.env, self.env.now, self.spec.outages
        if outages and not self.spec.is_up(start):
            return ERROR
        for part in self.parts:
            status = yield from part.serve(i)
            if status != OK:
                if self.sim.failed_at[i] < 0:
                    self.sim.failed_at[i] = part.index
                return status
        if outages and any(start < o.start_s <= env.now for o in outages):
            self.sim.failed_at[i] = self.index  # the site died with the request inside: its answer is lost
            return ERROR
        self.served += 1
        return OK

    def batchable(self):
        """Without events when its stack can go without: the site's own deaths are times, read afterwards."""
        return self.parts_batchable()

    def admit_batch(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: refused while the site is down, else
        through each part of the stack in turn (in order of arrival there), then lost if the site died meanwhile."""
        status, leave, sim = np.full(len(requests), ERROR, dtype=np.int8), np.array(times, dtype=float), self.sim
        order = np.flatnonzero(~down(self.spec, times))
        at = times[order]
        for part in self.parts:
            got, out = part.admit_batch(requests[order], at)
            failed = got != OK
            lost = requests[order[failed]]
            sim.failed_at[lost] = np.where(sim.failed_at[lost] < 0, part.index, sim.failed_at[lost])
            status[order[failed]], leave[order[failed]] = got[failed], out[failed]
            by_time = np.argsort(out[~failed], kind="stable")
            order, at = order[~failed][by_time], out[~failed][by_time]
        died = np.zeros(len(order), dtype=bool)
        for outage in self.spec.outages:  # the site died with the request inside: its answer is lost
            died |= (times[order] < outage.start_s) & (outage.start_s <= at)
        sim.failed_at[requests[order[died]]] = self.index
        status[order], leave[order] = np.where(died, ERROR, OK), at
        self.served += int(np.sum(~died))
        return status, leave

    def row(self):
        return {"workers": None, "served": self.served, "mean_wait_ms": float("nan")}


class GeoDNSRun(Runtime):
    """:class:`GeoDNS` at run time: each client's cached answer, the health view, the sites' replication state.

    At the start every client's cache is as a random moment finds it: holding an answer with
    probability r*ttl / (1 + r*ttl), with a remaining life uniform over [0, ttl].
    """

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)  # self.parts: each site's runtime
        n, sites, clients, ttl = sim.n, len(spec.datacentres), sim.clients, spec.ttl_s
        rng = sim.stream(spec.name)
        bounds = np.cumsum(spec.shares())[:-1]
        self.home = np.searchsorted(bounds, np.arange(clients) / clients, side="right").tolist()
        warm = rng.random(clients) < ttl_hit_ratio(sim.workload.rate / clients, ttl)
        self.expiry = np.where(warm, rng.uniform(0.0, ttl, clients), -1.0).tolist()
        lag_s = spec.replication_lag_ms / 1_000.0
        self.lag = rng.exponential(lag_s, (n, sites)) if lag_s > 0 else np.zeros((n, sites))
        self.view_key, self.healthy = None, ()
        self.delay_s = [[spec.delay_ms(r, d) / 1_000.0 for d in range(sites)] for r in range(sites)]
        self.answer = self._routes(self._view(0.0))
        self.client, self.is_write, self.key = sim.client.tolist(), sim.write.tolist(), sim.key.tolist()
        self.site = np.full(n, -1, dtype=np.int16)
        self.lookup_s, self.network_s = np.zeros(n), np.zeros(n)
        self.to_dead, self.stale = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        self.commits = []   # (request, site, time) of every acknowledged write
        self.fresh = {}     # key -> for each site, when the last write to it from another site arrives there
        self._outcome = None

    # -- routing ---------------------------------------------------------------------------------

    def _view(self, now):
        """Sites GeoDNS believes alive at ``now``: as its last health check (at 0, h, 2h, ...) saw them."""
        interval = self.spec.health_check_interval_s
        key = math.floor(now / interval)
        if key != self.view_key:
            seen = key * interval
            self.view_key = key
            self.healthy = tuple(d for d, dc in enumerate(self.spec.datacentres) if dc.is_up(seen))
        return self.healthy

    def _route(self, c, healthy):
        """The site GeoDNS hands client ``c``: its region's (active-active) or the active one; None if none is alive."""
        if not healthy:
            return None
        if self.spec.mode == "active-passive":
            return healthy[0]
        home = self.home[c]
        return home if home in healthy else healthy[c % len(healthy)]

    def _routes(self, healthy):
        """:meth:`_route` for every client at once (a list, client by client)."""
        clients = len(self.home)
        if not healthy or self.spec.mode == "active-passive":
            return [healthy[0] if healthy else None] * clients
        home = np.asarray(self.home)
        spread = np.asarray(healthy)[np.arange(clients) % len(healthy)]
        return np.where(np.isin(home, healthy), home, spread).tolist()

    def serve(self, i):
        env, c, spec = self.env, self.client[i], self.spec
        if self.expiry[c] <= env.now:  # the cached answer expired: ask GeoDNS again
            if spec.outages and not spec.is_up(env.now):
                return ERROR
            target = self._route(c, self._view(env.now))
            if target is None:
                return ERROR
            self.answer[c], self.expiry[c] = target, env.now + spec.ttl_s
            lookup_s = self.lookup_s[i] = spec.lookup_ms / 1_000.0
            if lookup_s > 0:
                yield env.timeout(lookup_s)
        d = self.answer[c]
        self.site[i] = d
        delay = self.network_s[i] = self.delay_s[self.home[c]][d]
        if delay > 0:
            yield env.timeout(delay)
        dc, entered = self.parts[d], env.now
        status = yield from dc.serve(i)
        if status != OK:
            if self.sim.failed_at[i] < 0:
                self.sim.failed_at[i] = dc.index
            outages = spec.datacentres[d].outages
            self.to_dead[i] = any(o.start_s <= env.now and o.end_s > entered for o in outages)
            return status
        if self.is_write[i]:
            self._commit(i, d, env.now)
        else:
            fresh = self.fresh.get(self.key[i])
            self.stale[i] = fresh is not None and fresh[d] > env.now
        return OK

    # -- the event-free path -----------------------------------------------------------------------

    def batchable(self):
        """Without events when every site can go without (a site's death included): answers and health views
        depend on arrival times only."""
        return self.parts_batchable()

    def admit_batch(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: each client's cached answer in one pass,
        then each site admits the requests reaching it (in order of arrival there); the writes they acknowledge
        and the reads they answer are then walked in time order, keeping :attr:`fresh` as :meth:`serve` does."""
        spec, sim = self.spec, self.sim
        status, leave = np.full(len(requests), ERROR, dtype=np.int8), np.array(times, dtype=float)
        expiry, answer, home, client, lookup_s = self.expiry, self.answer, self.home, self.client, spec.lookup_ms / 1e3
        reaching, entry = [], []
        for k, (i, t) in enumerate(zip(requests.tolist(), times.tolist())):
            c = client[i]
            if expiry[c] <= t:  # the cached answer expired: ask GeoDNS again
                if spec.outages and not spec.is_up(t):
                    continue
                target = self._route(c, self._view(t))
                if target is None:
                    continue
                answer[c], expiry[c] = target, t + spec.ttl_s
                self.lookup_s[i] = lookup_s
                if lookup_s > 0:
                    t = t + lookup_s
            d = self.site[i] = answer[c]
            delay = self.network_s[i] = self.delay_s[home[c]][d]
            reaching.append(k)
            entry.append(t + delay if delay > 0 else t)
        reaching, entry = np.array(reaching, dtype=np.int64), np.array(entry, dtype=float)
        site = self.site[requests[reaching]]
        for d, dc in enumerate(self.parts):
            here = np.flatnonzero(site == d)
            here = here[np.argsort(entry[here], kind="stable")]
            mine, entered = reaching[here], entry[here]
            if not len(mine):
                continue
            status[mine], leave[mine] = dc.admit_batch(requests[mine], entered)
            failed = status[mine] != OK
            lost, left = requests[mine[failed]], leave[mine[failed]]
            sim.failed_at[lost] = np.where(sim.failed_at[lost] < 0, dc.index, sim.failed_at[lost])
            for outage in spec.datacentres[d].outages:
                self.to_dead[lost] |= (outage.start_s <= left) & (outage.end_s > entered[failed])
        ok = reaching[status[reaching] == OK]
        for k in ok[np.argsort(leave[ok], kind="stable")].tolist():
            i, t = int(requests[k]), float(leave[k])
            if self.is_write[i]:
                self._commit(i, int(self.site[i]), t)
            else:
                fresh = self.fresh.get(self.key[i])
                self.stale[i] = fresh is not None and fresh[self.site[i]] > t
        return status, leave

    # -- replication between sites -----------------------------------------------------------------

    def _arrival(self, d, t, due):
        """When a write acknowledged by site ``d`` at ``t``, due elsewhere at ``due``, gets there: later if ``d``
        dies first (it leaves when ``d`` is back; inf if never)."""
        for outage in self.spec.datacentres[d].outages:
            if t < outage.start_s < due:
                return outage.end_s
        return due

    def _commit(self, i, d, t):
        self.commits.append((i, d, t))
        fresh = self.fresh.setdefault(self.key[i], [0.0] * len(self.parts))
        for e in range(len(self.parts)):
            if e != d:
                arrive = self._arrival(d, t, t + self.lag[i, e])
                if arrive > fresh[e]:
                    fresh[e] = arrive

    def outcome(self):
        """(lost, conflicts): each request's lost-write mark, and the number of conflicting pairs of writes."""
        if self._outcome is not None:
            return self._outcome
        lost, conflicts, sites = np.zeros(self.sim.n, dtype=bool), 0, len(self.parts)
        if self.commits:
            index = np.array([i for i, _, _ in self.commits])
            site = np.array([d for _, d, _ in self.commits])
            when = np.array([t for _, _, t in self.commits])
            arrive = np.empty((len(index), sites))
            for row, (i, d, t) in enumerate(self.commits):
                for e in range(sites):
                    arrive[row, e] = t if e == d else self._arrival(d, t, t + self.lag[i, e])
            lost[index] = (arrive > when[:, None] + self.lag[index]).any(axis=1)
            conflicts = _conflicts(np.array(self.key)[index], site, when, arrive)
        self._outcome = lost, conflicts
        return self._outcome

    # -- what it reports ---------------------------------------------------------------------------

    def columns(self):
        """``region`` of each request's client, the ``site`` that served it, ``network_ms`` and ``dns_ms`` it
        paid, ``site_stale`` reads and ``site_lost`` writes."""
        spec = self.spec
        regions = np.array([dc.region for dc in spec.datacentres], dtype=object)
        names = np.array([dc.name for dc in spec.datacentres] + [""], dtype=object)
        home = np.asarray(self.home)[self.sim.client]
        return {"region": regions[home], "site": names[self.site], "network_ms": self.network_s * 1_000.0,
                "dns_ms": self.lookup_s * 1_000.0, "site_stale": self.stale.copy(), "site_lost": self.outcome()[0]}

    def figures(self):
        """``lost_writes``, ``write_conflicts``, ``failover_failed`` (requests that failed because their site was
        down), ``site_stale_read_ratio`` and each region's mean latency, ``region_<name>_ms``."""
        sim, lost, conflicts = self.sim, *self.outcome()
        ok = sim.status == OK
        reads = ok & ~sim.write & (self.site >= 0)
        latency = (sim.end - sim.arrival) * 1_000.0
        home = np.asarray(self.home)[sim.client]
        figures = {"lost_writes": int(lost.sum()), "write_conflicts": int(conflicts),
                   "failover_failed": int(self.to_dead.sum()),
                   "site_stale_read_ratio": Share(int(self.stale[reads].sum()), int(reads.sum()), empty=0.0)}
        for r, dc in enumerate(self.spec.datacentres):
            mine = ok & (home == r)
            figures[f"region_{dc.region}_ms"] = float(latency[mine].mean()) if mine.any() else math.nan
        return figures

    def row(self):
        return {"workers": None, "served": int(np.sum(self.site >= 0)), "mean_wait_ms": float("nan")}


def _conflicts(keys, site, when, arrive):
    """Pairs of writes to one key at two sites, each acknowledged before the other reached its site."""
    order = np.argsort(keys, kind="stable")
    keys, site, when, arrive = keys[order], site[order], when[order], arrive[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    total = 0
    for a, b in zip(starts.tolist(), ends.tolist()):
        if b - a < 2 or np.all(site[a:b] == site[a]):
            continue
        s, t = site[a:b], when[a:b]
        seen_by_other = arrive[a:b][:, s]                  # [j, k]: when write j reaches write k's site
        blind = (t[None, :] < seen_by_other) & (t[:, None] < seen_by_other.T) & (s[:, None] != s[None, :])
        total += int(np.triu(blind, 1).sum())
    return total


def site_of(architecture, name):
    """The :class:`DataCentre` called ``name`` in ``architecture`` (a clear error when there is none).

    >>> site_of(_example(), "dc-2").region
    'B'
    """
    sites = [c for c in architecture.components if isinstance(c, DataCentre)]
    for dc in sites:
        if dc.name == name:
            return dc
    raise KeyError(f"no data centre named {name!r}; this architecture has {', '.join(repr(d.name) for d in sites)}")


