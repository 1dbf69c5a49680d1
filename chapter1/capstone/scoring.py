"""score(): a design against the target, by simulation and by theory, with faults on a schedule.

Simulation, at the target's peak rate (a fixed budget of requests: the rate sets how many seconds
that covers):

* **the peak**: the whole design, no fault: latency percentiles, errors, every box's utilisation
  (the busiest is the binding bottleneck), how long background jobs take;
* **one run per fault** (a web server, a cache node, a primary, a data centre, each in dc-1):
  the box dies 30 % of the way in.  Detection (health checks, failover, GeoDNS's TTL) takes
  tens of seconds in life, longer than the budget covers, so in these runs every detection timer
  is divided by one factor (the *time compression*, about 70) and the requests that fail while
  it runs are multiplied back by it; requests caught inside the box when it died, lost writes and
  lost sessions are counted as they are.  After detection, the survivors carry the load: the
  share of requests they fail or cannot keep up with, times the repair time, is the rest of the
  fault's cost.

A fault's cost is counted in *seconds of the whole site down* (failed requests / peak rate); the
year's availability is 1 - (sum over boxes and faults a year of that cost) / a year's seconds.  Every
fault is assumed to strike at the peak: the worst case, so the availability is a floor.
"""

import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core import validation as check
from ..core.component import OK
from ..core.simulation import simulate
from ..theory.replication import SECONDS_PER_YEAR
from . import theory
from .design import FAULTS, TARGET, TIMERS, Design, build, monthly_cost, workload

MAX_REQUESTS = 100_000
START, DETECTED, MARGIN = 0.3, 0.6, 0.02   # the fault at 30 % of the run, detection over by 60 %; 2 % slack
GROUPS = {"latency": ("p95_ms", "p99_ms"), "capacity": ("peak_utilization", "jobs_p95_s"),
          "availability": ("availability",), "data": ("lost_writes_per_year", "sessions_lost_per_fault"),
          "cost": ("usd_per_month",)}


@dataclass
class Score:
    """What :func:`score` found: one row per target (goal, simulated, theory, met), bottleneck, bill, faults."""

    design: Design
    table: pd.DataFrame
    bottleneck: dict
    cost: pd.DataFrame
    utilization: pd.Series
    faults: pd.DataFrame
    seconds: float
    peak: object

    @property
    def usd_per_month(self):
        return float(self.cost["usd_per_month"].sum())

    @property
    def met(self):
        """True when every target is met."""
        return bool(self.table["met"].all())

    def missed(self):
        """The targets missed, by name."""
        return list(self.table.loc[~self.table["met"], "target"])

    def group_met(self, group):
        """True when every target of ``group`` (one of :data:`GROUPS`) is met."""
        check.choice("group", group, tuple(GROUPS))
        return bool(self.table.set_index("target").loc[list(GROUPS[group]), "met"].all())

    def __repr__(self):
        b = self.bottleneck
        verdict = "every target met" if self.met else f"missed: {', '.join(self.missed())}"
        return (f"<Score {verdict}; bottleneck {b['component']} at {b['utilization']:.0%}; "
                f"${self.usd_per_month:,.0f} a month>")


def score(design, target=None, prices=None, *, requests=12_000, fault_requests=6_000, seed=0):
    """Score ``design`` (a :class:`Design` or a dict of its fields) against ``target`` by simulation and theory.

    >>> s = score(dict(web_servers=12, cache_nodes=2, shards=2, replicas=1, consumers=14), requests=4_000,
    ...           fault_requests=3_000)
    >>> list(s.table["target"])[:3]
    ['p95_ms', 'p99_ms', 'peak_utilization']
    """
    started = time.perf_counter()
    design = Design.of(design)
    t = {**TARGET, **(target or {})}
    unknown = sorted(set(target or {}) - set(TARGET))
    if unknown:
        raise ValueError(f"target has no field {', '.join(map(repr, unknown))}; its fields are {', '.join(TARGET)}")
    check.number("requests", requests, low=1_000, high=MAX_REQUESTS, integer=True)
    check.number("fault_requests", fault_requests, low=1_000, high=MAX_REQUESTS, integer=True)
    check.number("seed", seed, low=0, integer=True)
    load = workload(t)
    peak = simulate(build(design, t), load, requests=requests, seed=seed)
    used = utilization(peak)
    top = used.idxmax()
    loads = theory.stations(design, t)
    worst = loads.loc[loads["utilization"].idxmax()]
    bottleneck = {"component": top, "utilization": float(used[top]), "theory_station": worst["station"],
                  "theory_utilization": float(worst["utilization"])}
    jobs = [r.figures()["done_p95_ms"] for r in peak.runtimes if type(r).__name__ == "QueueRun"]
    if any(used[name] >= 0.95 for name in _consumers(peak)):
        jobs = [float("inf")]  # saturated consumers: the backlog grows for as long as the peak lasts
    faults = _faults(design, t, load, fault_requests, seed)
    bill = monthly_cost(design, t, prices)
    lat = theory.latency_ms(design, t)
    sim_year = (faults["boxes"] * faults["per_year_each"] * faults["outage_s_sim"]).sum()
    sim_lost = (faults["boxes"] * faults["per_year_each"] * faults["lost_writes_sim"]).sum()
    rows = [
        ("p95_ms", t["p95_ms"], peak.percentile(95), lat[95], "<="),
        ("p99_ms", t["p99_ms"], peak.percentile(99), lat[99], "<="),
        ("peak_utilization", t["peak_utilization"], float(used.max()), float(loads["utilization"].max()), "<="),
        ("jobs_p95_s", t["jobs_p95_s"], max(jobs) / 1_000 if jobs else float("nan"), theory.jobs_p95_s(design, t),
         "<="),
        ("availability", t["availability"], 1 - sim_year / SECONDS_PER_YEAR,
         theory.availability(faults.rename(columns={"outage_s_per_year_theory": "outage_s_per_year"})), ">="),
        ("lost_writes_per_year", t["lost_writes_per_year"], sim_lost, faults["lost_writes_per_year_theory"].sum(),
         "<="),
        ("sessions_lost_per_fault", t["sessions_lost_per_fault"], float(faults["sessions_lost_sim"].max()),
         0.0 if design.sessions == "shared" else float("nan"), "<="),
        ("usd_per_month", t["usd_per_month"], float(bill["usd_per_month"].sum()), float(bill["usd_per_month"].sum()),
         "<="),
    ]
    verdict = pd.DataFrame(rows, columns=["target", "goal", "simulated", "theory", "must_be"])
    verdict["met"] = [bool(sim <= goal) if how == "<=" else bool(sim >= goal)
                      for goal, sim, how in zip(verdict["goal"], verdict["simulated"], verdict["must_be"])]
    verdict.insert(0, "group", [next(g for g, names in GROUPS.items() if name in names) for name in verdict["target"]])
    return Score(design, verdict, bottleneck, bill, used, faults, time.perf_counter() - started, peak)


def _victims(design):
    """The box each fault run kills (all in dc-1, the active site), or None when the design has no such box."""
    prefix = "dc-1 shard-1" if design.shards > 1 else "dc-1"
    return {"web_server": "dc-1 web-1", "cache_node": "dc-1 cache-1" if design.cache_nodes else None,
            "primary": f"{prefix} primary", "data_centre": "dc-1"}


def _chains():
    """Seconds each fault takes to be noticed and routed around, with the course's timers."""
    return {"web_server": TIMERS["health_check_s"], "cache_node": 0.0, "primary": TIMERS["failover_s"],
            "data_centre": TIMERS["site_check_s"] + TIMERS["geodns_ttl_s"]}


def _faults(design, target, load, requests, seed):
    """One run per fault: the cost of each in seconds of the whole site down, lost writes and sessions."""
    window = requests / load.rate
    chains = _chains()
    compress = max(chains.values()) / ((DETECTED - START) * window)
    fast = {k: v / compress for k, v in TIMERS.items()}
    arch = build(design, target, timers=fast)
    table = theory.faults(design, target).rename(columns={
        "outage_s_per_fault": "outage_s_theory", "lost_writes_per_fault": "lost_writes_theory",
        "outage_s_per_year": "outage_s_per_year_theory", "lost_writes_per_year": "lost_writes_per_year_theory"})
    sim = []
    for kind, victim in _victims(design).items():
        if victim is None:
            sim.append((0.0, 0.0, 0.0))
            continue
        at = START * window
        result = simulate(arch.fail(victim, at_s=at), load, requests=requests, seed=seed)
        sim.append(_measure(result, at, at + chains[kind] / compress + MARGIN * window, compress,
                            FAULTS[kind]["repair_h"] * 3_600))
    table["outage_s_sim"] = [s[0] for s in sim]
    table["lost_writes_sim"] = [s[1] for s in sim]
    table["sessions_lost_sim"] = [s[2] for s in sim]
    table.attrs["compression"] = compress
    return table


def _measure(result, at, detected, compress, repair_s):
    """(seconds of the site down for one fault, writes lost, sessions lost) from a fault run."""
    arrival, ok = result.arrival_s, result.status_code == OK
    end = arrival + result.latency_ms / 1_000.0
    rate = result.workload.rate
    caught = np.sum(~ok & (arrival < at) & (end >= at))            # inside when it died: counted as they are
    during = np.sum(~ok & (arrival >= at) & (arrival < detected))   # while detection ran: times the compression
    after = arrival >= detected
    arrived = max(int(after.sum()), 1)
    errors = float(np.sum(~ok & after)) / arrived
    shortfall = _overload(result, detected) / arrived
    seconds = (caught + compress * during) / rate + (errors + shortfall) * repair_s
    lost = sessions = 0
    for runtime in result.runtimes:
        kind = type(runtime).__name__
        if kind in ("ReplicaSetRun", "GeoDNSRun"):
            lost += runtime.figures()["lost_writes"]
        elif kind in ("StickyRun", "SessionStoreRun"):
            sessions += runtime.figures()["sessions_lost"]
    return float(seconds), float(lost), float(sessions)


def _consumers(result):
    return [r.spec.name for r in result.runtimes if type(r).__name__ == "ConsumersRun"]


def _overload(result, since):
    """Requests the saturated pools cannot serve after ``since``.

    A pool is the boxes that share one kind of work (a site's web servers, a shard's replicas: names
    that differ only in their number).  For each (consumers aside: their work can wait), the work that
    started after ``since`` (the run goes on until every queue is empty) is set against what its workers
    can do in the time it stands for: the rest of the run, plus the time a request takes to reach the box
    (work starting just after ``since`` was sent a little before; the mean latency of origin requests).
    Where that offered utilisation rho > 1, a share 1 - 1/rho of its requests are more than it can serve.
    A request that meets two saturated pools counts twice.
    """
    arrival, ok = result.arrival_s, result.status_code == OK
    inside = ok & (arrival >= since) & (result.latency_ms > 20.0)   # origin requests (a CDN hit takes ~4 ms)
    reach = float(np.mean(result.latency_ms[inside])) / 1_000.0 if inside.any() else 0.0
    span = result.duration_s - since + reach   # work that starts after since came from arrivals since - reach on
    pools = {}
    for runtime in result.runtimes:
        periods = runtime.busy()
        if periods is None or type(runtime).__name__ == "ConsumersRun" or span <= 0:
            continue
        starts, ends, workers = periods
        late = starts >= since
        pool = pools.setdefault(re.sub(r"-\d+$", "", runtime.spec.name), [0.0, 0, 0])
        pool[0] += float(np.sum(ends[late] - starts[late]))
        pool[1] += int(late.sum())
        pool[2] += workers
    lost = 0.0
    for work, count, workers in pools.values():
        rho = work / (workers * span)
        if rho > 1:
            lost += count * (1 - 1 / rho)
    return lost


def utilization(result, start_s=0.0, end_s=None):
    """Each box's utilisation (share of its workers' time spent serving) between ``start_s`` and ``end_s``.

    One pass over each box's service periods (Result.utilization(name) looks its box up by name each call).

    >>> from chapter1 import Workload, simulate, single_server
    >>> result = simulate(single_server(workers=2, service_time_ms=100), Workload.from_rate(10), requests=5_000)
    >>> bool(abs(utilization(result)["server"] - result.utilization("server")) < 1e-9)
    True
    """
    end_s = result.duration_s if end_s is None else end_s
    check.number("start_s", start_s, low=0)
    check.number("end_s", end_s, low=start_s, low_open=True)
    figures = {}
    for runtime in result.runtimes:
        periods = runtime.busy()
        if periods is None:
            continue
        starts, ends, workers = periods
        served = ~np.isnan(starts)
        inside = np.clip(np.minimum(ends[served], end_s) - np.maximum(starts[served], start_s), 0.0, None)
        figures[runtime.spec.name] = float(inside.sum() / (workers * (end_s - start_s)))
    return pd.Series(figures, name="utilization", dtype=float)
