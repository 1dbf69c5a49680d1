"""Chapter 01: one server does everything; latency against theory as users grow.

>>> chart, text = single_server_view(1_000, 8, 50, requests=300)
>>> "1,000" in text
True
"""

import functools
import math
from dataclasses import replace

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import single_server
from ..core.component import OK
from ..core.simulation import simulate, sweep
from ..core.workload import Workload
from ..present import charts, panels, scales

RUNS = 3  # the panel simulates its setting this many times: the spread of the dots is run-to-run noise
CAPTION = ("<small><b>Left:</b> latency as users grow; lines are queueing theory, dots the simulation (one pair "
           "of dots per run, three runs), grey is overload, the dashed line your setting. <b>Right:</b> latency "
           "percentiles over the simulated time of the first run.</small>")
SINGLE_SERVER_CAPTION = CAPTION


def run_seeds(seed, runs=RUNS):
    """The seeds of a panel's runs of one setting: ``seed``, then ``seed`` + 1000, + 2000, ...

    Each live panel simulates its setting with these and draws every run, so the spread is noise;
    its **new run** button moves ``seed`` on by one.

    >>> run_seeds(0), run_seeds(5, runs=2)
    ([0, 1000, 2000], [5, 1005])
    """
    return [seed + 1_000 * k for k in range(runs)]


def run_figures(result, tiers=()):
    """The figures of ``result.summary()`` a panel's dots draw: mean and p95 latency (ms) and the utilisation of
    each of ``tiers`` (names), without the rest of the summary (the same numbers, for less).

    >>> result = simulate(single_server(), Workload(users=1_000), requests=300)
    >>> figures = run_figures(result, ["server"])
    >>> all(figures[k] == result.summary()[k] for k in ("mean_ms", "p95_ms", "server_utilization"))
    True
    """
    ok = result.latency_ms[result.status_code == OK]
    figures = {"mean_ms": float(ok.mean()) if ok.size else math.nan, "p95_ms": result.percentile(95)}
    return {**figures, **{f"{name}_utilization": result.utilization(name) for name in tiers}}


def run_outcome(result):
    """The figures of ``result.summary()`` a headline's outcome reads: p95 latency (ms) and the error, timeout and
    rejected shares (:func:`chapter1.present.panels.failed` adds them), without the rest of the summary.

    >>> result = simulate(single_server(workers=1, queue_limit=1), Workload(users=2_000_000), requests=400)
    >>> figures = run_outcome(result)
    >>> all(figures[k] == result.summary()[k] for k in figures) and figures["rejected_rate"] > 0
    True
    """
    return {"p95_ms": result.percentile(95), **result.status_rates()}


def spread(values, unit="", fmt=",.0f", runs=True):
    """'a–b unit over n runs': the range of a figure over a panel's runs (one value: just that value).

    >>> spread([9.1, 9.5, 9.0], " %", ".1f"), spread([3], " ms"), spread([1, 2], runs=False), spread([4, 4.2])
    ('9.0–9.5 % over 3 runs', '3 ms', '1–2', '4 in each of 2 runs')
    """
    values = [v for v in values if v == v]  # NaN (nothing to measure in a run) left out
    if not values:
        return "–"
    low, high = f"{min(values):{fmt}}", f"{max(values):{fmt}}"
    if len(values) == 1 or low == high:
        return f"{low}{unit}" + (f" in each of {len(values)} runs" if runs and len(values) > 1 else "")
    return f"{low}–{high}{unit}" + (f" over {len(values)} runs" if runs else "")


def single_server_panel(users=100_000, workers=8, service_time_ms=50, requests=panels.DEFAULT_REQUESTS, seed=0):
    """Chapter 01's panel: users, workers and service time of the one box; latency against theory.

    >>> box = single_server_panel(users=1_000)  # doctest: +SKIP
    """
    return PANEL.show(users=users, workers=workers, service_time_ms=service_time_ms, requests=requests, seed=seed)


def single_server_view(users, workers, service_time_ms, requests=panels.DEFAULT_REQUESTS, seed=0, runs=RUNS):
    """What the chapter 01 panel shows for one slider setting: (chart as SVG, headline HTML).

    ``runs`` runs of ``requests`` requests each (seeds ``seed``, then ``seed`` + 1000, + 2000, ...) give
    the dots; the first run gives the timeline and the figures.
    """
    arch = single_server(workers=workers, service_time_ms=service_time_ms)
    workload = Workload(users=users)
    results = [simulate(arch, workload, requests=requests, seed=s) for s in run_seeds(seed, runs)]
    points = pd.DataFrame([run_figures(r) for r in results]).assign(users=users)  # the dots' figures only
    datasets = {**charts.knee_data(arch, points, current=users), **charts.timeline_data(results[0], bins=30)}
    spread = (f" · p95 over {runs} runs: {points['p95_ms'].min():,.0f}–{points['p95_ms'].max():,.0f} ms"
              if runs > 1 else "")
    return _template().svg(datasets), headline(results[0], CAPTION, spread=spread)


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    # Latency over time without the failed-share strip: the headline gives that figure, and each view costs render time.
    return charts.Template(charts.latency_and_knee(), titles=False)


def users_label(users):
    """Users as the slider shows them and exactly: '237k (237,137)'.

    >>> users_label(237_137), users_label(100), users_label(1_000)
    ('237k (237,137)', '100', '1.00k (1,000)')
    """
    short, exact = scales.si(users), f"{users:,.0f}"
    return exact if short == exact else f"{short} ({exact})"


def headline(result, caption="", spread=""):
    """The figures a learner reads under the sliders, the sample the charts stand on, and a caption."""
    s, rate = run_outcome(result), float(result.workload.rate)  # the summary's offered_rps
    capacity = sum(getattr(t, "capacity", 0) for t in result.architecture.tiers[:1])
    busy = "server" in [c.name for c in result.architecture.components]  # the summary's server_utilization
    text = (f"<b>{users_label(result.workload.users)}</b> users send <b>{rate:,.1f}</b> req/s at peak; "
            f"the box serves up to <b>{capacity:,.0f}</b> req/s · utilisation "
            f"<b>{result.utilization('server'):.0%}</b> (offered: {result.workload.rate / capacity:.0%})"
            if busy and capacity else f"<b>{rate:,.1f}</b> req/s at peak")
    return panels.headline(f"{text} · {panels.outcome(s)}{spread}", result=result, caption=caption)


PANEL = panels.register_panel(panels.Panel(
    "single server", "01", single_server_view, caption=CAPTION,
    # 64 steps a decade: neighbouring settings differ by 3.7 % of the load, so the knee (90-100 % busy)
    # has several stops (91 %, 94 %, 98 %, 102 % at the defaults) instead of one jump from 91 % to 122 %.
    controls={"users": panels.log_slider(1, 7, "users", step=1 / 64, readout=".3s"),
              "workers": panels.integer(1, 64, "workers"),
              "service_time_ms": panels.integer(10, 500, "service time (ms)", step=10)},
    defaults={"users": 100_000, "workers": 8, "service_time_ms": 50},
    examples=({"users": 1_000, "service_time_ms": 50}, {"users": 10_000_000, "service_time_ms": 50})))


def sweep_runs(architecture, users, *, requests=4_000, seeds=(1, 2, 3), **workload_options):
    """:func:`chapter1.sweep` once per seed, with a ``seed`` column: one row per number of users and run.

    The knee chart draws each row as a dot, so the spread at one user count is run-to-run noise and
    the distance from the line, where the dots agree with each other, is the model's error.

    >>> table = sweep_runs(single_server(), [1_000], requests=300, seeds=(0, 1))
    >>> table[["users", "seed"]].values.tolist()
    [[1000, 0], [1000, 1]]
    """
    tables = [sweep(architecture, users, requests=requests, seed=s, **workload_options).assign(seed=s)
              for s in seeds]
    return pd.concat(tables, ignore_index=True)


# -- latency against utilisation: why a bigger pool waits less ----------------------------------

WORKERS = (1, 8, 32)
LOADS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
POOL_COLORS = {"c = 1": "red", "c = 8": "blue", "c = 32": "green"}
LATENCY_TOP_MS = 600


def pool_label(workers):
    """'c = 8': the line label of a box with ``workers`` workers."""
    return f"c = {workers}"


def utilisation_theory(workers=WORKERS, service_time_ms=50, points=99):
    """M/M/c mean latency (ms) against utilisation (1 % to 99 %) for each number of workers.

    >>> t = utilisation_theory(workers=(1,), points=3)
    >>> t.round(2).values.tolist()
    [['c = 1', 0.01, 50.51], ['c = 1', 0.5, 100.0], ['c = 1', 0.99, 5000.0]]
    """
    mu = 1_000.0 / service_time_ms
    rows = [{"servers": pool_label(c), "utilization": rho,
             "latency_ms": analytic.mmc(rho * c * mu, mu, c).mean_response_s * 1_000.0}
            for c in workers for rho in np.linspace(0.01, 0.99, points)]
    return pd.DataFrame(rows, columns=["servers", "utilization", "latency_ms"])


def utilisation_sweep(workers=WORKERS, loads=LOADS, service_time_ms=50, requests=20_000, seeds=(0, 1, 2)):
    """Simulated mean latency (ms, DNS left out) at each offered utilisation, per number of workers and seed.

    The box gets ``load`` x its capacity in requests per second; ``utilization`` is the measured busy share.

    >>> utilisation_sweep(workers=(2,), loads=(0.5,), requests=500, seeds=(0,)).columns.tolist()
    ['servers', 'load', 'seed', 'utilization', 'latency_ms', 'theory_ms']
    """
    rows = []
    for c in workers:
        box = single_server(workers=c, service_time_ms=service_time_ms)
        box = replace(box, dns=None)  # no DNS: the server's own time, as in the formula
        for load in loads:
            rate = load * box["server"].capacity
            for seed in seeds:
                s = simulate(box, Workload.from_rate(rate), requests=requests, seed=seed).summary()
                rows.append({"servers": pool_label(c), "load": load, "seed": seed,
                             "utilization": s["server_utilization"], "latency_ms": s["mean_ms"],
                             "theory_ms": analytic.mmc(rate, box["server"].service_rate, c).mean_response_s * 1e3})
    return pd.DataFrame(rows, columns=["servers", "load", "seed", "utilization", "latency_ms", "theory_ms"])


def utilisation_chart(simulated=None, workers=WORKERS, service_time_ms=50, top_ms=LATENCY_TOP_MS):
    """Mean latency against utilisation on linear axes, one line per pool size; dots from
    :func:`utilisation_sweep` (each seed a dot, placed at its measured utilisation).

    >>> chart = utilisation_chart()
    """
    theory = utilisation_theory(workers, service_time_ms)
    visible = theory[theory["latency_ms"] <= top_ms]
    labels = visible.groupby("servers", sort=False).tail(1)
    dots = simulated[["servers", "utilization", "latency_ms"]] if simulated is not None else []
    chart = charts.against_load(
        "servers", {pool_label(c): POOL_COLORS.get(pool_label(c), "grey") for c in workers}, top_ms,
        heading="Same utilisation, different waits",
        subtitle=f"lines: M/M/c with {service_time_ms:g} ms of work · dots: simulation, 3 runs each")
    return charts.with_data(chart, {"theory": visible, "labels": labels, "simulated": dots})


# -- DNS: each user's browser cache --------------------------------------------------------------

def dns_sweep(ttls_s=(10, 30, 60, 120, 300, 600, 1_200, 3_600), users=200, requests=8_000, seeds=(0, 1, 2),
              **workload_options):
    """Share of requests that skip the DNS lookup, simulated per user, against the TTL, with the formula.

    A small population (``users``) makes each user come back many times within the run, so the
    share measures the browser caches at work rather than how the run started.

    >>> dns_sweep(ttls_s=(60,), requests=500, seeds=(0,)).columns.tolist()
    ['ttl_s', 'seed', 'visits_per_user', 'measured', 'theory']
    """
    from ..components.dns import DNS

    workload = Workload(users=users, **workload_options)
    rows = []
    for ttl in ttls_s:
        box = replace(single_server(), dns=DNS(ttl_s=ttl))
        for seed in seeds:
            result = simulate(box, workload, requests=requests, seed=seed)
            rows.append({"ttl_s": ttl, "seed": seed, "visits_per_user": requests / users,
                         "measured": result.summary()["dns_hit_ratio"],
                         "theory": analytic.ttl_hit_ratio(workload.per_user_rate, ttl)})
    return pd.DataFrame(rows, columns=["ttl_s", "seed", "visits_per_user", "measured", "theory"])
