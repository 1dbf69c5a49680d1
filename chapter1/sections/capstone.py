"""Chapter 13, the capstone: glue for the notebook (tables, the back-of-the-envelope, sizing, the verdict).

The model lives in :mod:`chapter1.capstone` (target, prices, Design, build, score) and the picture in
:mod:`chapter1.present.review`; this module only arranges them for reading.

>>> round(envelope().loc["peak rate", "value"])
3472
"""

import functools
import math

import numpy as np
import pandas as pd

from ..capstone import theory
from ..capstone.design import (
    BOXES,
    FAULTS,
    PRICES,
    TARGET,
    TIMERS,
    Design,
    build,
    describe,
    monthly_bill,
    monthly_cost,
    workload,
)
from ..capstone.scoring import GROUPS, score, utilization
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import SECONDS_PER_DAY
from ..present import charts, panels, scales
from ..present.review import pools, review

__all__ = ["BOXES", "FAULTS", "PRICES", "TARGET", "TIMERS", "Design", "box_table", "build", "compare", "describe",
           "design_panel", "design_view", "envelope", "fault_view", "monthly_cost", "points", "pools", "review",
           "score", "sizing", "target_table", "verdict", "workload"]

_UNITS = {"daily_active_users": "users", "requests_per_user": "requests a day", "peak_factor": "x the average",
          "read_ratio": "share", "keys": "items", "zipf_s": "exponent", "static_share": "share of requests",
          "job_share": "share of site requests", "p95_ms": "ms at most", "p99_ms": "ms at most",
          "peak_utilization": "busiest box, at most", "jobs_p95_s": "s at most", "availability": "a year, at least",
          "lost_writes_per_year": "at most", "sessions_lost_per_fault": "at most", "usd_per_month": "US$ at most"}


def target_table(target=None):
    """The target as a table: what, the figure, its unit (traffic first, then the goals).

    >>> target_table().loc["p99_ms", "unit"]
    'ms at most'
    """
    t = {**TARGET, **(target or {})}
    values = {k: f"{v:,}" if isinstance(v, int) else f"{v:g}" for k, v in t.items()}
    return pd.DataFrame({"value": values, "unit": {k: _UNITS.get(k, "") for k in t}})


def envelope(target=None):
    """The back-of-the-envelope, step by step: each quantity, how it follows, its value.

    The numbers a designer works out before any simulation: the peak rate, what the CDN leaves for
    the sites, one site's share (and all of it after a site is lost), and the boxes that carries.
    """
    t = {**TARGET, **(target or {})}
    d2 = Design(datacentres=2)
    flow, after = theory._flow(d2, t), theory._flow(d2, t, lost="data_centre")
    web, db = BOXES["web_server"], BOXES["database"]
    web_rps, db_qps = web["workers"] * 1_000 / web["service_time_ms"], db["workers"] * 1_000 / db["service_time_ms"]
    average = t["daily_active_users"] * t["requests_per_user"] / SECONDS_PER_DAY
    rows = [
        ("average rate", "DAU x requests per user / 86,400", average),
        ("peak rate", "average x peak factor", average * t["peak_factor"]),
        ("CDN edge hit ratio", "TTL formula over Zipf assets, 2 edges, TTL 1 h", flow["edge_hit"]),
        ("origin rate", "peak x ((1 - static) + static x (1 - edge hit))", flow["origin"]),
        ("one site, 2 sites", "origin / 2", flow["site"]),
        ("one site, the other lost", "origin / 1", after["site"]),
        ("web servers per site", f"site rate / ({web_rps:g} req/s per server x 0.8)", after["site"] / (web_rps * 0.8)),
        ("cache hit ratio, 1 node", "Che's LRU over the keys the CDN leaves", theory._flow(Design(cache_nodes=1), t)[
            "cache_hit"]),
        ("database reads, site alone, 1 cache node", "site x read share x (1 - hit)",
         after["site"] * t["read_ratio"] * (1 - theory._flow(Design(cache_nodes=1), t)["cache_hit"])),
        ("database writes, site alone", "site x write share (every replica replays them)",
         after["site"] * (1 - t["read_ratio"])),
        ("one database", f"{db['workers']} workers x 1,000 / {db['service_time_ms']:g} ms", db_qps),
    ]
    return pd.DataFrame(rows, columns=["quantity", "how", "value"]).set_index("quantity")


def box_table(boxes=None):
    """What one of each box does, one line each (``BOXES`` as text).

    >>> box_table().loc["web_server", "what one does"]
    'workers 8, service_time_ms 40'
    """
    b = {**BOXES, **(boxes or {})}
    lines = {k: ", ".join(f"{name} {value:g}" for name, value in v.items()) if isinstance(v, dict) else f"{v:g}"
             for k, v in b.items()}
    return pd.DataFrame({"what one does": lines})


def sizing(design, target=None):
    """Theory's utilisation of each station of a site: at the peak, and after each fault.

    >>> list(sizing(Design()).columns)
    ['peak', 'web_server lost', 'cache_node lost', 'primary lost', 'data_centre lost']
    """
    d = Design.of(design)
    peak = theory.utilizations(d, target)
    columns = {"peak": list(peak.values())}
    for lost in theory.LOSSES[1:]:
        if lost == "data_centre" and d.datacentres == 1:
            continue
        if lost == "cache_node" and not d.cache_nodes:
            continue
        after = theory.utilizations(d, target, lost=lost)
        columns[f"{lost} lost"] = [after.get(station, math.nan) for station in peak]
    return pd.DataFrame(columns, index=pd.Index(list(peak), name="station"))


def verdict(result):
    """The score's target table, rounded for reading (met targets True).

    >>> s = score(Design(datacentres=1), requests=2_000, fault_requests=1_000)
    >>> bool(verdict(s).loc["availability", "met"])
    False
    """
    table = result.table.copy()
    for column in ("goal", "simulated", "theory"):
        table[column] = [_rounded(v) for v in table[column]]
    return table.set_index("target")


def _rounded(value):
    """A figure as text: six digits for an availability, three decimals below 10, one above."""
    if not isinstance(value, float) or math.isnan(value) or math.isinf(value):
        return str(value)
    if 0.99 < value < 1:
        return f"{value:.6f}"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def fault_view(result):
    """Each fault's cost: theory and simulation side by side (seconds of the whole site down, lost writes).

    >>> list(fault_view(score(Design(), requests=2_000, fault_requests=1_000)).index)
    ['web_server', 'cache_node', 'primary', 'data_centre']
    """
    columns = ["fault", "boxes", "per_year_each", "outage_s_theory", "outage_s_sim", "lost_writes_theory",
               "lost_writes_sim", "sessions_lost_sim"]
    return result.faults[columns].set_index("fault").round(3)


def compare(designs, target=None, **options):
    """Score several designs (a dict name -> Design or dict); one row per design: cost, bottleneck, targets missed.

    >>> table = compare({"one site": Design(datacentres=1)}, requests=2_000, fault_requests=1_000)
    >>> int(table.loc["one site", "usd_per_month"])
    11350
    """
    if not isinstance(designs, dict) or not designs:
        raise TypeError(f"designs must be a non-empty dict of name -> Design; got {designs!r}")
    rows = []
    for name, design in designs.items():
        s = score(design, target, **options)
        rows.append({"design": name, "usd_per_month": s.usd_per_month, "bottleneck": s.bottleneck["component"],
                     "busiest": round(s.bottleneck["utilization"], 3), "missed": ", ".join(s.missed()) or "none",
                     "seconds": round(s.seconds, 1)})
    return pd.DataFrame(rows).set_index("design")


def points(result, margin=0.2, per_group=2):
    """Marks a score earns, as the chapter's exercise grades it: ``per_group`` for each group of targets met;
    the cost group also needs the bill within ``margin`` of the course's reference design (never shown).

    >>> points(score(Design(datacentres=1), requests=2_000, fault_requests=1_000))["availability"]
    0
    """
    from ..grading import check as grading_check

    check.number("margin", margin, low=0, high=10)
    marks = {}
    for group in GROUPS:
        ok = result.group_met(group)
        if group == "cost" and ok:
            try:
                grading_check.capstone_cost(result.usd_per_month, margin)
            except AssertionError:
                ok = False
        marks[group] = per_group if ok else 0
    return marks


# -- the live panel: a design's stations by theory, its peak by simulation ------------------------------------

PANEL_TOP = 1.5   # bars stop at 150 % (their labels give the real figure)
PANEL_CAPTION = (
    "<small>Bars: theory's utilisation of each station of a serving site, at the peak (blue) and with the other "
    "site lost (orange; red where it passes 100 %: a queue that grows until the repair). Dashed rules: the 85 % "
    "headroom target and 100 %. The headline sets a short simulated peak (busiest box, p95) against theory: in "
    "under a second an overloaded box shows below 100 % busy, its queue only starting to grow. "
    "<code>cs.score(design)</code> adds the faults.</small>")


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    x = scales.share_axis("x", "shown:Q", "utilisation", top=PANEL_TOP, ticks=[0, 0.5, 0.85, 1.0, 1.5])
    return charts.Template(charts.bars(
        "loads", x, charts.nominal("row:N", None), scales.color("state:N", {"peak": "blue", "site lost": "orange",
                                                                             "overloaded": "red"}),
        tooltip=("row:N", ("utilization:Q", ".0%")), rule="at:Q", text=("utilization:Q", ".0%")), titles=False)


def design_view(datacentres, web_servers, cache_nodes, shards, replicas, consumers, *, requests=2_000, seed=0):
    """What the panel shows for one design: (chart as SVG, headline HTML): theory's stations, a simulated peak."""
    design = Design(datacentres=datacentres, web_servers=web_servers, cache_nodes=cache_nodes, shards=shards,
                    replicas=replicas, consumers=consumers)
    peak = theory.utilizations(design)  # (the sizing table's columns the chart draws, read without the table)
    lost = theory.utilizations(design, lost="data_centre") if design.datacentres > 1 else None
    rows, shares, states = [], [], []
    for station, share in peak.items():
        rows.append(f"{station} · peak"), shares.append(share), states.append("peak")
        if lost is not None:
            after = lost.get(station, math.nan)
            rows.append(f"{station} · site lost"), shares.append(after)
            states.append("overloaded" if after >= 1 else "site lost")
    shares = np.array(shares, dtype=float)
    table = {"row": rows, "utilization": shares, "state": states, "shown": np.minimum(shares, PANEL_TOP)}
    svg = _template().svg({"loads": table, "target": [{"at": 0.85}, {"at": 1.0}]})
    result = simulate(build(design), workload(), requests=requests, seed=seed)
    used = utilization(result)
    top, lat = used.idxmax(), theory.latency_ms(design)
    busiest = max(peak, key=peak.get)  # (the first of equals, as idxmax)
    availability = theory.availability(theory.fault_columns(design))
    text = [f"<b>${monthly_bill(design):,.0f}</b> a month · theory's availability a year <b>{availability:.4%}</b> "
            f"(target {TARGET['availability']:.3%})",
            f"simulated peak: busiest box <b>{top}</b> at <b>{used[top]:.0%}</b> (theory's busiest station: "
            f"{busiest} at {peak[busiest]:.0%}) · p95 <b>{result.percentile(95):,.0f} ms</b> "
            f"(theory {'none: a station is overloaded' if math.isinf(lat[95]) else f'{lat[95]:,.0f} ms'})",
            f"<small>{requests:,} simulated requests = {result.duration_s:.2f} s of peak traffic at "
            f"{result.workload.rate:,.0f} req/s (run {seed + 1})</small>"]
    return svg, panels.headline(*text, caption=PANEL_CAPTION)


def design_panel(*, seed=0, **values):
    """Chapter 13's panel: sites, web servers, cache nodes, shards, replicas, consumers; theory and a simulated peak.

    >>> box = design_panel()  # doctest: +SKIP
    """
    return PANEL.show(seed=seed, **values)


PANEL = panels.register_panel(panels.Panel(
    "capstone design", "13", design_view, caption=PANEL_CAPTION, requests=2_000,
    controls={"datacentres": panels.integer(1, 4, "data centres"), "web_servers": panels.integer(4, 30, "web", step=2),
              "cache_nodes": panels.integer(0, 6, "cache nodes"), "shards": panels.integer(1, 4, "shards"),
              "replicas": panels.integer(0, 4, "replicas"), "consumers": panels.integer(6, 24, "consumers", step=2)},
    defaults={"datacentres": 2, "web_servers": 8, "cache_nodes": 1, "shards": 1, "replicas": 2, "consumers": 10},
    examples=({"datacentres": 1}, {"cache_nodes": 4})))
