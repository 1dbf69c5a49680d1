"""Chapter 03, N+1: one of n boxes dies at the load you choose; k-of-n availability.

A pool of boxes is N+1 when the peak fits on all but one of them.  :func:`n_plus_one_panel` kills
one box a quarter of the way into a run and draws the p95 and the failures over time against
theory (M/M/c while the survivors keep up, a fluid model of the growing queue when they do not);
:func:`k_of_n_table` counts the hours a year a site is short of the boxes its peak needs.
``chapter1.scaling`` re-exports every name here.
"""

import functools
import math

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import load_balanced
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from .failover import _windows, overlaid_runs
from .scaling import BALANCER_AVAILABILITY, SERVER_AVAILABILITY, SERVICE_MS, _servers
from .single_server import run_seeds, spread

__all__ = ["k_of_n_table", "n_plus_one_pool", "n_plus_one_runs", "n_plus_one_view", "n_plus_one_headline",
           "n_plus_one_panel", "N_PLUS_ONE", "N_PLUS_ONE_CAPTION"]


# -- N+1: one box dies at real load ------------------------------------------------------------------

N1_WORKERS, N1_QUEUE = 8, 1_000          # each box: 8 workers (cores) x 50 ms, room for 1,000 waiting requests
N1_REQUESTS = 20_000
N1_PANEL_REQUESTS = 12_000               # each of the panel's three runs (2 boxes at 60 %: 62 s, queue full at 47 s)
N_PLUS_ONE_CAPTION = (
    "<small><b>Left:</b> p95 latency over time, in 40 windows (dots: three runs, their spread is noise; line: "
    "theory, M/M/c while the survivors keep up, the fluid overload model when they do not); the dashed line is "
    "the death of web-2. <b>Right:</b> share of requests failing per window (bars, the three runs drawn over "
    "each other) and the fluid model's share turned away (line). The balancer ejects a box after 5 errors in a "
    "row, so the death itself costs a handful of requests: what you see is capacity.</small>")


def k_of_n_table(load, servers=(2, 3, 4, 6), server=SERVER_AVAILABILITY, balancer=BALANCER_AVAILABILITY):
    """Availability when the peak keeps every box a ``load`` share busy: any one box up (the parallel formula)
    against the k of n boxes the peak really needs (:func:`chapter1.analytic.servers_needed`), balancer in series.

    >>> k_of_n_table(0.6, [2, 4])[["servers", "needed", "hours_one_enough", "hours_needed"]].round(2).values.tolist()
    [[2.0, 2.0, 1.1, 88.31], [4.0, 3.0, 0.88, 2.18]]
    """
    check.number("load", load, low=0, low_open=True, high=1)
    rows = []
    for n in servers:
        k = analytic.servers_needed(load, n)
        naive = analytic.availability_series(balancer, analytic.availability_parallel(*[server] * n))
        real = analytic.availability_series(balancer, analytic.k_of_n_availability(min(k, n), n, server)) if k <= n \
            else 0.0
        rows.append({"servers": n, "needed": k, "survivor_load": load * n / (n - 1) if n > 1 else math.inf,
                     "one_enough": naive, "hours_one_enough": analytic.downtime_per_year(naive),
                     "k_needed": real, "hours_needed": analytic.downtime_per_year(real)})
    return pd.DataFrame(rows)


def n_plus_one_pool(servers, fail_at_s):
    """``servers`` boxes of 8 cores behind a least-connections balancer that ejects a box after 5 errors in a
    row and checks every 2 s; web-2 dies at ``fail_at_s``.

    >>> n_plus_one_pool(2, 10)["web-2"].outages[0].start_s
    10
    """
    check.number("servers", servers, low=2, high=16, integer=True)
    arch = load_balanced(servers=servers, policy="least_connections", workers=N1_WORKERS, service_time_ms=SERVICE_MS,
                         queue_limit=N1_QUEUE, health_check_interval_s=2.0)
    return arch.with_changes("load balancer", eject_after=5).fail("web-2", at_s=fail_at_s)


def _n1_rate(servers, load_percent):
    check.number("load_percent", load_percent, low=1, high=99)
    return load_percent / 100 * servers * N1_WORKERS * 1_000.0 / SERVICE_MS


def _n1_run(servers, load_percent, requests, seed):
    rate = _n1_rate(servers, load_percent)
    fail_at = round(0.25 * requests / rate, 1)  # a quarter of the way into the run
    result = simulate(n_plus_one_pool(servers, fail_at), Workload.from_rate(rate), requests=requests, seed=seed)
    return result, fail_at


def _after(result, fail_at_s):
    """Requests that reached the balancer after the death: failed share and p95 (failures count as slow)."""
    after = result.reached_s() >= fail_at_s
    ok = result.status_code[after] == OK
    failed = float(np.mean(~ok)) if ok.size else float("nan")
    ok_ms = result.latency_ms[after][ok]
    return failed, float(np.percentile(ok_ms, 95)) if ok_ms.size else float("nan")


def n_plus_one_runs(servers=(2,), loads=(30, 45, 60, 75), seeds=(0, 1, 2), *, requests=N1_REQUESTS):
    """One box of ``servers`` dies a quarter of the way into a run, at each load (%): one row per run.

    Columns: ``survivor_load`` (the load the n - 1 survivors must carry), ``failed_after`` (share of the
    requests after the death that failed) and ``p95_after_ms`` (p95 of those that succeeded).

    >>> n_plus_one_runs([2], [60], [0], requests=2_000).columns.tolist()
    ['servers', 'load', 'seed', 'survivor_load', 'failed_after', 'p95_after_ms']
    """
    rows = []
    for n in servers:
        for load in loads:
            for seed in seeds:
                result, fail_at = _n1_run(n, load, requests, seed)
                failed, p95 = _after(result, fail_at)
                rows.append({"servers": n, "load": load, "seed": seed, "survivor_load": load / 100 * n / (n - 1),
                             "failed_after": failed, "p95_after_ms": p95})
    return pd.DataFrame(rows, columns=["servers", "load", "seed", "survivor_load", "failed_after", "p95_after_ms"])


def _n1_theory(result, fail_at_s):
    """Theory over time: p95 (ms) and the share turned away, before and after the death (DNS lookups included).

    A table (t_s, p95_ms, share); :func:`_n1_theory_columns` gives its columns."""
    return pd.DataFrame(_n1_theory_columns(result, fail_at_s))


def _n1_theory_columns(result, fail_at_s):
    """:func:`_n1_theory` as a dict of columns (name -> array), every moment at once."""
    servers, rate, duration_s = len(_servers(result.architecture)[0]), result.workload.rate, result.duration_s
    dns = result.architecture.dns
    lookup = {} if dns is None else {"delay_s": dns.lookup_ms / 1_000.0,
                                     "delay_share": 1 - dns.hit_ratio(result.workload.per_user_rate)}
    mu, c = 1_000.0 / SERVICE_MS, N1_WORKERS
    before = analytic.response_time_percentile(95, rate, mu, servers * c, **lookup) * 1_000.0
    survivors = (servers - 1) * c * mu
    steady = (analytic.response_time_percentile(95, rate, mu, (servers - 1) * c, **lookup) * 1_000.0
              if rate < survivors else None)
    t = np.unique(np.concatenate([np.linspace(0, duration_s, 121), [fail_at_s - 1e-9, fail_at_s]]))
    dead = t >= fail_at_s
    _, wait_s, away = analytic.overload_fluid_curve(rate, survivors, (servers - 1) * N1_QUEUE, t[dead] - fail_at_s)
    p95, share = np.full(len(t), before), np.zeros(len(t))
    p95[dead] = steady if steady is not None else wait_s * 1_000.0 + 3 * SERVICE_MS  # the wait + an exponential p95
    share[dead] = away
    return {"t_s": t, "p95_ms": p95, "share": share}


@functools.lru_cache(maxsize=1, typed=True)
def _n1_template():
    x = scales.linear_axis("x", "t_s:Q", "simulated time (s)")
    y = scales.log_axis("y", "p95_ms:Q", "p95 latency (ms)", (50, 20_000), ticks=scales.log_ticks((50, 20_000)))
    latency = charts.curves(x, y, scales.color("what:N", {"theory": "dark", "simulation": "red"}),
                            line={"clip": True}, dots={"filled": True, "size": 40, "clip": True}, current="t_s:Q",
                            tooltip=(("t_s:Q", ",.1f"), ("p95_ms:Q", ",.0f")))
    failing = charts.failures_over_time(0.5, charts.title("Requests failing"), first_event="web-2 dies",
                                        width=charts.WIDTH)
    return charts.Template(charts.beside(latency, failing), titles=False)


def n_plus_one_view(servers, load_percent, *, requests=N1_PANEL_REQUESTS, seed=0):
    """What the N+1 panel shows: (chart as SVG, headline HTML); three runs in which web-2 dies a quarter in."""
    runs = [_n1_run(servers, load_percent, requests, s) for s in run_seeds(seed)]
    results, fail_at = [r for r, _ in runs], runs[0][1]
    theory = _n1_theory_columns(results[0], fail_at)
    per_run, dots = [], []
    for result in results:  # (dicts of columns: the chart reads them as rows, no table needed)
        table = result.timeline_columns(40, utilization=False)
        t_s, p95 = table["t_s"], table["p95_ms"]
        dots.append((t_s[~np.isnan(p95)], p95[~np.isnan(p95)]))
        per_run.append({"windows": _windows(table, result.duration_s / 40)})
    simulated = [np.concatenate(column) for column in zip(*dots)]
    datasets = {**overlaid_runs(per_run), "theory": {**theory, "what": ["theory"] * len(theory["t_s"])},
                "current": [{"t_s": fail_at}],
                "simulated": {"t_s": simulated[0], "p95_ms": simulated[1], "what": ["simulation"] * len(simulated[0])},
                "failover_theory": {"t_s": theory["t_s"], "share": theory["share"]},
                "events": [{"t_s": fail_at, "event": "web-2 dies"}]}
    return _n1_template().svg(datasets), n_plus_one_headline(results, servers, load_percent, fail_at)


def n_plus_one_headline(result, servers, load_percent, fail_at_s):
    """The figures under the N+1 panel's sliders: the load before and after, what failed (one result, or a
    list of runs), k of n."""
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    result = results[0]
    load = load_percent / 100
    survivor = load * servers / (servers - 1)
    after = [_after(r, fail_at_s) for r in results]
    k = analytic.servers_needed(load, servers)
    verdict = ("<b style='color:#2ca02c'>N+1: the survivors keep up</b>" if survivor < 1 else
               "<b style='color:#d62728'>not N+1: the survivors are overloaded</b>")
    line1 = (f"<b>{servers}</b> boxes x {N1_WORKERS} cores at <b>{load:.0%}</b> ({result.workload.rate:,.0f} req/s); "
             f"web-2 dies at <b>{fail_at_s:g} s</b> and the other {_boxes(servers - 1)} must run at "
             f"<b>{survivor:.0%}</b>: {verdict}")
    line2 = (f"after the death: failed <b>{spread([100 * f for f, _ in after], ' %', '.1f')}</b>, "
             f"p95 <b>{spread([p for _, p in after], ' ms')}</b>")
    capacity = (servers - 1) * N1_WORKERS * 1_000.0 / SERVICE_MS
    excess = result.workload.rate - capacity
    if excess > 0:
        fills = (servers - 1) * N1_QUEUE / excess
        away = 1 - capacity / result.workload.rate
        line2 += (f" · the queues grow by <b>{excess:,.0f}</b> req/s and are full <b>{fills:,.0f} s</b> after the death"
                  f"{'' if fail_at_s + fills < result.duration_s else ' (after this run ends)'}; from then on "
                  f"<b>{away:.0%}</b> of requests are turned away and the wait is "
                  f"<b>{N1_QUEUE * SERVICE_MS / N1_WORKERS / 1_000:.2f} s</b>")
    one = analytic.availability_parallel(*[SERVER_AVAILABILITY] * servers)
    if k <= servers:
        need = analytic.k_of_n_availability(k, servers, SERVER_AVAILABILITY)
        line3 = (f"to carry this peak the site needs <b>{k} of {servers}</b> boxes up: with boxes up "
                 f"{SERVER_AVAILABILITY:.1%}, that is <b>{analytic.downtime_per_year(need):,.1f} h</b> a year short of "
                 f"capacity (the parallel formula, one box enough, says {analytic.downtime_per_year(one):,.2f} h)")
    else:
        line3 = f"even all {servers} boxes cannot carry this peak"
    return panels.headline(line1, line2, line3, result=result, caption=N_PLUS_ONE_CAPTION)


def _boxes(n):
    return "box" if n == 1 else f"{n} boxes"


def n_plus_one_panel(servers=2, load_percent=60, *, requests=None, seed=0):
    """Chapter 03's N+1 panel: how many boxes, how busy; one of them dies a quarter of the way in.

    >>> box = n_plus_one_panel()  # doctest: +SKIP
    """
    return N_PLUS_ONE.show(servers=servers, load_percent=load_percent, requests=requests, seed=seed)


N_PLUS_ONE = panels.register_panel(panels.Panel(
    "one box dies at real load", "03", n_plus_one_view, caption=N_PLUS_ONE_CAPTION, requests=N1_PANEL_REQUESTS,
    controls={"servers": panels.integer(2, 8, "boxes"), "load_percent": panels.integer(10, 95, "load (%)", step=5)},
    defaults={"servers": 2, "load_percent": 60}, examples=({"servers": 4, "load_percent": 80},)))
