"""Chapter 03, second half: boxes and a balancer that fail and recover at random.

Every box is up 99.5 % of the time, the balancer 99.99 % (see :mod:`chapter1.scaling`); the
scaled-out site is up while the balancer is up *and* at least one box is.  ``chapter1.scaling``
re-exports every name here.

>>> round(expected_failed_share(2, 0.9, 0.99), 4)
0.0199
"""

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from .. import Outage
from .. import theory as analytic
from ..architectures import load_balanced
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, scales
from .scaling import SERVICE_MS, _servers, scale_out

__all__ = ["random_outages", "with_random_failures", "down_share", "site_down_share", "expected_failed_share",
           "FAILURES", "schedule_downtime", "availability_runs", "THEORY_LINES", "availability_chart"]


# -- availability: servers that fail and recover --------------------------------------------------

MAX_CYCLES = 1_000_000  # failures and repairs one schedule may hold


def random_outages(component, mtbf_s, mttr_s, horizon_s, rng):
    """A copy of ``component`` that fails and recovers at random until ``horizon_s``.

    Up times are exponential with mean ``mtbf_s`` (mean time between failures), repairs with mean
    ``mttr_s`` (mean time to repair), so the component is up mtbf / (mtbf + mttr) of the time.  It
    starts down with that same probability (as if it had been running for ever).  ``rng`` is a
    numpy Generator.

    >>> from chapter1 import Server
    >>> server = random_outages(Server(), 90, 10, 1_000, np.random.default_rng(0))
    >>> 0 < len(server.outages) < 30
    True
    """
    check.number("mtbf_s", mtbf_s, low=0, low_open=True)
    check.number("mttr_s", mttr_s, low=0, low_open=True)
    check.number("horizon_s", horizon_s, low=0, low_open=True)
    cycles = horizon_s / (mtbf_s + mttr_s)
    if cycles > MAX_CYCLES:
        longest = MAX_CYCLES * (mtbf_s + mttr_s)
        raise ValueError(f"horizon_s must cover at most {MAX_CYCLES:,} failure cycles of mtbf_s + mttr_s = "
                         f"{mtbf_s + mttr_s:g} s, i.e. horizon_s <= {longest:g}; got {horizon_s!r}")
    outages = []
    t = 0.0 if rng.random() < mttr_s / (mtbf_s + mttr_s) else rng.exponential(mtbf_s)
    while t < horizon_s:
        end = t + rng.exponential(mttr_s)
        if end > t:
            outages.append(Outage(t, end))
        t = end + rng.exponential(mtbf_s)
    return replace(component, outages=tuple(outages))


def with_random_failures(architecture, mtbf_s, mttr_s, horizon_s, seed=0, *, balancer=None):
    """A copy of ``architecture`` whose boxes fail at random (see :func:`random_outages`), each on its own.

    ``balancer`` = (mtbf_s, mttr_s) makes the load balancer fail too.  Same seed, same failures.

    >>> arch = with_random_failures(scale_out(2, 4), 90, 10, 500, seed=1, balancer=(99, 1))
    >>> all(arch[name].outages for name in ("web-1", "web-2"))
    True
    """
    check.number("seed", seed, low=0, integer=True)
    boxes, pool = _servers(architecture)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(boxes) + 1)]
    for box, rng in zip(boxes, rngs):
        failing = random_outages(box, mtbf_s, mttr_s, horizon_s, rng)
        architecture = architecture.with_changes(box.name, outages=failing.outages)
    if balancer is not None:
        if pool is None:
            raise ValueError(f"balancer failures need a design with a load balancer; {architecture.name!r} has none")
        failing = random_outages(pool, *balancer, horizon_s, rngs[-1])
        architecture = architecture.with_changes(pool.name, outages=failing.outages)
    return architecture


def down_share(components, horizon_s, need="all"):
    """Share of [0, horizon_s) during which all (``need="all"``) or any (``"any"``) of ``components`` are down.

    A component's overlapping outages count once: it is either down or up.

    >>> from chapter1 import Server
    >>> a, b = Server(name="a").fail(0, 10), Server(name="b").fail(5, 20)
    >>> down_share([a, b], 100), down_share([a, b], 100, need="any")
    (0.05, 0.2)
    >>> down_share([Server(name="a").fail(0, 10).fail(5, 20), Server(name="b")], 100)   # b never fails
    0.0
    """
    check.choice("need", need, ("all", "any"))
    check.number("horizon_s", horizon_s, low=0, low_open=True)
    if not components:
        raise ValueError("components must hold at least one component; got none")
    threshold = len(components) if need == "all" else 1
    spans = [(min(start, horizon_s), min(end, horizon_s)) for start, end in _down_spans(components, threshold)]
    return float(sum(end - start for start, end in spans) / horizon_s)


def _down_spans(components, threshold):
    """The stretches of time during which at least ``threshold`` of ``components`` are down (start, end)."""
    times, steps = [], []
    for c in components:
        for start, end in _merged(c.outages):
            times += [start, end]
            steps += [1, -1]
    if not times:
        return []
    order = np.lexsort((steps, times))  # at equal times, recoveries (-1) before failures
    t, down = np.array(times)[order], np.cumsum(np.array(steps)[order])
    spans, start = [], None
    for k in range(len(t)):
        if down[k] >= threshold and start is None:
            start = float(t[k])
        elif down[k] < threshold and start is not None:
            if t[k] > start:
                spans.append((start, float(t[k])))
            start = None
    return spans + ([(start, math.inf)] if start is not None else [])


def _merged(outages):
    """One component's outages as disjoint (start, end) stretches: overlapping ones merged."""
    merged = []
    for o in sorted(outages, key=lambda o: o.start_s):
        if merged and o.start_s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], o.end_s))
        else:
            merged.append((o.start_s, o.end_s))
    return merged


def site_down_share(architecture, horizon_s):
    """Share of [0, horizon_s) during which the site cannot answer: its balancer down, or every box down.

    >>> site_down_share(scale_out(2, 4).fail("web-1", 0, 10).fail("web-2", 5, 20), 100)
    0.05
    """
    boxes, pool = _servers(architecture)
    if pool is None:
        return down_share(boxes, horizon_s, "all")
    return down_share([pool, _all_down(boxes)], horizon_s, "any")  # the balancer down, or every box


def _all_down(boxes):
    """A stand-in component whose outages are the stretches when every one of ``boxes`` is down."""
    outages = tuple(Outage(start, end) for start, end in _down_spans(boxes, len(boxes)))
    return replace(boxes[0], name="all boxes", outages=outages)


def expected_failed_share(servers, server_up, balancer_up=1.0, *, interval_s=0.0, service_s=0.0, mtbf_s=None,
                          mttr_s=None, balancer_cycle_s=None):
    """Expected share of failed requests: the site's downtime, 1 - balancer x (1 - (1 - server)^n), plus
    the requests lost around each failure.

    Each time a box dies, it keeps receiving its share of requests until the next health check,
    on average half an interval later, and the requests inside it are lost: per failure cycle
    (mtbf + mttr) that adds (interval / 2 + service time) / (mtbf + mttr).  The balancer's own
    failures lose the requests inside it: service time / its cycle.  (First-order terms: exact
    enough while they are small.)

    >>> round(expected_failed_share(2, 0.9, 0.99), 4)
    0.0199
    >>> round(expected_failed_share(2, 0.9, 0.99, interval_s=0.5, service_s=0.05, mtbf_s=90, mttr_s=10,
    ...                             balancer_cycle_s=100), 4)
    0.0234
    """
    check.number("servers", servers, low=1, integer=True)
    check.number("interval_s", interval_s, low=0)
    check.number("service_s", service_s, low=0)
    up = analytic.availability_series(balancer_up, analytic.availability_parallel(*[server_up] * servers))
    lost = 0.0
    if interval_s or service_s:
        if mtbf_s is None or mttr_s is None:
            raise ValueError("mtbf_s and mttr_s are needed with interval_s or service_s; got None")
        check.number("mtbf_s", mtbf_s, low=0, low_open=True)
        check.number("mttr_s", mttr_s, low=0, low_open=True)
        lost = balancer_up * (interval_s / 2 + service_s) / (mtbf_s + mttr_s)
        if balancer_cycle_s is not None:
            lost += service_s / check.number("balancer_cycle_s", balancer_cycle_s, low=0, low_open=True)
    return 1 - up + lost


FAILURES = {"mtbf_s": 90.0, "mttr_s": 10.0, "balancer": (99.0, 1.0), "interval_s": 0.5, "rate": 10.0}


def _failure_settings(failures):
    settings = {**FAILURES, **failures}
    unknown = set(settings) - set(FAILURES)
    if unknown:
        raise ValueError(f"unknown failure settings {sorted(unknown)}; known: {sorted(FAILURES)}")
    return settings


def schedule_downtime(servers=(1, 2, 3, 4, 5), seeds=(0, 1, 2), *, horizon_s=200_000.0, **failures):
    """Share of time the site is down (balancer down, or every box down) in random failure schedules,
    and (``boxes_down_share``) the share of time every box is down.

    No requests are simulated: the failure schedules alone (see :func:`with_random_failures`, settings
    as in :data:`FAILURES`) over a long ``horizon_s``, so thousands of failures per box.

    >>> schedule_downtime([1], [0], horizon_s=10_000)["down_share"].round(2).tolist()
    [0.11]
    """
    settings = _failure_settings(failures)
    rows = []
    for n in servers:
        base = scale_out(n, 4)
        for seed in seeds:
            arch = with_random_failures(base, settings["mtbf_s"], settings["mttr_s"], horizon_s, seed,
                                        balancer=settings["balancer"])
            boxes, _ = _servers(arch)
            rows.append({"servers": n, "seed": seed, "down_share": site_down_share(arch, horizon_s),
                         "boxes_down_share": down_share(boxes, horizon_s, "all")})
    return pd.DataFrame(rows, columns=["servers", "seed", "down_share", "boxes_down_share"])


def availability_runs(servers=(1, 2, 3, 4), seeds=(0, 1), *, requests=20_000, box_cores=4, **failures):
    """Simulate n boxes behind a balancer while boxes and balancer fail at random; one row per (servers, seed).

    Columns: ``down_share`` (share of the run the failure schedule left the site unable to answer),
    ``failed_share`` (share of requests that failed), ``theory`` (1 - availability) and
    ``expected_failed`` (:func:`expected_failed_share`, with the requests lost around failures).
    The failure settings default to :data:`FAILURES`: boxes up 90 % (they fail every 90 s on
    average and are back 10 s later), the balancer up 99 % (every 99 s, for 1 s), health checks
    every 0.5 s, 10 requests a second.  Time is compressed so that a run holds dozens of failures.

    >>> availability_runs([1], [0], requests=500).columns.tolist()
    ['servers', 'seed', 'down_share', 'failed_share', 'theory', 'expected_failed']
    """
    settings = _failure_settings(failures)
    mtbf, mttr, rate, interval = settings["mtbf_s"], settings["mttr_s"], settings["rate"], settings["interval_s"]
    lb_mtbf, lb_mttr = settings["balancer"]
    server_up, balancer_up = mtbf / (mtbf + mttr), lb_mtbf / (lb_mtbf + lb_mttr)
    horizon = requests / rate * 1.2 + 10
    rows = []
    for n in servers:
        base = load_balanced(servers=n, policy="least_connections", workers=box_cores, service_time_ms=SERVICE_MS,
                             health_check_interval_s=interval)
        for seed in seeds:
            arch = with_random_failures(base, mtbf, mttr, horizon, seed, balancer=(lb_mtbf, lb_mttr))
            result = simulate(arch, Workload.from_rate(rate), requests=requests, seed=seed)
            rows.append({"servers": n, "seed": seed, "down_share": site_down_share(arch, result.duration_s),
                         "failed_share": float((result.requests["status"] != "ok").mean()),
                         "theory": 1 - analytic.availability_series(
                             balancer_up, analytic.availability_parallel(*[server_up] * n)),
                         "expected_failed": expected_failed_share(
                             n, server_up, balancer_up, interval_s=interval, service_s=SERVICE_MS / 1_000,
                             mtbf_s=mtbf, mttr_s=mttr, balancer_cycle_s=lb_mtbf + lb_mttr)})
    return pd.DataFrame(rows, columns=["servers", "seed", "down_share", "failed_share", "theory", "expected_failed"])


THEORY_LINES = ("boxes alone: (1 - a)^n", "site: balancer in series", "failed requests, expected")


def availability_chart(runs, schedules=None, max_servers=5, **failures):
    """Share of time (or of requests) the site is down against the number of boxes, log scale.

    Lines (theory): the boxes alone in parallel, (1 - a)^n; the site with its balancer in series;
    and the share of requests expected to fail (:func:`expected_failed_share`).  Dots, means over
    seeds: the failed requests of :func:`availability_runs`, and the time the site (and every box)
    was down in :func:`schedule_downtime`; shares below 0.001 % are left off the log axis.

    >>> chart = availability_chart(availability_runs([1], [0], requests=300))
    """
    settings = _failure_settings(failures)
    mtbf, mttr, (lb_mtbf, lb_mttr) = settings["mtbf_s"], settings["mttr_s"], settings["balancer"]
    server_up, balancer_up = mtbf / (mtbf + mttr), lb_mtbf / (lb_mtbf + lb_mttr)
    n = list(range(1, max_servers + 1))
    lines = pd.DataFrame({"servers": n * 3, "what": [w for w in THEORY_LINES for _ in n], "share": (
        [(1 - server_up) ** k for k in n]
        + [expected_failed_share(k, server_up, balancer_up) for k in n]
        + [expected_failed_share(k, server_up, balancer_up, interval_s=settings["interval_s"],
                                 service_s=SERVICE_MS / 1_000, mtbf_s=mtbf, mttr_s=mttr,
                                 balancer_cycle_s=lb_mtbf + lb_mttr) for k in n])})
    dots = [runs.groupby("servers", as_index=False)["failed_share"].mean().rename(columns={"failed_share": "share"})
            .assign(measure=f"failed requests ({runs['seed'].nunique()} runs of simulated requests)")]
    if schedules is not None:
        means = schedules.groupby("servers", as_index=False)[["down_share", "boxes_down_share"]].mean()
        runs_of = f"{schedules['seed'].nunique()} long failure schedules"
        dots.append(means.rename(columns={"down_share": "share"})[["servers", "share"]]
                    .assign(measure=f"time the site was down ({runs_of})"))
        dots.append(means.rename(columns={"boxes_down_share": "share"})[["servers", "share"]]
                    .assign(measure=f"time every box was down ({runs_of})"))
    dots = pd.concat(dots, ignore_index=True)
    dots = dots[dots["share"] >= 1e-5]  # below the axis: nothing (or next to nothing) was down
    x = scales.linear_axis("x", "servers:Q", "boxes behind the balancer", (0.8, max_servers + 0.2), ticks=n,
                           format="d")
    shares = (1e-5, 0.3)
    y = scales.log_axis("y", "share:Q", "share down (log scale)", shares, ticks=scales.log_ticks(shares, (1,)),
                        format=".3~%")
    return charts.lines_and_dots(
        lines, dots, x, y, color=scales.color("what:N", dict(zip(THEORY_LINES, ("light grey", "blue", "red"))),
                                              legend=charts.legend("theory", orient="right", labelLimit=260)),
        dash=charts.dash("what:N", dict(zip(THEORY_LINES, ([4, 3], [1, 0], [2, 2])))),
        dot_channels={"shape": charts.shape("measure:N", ["circle", "diamond", "square"], title="simulation",
                                            legend=charts.legend("simulation", labelLimit=340)),
                      "color": charts.constant(scales.DARK)},
        dots_style={"filled": True, "size": 80, "opacity": 0.85},
        tooltip=("servers:Q", "measure:N", ("share:Q", ".3%")), heading=charts.title(
            "More boxes, less downtime, until the balancer dominates",
            f"boxes up {server_up:.0%} · balancer up {balancer_up:.0%} · "
            f"health checks every {settings['interval_s']:g} s"))
