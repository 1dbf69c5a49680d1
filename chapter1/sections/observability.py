"""Chapter 11: logs, metrics and automation.  An incident seen the way a monitoring system sees it.

The live panel (:func:`observability_panel`) runs three web servers behind a load balancer at 62 %
load, and at :data:`FAULT_S` something happens (:data:`INCIDENTS`: a web server dies, the load
balancer dies, the cache in front of the database is flushed, traffic doubles).  It scrapes the
system every ``interval_s`` seconds (:func:`chapter1.metrics.scrapes`) and draws the RED metrics
(rate, errors, duration) over simulated time with two alert rules: the error ratio above 5 % and
the p99 from the latency histogram above 400 ms, each held for ``for_s``; and a fourth chart, the
error budget's burn rate over the last hour against the SRE workbook's page (1 h and 5 min burn
rates both above 14.4 for a 99.9 % SLO).  The dashed lines are the fault and theory's expected
alert time, fault + interval / 2 + for.  :func:`cache_warmup` measures the flushed cache warming up
against :func:`chapter1.components.cache.cold_hit_ratio`.

>>> round(metrics.theory_delay_s(15, 30), 1)
37.5
>>> rules(15)
['error_ratio > 0.05 for 15 s', 'p99_ms > 400 for 15 s']
>>> round(metrics.theory_burn_delay_s(1.0, SLO), 1)   # the page after a total outage: 3,600 x 14.4 x 0.001
51.8
"""

import dataclasses
import functools
import math

import numpy as np
import pandas as pd

from .. import metrics
from ..architectures import load_balanced
from ..components.cache import Cache, cold_hit_ratio
from ..components.server import Database
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

RATE = 150.0              # requests a second: 62 % of three servers (4 workers x 50 ms each), 94 % of two
SERVERS, WORKERS, SERVICE_MS = 3, 4, 50.0
FAULT_S = 30.0
HORIZON_S = 120.0
ERROR_RATIO, P99_MS = 0.05, 400.0
INCIDENTS = ("a web server dies", "the load balancer dies", "the cache is flushed", "traffic doubles")
SURGE = 2.0                                   # traffic doubles at FAULT_S
CACHE_KEYS, DB_WORKERS, DB_SERVICE_MS = 4_000, 2, 25.0   # behind the cache: a database of 80 queries a second
SLO = 0.999
BURN_TOP = 40.0                               # the burn-rate chart's top; larger burn rates are drawn there
INTERVALS = (5, 15, 30)
CAPTION = (
    "<small>What a dashboard shows: each line is the series scraped every interval (rate of finished "
    "requests, share that failed, p99 from the latency histogram), the grey line the alert's threshold, red dots "
    "the scrapes at which the alert is firing. Dashed: the fault, then theory's alert time fault + interval/2 + "
    "for. Budget burn: the error ratio of the last hour / (1 - 99.9 %), the hour before the run healthy; the page "
    "fires (red) when it and the last 5 minutes' both exceed 14.4.</small>")


RULES = (("error_ratio", ERROR_RATIO), ("p99_ms", P99_MS))


def rules(for_s):
    """The two alert rules, as text (evaluated by :func:`alerts`)."""
    return [f"{column} > {threshold:g} for {for_s:g} s" for column, threshold in RULES]


def system(kind="a web server dies"):
    """The architecture and workload of incident ``kind`` (see :data:`INCIDENTS`).

    The web tier is always three web servers at :data:`RATE` req/s.  "the cache is flushed" adds a
    cache of :data:`CACHE_KEYS` keys in front of a database behind them, flushed at :data:`FAULT_S`;
    "traffic doubles" multiplies the rate by :data:`SURGE` from :data:`FAULT_S` on.

    >>> [c.name for c in system("the cache is flushed")[0].components][-2:]
    ['cache', 'database']
    """
    check.choice("kind", kind, INCIDENTS)
    web = load_balanced(servers=SERVERS, workers=WORKERS, service_time_ms=SERVICE_MS)
    workload = Workload.from_rate(RATE)
    if kind == "a web server dies":
        return web.fail("web-2", at_s=FAULT_S), workload
    if kind == "the load balancer dies":
        return web.fail("load balancer", at_s=FAULT_S), workload
    if kind == "traffic doubles":
        return web, Workload.from_rate(RATE, rate_steps=((FAULT_S, SURGE),))
    return with_cache(web), workload


def with_cache(web, db_workers=DB_WORKERS, db_service_ms=DB_SERVICE_MS):
    """``web`` with a cache of :data:`CACHE_KEYS` keys and a database behind it, the cache flushed at FAULT_S."""
    database = Database(name="database", workers=db_workers, service_time_ms=db_service_ms)
    cache = Cache(name="cache", backend=database, capacity=CACHE_KEYS).flush(at_s=FAULT_S)
    return dataclasses.replace(web, name=web.name + ", cache, database", tiers=web.tiers + (cache,))


def incident(kind="a web server dies", *, seed=0, requests=None):
    """The panel's run of incident ``kind`` at FAULT_S, long enough to cover :data:`HORIZON_S` (or ``requests``).

    >>> incident(requests=600).architecture["web-2"].outages[0].start_s
    30.0
    """
    arch, workload = system(kind)
    return simulate(arch, workload, requests=requests or needed(workload), seed=seed)


def needed(workload, horizon_s=HORIZON_S):
    """Requests that cover ``horizon_s`` seconds at ``workload``'s rate, with its steps (2 % spare).

    >>> needed(Workload.from_rate(100), 60), needed(Workload.from_rate(100, rate_steps=((30, 2.0),)), 60)
    (6120, 9180)
    """
    edges = np.array([0.0, *(at for at, _ in workload.rate_steps if at < horizon_s), horizon_s])
    return int(math.ceil(1.02 * float(np.sum(np.diff(edges) * workload.rate_at(edges[:-1])))))


def alerts(table, for_s):
    """Both rules evaluated on a scrape table from the fault on: {column: Alert}."""
    return {column: metrics.alert(table, column, threshold, for_s, after_s=FAULT_S)
            for column, threshold in RULES}


def scrape_offset(interval_s, seed):
    """Where the scrapes fall for a run (seconds after 0, below ``interval_s``): the fault lands at a random
    point between two scrapes, as it would in life.

    >>> 0 <= scrape_offset(15, 3) < 15
    True
    """
    return float(np.random.default_rng([11, seed]).uniform(0, interval_s))


def dashboard_data(result, interval_s, for_s):
    """The datasets the chart reads: each RED series, its threshold, the firing scrapes, the dashed times
    (rows as records: t_s, value, series), the scrape table and the alerts."""
    check.number("interval_s", interval_s, low=1, high=60)
    check.number("for_s", for_s, low=0, high=120)
    table = metrics.scrapes(result, interval_s, offset_s=scrape_offset(interval_s, result.seed))
    fired = alerts(table, for_s)
    table["burn_1h"] = metrics.burn_rates(table, SLO, metrics.BURN_PAGE["long_s"], history_rps=RATE)
    fired["burn"] = metrics.burn_alert(table, SLO, after_s=FAULT_S, history_rps=RATE)
    times = table["t_s"].to_numpy()
    data = {"current": [{"t_s": FAULT_S}, {"t_s": FAULT_S + metrics.theory_delay_s(interval_s, for_s)}]}
    for prefix, column, threshold in (("rate_", "rate_rps", None), ("errors_", "error_ratio", ERROR_RATIO),
                                      ("p99_", "p99_ms", P99_MS), ("burn_", "burn", metrics.BURN_PAGE["factor"])):
        burn = column == "burn"  # the 1 h burn rate, drawn up to the chart's top; its gaps kept
        values = np.minimum(table["burn_1h"].to_numpy(), BURN_TOP) if burn else table[column].to_numpy()
        line = _rows(times, values, "1 h burn rate" if burn else "scraped", keep_nan=burn)
        if threshold is not None:
            line += _rows([0.0, float(times[-1])], [threshold] * 2, "threshold")
        firing = times >= fired[column].firing_s if column in fired else np.zeros(len(times), dtype=bool)
        data[f"{prefix}theory"] = line
        data[f"{prefix}simulated"] = _dots(line, _rows(times[firing], values[firing], "firing"))
    return data, table, fired


def _rows(times, values, series, keep_nan=False):
    """Chart rows {t_s, value, series}; a row whose value is NaN is left out unless ``keep_nan`` (a gap).

    >>> _rows([1.0, 2.0], [0.5, float("nan")], "scraped")
    [{'t_s': 1.0, 'value': 0.5, 'series': 'scraped'}]
    """
    times = times.tolist() if isinstance(times, np.ndarray) else times
    values = values.tolist() if isinstance(values, np.ndarray) else values
    return [{"t_s": float(t), "value": None if v != v else float(v), "series": series}
            for t, v in zip(times, values) if keep_nan or v == v]


def _dots(line, firing):
    """One layer of points: each scrape on the lines (size 30, as a line's own points) and, over them, the scrapes
    at which the alert fires (size 60): one symbol mark draws faster than a line's points and a layer of dots."""
    return ([{**row, "size": 30, "opacity": 1} for row in line if row["value"] is not None]
            + [{**row, "size": 60, "opacity": 0.9} for row in firing])


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    """Rate and errors above, duration and budget burn below, on one time axis (labelled in the lower row)."""
    ticks = list(range(0, 121, 30))
    x = scales.linear_axis("x", "t_s:Q", "simulated time (s)", (0, HORIZON_S), ticks=ticks)
    top = scales.linear_axis("x", "t_s:Q", None, (0, HORIZON_S)).axis(  # its grid lines only
        values=ticks, labels=False, ticks=False, domain=False)
    color = scales.color("series:N", {"scraped": "blue", "threshold": "grey", "firing": "red"})
    points = {"size": {"field": "size", "type": "quantitative", "scale": None},
              "opacity": {"field": "opacity", "type": "quantitative", "scale": None}}
    common = {"current": "t_s:Q", "dots": {"filled": True}, "dot_channels": points, "tooltip": (("t_s:Q", ",.0f"),),
              "width": 190, "height": 170}
    rate = charts.curves(top, scales.linear_axis("y", "value:Q", "requests finished a second", (0, 2 * RATE)),
                         color, prefix="rate_", heading=charts.title("Rate"), **common)
    errors = charts.curves(top, scales.share_axis("y", "value:Q", "share failing"), color, prefix="errors_",
                           heading=charts.title("Errors", f"alert: > {ERROR_RATIO:.0%}"), **common)
    p99 = charts.curves(x, scales.log_axis("y", "value:Q", "p99 from buckets (ms)", (50, 10_000)), color,
                        prefix="p99_", heading=charts.title("Duration", f"alert: p99 > {P99_MS:g} ms"), **common)
    burn = charts.curves(x, scales.linear_axis("y", "value:Q", "burn rate, last hour", (0, BURN_TOP)),
                         scales.color("series:N", {"1 h burn rate": "blue", "threshold": "grey", "firing": "red"}),
                         prefix="burn_", heading=charts.title("Budget burn", f"page: 1 h and 5 min > "
                                                              f"{metrics.BURN_PAGE['factor']:g}"), **common)
    return charts.Template((charts.beside(rate, errors) & charts.beside(p99, burn)).properties(spacing=12)
                           .resolve_scale(color="independent"))


def observability_view(incident_kind, interval_s, for_s, *, requests=None, seed=0):
    """What the panel shows: (chart as SVG, headline HTML) for one incident, scrape interval and ``for``.

    The run always covers :data:`HORIZON_S` (a smaller ``requests`` budget would end before the alert).
    """
    result = incident(incident_kind, seed=seed, requests=max(requests or 0, needed(system(incident_kind)[1])))
    data, table, fired = dashboard_data(result, interval_s, for_s)
    return _template().svg(data), headline(incident_kind, interval_s, for_s, table, fired, len(result.arrival_s))


NAMES = {"error_ratio": "errors", "p99_ms": "latency", "burn": "burn-rate page"}


def headline(kind, interval_s, for_s, table, fired, requests):
    """The figures under the sliders: which alert fired when, against theory; the budget's burn and the page;
    the busiest resource; the bucket p99 against the exact one."""
    theory = metrics.theory_delay_s(interval_s, for_s)
    parts = [f"{NAMES[column]} alert fired <b>{alert.delay_s:,.0f} s</b> after the fault"
             if math.isfinite(alert.delay_s) else f"{NAMES[column]} alert did not fire"
             for column, alert in fired.items() if column != "burn"]
    times, p99, exact = (table[c].to_numpy(float) for c in ("t_s", "p99_ms", "exact_p99_ms"))
    gap = _mean(np.abs(p99 / exact - 1)[(times > FAULT_S + interval_s) & ~np.isnan(p99) & ~np.isnan(exact)])
    text = [f"<b>{kind}</b> at {FAULT_S:.0f} s · scrape every <b>{interval_s} s</b>, for <b>{for_s} s</b>: "
            + " · ".join(parts) + f" (theory for a sudden fault: {for_s} to {interval_s + for_s} s, on average "
            f"{interval_s}/2 + {for_s} = <b>{theory:,.1f} s</b>; a queue building up takes longer)",
            burn_line(table, fired["burn"], interval_s, sudden=kind == "the load balancer dies"), busiest_line(table),
            "p99 from the default buckets is off the exact p99 by " +
            (f"<b>{gap:.0%}</b> on average after the fault" if math.isfinite(gap) else "- (no request succeeded)")]
    note = f"one run of {requests:,} simulated requests covering {HORIZON_S:.0f} s"
    return panels.headline(*text, f"<small>{note}</small>", caption=CAPTION)


def burn_line(table, page, interval_s, sudden=True):
    """The error ratio after the fault as a burn rate, how long the month's budget lasts at it, and the page
    (with theory's time when the fault is ``sudden``: a steady error ratio from the fault on)."""
    requests, errors = table["requests"].to_numpy(), table["errors"].to_numpy()
    first = int(np.argmax(table["t_s"].to_numpy() >= FAULT_S))   # counters at the first scrape after the fault
    done, failed = requests[-1] - requests[first], errors[-1] - errors[first]
    ratio = failed / done if done else 0.0
    burn = metrics.burn_rate(ratio, SLO)
    if burn == 0:
        return f"error budget ({SLO:.1%} SLO): <b>nothing failed</b> since the fault, so no budget burns and no page"
    lasts = metrics.exhaustion_s(burn) / 3_600
    expected = metrics.theory_burn_delay_s(ratio, SLO, interval_s=interval_s)
    fired = (f"<b>{page.delay_s:,.0f} s</b> after the fault" if math.isfinite(page.delay_s)
             else "<b>not</b> within the run")
    when = (("theory " + (f"{expected:,.0f} s" if math.isfinite(expected) else "never at this burn rate"))
            if sudden else "errors that grow over time: no steady-state theory")
    return (f"error budget ({SLO:.1%} SLO): {ratio:.1%} failed since the fault = burn rate <b>{burn:,.1f}</b>, "
            f"a month's budget gone in <b>{lasts:,.1f} h</b> · page fired {fired} ({when})")


def busiest_line(table):
    """USE: the resource with the highest utilisation in the scrapes after the fault."""
    after = table["t_s"].to_numpy() > FAULT_S
    busy = {c.removesuffix("_utilization"): _mean(table[c].to_numpy(float)[after])
            for c in table.columns if c.endswith("_utilization")}
    if not busy:
        return "utilisation: no resource with workers"
    name = max(busy, key=lambda k: busy[k] if math.isfinite(busy[k]) else -1)
    return f"busiest resource after the fault: <b>{name}</b>, <b>{busy[name]:.0%}</b> busy on average"


def _mean(values):
    """The mean of the values that are not NaN (NaN when none is), as pandas' ``mean`` gives it."""
    return float(values[~np.isnan(values)].mean()) if np.any(~np.isnan(values)) else math.nan


def observability_panel(incident_kind="a web server dies", interval_s=15, for_s=15, *, seed=0):
    """Chapter 11's panel: pick an incident, the scrape interval and the rules' ``for``.

    >>> box = observability_panel()  # doctest: +SKIP
    """
    return PANEL.show(incident_kind=incident_kind, interval_s=interval_s, for_s=for_s, seed=seed)


PANEL = panels.register_panel(panels.Panel(
    "observability", "11", observability_view, caption=CAPTION, requests=int(RATE * HORIZON_S),
    controls={"incident_kind": panels.choice(list(INCIDENTS), "incident"),
              "interval_s": panels.choice(INTERVALS, "scrape every (s)", kind="select"),
              "for_s": panels.integer(0, 60, "for (s)", step=15)},
    defaults={"incident_kind": "a web server dies", "interval_s": 15, "for_s": 15},
    examples=({"incident_kind": "the load balancer dies"}, {"interval_s": 5, "for_s": 0},
              {"incident_kind": "the cache is flushed"}, {"incident_kind": "traffic doubles"})))


# -- the flushed cache warming up (the notebook's chart) ------------------------------------------------

def cache_warmup(databases=((DB_WORKERS, DB_SERVICE_MS), (4, 20.0)), *, seeds=range(3), window_s=5.0, requests=None):
    """The cache after its flush: per ``window_s`` window, the hit ratio of reads and the database's arrivals a
    second, measured (mean over ``seeds``) for each database (workers, service ms) and in theory.

    Theory: :func:`~chapter1.components.cache.cold_hit_ratio` (a miss fills the cache at once) and the
    database load rate x (w + (1 - w)(1 - hit)), w the writes' share.  Windows are by arrival time.
    """
    web = load_balanced(servers=SERVERS, workers=WORKERS, service_time_ms=SERVICE_MS)
    workload = Workload.from_rate(RATE)
    edges = np.arange(0.0, HORIZON_S + 1e-9, window_s)
    rows = []
    for workers, service_ms in databases:
        label = f"database {workers * 1_000 / service_ms:,.0f} queries/s"
        for seed in seeds:
            table = simulate(with_cache(web, workers, service_ms), workload, requests=requests or needed(workload),
                             seed=seed).requests
            window = np.digitize(table["arrival_s"], edges) - 1
            reads = table["cache"].isin(["hit", "miss"])
            for k in range(len(edges) - 1):
                mine = window == k
                rows.append({"database": label, "t_s": edges[k] + window_s / 2, "seed": seed,
                             "hit_ratio": table["cache_hit"][mine & reads].mean(),
                             "database_rps": table["database_wait_ms"][mine].notna().sum() / window_s})
    measured = pd.DataFrame(rows).groupby(["database", "t_s"], sort=False)[["hit_ratio", "database_rps"]].mean()
    theory = [_window_theory(workload, a, a + window_s) for a in edges[:-1]]
    out = measured.reset_index()
    out["theory_hit_ratio"] = np.tile([h for h, _ in theory], len(databases))
    out["theory_database_rps"] = np.tile([d for _, d in theory], len(databases))
    return out


def _window_theory(workload, start, end):
    """Theory's mean hit ratio and database arrivals a second over (start, end)."""
    times = np.linspace(start, end, 101)
    warm = cold_hit_ratio(workload, CACHE_KEYS, 1e12)
    hit = np.where(times < FAULT_S, warm, cold_hit_ratio(workload, CACHE_KEYS, np.maximum(times - FAULT_S, 0)))
    writes = 1 - workload.read_ratio
    return float(hit.mean()), float((workload.rate * (writes + (1 - writes) * (1 - hit))).mean())


def warmup_chart(table):
    """Hit ratio and database load over time after the flush: theory's line, each database's measured dots."""
    data = {"current": [{"t_s": FAULT_S}]}
    for column in ("hit_ratio", "database_rps"):
        data[f"{column}theory"] = table.drop_duplicates("t_s")[["t_s", f"theory_{column}"]].rename(
            columns={f"theory_{column}": "value"}).assign(series="theory (a miss fills at once)")
        data[f"{column}simulated"] = table[["t_s", column, "database"]].rename(
            columns={column: "value", "database": "series"})
    return _warmup_template(tuple(table["database"].unique())).svg(data)


@functools.lru_cache(maxsize=4, typed=True)
def _warmup_template(databases):
    colors = {**dict(zip(databases, ("red", "blue", "green"))), "theory (a miss fills at once)": "grey"}
    x = scales.linear_axis("x", "t_s:Q", "simulated time (s)", (0, HORIZON_S), ticks=list(range(0, 121, 30)))
    color = scales.color("series:N", colors, legend={"title": None, "orient": "bottom"})
    common = {"current": "t_s:Q", "width": 300, "height": 200, "tooltip": (("t_s:Q", ",.1f"), ("value:Q", ",.2f"))}
    hit = charts.curves(x, scales.share_axis("y", "value:Q", "hit ratio of reads"), color, prefix="hit_ratio",
                        heading=charts.title("Cache hit ratio", "dashed: the flush"), **common)
    load = charts.curves(x, scales.linear_axis("y", "value:Q", "database queries a second", (0, RATE)), color,
                         prefix="database_rps", heading=charts.title("Database load", "arrivals a second"),
                         **common)
    return charts.Template(charts.beside(hit, load, independent=()))
