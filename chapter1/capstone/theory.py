"""Theory's verdict on a design: each station's load at the peak and after each fault, latency, faults a year.

Every figure here comes from the course's closed forms (M/M/c, Che's LRU approximation, the TTL hit
ratio, GeoDNS failover, lost writes by Little's law); :mod:`chapter1.capstone.scoring` sets them
next to what the simulation measures.

>>> from chapter1.capstone.design import Design
>>> loads = stations(Design(web_servers=12, cache_nodes=2, shards=2, replicas=1, consumers=14))
>>> list(loads["station"])
['web server', 'session store', 'consumers', 'primary', 'replica']
"""

import functools
import math

import numpy as np
import pandas as pd

from ..components.shards import ShardRouter, key_hash, place
from ..core.workload import Workload
from ..theory.caching import che_time
from ..theory.cdn import edge_hit_ratio, fetch_ms, origin_load
from ..theory.datacentres import failover_failures, geo_hit_ratio
from ..theory.queues import _convolve, _survival, mmc, response_time_percentile
from ..theory.replication import SECONDS_PER_YEAR, expected_lost_writes, sync_write_delay_ms
from .design import BOXES, FAULTS, TARGET, TIMERS, Design, build, peak_rate

CDN_TTL_S, EDGE_KM, STORE_MS = 3_600.0, 100.0, 5.0  # the CDN's defaults; a durable publish: 2 ms + 3 ms on disk
LOSSES = (None, "web_server", "cache_node", "primary", "data_centre")


def _flow(design, target, lost=None):
    """Rates at one serving data centre (requests a second), hit ratios and the busiest shard's shares of the
    database reads and writes, in the state after ``lost`` (remembered: a panel asks for the same ones again)."""
    return _flow_of(design, tuple(sorted(target.items())), lost)


@functools.lru_cache(maxsize=64, typed=True)
def _mix(design, target_items):
    """What every state of a design shares: the peak rate, the CDN's edge hit ratio and origin rate, the key mix
    and each key's hit chance (:func:`_keys`), each shard router's owner of every key, the keys' hashes.  They
    depend on the sites, the CDN, the cache nodes and the shards only (the routers' rings on the sites' and
    shards' names)."""
    d, t = design, dict(target_items)
    rate = peak_rate(t)
    edge = edge_hit_ratio(rate * t["static_share"], CDN_TTL_S, d.datacentres, t["keys"], t["zipf_s"]) if d.cdn else 0.0
    origin = origin_load(rate, edge, t["static_share"]) if d.cdn else rate
    q, hit_k = _keys(d, t, rate)
    owners, hashes = (), None
    if d.shards > 1 or d.cache_nodes > 1:  # (one cache node holds every key: its loss needs no hashes)
        hashes = key_hash(np.arange(len(q)))  # as router.owners(np.arange(len(q))), the keys hashed once
    if d.shards > 1:
        owners = tuple(place(hashes, len(r.shards), r.scheme, r.vnodes, tuple(s.name for s in r.shards))
                       for r in build(d, t).components if isinstance(r, ShardRouter))
    return rate, edge, origin, q, hit_k, owners, hashes


@functools.lru_cache(maxsize=64, typed=True)
def _shares(same, target_items, cache_lost):
    """The cache hit ratio, and each shard router's shares of the database reads and writes per shard (with the
    reads' total), with every cache node up or node 1 lost: every other state of a design shares them."""
    _, _, _, q, hit_k, owners, hashes = _mix(same, target_items)
    if cache_lost and same.cache_nodes == 1:  # the only node: no key hits
        hit_k = np.zeros_like(hit_k)
    elif cache_lost:
        hit_k = np.where(hashes % np.uint64(same.cache_nodes) == 0, 0.0, hit_k)  # node 1's keys
    reads = q * (1 - hit_k)
    split = tuple((np.bincount(owner, weights=reads, minlength=same.shards) / max(reads.sum(), 1e-12), w,
                   reads.sum()) for owner, w in zip(owners, _write_shares(same, target_items)))
    return float((q * hit_k).sum()), split


@functools.lru_cache(maxsize=64, typed=True)
def _write_shares(same, target_items):
    """Each shard router's shares of the database writes per shard: every key's writes reach its shard, whatever
    the cache holds, so every state of a design shares them."""
    _, _, _, q, _, owners, _ = _mix(same, target_items)
    return tuple(np.bincount(owner, weights=q, minlength=same.shards) / q.sum() for owner in owners)


@functools.lru_cache(maxsize=256, typed=True)
def _flow_of(design, target_items, lost):
    d, t = design, dict(target_items)
    same = Design(datacentres=d.datacentres, cdn=d.cdn, cache_nodes=d.cache_nodes, shards=d.shards)
    rate, edge, origin = _mix(same, target_items)[:3]  # the same for any web, replicas, consumers
    sites = d.datacentres - (lost == "data_centre")
    serving = 1 if d.mode == "active-passive" else sites
    cache_hit, split = _shares(same, target_items, bool(lost == "cache_node" and d.cache_nodes))
    share = {"reads": 1.0, "writes": 1.0}
    if d.shards > 1:
        worst = -1.0
        for r, w, reads in split:
            load = r * t["read_ratio"] * reads / max(d.replicas, 1) + w * (1 - t["read_ratio"])
            k = int(np.argmax(load))
            if load[k] > worst:
                worst, share = load[k], {"reads": float(r[k]), "writes": float(w[k])}
    return {"rate": rate, "edge_hit": edge, "origin": origin, "site": origin / serving if sites else math.inf,
            "cache_hit": cache_hit, "sites": sites, "shard": share}


def _keys(design, target, rate):
    """The key mix that reaches the data centres and each key's cache hit chance per read (Che's LRU).

    The CDN answers the hot assets at its edges, so the origin sees every dynamic request (the Zipf
    mix) but only the static misses, which lean to the cold keys: a flatter mix, a lower hit ratio.
    A write drops its key from the cache, so a read hits only if the key's last request was a read:
    per key, (1 - w)(1 - e^(-q T)) with T from sum (1 - w)(1 - e^(-q T)) = C (the course's Che).
    """
    t, p = target, Workload(keys=target["keys"], zipf_s=target["zipf_s"]).key_popularity()  # as the run draws them
    if design.cdn:  # (arrays worked in place, each step the same floats as written out in the comments)
        share = t["static_share"]
        missed = np.multiply(p, rate * share / design.datacentres)
        missed *= CDN_TTL_S          # r T per edge: rate x share / sites x p x T
        missed += 1
        np.divide(np.multiply(p, share), missed, out=missed)  # s p / (1 + r T): the static misses
        p = np.multiply(p, 1 - share)
        p += missed                  # (1 - s) p + s p / (1 + r T)
        p /= p.sum()
    if not design.cache_nodes:
        return p, np.zeros_like(p)
    read, size = t["read_ratio"], design.cache_nodes * BOXES["cache_node"]["keys"]
    if size / read >= len(p):
        return p, np.full_like(p, read)
    hit = np.multiply(p, -che_time(p, size / read))  # read x (1 - e^(-p T))
    np.exp(hit, out=hit)
    np.subtract(1, hit, out=hit)
    hit *= read
    return p, hit


def stations(design, target=None, lost=None):
    """Theory's load on each kind of station of a serving data centre at the peak (after fault ``lost``).

    One row per station: arrival rate per box, service rate, workers, utilisation.
    """
    d, t = Design.of(design), {**TARGET, **(target or {})}
    if lost not in LOSSES:
        raise ValueError(f"lost must be one of {', '.join(map(repr, LOSSES))}; got {lost!r}")
    return pd.DataFrame(list(_stations(d, tuple(sorted(t.items())), lost)), columns=list(COLUMNS))


def utilizations(design, target=None, lost=None):
    """Theory's utilisation of each station of a serving data centre (after fault ``lost``): station -> share.

    >>> round(utilizations(Design(), lost="web_server")["web server"], 2)  # 9 web servers left of 10
    0.5
    """
    d, t = Design.of(design), {**TARGET, **(target or {})}
    if lost not in LOSSES:
        raise ValueError(f"lost must be one of {', '.join(map(repr, LOSSES))}; got {lost!r}")
    return {row[0]: row[-1] for row in _stations(d, tuple(sorted(t.items())), lost)}


COLUMNS = ("station", "arrival_rps", "service_rps", "workers", "utilization")


@functools.lru_cache(maxsize=256, typed=True)
def _stations(d, target_items, lost):
    """:func:`stations` as a tuple of rows (:data:`COLUMNS`), remembered: the sizing table, the faults and the
    latency ask for the same ones."""
    t = dict(target_items)
    f, b = _flow_of(d, target_items, lost), BOXES
    site = f["site"]
    servers = d.web_servers - (lost == "web_server")
    reads = site * t["read_ratio"] * (1 - f["cache_hit"]) * f["shard"]["reads"]   # the busiest shard's
    writes = site * (1 - t["read_ratio"]) * f["shard"]["writes"]
    replicas = d.replicas - (lost == "primary" and d.replicas > 0)
    db_mu = 1_000 / b["database"]["service_time_ms"]
    rows = [("web server", site / max(servers, 1) if servers else math.inf, 1_000 / b["web_server"]["service_time_ms"],
             b["web_server"]["workers"])]
    if d.sessions == "shared":
        store = b["session_store"]
        rows.append(("session store", site, 1_000 / store["service_time_ms"], store["workers"]))
    consumer = b["consumer"]
    rows.append(("consumers", site * t["job_share"], 1_000 / (consumer["service_time_ms"] + consumer["ack_ms"]),
                 d.consumers))
    rows.append(("primary", writes + (reads if replicas == 0 else 0.0), db_mu, b["database"]["workers"]))
    if replicas:
        rows.append(("replica", reads / replicas + writes, db_mu, b["database"]["workers"]))
    return tuple((name, arrival, service, workers, arrival / (service * workers))
                 for name, arrival, service, workers in rows)


def latency_ms(design, target=None, percents=(95, 99), step_ms=0.5, span_ms=4_000.0):
    """Theory's latency percentiles (ms): the request's path as a mixture of sums of independent M/M/c times.

    A CDN hit costs the edge's round trips; every other request crosses the network, the web server,
    the session store, a publish for a job, the cache, and (a miss or a write) the database.  Treating a
    request's times at the stations as independent is exact for one worker per station and an
    approximation otherwise (chapter 03 measured its size); inf when a station is overloaded.

    >>> latency_ms(Design(web_servers=12, cache_nodes=2, shards=2, replicas=1, consumers=14))
    {95: 129.25, 99: 197.75}
    """
    d, t = Design.of(design), {**TARGET, **(target or {})}
    return dict(_latency(d, tuple(sorted(t.items())), tuple(percents), step_ms, span_ms))


@functools.lru_cache(maxsize=64, typed=True)
def _latency(d, target_items, percents, step_ms, span_ms):
    """:func:`latency_ms` (remembered: a panel comes back to a design it drew)."""
    t = dict(target_items)
    loads, f = {row[0]: row for row in _stations(d, target_items, None)}, _flow_of(d, target_items, None)
    if any(row[-1] >= 1 for row in loads.values()):
        return {q: math.inf for q in percents}
    grid = np.arange(0.0, span_ms + step_ms, step_ms) / 1_000.0

    def station(name):
        _, arrival, service, workers, _ = loads[name]
        q = mmc(arrival, service, int(workers))
        return -np.diff(_survival(grid, arrival, service, int(workers), q.p_wait))

    def delay(pmf, ms):  # a fixed delay: the pmf shifted, as convolving it with a spike at ms would give exactly
        k = min(int(round(ms / step_ms)), len(pmf) - 1)
        return np.concatenate([np.zeros(k), pmf[:len(pmf) - k]])

    def conv(total, pmf):  # by FFT (a direct convolution of two 8,000-bin grids costs about 30x more)
        return _convolve(total, pmf)[:len(grid) - 1]

    network = BOXES["network_ms"] + (1 - geo_hit_ratio(f["rate"], 1_000, TIMERS["geodns_ttl_s"])) * 30.0
    front = delay(station("web server"), network + t["job_share"] * STORE_MS)  # shared by every path below
    if d.sessions == "shared":
        front = conv(front, station("session store"))
    cached = delay(front, BOXES["cache_node"]["hit_ms"] if d.cache_nodes else 0.0)
    read_db = station("replica" if "replica" in loads else "primary")
    sync = sync_write_delay_ms(d.replicas, BOXES["replication_lag_ms"]) if d.replication == "sync" else 0.0
    reads = t["read_ratio"]
    origin = cached * reads * f["cache_hit"]
    origin = origin + conv(cached, read_db) * reads * (1 - f["cache_hit"])
    origin = origin + delay(conv(front, station("primary")), sync) * (1 - reads)
    edge_ms = fetch_ms(EDGE_KM) + 1.0
    static_hit = t["static_share"] * f["edge_hit"] if d.cdn else 0.0
    static_miss = t["static_share"] * (1 - f["edge_hit"]) if d.cdn else 0.0
    at_edge = delay(np.eye(1, len(grid) - 1)[0], edge_ms)  # a static hit: the edge's time, nothing else
    mixed = static_hit * at_edge + (1 - static_hit - static_miss) * origin
    mixed = mixed + static_miss * delay(origin, edge_ms)
    cdf = np.cumsum(mixed)
    return {q: float((np.searchsorted(cdf, q / 100) + 0.5) * step_ms) for q in percents}


def jobs_p95_s(design, target=None):
    """Theory's 95th percentile of a job's time from its request to done: the consumers' M/M/c response.

    >>> round(jobs_p95_s(Design(consumers=14)), 2)
    0.62
    """
    loads = stations(design, target).set_index("station").loc["consumers"]
    return float(response_time_percentile(95, loads["arrival_rps"], loads["service_rps"], int(loads["workers"])))


def faults(design, target=None):
    """Theory's cost of each fault: failed requests (as seconds of the whole site down), lost writes, a year.

    One row per fault kind: how many boxes of that kind serve traffic, failures a year each, the
    seconds of full outage one fault costs (detection while requests still go to the dead box, plus
    the share the survivors cannot carry until the repair), the writes it loses, and the year's totals.

    >>> list(faults(Design())["fault"])
    ['web_server', 'cache_node', 'primary', 'data_centre']
    """
    return pd.DataFrame(fault_columns(design, target))


def fault_columns(design, target=None):
    """:func:`faults` as a dict of columns (name -> list), without building the table (a headline sums one).

    >>> fault_columns(Design())["fault"]
    ['web_server', 'cache_node', 'primary', 'data_centre']
    """
    d, t = Design.of(design), {**TARGET, **(target or {})}
    f, rows = _flow(d, t), []
    rate, site = f["rate"], f["site"]
    serving = 1 if d.mode == "active-passive" else d.datacentres
    writes = site * (1 - t["read_ratio"])
    for kind, count in (("web_server", d.web_servers), ("cache_node", d.cache_nodes), ("primary", d.shards),
                        ("data_centre", 1)):
        repair_s = FAULTS[kind]["repair_h"] * 3_600
        after = utilizations(d, t, lost=kind) if kind != "data_centre" or d.datacentres > 1 else None
        short = 0.0 if after is None else _shortfall(after)
        lost_writes = 0.0
        if kind == "web_server":
            failed = site / d.web_servers * TIMERS["health_check_s"] / 2
        elif kind == "cache_node":
            failed = 0.0
        elif kind == "primary":
            shard = writes / d.shards
            if d.replicas:
                failed = shard * TIMERS["failover_s"]
                lag = BOXES["replication_lag_ms"] if d.replication == "async" else 0.0
                lost_writes = expected_lost_writes(shard, lag)
            else:
                failed = site / d.shards * repair_s  # reads and writes of its keys wait for the repair
        elif d.datacentres == 1:
            failed = site * repair_s
        else:
            hit = geo_hit_ratio(rate, 1_000, TIMERS["geodns_ttl_s"])
            failed = failover_failures(site, 0.0, TIMERS["site_check_s"], TIMERS["geodns_ttl_s"], hit)
            failed += site * TIMERS["site_check_s"] / 2  # a death at a random moment waits half a check on average
            lost_writes = writes * BOXES["site_lag_ms"] / 1_000.0
        seconds = failed / rate + short * site / rate * repair_s
        boxes = count * serving
        per_year = FAULTS[kind]["per_year"]
        rows.append({"fault": kind, "boxes": boxes, "per_year_each": per_year, "outage_s_per_fault": seconds,
                     "lost_writes_per_fault": lost_writes, "outage_s_per_year": boxes * per_year * seconds,
                     "lost_writes_per_year": boxes * per_year * lost_writes})
    return {name: [row[name] for row in rows] for name in rows[0]}


def _shortfall(loads):
    """Share of a site's requests the busiest station turns away when overloaded: 1 - capacity / offered
    (``loads``: station -> utilisation, as :func:`utilizations`)."""
    rho = max(rho for station, rho in loads.items() if station != "consumers")
    return max(0.0, 1 - 1 / rho) if rho > 0 else 0.0


def availability(fault_table):
    """The year's availability from a fault table (or its columns): 1 - outage seconds a year / seconds in a year.

    >>> round(availability(faults(Design(web_servers=12, cache_nodes=2, shards=2, replicas=1, consumers=14))), 5)
    0.99977
    """
    return float(1 - np.sum(np.asarray(fault_table["outage_s_per_year"], dtype=float)) / SECONDS_PER_YEAR)
