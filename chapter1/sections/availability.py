"""Chapter 03, second half: boxes and a balancer that fail and recover at random.

Every box is up 99.5 % of the time, the balancer 99.99 % (see :mod:`chapter1.scaling`); the
scaled-out site is up while the balancer is up *and* at least one box is.  ``chapter1.scaling``
re-exports every name here.

>>> round(expected_failed_share(2, 0.9, 0.99), 4)
0.0199
"""

import functools
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
from ..present import charts, panels, scales
from .scaling import BALANCER_AVAILABILITY, SERVER_AVAILABILITY, SERVICE_MS, _servers, scale_out

__all__ = ["random_outages", "with_random_failures", "down_share", "site_down_share", "expected_failed_share",
           "FAILURES", "schedule_downtime", "availability_runs", "THEORY_LINES", "availability_chart",
           "k_of_n_table", "n_plus_one_pool", "n_plus_one_runs", "n_plus_one_view", "n_plus_one_panel",
           "N_PLUS_ONE", "N_PLUS_ONE_CAPTION"]


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


# -- N+1: one box dies at real load ------------------------------------------------------------------

N1_WORKERS, N1_QUEUE = 8, 1_000          # each box: 8 workers (cores) x 50 ms, room for 1,000 waiting requests
N1_REQUESTS = 20_000
N_PLUS_ONE_CAPTION = (
    "<small><b>Left:</b> p95 latency over time, in 40 windows (dots: this run; line: theory, M/M/c while the "
    "survivors keep up, the fluid overload model when they do not); the dashed line is the death of web-2. "
    "<b>Right:</b> share of requests failing per window (bars) and the fluid model's share turned away (line). "
    "The balancer ejects a box after 5 errors in a row, so the death itself costs a handful of requests: "
    "what you see is capacity.</small>")


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
    table = result.requests
    after = table[table["arrival_s"] + table["dns_ms"] / 1_000.0 >= fail_at_s]
    failed = float((after["status"] != "ok").mean()) if len(after) else float("nan")
    ok = after.loc[after["status"] == "ok", "latency_ms"]
    return failed, float(ok.quantile(0.95)) if len(ok) else float("nan")


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
    """Theory over time: p95 (ms) and the share turned away, before and after the death (DNS lookups included)."""
    servers, rate, duration_s = len(_servers(result.architecture)[0]), result.workload.rate, result.duration_s
    dns = result.architecture.dns
    lookup = {} if dns is None else {"delay_s": dns.lookup_ms / 1_000.0,
                                     "delay_share": 1 - dns.hit_ratio(result.workload.per_user_rate)}
    mu, c = 1_000.0 / SERVICE_MS, N1_WORKERS
    before = analytic.response_time_percentile(95, rate, mu, servers * c, **lookup) * 1_000.0
    survivors = (servers - 1) * c * mu
    steady = (analytic.response_time_percentile(95, rate, mu, (servers - 1) * c, **lookup) * 1_000.0
              if rate < survivors else None)
    times = np.linspace(0, duration_s, 121)
    rows = []
    for t in np.unique(np.concatenate([times, [fail_at_s - 1e-9, fail_at_s]])):
        if t < fail_at_s:
            rows.append({"t_s": t, "p95_ms": before, "share": 0.0})
            continue
        queued, wait_s, away = analytic.overload_fluid(rate, survivors, (servers - 1) * N1_QUEUE, t - fail_at_s)
        p95 = steady if steady is not None else wait_s * 1_000.0 + 3 * SERVICE_MS  # the wait + an exponential p95
        rows.append({"t_s": t, "p95_ms": p95, "share": away})
    return pd.DataFrame(rows)


@functools.lru_cache(maxsize=1)
def _n1_template():
    x = scales.linear_axis("x", "t_s:Q", "simulated time (s)")
    y = scales.log_axis("y", "p95_ms:Q", "p95 latency (ms)", (50, 20_000), ticks=scales.log_ticks((50, 20_000)))
    latency = charts.curves(x, y, scales.color("what:N", {"theory": "dark", "simulation": "red"}),
                            line={"clip": True}, dots={"filled": True, "size": 40, "clip": True}, current="t_s:Q",
                            tooltip=(("t_s:Q", ",.1f"), ("p95_ms:Q", ",.0f")))
    failing = charts.failures_over_time(0.5, charts.title("Requests failing"), first_event="web-2 dies",
                                        width=charts.WIDTH)
    return charts.Template(charts.beside(latency, failing), titles=False)


def n_plus_one_view(servers, load_percent, *, requests=N1_REQUESTS, seed=0):
    """What the N+1 panel shows: (chart as SVG, headline HTML); one run in which web-2 dies a quarter in."""
    result, fail_at = _n1_run(servers, load_percent, requests, seed)
    table = result.timeline(40)
    width = result.duration_s / 40
    theory = _n1_theory(result, fail_at)
    datasets = {"theory": theory.assign(what="theory"),
                "simulated": table[["t_s", "p95_ms"]].dropna().assign(what="simulation"),
                "current": [{"t_s": fail_at}],
                "windows": table[["t_s", "error_share"]].assign(start=table["t_s"] - width / 2,
                                                                end=table["t_s"] + width / 2),
                "failover_theory": theory[["t_s", "share"]], "events": [{"t_s": fail_at, "event": "web-2 dies"}]}
    return _n1_template().svg(datasets), n_plus_one_headline(result, servers, load_percent, fail_at)


def n_plus_one_headline(result, servers, load_percent, fail_at_s):
    """The figures under the N+1 panel's sliders: the load before and after, what failed, k of n."""
    load = load_percent / 100
    survivor = load * servers / (servers - 1)
    failed, p95 = _after(result, fail_at_s)
    k = analytic.servers_needed(load, servers)
    verdict = ("<b style='color:#2ca02c'>N+1: the survivors keep up</b>" if survivor < 1 else
               "<b style='color:#d62728'>not N+1: the survivors are overloaded</b>")
    line1 = (f"<b>{servers}</b> boxes x {N1_WORKERS} cores at <b>{load:.0%}</b> ({result.workload.rate:,.0f} req/s); "
             f"web-2 dies at <b>{fail_at_s:g} s</b> and the other {_boxes(servers - 1)} must run at "
             f"<b>{survivor:.0%}</b>: {verdict}")
    line2 = f"after the death: failed <b>{failed:.1%}</b>, p95 <b>{p95:,.0f} ms</b>"
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
    "one box dies at real load", "03", n_plus_one_view, caption=N_PLUS_ONE_CAPTION, requests=N1_REQUESTS,
    controls={"servers": panels.integer(2, 8, "boxes"), "load_percent": panels.integer(10, 95, "load (%)", step=5)},
    defaults={"servers": 2, "load_percent": 60}, examples=({"servers": 4, "load_percent": 80},)))
