"""Chapter 11: logs, metrics and automation.  An incident seen the way a monitoring system sees it.

The live panel (:func:`observability_panel`) runs three web servers behind a load balancer at 62 %
load, breaks something at :data:`FAULT_S` (a web server dies, or the load balancer), scrapes the
system every ``interval_s`` seconds (:func:`chapter1.metrics.scrapes`) and draws the RED metrics
(rate, errors, duration) over simulated time with two alert rules: the error ratio above 5 % and
the p99 from the latency histogram above 400 ms, each held for ``for_s``.  The dashed lines are the
fault and theory's expected alert time, fault + interval / 2 + for.

>>> round(metrics.theory_delay_s(15, 30), 1)
37.5
>>> rules(15)
['error_ratio > 0.05 for 15 s', 'p99_ms > 400 for 15 s']
"""

import functools
import math

import numpy as np
import pandas as pd

from .. import metrics
from ..architectures import load_balanced
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

RATE = 150.0              # requests a second: 62 % of three servers (4 workers x 50 ms each), 94 % of two
SERVERS, WORKERS, SERVICE_MS = 3, 4, 50.0
FAULT_S = 30.0
HORIZON_S = 90.0
ERROR_RATIO, P99_MS = 0.05, 400.0
INCIDENTS = {"a web server dies": "web-2", "the load balancer dies": "load balancer"}
INTERVALS = (5, 15, 30)
CAPTION = (
    "<small>What a dashboard shows: each line is the series scraped every interval (rate of finished "
    "requests, share that failed, p99 from the latency histogram), the grey line the alert's threshold, red dots "
    "the scrapes at which the alert is firing. Dashed: the fault, then theory's alert time fault + interval/2 + "
    "for.</small>")


RULES = (("error_ratio", ERROR_RATIO), ("p99_ms", P99_MS))


def rules(for_s):
    """The two alert rules, as text (evaluated by :func:`alerts`)."""
    return [f"{column} > {threshold:g} for {for_s:g} s" for column, threshold in RULES]


def incident(kind="a web server dies", *, seed=0, requests=None):
    """The panel's run: three web servers at :data:`RATE` req/s, ``kind`` (see :data:`INCIDENTS`) at FAULT_S.

    >>> incident(requests=600).architecture["web-2"].outages[0].start_s
    30.0
    """
    if kind not in INCIDENTS:
        raise ValueError(f"kind must be one of {sorted(INCIDENTS)}, not {kind!r}")
    arch = load_balanced(servers=SERVERS, workers=WORKERS, service_time_ms=SERVICE_MS).fail(INCIDENTS[kind],
                                                                                           at_s=FAULT_S)
    return simulate(arch, Workload.from_rate(RATE), requests=requests or int(RATE * HORIZON_S), seed=seed)


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
    """The datasets the chart reads: each RED series, its threshold, the firing scrapes, the dashed times."""
    check.number("interval_s", interval_s, low=1, high=60)
    check.number("for_s", for_s, low=0, high=120)
    table = metrics.scrapes(result, interval_s, offset_s=scrape_offset(interval_s, result.seed))
    fired = alerts(table, for_s)
    end = float(table["t_s"].iloc[-1])
    data = {}
    for prefix, column, threshold in (("rate_", "rate_rps", None), ("errors_", "error_ratio", ERROR_RATIO),
                                      ("p99_", "p99_ms", P99_MS)):
        line = table[["t_s", column]].rename(columns={column: "value"}).assign(series="scraped")
        if threshold is not None:
            line = pd.concat([line, pd.DataFrame({"t_s": [0.0, end], "value": [threshold] * 2,
                                                  "series": "threshold"})])
        firing = fired.get(column)
        dots = (table[table["t_s"] >= firing.firing_s][["t_s", column]].rename(columns={column: "value"})
                if firing is not None and math.isfinite(firing.firing_s) else pd.DataFrame(columns=["t_s", "value"]))
        data[f"{prefix}theory"] = line.dropna()
        data[f"{prefix}simulated"] = dots.assign(series="firing").dropna()
    data["current"] = [{"t_s": FAULT_S}, {"t_s": FAULT_S + metrics.theory_delay_s(interval_s, for_s)}]
    return data, table, fired


@functools.lru_cache(maxsize=1)
def _template():
    x = scales.linear_axis("x", "t_s:Q", "simulated time (s)", (0, HORIZON_S), ticks=list(range(0, 91, 15)))
    color = scales.color("series:N", {"scraped": "blue", "threshold": "grey", "firing": "red"})
    dots = {"filled": True, "size": 60, "opacity": 0.9}
    common = {"current": "t_s:Q", "line": {"point": True}, "dots": dots, "tooltip": (("t_s:Q", ",.0f"),),
              "width": 230, "height": 180}
    rate = charts.curves(x, scales.linear_axis("y", "value:Q", "requests finished a second", (0, 2 * RATE)),
                         color, prefix="rate_", heading=charts.title("Rate"), **common)
    errors = charts.curves(x, scales.share_axis("y", "value:Q", "share failing"), color, prefix="errors_",
                           heading=charts.title("Errors", f"alert: > {ERROR_RATIO:.0%}"), **common)
    p99 = charts.curves(x, scales.log_axis("y", "value:Q", "p99 from buckets (ms)", (50, 10_000)), color,
                        prefix="p99_", heading=charts.title("Duration", f"alert: p99 > {P99_MS:g} ms"), **common)
    return charts.Template(charts.beside(rate, errors, p99))


def observability_view(incident_kind, interval_s, for_s, *, requests=None, seed=0):
    """What the panel shows: (chart as SVG, headline HTML) for one incident, scrape interval and ``for``.

    The run always covers :data:`HORIZON_S` (a smaller ``requests`` budget would end before the alert).
    """
    result = incident(incident_kind, seed=seed, requests=max(requests or 0, int(RATE * HORIZON_S)))
    data, table, fired = dashboard_data(result, interval_s, for_s)
    return _template().svg(data), headline(incident_kind, interval_s, for_s, table, fired, len(result.requests))


def headline(kind, interval_s, for_s, table, fired, requests):
    """The figures under the sliders: which alert fired when, against theory; the bucket p99 against the exact one."""
    theory = metrics.theory_delay_s(interval_s, for_s)
    parts = []
    for column, alert in fired.items():
        name = "errors" if column == "error_ratio" else "latency"
        parts.append(f"{name} alert fired <b>{alert.delay_s:,.0f} s</b> after the fault" if math.isfinite(alert.delay_s)
                     else f"{name} alert did not fire")
    after = table[table["t_s"] > FAULT_S + interval_s].dropna(subset=["p99_ms", "exact_p99_ms"])
    gap = (after["p99_ms"] / after["exact_p99_ms"] - 1).abs().mean() if len(after) else math.nan
    text = [f"<b>{kind}</b> at {FAULT_S:.0f} s · scrape every <b>{interval_s} s</b>, for <b>{for_s} s</b>: "
            + " · ".join(parts) + f" (theory for a sudden fault: {for_s} to {interval_s + for_s} s, on average "
            f"{interval_s}/2 + {for_s} = <b>{theory:,.1f} s</b>; a queue building up takes longer)",
            "p99 from the default buckets is off the exact p99 by " +
            (f"<b>{gap:.0%}</b> on average after the fault" if math.isfinite(gap) else "- (no request succeeded)")]
    note = f"one run of {requests:,} simulated requests = {requests / RATE:.0f} s at {RATE:,.0f} req/s"
    return panels.headline(*text, f"<small>{note}</small>", caption=CAPTION)


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
    examples=({"incident_kind": "the load balancer dies"}, {"interval_s": 5, "for_s": 0})))
