"""The capstone's target, price table, boxes and fault rates, and the learner's :class:`Design`.

Every table is a plain dict the learner can print and change (``score(design, target=..., prices=...)``).

>>> design = Design(datacentres=2, web_servers=12, cache_nodes=2, shards=2, replicas=1, consumers=14)
>>> [c.name for c in build(design).components][:4]
['cdn', 'geodns', 'dc-1', 'dc-1 lb']
>>> round(monthly_cost(design)["usd_per_month"].sum())
25780
"""

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..components.cdn import CDN, Region
from ..components.datacentre import REGIONS, DataCentre, GeoDNS
from ..components.pool import LoadBalancer
from ..components.queue import Consumers, MessageQueue
from ..components.replicas import Replica, ReplicaSet
from ..components.server import Database, WebServer
from ..components.sessions import SessionStore, StickySessions
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.workload import SECONDS_PER_DAY, Workload
from .kinds import CacheCluster, Jobs, ShardedData, cache_nodes

#: What the design must achieve.  Latency is what a user sees at the daily peak (network included).
TARGET = {
    "daily_active_users": 10_000_000,
    "requests_per_user": 10,          # a day
    "peak_factor": 3.0,               # the busiest hour against the day's average
    "read_ratio": 0.9,                # reads among requests
    "keys": 200_000,                  # distinct items (posts, profiles) users ask for
    "zipf_s": 1.0,                    # key popularity: the k-th most popular asked for in proportion to 1/k
    "static_share": 0.5,              # requests for static assets (images, scripts)
    "job_share": 0.05,                # requests (reaching a data centre) that start background work
    "p95_ms": 200.0,
    "p99_ms": 400.0,
    "peak_utilization": 0.85,         # the busiest box at the peak, no fault: headroom for bursts
    "jobs_p95_s": 5.0,                # background work done within this, at the 95th percentile
    "availability": 0.99995,          # a year, faults at their yearly rates (FAULTS)
    "lost_writes_per_year": 50,       # acknowledged writes lost, a year
    "sessions_lost_per_fault": 0,     # users logged out when a web server dies
    "usd_per_month": 50_000,          # the ceiling the business set
}

#: Monthly prices, US dollars.  A box's size is in BOXES; a data centre's price covers its load balancer.
PRICES = {
    "data_centre": 2_000,
    "web_server": 300,
    "session_store": 250,             # with its standby
    "cache_node": 400,
    "database": 900,                  # each primary and each replica
    "queue_broker": 300,
    "consumer": 60,
    "cdn_usd_per_gb": 0.01,
}

#: What one of each box does.  Service times are exponential (the course's M/M/c stations).
BOXES = {
    "web_server": {"workers": 8, "service_time_ms": 40.0},
    "session_store": {"workers": 8, "service_time_ms": 2.0},
    "cache_node": {"keys": 20_000, "hit_ms": 1.0},
    "database": {"workers": 4, "service_time_ms": 20.0},
    "consumer": {"service_time_ms": 200.0, "ack_ms": 5.0},
    "asset_kb": 200.0,
    "network_ms": 10.0,               # client to its own region's data centre
    "replication_lag_ms": 20.0,       # primary to replica, inside a data centre
    "site_lag_ms": 100.0,             # between data centres
}

#: How often each box fails a year, and how long until it is replaced or repaired (hours).
FAULTS = {
    "web_server": {"per_year": 4.0, "repair_h": 1.0},
    "cache_node": {"per_year": 2.0, "repair_h": 0.5},
    "primary": {"per_year": 2.0, "repair_h": 2.0},
    "data_centre": {"per_year": 1.0, "repair_h": 8.0},
}

#: Detection times of the course's defaults: balancer and GeoDNS health checks, replica failover, DNS TTL.
TIMERS = {"health_check_s": 5.0, "site_check_s": 10.0, "geodns_ttl_s": 60.0, "failover_s": 10.0}

LIMITS = {"datacentres": (1, 4), "web_servers": (1, 200), "cache_nodes": (0, 10), "shards": (1, 16),
          "replicas": (0, 8), "consumers": (1, 500)}
CHOICES = {"mode": ("active-active", "active-passive"), "sessions": ("shared", "sticky"),
           "replication": ("async", "sync"), "cdn": (True, False)}


@dataclass(frozen=True)
class Design:
    """A design in a few numbers: counts are per data centre (each site is a copy of the others).

    ``shards`` each hold a primary and ``replicas`` read replicas; ``cache_nodes=0`` is no cache;
    ``sessions="shared"`` a session store per site, ``"sticky"`` sessions in the web servers' memory.

    >>> Design(web_servers=0)
    Traceback (most recent call last):
    ...
    ValueError: web_servers must be a whole number in the range [1, 200]; got 0
    """

    datacentres: int = 2
    mode: str = "active-active"
    web_servers: int = 10
    cdn: bool = True
    sessions: str = "shared"
    cache_nodes: int = 1
    shards: int = 1
    replicas: int = 1
    replication: str = "async"
    consumers: int = 10

    def __post_init__(self):
        for name, (low, high) in LIMITS.items():
            check.number(name, getattr(self, name), low=low, high=high, integer=True)
        for name, options in CHOICES.items():
            value = getattr(self, name)
            if isinstance(value, bool) and name != "cdn" or name == "cdn" and not isinstance(value, bool):
                raise TypeError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
            if name != "cdn":
                check.choice(name, value, options)

    @classmethod
    def of(cls, spec):
        """A Design from a dict; an unknown field is named with the valid ones.

        >>> Design.of({"web_servers": 4}).web_servers
        4
        """
        if isinstance(spec, Design):
            return spec
        if not isinstance(spec, dict):
            raise TypeError(f"design must be a Design or a dict of its fields; got {type(spec).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(spec) - set(known))
        if unknown:
            raise ValueError(f"design has no field {', '.join(map(repr, unknown))}; its fields are {', '.join(known)}")
        return cls(**spec)


def workload(target=None):
    """The target's traffic as the course's Workload (rate = DAU x requests per user / 86,400 x peak factor).

    >>> round(workload().rate)
    3472
    """
    t = {**TARGET, **(target or {})}
    return Workload(users=t["daily_active_users"], requests_per_user=t["requests_per_user"],
                    peak_factor=t["peak_factor"], read_ratio=t["read_ratio"], keys=t["keys"], zipf_s=t["zipf_s"])


def _site(design, k, target, boxes, timers):
    """Data centre ``k`` (0-based): balancer and web servers, sessions, jobs, cache, data tier."""
    name = f"dc-{k + 1}"
    web, db = boxes["web_server"], boxes["database"]
    servers = tuple(WebServer(name=f"{name} web-{s + 1}", **web) for s in range(design.web_servers))
    policy = "ip_hash" if design.sessions == "sticky" else "round_robin"
    balancer = LoadBalancer(name=f"{name} lb", servers=servers, policy=policy,
                            health_check_interval_s=timers["health_check_s"])
    stack = [balancer]
    if design.sessions == "sticky":
        stack.append(StickySessions(name=f"{name} sessions", pool=balancer.name))
    else:
        stack.append(SessionStore(name=f"{name} session store", **boxes["session_store"]))
    consumers = Consumers(name=f"{name} consumers", workers=design.consumers, **boxes["consumer"])
    stack.append(Jobs(name=f"{name} jobs", share=target["job_share"],
                      queue=MessageQueue(name=f"{name} queue", consumers=consumers)))
    shards = []
    for s in range(design.shards):
        prefix = f"{name} shard-{s + 1}" if design.shards > 1 else name
        replicas = tuple(Replica(name=f"{prefix} replica-{r + 1}", **db) for r in range(design.replicas))
        shards.append(ReplicaSet(name=f"{prefix} data" if design.shards > 1 else f"{name} database",
                                 primary=Database(name=f"{prefix} primary", **db), replicas=replicas,
                                 replication_lag_ms=boxes["replication_lag_ms"], failover_s=timers["failover_s"],
                                 mode=design.replication))
    data = shards[0] if design.shards == 1 else ShardedData(name=f"{name} shard router", shards=tuple(shards))
    if design.cache_nodes:
        cache = boxes["cache_node"]
        data = CacheCluster(name=f"{name} cache", nodes=cache_nodes(design.cache_nodes, cache["keys"], f"{name} "),
                            backend=data, hit_ms=cache["hit_ms"])
    stack.append(data)
    return DataCentre(name=name, region=REGIONS[k], stack=tuple(stack))


def build(design, target=None, boxes=None, timers=None):
    """The Architecture of ``design``: CDN (optional) -> GeoDNS -> data centres, each a full stack.

    ``timers`` overrides :data:`TIMERS` (the scoring runs faults with every detection timer shortened).

    >>> len(build(Design(datacentres=1)).components)
    23
    """
    design, target, boxes = Design.of(design), {**TARGET, **(target or {})}, {**BOXES, **(boxes or {})}
    timers = {**TIMERS, **(timers or {})}
    sites = tuple(_site(design, k, target, boxes, timers) for k in range(design.datacentres))
    geo = GeoDNS(datacentres=sites, mode=design.mode, ttl_s=timers["geodns_ttl_s"],
                 health_check_interval_s=timers["site_check_s"], local_ms=boxes["network_ms"],
                 remote_ms=8 * boxes["network_ms"], replication_lag_ms=boxes["site_lag_ms"])
    name = describe(design)
    if not design.cdn:
        return Architecture(name, (geo,), dns=None)
    regions = tuple(Region(f"region {REGIONS[k]}", 0.0) for k in range(design.datacentres))
    cdn = CDN(name="cdn", origin=(geo,), regions=regions, static_share=target["static_share"],
              asset_kb=boxes["asset_kb"], cdn_usd_per_gb=PRICES["cdn_usd_per_gb"])
    return Architecture(name, (cdn,), dns=None)


def describe(design):
    """The design in one line.

    >>> describe(Design(cdn=False))[:40]
    '2 DC (active-active): 10 web, shared ses'
    """
    d = Design.of(design)
    cache = f"{d.cache_nodes} cache node{'s' * (d.cache_nodes != 1)}" if d.cache_nodes else "no cache"
    return (f"{d.datacentres} DC ({d.mode}){' + CDN' if d.cdn else ''}: {d.web_servers} web, {d.sessions} sessions, "
            f"{cache}, {d.shards} shard{'s' * (d.shards != 1)} x (primary + {d.replicas}, {d.replication}), "
            f"{d.consumers} consumers")


def monthly_cost(design, target=None, prices=None):
    """The bill: one row per line item (count, unit price, US dollars a month).

    CDN traffic: static requests x asset size over a month of average days (the peak factor does not bill).

    >>> bill = monthly_cost(Design()).set_index("item")
    >>> int(bill.loc["web servers", "count"]), int(bill.loc["web servers", "usd_per_month"])
    (20, 6000)
    """
    table = pd.DataFrame(_bill(design, target, prices), columns=["item", "count", "unit_usd"])
    table["usd_per_month"] = table["count"] * table["unit_usd"]
    return table


def monthly_bill(design, target=None, prices=None):
    """The bill's total, US dollars a month: :func:`monthly_cost`'s ``usd_per_month`` summed, without the table.

    >>> monthly_bill(Design()) == float(monthly_cost(Design())["usd_per_month"].sum())
    True
    """
    return float(np.sum(np.array([count * unit for _, count, unit in _bill(design, target, prices)])))


def _bill(design, target, prices):
    """The bill's line items: (item, count, unit price in US dollars)."""
    d, t, p = Design.of(design), {**TARGET, **(target or {})}, {**PRICES, **(prices or {})}
    n = d.datacentres
    gb = (t["daily_active_users"] * t["requests_per_user"] * t["static_share"] * 30 * BOXES["asset_kb"] / 1e6)
    return [("data centres", n, p["data_centre"]), ("web servers", n * d.web_servers, p["web_server"]),
            ("session stores", n if d.sessions == "shared" else 0, p["session_store"]),
            ("cache nodes", n * d.cache_nodes, p["cache_node"]),
            ("databases (primaries + replicas)", n * d.shards * (1 + d.replicas), p["database"]),
            ("queue brokers", n, p["queue_broker"]), ("consumers", n * d.consumers, p["consumer"]),
            ("CDN traffic (GB)", round(gb) if d.cdn else 0, p["cdn_usd_per_gb"])]


def peak_rate(target=None):
    """Requests a second at the daily peak: DAU x requests per user / 86,400 x peak factor.

    >>> round(peak_rate({"peak_factor": 1.0}))
    1157
    """
    t = {**TARGET, **(target or {})}
    return t["daily_active_users"] * t["requests_per_user"] / SECONDS_PER_DAY * t["peak_factor"]
