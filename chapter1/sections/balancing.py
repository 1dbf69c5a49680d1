"""Chapter 04: load balancing policies against theory, failover by health checks and by DNS.

Two live panels stand on this module.  :func:`balancer_panel` puts one policy at one load on the
theory curves of every policy and shows how busy each server is (with one server slower than the
rest, if you like).  :func:`failover_panel` kills a server and shows how long requests keep failing
behind a load balancer (until its next health check) or behind DNS round robin (until the
clients' cached answers expire too), next to the expected share of failed requests.

The policy theory is for identical servers with one worker each and exponential service
(:func:`chapter1.analytic.load_balancing`): random routing is n independent M/M/1 queues, round
robin an E_n/M/1 queue per server, power of two choices the supermarket model, and one shared
queue (M/M/n) the floor that least connections comes close to.

>>> round(theory_ms("random", load=0.8, servers=8), 1)          # M/M/1 at 80 %: 50 ms / (1 - 0.8)
250.0
>>> round(expected_failed(rate=100, servers=4, fail_at_s=22.5, interval_s=10))   # 25 req/s for 7.5 s
188
"""

import functools
import math

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import load_balanced
from ..components.pool import POLICIES
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from .failover import *  # noqa: F401,F403  (chapter 04's second half: bal.failover_panel, ...)
from .failover import _pool
from .single_server import run_outcome, run_seeds, spread
from .trap import *  # noqa: F401,F403  (the least-connections trap: bal.trap_runs, bal.trap_panel, ...)

SERVICE_MS = 50.0  # one request's work at a server (mean, exponential): 20 requests/s per worker
LABELS = {"random": "random", "round_robin": "round robin", "power_of_two": "power of two",
          "least_connections": "least connections", "weighted": "weighted", "ip_hash": "ip hash"}
THEORY_POLICIES = ("random", "round_robin", "power_of_two", "least_connections")
ALL_POLICIES = THEORY_POLICIES + ("weighted", "ip_hash")  # worst to best, then the ones without theory
POLICY_COLORS = dict(zip([LABELS[p] for p in ALL_POLICIES], ("red", "orange", "green", "blue", "purple", "brown")))
LOAD_RANGE = (0.05, 0.95)
LATENCY_RANGE_MS = (40, 2_000)


# -- policies against theory -------------------------------------------------------------------

def rate_for_load(load, servers, service_time_ms=SERVICE_MS, workers=1):
    """Requests per second that keep ``servers`` servers of ``workers`` workers busy a ``load`` share of the time.

    >>> rate_for_load(0.7, servers=8), rate_for_load(0.7, servers=8, workers=8)
    (112.0, 896.0)
    """
    check.number("load", load, low=0, high=1, low_open=True)
    check.number("servers", servers, low=1, high=1_000, integer=True)
    check.number("service_time_ms", service_time_ms, low=0, low_open=True)
    check.number("workers", workers, low=1, high=1_000, integer=True)
    return load * servers * workers * 1_000.0 / service_time_ms


# How far the simulation sits above each line (8 one-worker servers, mean time at the servers; 4 runs of
# 60,000 requests at 70 %, of 200,000 at 90 and 95 %, measured for chapter 04; at 95 % the figure still
# moves by several points with the run length): the supermarket model is the limit of many servers, and
# one shared queue is a floor least connections cannot reach.
MEASURED_ABOVE = {"power_of_two": {0.7: 0.05, 0.9: 0.17, 0.95: 0.35},
                  "least_connections": {0.7: 0.09, 0.9: 0.11, 0.95: 0.10}}


def theory_ms(policy, load, servers, service_time_ms=SERVICE_MS, workers=1):
    """Theory's mean time at the servers (ms) for ``policy`` at per-server ``load``; None where there is none.

    One worker per server: random is n M/M/1 queues, round robin (and weighted) E_n/M/1, power of two the
    supermarket model (the limit of many servers: 8 servers sit above it, see :data:`MEASURED_ABOVE`), and
    least connections gets one shared queue (M/M/n), a floor it does not reach.  With ``workers`` > 1 only
    two lines remain: random (n M/M/c queues) and the shared-queue floor M/M/(n x c) for least connections;
    the others have no closed form here (None).

    >>> round(theory_ms("least_connections", 0.8, servers=8), 1)
    64.3
    >>> round(theory_ms("random", 0.7, servers=8, workers=8), 1), theory_ms("round_robin", 0.7, 8, workers=8)
    (55.6, None)
    """
    rate = rate_for_load(load, servers, service_time_ms, workers)
    mu = 1_000.0 / service_time_ms
    if workers == 1:
        stats = analytic.load_balancing(policy, rate, mu, servers)
    elif policy == "random":
        stats = analytic.random_routing(rate, mu, servers, workers)
    elif policy == "least_connections":
        stats = analytic.pooled(rate, mu, servers * workers)
    else:
        stats = None
    return None if stats is None else stats.mean_response_s * 1_000.0


def policy_pool(policy="round_robin", servers=8, slow=1.0, service_time_ms=SERVICE_MS, workers=1, **options):
    """Servers of ``workers`` workers (one by default) behind a load balancer; ``web-1`` is ``slow`` times
    slower than the others.

    ``slow=1`` gives identical servers, the case the theory covers.  The other options go to
    :func:`chapter1.architectures.load_balanced` (``health_check_interval_s``, ``weights``).

    >>> pool = policy_pool("weighted", servers=3, slow=2)
    >>> [s.capacity for s in pool["load balancer"].servers]
    [10.0, 20.0, 20.0]
    """
    check.number("slow", slow, low=1, high=100)
    arch = load_balanced(servers=servers, policy=policy, workers=workers, service_time_ms=service_time_ms, **options)
    if slow != 1:
        arch = arch.with_changes("web-1", service_time_ms=service_time_ms * slow)
    return arch


def server_time_ms(result, warmup=0.1):
    """Mean time (ms) successful requests spent at the servers, DNS lookups left out, after a warm-up share.

    A run starts with empty queues; leaving out its first ``warmup`` share of requests removes most of
    that start-up bias.

    >>> result = simulate(policy_pool(servers=2), Workload.from_rate(4), requests=400, seed=0)
    >>> 30 < server_time_ms(result) < 80
    True
    """
    check.number("warmup", warmup, low=0, high=1, low_open=False)
    start = int(warmup * len(result.latency_ms))
    ok = result.status_code[start:] == OK
    times = (result.latency_ms[start:] - result.entry_ms()[start:])[ok]  # (the DNS in front's dns_ms)
    kept = ~np.isnan(times)  # summed as pandas' mean sums, a NaN left out
    return float(np.where(kept, times, 0.0).sum() / kept.sum()) if kept.any() else float("nan")


def theory_data(servers, policies=THEORY_POLICIES, loads=None, service_time_ms=SERVICE_MS, workers=1):
    """Theory's mean time at the servers (ms) per policy over a grid of loads: policy, load, mean_ms.

    >>> table = theory_data(8)
    >>> sorted(table["policy"].unique())
    ['least connections', 'power of two', 'random', 'round robin']
    >>> sorted(theory_data(8, workers=8)["policy"].unique())      # no closed form for the others
    ['least connections', 'random']
    """
    check.number("servers", servers, low=1, high=1_000, integer=True)
    return _theory_data(servers, tuple(policies), None if loads is None else tuple(loads), service_time_ms,
                        workers).copy()


@functools.lru_cache(maxsize=64, typed=True)
def _theory_data(servers, policies, loads, service_time_ms, workers=1):
    grid = (np.linspace(*LOAD_RANGE, 37) if loads is None else np.asarray(loads, dtype=float)).tolist()
    rows = [(LABELS[p], load, theory_ms(p, load, servers, service_time_ms, workers)) for p in policies for load in grid]
    kept = [row for row in rows if row[2] is not None and math.isfinite(row[2])]
    return pd.DataFrame({name: [row[k] for row in kept] for k, name in enumerate(("policy", "load", "mean_ms"))},
                        columns=["policy", "load", "mean_ms"])


def policy_sweep(policies=THEORY_POLICIES, loads=(0.3, 0.5, 0.7, 0.8, 0.9), servers=8, *, requests=10_000,
                 seeds=(0, 1), workers=1):
    """Simulate each policy at each load over ``seeds``: policy, load, mean_ms (mean over seeds), spread_ms.

    ``spread_ms`` is half the range of the seeds' means, a rough error bar.

    >>> table = policy_sweep(["random"], [0.5], servers=2, requests=500, seeds=[0])
    >>> list(table.columns)
    ['policy', 'load', 'mean_ms', 'spread_ms']
    """
    check.number("requests", requests, low=100, integer=True)
    if not seeds:
        raise ValueError("seeds must list at least one seed, e.g. seeds=(0, 1); got none")
    rows = []
    for policy in policies:
        for load in loads:
            arch = policy_pool(policy, servers, workers=workers)
            means = [server_time_ms(simulate(arch, Workload.from_rate(rate_for_load(load, servers, workers=workers)),
                                             requests=requests, seed=seed)) for seed in seeds]
            rows.append({"policy": LABELS[policy], "load": float(load), "mean_ms": float(np.mean(means)),
                         "spread_ms": float(np.ptp(means) / 2)})
    return pd.DataFrame(rows, columns=["policy", "load", "mean_ms", "spread_ms"])


def policies_chart(servers=8, simulated=None, *, current=None):
    """Mean time at the servers against load: one theory line per policy, simulated dots on top.

    ``simulated`` is a :func:`policy_sweep` table (or None); ``current`` is a load to mark.

    >>> chart = policies_chart(8)
    """
    data = policies_data(servers, simulated, current=current)
    return charts.with_data(_policies_chart(f"{servers} servers: time at the servers as load grows",
                                            "lines: theory (for least connections, a floor) · dots: simulation"), data)


def policies_data(servers, simulated=None, *, current=None, workers=1):
    """The datasets :func:`policies_chart` draws: theory, labels, simulated, current."""
    return {"theory": theory_data(servers, workers=workers), "labels": _labels(servers, workers).copy(),
            "simulated": simulated[["policy", "load", "mean_ms"]] if simulated is not None else [],
            "current": [{"load": current}] if current is not None else []}


@functools.lru_cache(maxsize=32, typed=True)
def _policies_chart(title, subtitle):
    # Lines are labelled at their right ends instead of with a legend, which would cost a third of
    # a redraw; the axes get explicit ticks for the same reason.
    return charts.curves(
        scales.share_axis("x", "load:Q", "load: busy share of each server", ticks=scales.fifths()),
        scales.log_axis("y", "mean_ms:Q", "mean time at the servers (ms)", LATENCY_RANGE_MS),
        scales.color("policy:N", POLICY_COLORS), label="policy:N", line={"clip": True},
        label_style={"align": "left", "dx": 5, "fontWeight": "bold", "fontSize": 11},
        dots={"filled": True, "size": 70, "opacity": 0.9, "clip": True}, current="load:Q",
        tooltip=("policy:N", ("load:Q", ".0%"), ("mean_ms:Q", ",.0f")), heading=charts.title(title, subtitle))


LINE_NAMES = {1: {"random": "random: n M/M/1", "round robin": "round robin: E_n/M/1",
                   "power of two": "power of two: supermarket (limit)", "least connections": "floor: M/M/n"},
              "many": {"random": "random: n M/M/c", "least connections": "floor: M/M/(n·c)"}}


@functools.lru_cache(maxsize=64, typed=True)
def _labels(servers, workers=1):
    """Each theory line's name at its right end, at least 0.1 decades (about 13 px) above the label below."""
    ends = charts.first_rows(theory_data(servers, workers=workers), "policy", last=True)
    return scales.spread_labels(ends, "mean_ms", 0.1, log=True)


# -- who is busy ---------------------------------------------------------------------------------

def server_loads(result):
    """One row per server: its share of the requests, its utilisation, its speed relative to the fastest.

    >>> result = simulate(policy_pool("round_robin", servers=2, slow=2), Workload.from_rate(8), requests=600)
    >>> server_loads(result)[["server", "share", "speed"]].round(2).values.tolist()
    [['web-1', 0.5, 0.5], ['web-2', 0.5, 1.0]]
    """
    pool = _pool(result.architecture)
    members, fastest = pool.members, max(s.capacity for s in pool.members)
    routes = next(r for r in result.runtimes if r.spec is pool).routes()  # each request's server (-1: none)
    sent, total = np.bincount(routes[routes >= 0], minlength=len(members)).tolist(), len(routes)  # (as value_counts)
    return pd.DataFrame({"server": [s.name for s in members],
                         "share": [sent[k] / total if total else 0.0 for k in range(len(members))],
                         "utilization": [result.utilization(s.name) for s in members],
                         "speed": [s.capacity / fastest for s in members]})


@functools.lru_cache(maxsize=1, typed=True)
def _loads_chart():
    # The subtitle explains the colours: a legend would cost a fifth of a redraw.
    return charts.bars(
        "servers", scales.share_axis("x", "utilization:Q", "busy share of the server", ticks=scales.fifths()),
        charts.nominal("server:N"), scales.color("kind:N", {"normal": "sky", "slower": "amber"}),
        tooltip=("server:N", ("utilization:Q", ".0%"), ("share:Q", ".1%")), rule="load:Q",
        width=charts.WIDTH * 0.7, heading=charts.title("How busy each server is", [
            "orange: the slower server · dashed: each server's load", "if the traffic were shared out by speed"]))


BALANCER_CAPTION = (
    "<small><b>Left:</b> mean time at the servers as load grows; lines are theory for identical servers (for "
    "least connections, its floor: one shared queue), the dots are three runs of this setting (their spread is "
    "noise), the dashed line your load. <b>Right:</b> how busy each server was in the first run; orange is the "
    "slower server, the dashed line each server's load if the traffic were shared out by speed.</small>")
# -- the policies panel --------------------------------------------------------------------------

def balancer_panel(policy="round_robin", servers=8, load_percent=70, slow=1, workers=1, *, requests=None, seed=0):
    """Chapter 04's first panel: policy, servers, load, one slower server and workers per server.

    >>> box = balancer_panel()  # doctest: +SKIP
    """
    check.choice("policy", policy, tuple(POLICIES))
    return BALANCER.show(policy=policy, servers=servers, load_percent=load_percent, slow=slow, workers=workers,
                         requests=requests, seed=seed)


def balancer_view(policy, servers, load_percent, slow=1, workers=1, *, requests=panels.DEFAULT_REQUESTS, seed=0):
    """What the policies panel shows for one setting: (chart as SVG, headline HTML); three runs (a dot each).

    ``load_percent`` is the load the servers would carry if they were all as fast as the fastest;
    a slower web-1 makes the real load higher.  The bars show the first run.
    """
    check.number("load_percent", load_percent, low=0, high=100, low_open=True)
    load = load_percent / 100
    arch = policy_pool(policy, servers, slow=slow, workers=workers)
    workload = Workload.from_rate(rate_for_load(load, servers, workers=workers))
    results = [simulate(arch, workload, requests=requests, seed=s) for s in run_seeds(seed)]
    result, measured = results[0], [server_time_ms(r) for r in results]
    loads = server_loads(result)
    loads["kind"] = np.where(loads["speed"].to_numpy() < 1, "slower", "normal")
    capacity = sum(s.capacity for s in arch["load balancer"].servers)
    even = result.workload.rate / capacity
    point = [{"policy": LABELS[policy], "load": load, "mean_ms": m} for m in measured if math.isfinite(m)]
    datasets = {**policies_data(servers, current=load, workers=workers), "simulated": point,
                "servers": loads, "target": [{"load": min(even, 1.0)}]}
    return _balancer_template().svg(datasets), balancer_headline(result, policy, load, measured, loads, workers)


@functools.lru_cache(maxsize=1, typed=True)
def _balancer_template():
    left = _policies_chart("Time at the servers as load grows", "lines: theory, identical servers · dots: three runs")
    # Titles are captioned in HTML under the sliders (BALANCER_CAPTION): they are a costly part of a redraw.
    return charts.Template(charts.beside(left, _loads_chart()), titles=False)


def lines_note(workers):
    """What each theory line of the policies chart is, with how far the simulation sits from it."""
    if workers == 1:
        p2, lc = MEASURED_ABOVE["power_of_two"], MEASURED_ABOVE["least_connections"]
        return ("lines: random = n separate M/M/1 queues; round robin = an E<sub>n</sub>/M/1 queue per server; power "
                "of two = the supermarket model, the limit of very many servers (8 servers measured "
                + " / ".join(f"+{v:.0%}" for v in p2.values()) + " above it at 70 / 90 / 95 % load); least "
                "connections = one shared queue M/M/n, a floor it does not reach (measured "
                + " / ".join(f"+{v:.0%}" for v in lc.values()) + " above it)")
    return ("lines: random = n separate M/M/c queues; least connections = one shared queue of all n·c workers, "
            "M/M/(n·c), its floor; round robin and power of two have no closed form with several workers per "
            "server (their dots stand alone)")


def balancer_headline(result, policy, load, measured_ms, loads, workers=1):
    """The figures under the policies panel's sliders; ``measured_ms`` is one mean per run (or one number)."""
    s, servers = run_outcome(result), len(loads)  # p95 and the failed shares, not the whole summary
    runs = list(measured_ms) if isinstance(measured_ms, (list, tuple)) else [measured_ms]
    identical = bool((loads["speed"].to_numpy() == 1).all())
    theory = theory_ms(policy, load, servers, workers=workers) if identical else None
    if theory is None:
        why = ("no closed form for ip hash" if policy == "ip_hash" else "theory assumes identical servers"
               if not identical else "no closed form with several workers per server")
        against = f" ({why})"
    elif math.isinf(theory):
        against = " (theory: overloaded)"
    else:
        floor = " floor, one shared queue" if policy == "least_connections" else ""
        against = f" (theory{floor}: <b>{theory:,.0f} ms</b>)"
    busy = loads["utilization"].to_numpy()
    busiest = {"server": loads["server"].iat[int(np.nanargmax(busy))], "utilization": float(np.nanmax(busy))}
    text = (f"<b>{result.workload.rate:,.0f}</b> req/s over <b>{servers}</b> servers x <b>{workers}</b> "
            f"worker{'s' if workers > 1 else ''} · policy <b>{LABELS[policy]}</b> · mean time at the servers "
            f"<b>{spread(runs, ' ms')}</b>{against} · p95 <b>{s['p95_ms']:,.0f} ms</b> · busiest: {busiest['server']}"
            f" at <b>{busiest['utilization']:.0%}</b> · failed <b>{panels.failed(s):.1%}</b>")
    return panels.headline(text, f"<small>{lines_note(workers)}</small>", result=result, caption=BALANCER_CAPTION)


BALANCER = panels.register_panel(panels.Panel(
    "load balancing policies", "04", balancer_view, caption=BALANCER_CAPTION,
    controls={"policy": panels.choice([(LABELS[p], p) for p in POLICIES], "policy"),
              "servers": panels.integer(2, 16, "servers"),
              "load_percent": panels.integer(10, 95, "load (%)", step=5),
              "slow": panels.integer(1, 4, "web-1 slower by (x)"),
              "workers": panels.choice((1, 2, 4, 8), "workers per server", kind="select")},
    defaults={"policy": "round_robin", "servers": 8, "load_percent": 70, "slow": 1, "workers": 1},
    examples=({"servers": 8}, {"servers": 16})))
