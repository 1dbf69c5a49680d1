"""Chapter 09: data centres.  A site dies at a load the learner sets: can the others carry its users?

The live panel (:func:`datacentre_panel`) runs two or three sites behind GeoDNS, active-passive or
active-active, each at the utilisation the learner sets, and kills dc-1 part-way through.  The left
chart shows each site's utilisation over time (dots: three runs; lines: what theory asks of each
site, with the (N - 1)/N line an active-active site must stay under); the right one the share of
requests failing (bars: the runs' mean; line: theory).  The model behind it is
:class:`chapter1.components.datacentre.GeoDNS`.

>>> offered_rate(0.5, 2, "active-active"), offered_rate(0.5, 2, "active-passive")
(20.0, 10.0)
>>> round(expected_failed(0.5, 2, "active-active"), 1)       # 10 req/s x (2 s + 10.7 % x 3 s + 0.1 s)
24.2
"""

import functools
import math

import numpy as np

from .. import theory as analytic
from ..architectures import multi_region
from ..components.datacentre import GeoDNSRun
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import MAX_CLIENTS, simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

MODES = analytic.SITE_MODES
SITE_WORKERS, SITE_SERVICE_MS = 2, 100.0
SITE_CAPACITY = SITE_WORKERS * 1_000.0 / SITE_SERVICE_MS     # 20 requests a second per site
FAIL_AT_S, CHECK_S, TTL_S, DURATION_S = 7.0, 3.0, 6.0, 24.0   # simulated time, shrunk so a redraw stays fast
LAG_MS, TIMEOUT_MS, IN_SITE_S = 500.0, 2_000.0, SITE_SERVICE_MS / 1_000.0
SEEDS, BINS = 3, 24
COLORS = {"dc-1": "red", "dc-2": "blue", "dc-3": "green", "limit (N-1)/N": "grey", "capacity": "dark"}
CAPTION = (
    "<small>dc-1 dies at 7 s and stays down.  Left: each site's utilisation in 1-second windows (dots: three "
    "runs) and what theory asks of it (lines; above 100 % the site is overloaded and its queue grows), with the "
    "grey (N-1)/N line below which an active-active site survives losing another and the black capacity line.  "
    "Right: the share of requests failing (bars: mean of the runs; line: theory of the failover, which leaves "
    "out overload).  Times are shrunk: GeoDNS checks every 3 s and clients keep its answer 6 s (in life 30-60 s "
    "and 60-300 s).</small>")


def panel_sites(datacentres=2, mode="active-active", fail_at_s=FAIL_AT_S):
    """The panel's design: ``datacentres`` sites of one web server (2 workers x 100 ms); dc-1 dies at ``fail_at_s``.

    >>> [c.name for c in panel_sites(2).components]
    ['geodns', 'dc-1', 'dc-1 lb', 'dc-1 web-1', 'dc-2', 'dc-2 lb', 'dc-2 web-1']
    """
    check.number("datacentres", datacentres, low=2, high=3, integer=True)
    arch = multi_region(datacentres, mode, servers=1, workers=SITE_WORKERS, service_time_ms=SITE_SERVICE_MS,
                        ttl_s=TTL_S, health_check_interval_s=CHECK_S, replication_lag_ms=LAG_MS,
                        timeout_ms=TIMEOUT_MS)
    return arch.fail("dc-1", at_s=fail_at_s)


def offered_rate(load, datacentres, mode):
    """Requests a second that put each serving site at utilisation ``load``: all N sites active, or one."""
    check.number("load", load, low=0, low_open=True, high=1)
    check.choice("mode", mode, MODES)
    return load * SITE_CAPACITY * (datacentres if mode == "active-active" else 1)


def dead_share(datacentres, mode):
    """Share of the traffic dc-1 serves before it dies: 1/N active-active (equal regions), all of it active-passive."""
    return 1 / datacentres if mode == "active-active" else 1.0


def hit_ratio(rate):
    """Share of requests sent from a cached GeoDNS answer (the rate spread over the simulation's clients)."""
    return analytic.geo_hit_ratio(rate, MAX_CLIENTS, TTL_S)


def expected_failed(load, datacentres, mode, fail_at_s=FAIL_AT_S):
    """Theory's count of requests failing in the failover: dc-1's rate x (detection + hit x TTL/2 + time inside)."""
    rate = offered_rate(load, datacentres, mode)
    return analytic.failover_failures(rate * dead_share(datacentres, mode), fail_at_s, CHECK_S, TTL_S,
                                      hit_ratio(rate), in_site_s=IN_SITE_S)


def moved_share(times, rate, fail_at_s=FAIL_AT_S):
    """Share of dc-1's clients' requests already sent elsewhere at each of ``times`` (an array): none before the
    check, then all but the ones sent from an answer cached before it (a hit share, expiring in a straight line
    over one TTL).

    >>> moved_share(np.array([0.0, 9.0, 20.0]), 20.0).round(3).tolist()
    [0.0, 0.893, 1.0]
    """
    seen = analytic.site_detected_at(fail_at_s, CHECK_S)
    return np.where(times < seen, 0.0, 1.0 - hit_ratio(rate) * np.maximum(0.0, 1 - (times - seen) / TTL_S))


def demand(times, site, load, datacentres, mode):
    """Utilisation theory asks of ``site`` (0 = dc-1) at each of ``times``: its own share plus the moved share
    of dc-1's.

    >>> demand(np.array([0.0, 20.0]), 1, 0.5, 2, "active-active").tolist()
    [0.5, 1.0]
    """
    moved = moved_share(times, offered_rate(load, datacentres, mode))
    if site == 0:
        return np.where(times >= FAIL_AT_S, 0.0, load)
    if mode == "active-passive":
        return load * moved if site == 1 else np.zeros_like(moved)
    return load + load / (datacentres - 1) * moved


def runs(mode, datacentres, load, *, seeds=SEEDS, first_seed=0, duration_s=DURATION_S):
    """One Result per seed: the panel's design at ``load``, ``duration_s`` seconds of traffic each."""
    arch, rate = panel_sites(datacentres, mode), offered_rate(load, datacentres, mode)
    requests = max(100, math.ceil(rate * duration_s * 1.15))  # enough that every run covers duration_s
    return [simulate(arch, Workload.from_rate(rate), requests=requests, seed=s)
            for s in range(first_seed, first_seed + seeds)]


def outage_data(results, mode, datacentres, load, bins=BINS):
    """The panel's datasets (dicts of columns, and the events as rows): utilisation dots and theory lines per site,
    failing windows, failover theory, events."""
    times = np.linspace(0, DURATION_S, 49)
    names = [f"dc-{k + 1}" for k in range(datacentres)]
    theory = [(n, times, demand(times, k, load, datacentres, mode)) for k, n in enumerate(names)]
    limit, ends = analytic.headroom_limit(datacentres), np.array([0.0, DURATION_S])
    theory += [(s, ends, np.array([y, y])) for s, y in (("limit (N-1)/N", limit), ("capacity", 1.0))]
    dots, edges = [], np.linspace(0, DURATION_S, bins + 1)
    arrived, failed = np.zeros(bins), np.zeros(bins)
    for result in results:  # windows of about 1 s
        table = result.timeline_columns(max(1, int(result.duration_s * bins / DURATION_S)), latency=False)
        shown = table["t_s"] <= DURATION_S
        dots += [(n, table["t_s"][shown], table[f"{n} web-1_utilization"][shown]) for n in names]
        window = np.searchsorted(edges, result.arrival_s, side="right") - 1  # (not result.requests: every column)
        inside = window < bins
        arrived += np.bincount(window[inside], minlength=bins)
        failed += np.bincount(window[inside], weights=(result.status_code != OK)[inside], minlength=bins)
    width = DURATION_S / bins
    share = np.where(arrived > 0, failed / np.maximum(arrived, 1), np.nan)
    mid = (np.arange(bins) + 0.5) * width
    windows = {"t_s": mid, "start": mid - width / 2, "end": mid + width / 2, "error_share": share}
    rate = offered_rate(load, datacentres, mode)
    seen = analytic.site_detected_at(FAIL_AT_S, CHECK_S)
    steps = np.sort(np.concatenate([times, [FAIL_AT_S - 1e-9, seen - 1e-9]]))
    failing = np.where(steps < FAIL_AT_S, 0.0, dead_share(datacentres, mode) * (1 - moved_share(steps, rate)))
    events = [{"t_s": FAIL_AT_S, "event": "dc-1 dies"}, {"t_s": seen, "event": "GeoDNS notices"},
              {"t_s": seen + TTL_S, "event": "last cached answer expires"}]
    return {"site_theory": _series(theory), "site_simulated": _series(dots),
            "windows": windows, "failover_theory": {"t_s": steps, "share": failing}, "events": events}


def _series(lines):
    """One dataset (columns series, t_s, utilization) from (series, times, utilisations) triples, in their order."""
    return {"series": np.repeat([n for n, _, _ in lines], [len(t) for _, t, _ in lines]),
            "t_s": np.concatenate([t for _, t, _ in lines]),
            "utilization": np.concatenate([u for _, _, u in lines])}


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    left = charts.curves(
        scales.linear_axis("x", "t_s:Q", "simulated time (s)", (0, DURATION_S), ticks=list(range(0, 25, 4))),
        scales.share_axis("y", "utilization:Q", "utilisation (what each site is asked for)", top=1.6,
                          ticks=[0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]),
        scales.color("series:N", COLORS), prefix="site_",
        line={"clip": True, "strokeWidth": 2}, dots={"filled": True, "size": 22, "opacity": 0.55, "clip": True},
        tooltip=(("t_s:Q", ".0f"), "series:N", ("utilization:Q", ".0%")))
    right = charts.failures_over_time(0.8, charts.title("Requests failing"), first_event="dc-1 dies",
                                      width=scales.WIDTH)
    return charts.Template(charts.beside(left, right), titles=False)


def outage_view(mode, datacentres, load_percent, *, requests=None, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML); :data:`SEEDS` runs from ``seed``.

    ``requests`` is unused (each run covers :data:`DURATION_S` seconds of traffic whatever the rate).
    """
    check.number("load_percent", load_percent, low=1, high=100)
    load = load_percent / 100
    results = runs(mode, datacentres, load, first_seed=seed)
    return _template().svg(outage_data(results, mode, datacentres, load)), headline(results, mode, datacentres, load)


def headline(results, mode, datacentres, load):
    """The figures under the panel's sliders: failover failures, the survivors' load, lost writes; each with theory."""
    rate = offered_rate(load, datacentres, mode)
    summaries = [outcome(r) for r in results]
    failed = np.mean([s["failover_failed"] for s in summaries])
    overload = np.mean([s["timeout_rate"] + s["rejected_rate"] for s in summaries])
    lost = np.mean([s["lost_writes"] for s in summaries])
    asked = load if mode == "active-passive" else analytic.survivor_utilisation(load, datacentres)
    limit = analytic.headroom_limit(datacentres)
    write_rate = rate * dead_share(datacentres, mode) * 0.1
    verdict = ("<b style='color:#d62728'>overloaded</b>: queues grow and requests time out" if asked > 1
               else "<b>it copes</b>")
    text = [f"{mode}, {datacentres} sites at <b>{load:.0%}</b> busy ({rate:,.0f} req/s) · dc-1 dies at "
            f"{FAIL_AT_S:g} s · failed in the failover <b>{failed:,.0f}</b> per run (theory "
            f"{expected_failed(load, datacentres, mode):,.0f})",
            f"after the failover each surviving site is asked for <b>{asked:.0%}</b> of its capacity: {verdict} "
            f"(timeouts {overload:.1%} of all requests) · active-active survives one loss below "
            f"{limit:.0%} per site",
            f"writes lost with dc-1: <b>{lost:.1f}</b> per run (theory {write_rate * LAG_MS / 1_000:.1f}: "
            f"{write_rate:.1f} writes/s x {LAG_MS / 1_000:g} s lag)"]
    note = (f"{len(results)} runs of {len(results[0].arrival_s):,} simulated requests = {DURATION_S:g} s of traffic at "
            f"{rate:,.0f} req/s (runs {results[0].seed + 1}-{results[-1].seed + 1})")
    return panels.headline(*text, f"<small>{note}</small>", caption=CAPTION)


def outcome(result):
    """The figures of ``result.summary()`` the headline reads (``failover_failed``, ``lost_writes``, the timeout and
    rejected shares), without its percentiles and utilisations: the same numbers.

    >>> run = runs("active-active", 2, 0.5, seeds=1)[0]
    >>> figures = outcome(run)
    >>> all(figures[k] == run.summary()[k] for k in figures)
    True
    """
    geo = [r for r in result.runtimes if isinstance(r, GeoDNSRun)]
    if len(geo) != 1:
        raise ValueError(f"result must come from a design behind one GeoDNS (multi_region()); got {len(geo)}")
    rates = result.status_rates()
    return {**geo[0].figures(), "timeout_rate": rates["timeout_rate"], "rejected_rate": rates["rejected_rate"]}


def datacentre_panel(mode="active-active", datacentres=2, load_percent=40, *, seed=0):
    """Chapter 09's panel: mode, number of sites, each serving site's utilisation; dc-1 dies.

    >>> box = datacentre_panel()  # doctest: +SKIP
    """
    return PANEL.show(mode=mode, datacentres=datacentres, load_percent=load_percent, seed=seed)


PANEL = panels.register_panel(panels.Panel(
    "data centre outage", "09", outage_view, caption=CAPTION,
    controls={"mode": panels.choice(MODES, "mode", kind="toggle"), "datacentres": panels.integer(2, 3, "sites"),
              "load_percent": panels.integer(10, 90, "each site busy (%)", step=5)},
    defaults={"mode": "active-active", "datacentres": 2, "load_percent": 40},
    examples=({"load_percent": 70}, {"mode": "active-passive", "load_percent": 70}, {"datacentres": 3})))
