"""Chapter 04, second half: a server dies behind a load balancer or behind DNS round robin.

Behind a load balancer requests keep failing until its next health check; behind DNS round robin
until the clients' cached answers expire too.  ``chapter1.balancing`` re-exports every name here.

>>> detected_at(22.5, 10)
30.0
"""

import functools
import math

import numpy as np
import pandas as pd

from .. import DNS
from ..architectures import dns_round_robin, load_balanced
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import MAX_CLIENTS, simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from .single_server import run_seeds, spread

KINDS = ("load balancer", "DNS round robin")
__all__ = ["KINDS", "FAILOVER_RATE", "FAIL_AT_S", "FAILOVER_CAPTION", "FAILOVER", "failover_pool", "detected_at",
           "cache_hit_ratio", "failed_share", "failed_shares", "expected_failed", "failures", "failover_data",
           "failover_chart", "failover_panel", "failover_view", "failover_headline", "detection_sweep",
           "detection_chart", "overlaid_runs"]


def _pool(architecture):
    """The one load balancer or DNS round robin of ``architecture``."""
    pools = [c for c in architecture.components if hasattr(c, "members")]
    if len(pools) != 1:
        raise ValueError(f"architecture must have exactly one pool of servers; {architecture.name!r} has {len(pools)}")
    return pools[0]


FAILOVER_CAPTION = (
    "<small>Share of requests failing after web-2 dies: bars are the simulation (2-second windows), three runs "
    "drawn over each other (darker where they agree, the pale tops are run-to-run noise), the line is the expected "
    "share; dashed lines mark the death, the health check that notices it and, with DNS, the expiry of "
    "the last cached answer.</small>")


# -- failover: a server dies ---------------------------------------------------------------------

FAILOVER_RATE = 50.0   # requests per second in the failover panel: 5,000 requests cover 100 s
FAIL_AT_S = 22.5


def failover_pool(kind="load balancer", servers=4, interval_s=10.0, ttl_s=30.0, fail_at_s=FAIL_AT_S,
                  victim="web-2"):
    """``servers`` web servers behind a load balancer or DNS round robin; ``victim`` dies at ``fail_at_s``.

    Both check their servers every ``interval_s``; with DNS, clients cache an answer for ``ttl_s``.

    >>> [c.name for c in failover_pool("DNS round robin", servers=2).components]
    ['dns', 'web-1', 'web-2']
    """
    check.choice("kind", kind, KINDS)
    check.number("interval_s", interval_s, low=0, low_open=True, high=86_400)
    check.number("servers", servers, low=2, high=1_000, integer=True)  # one dies: at least one must be left
    if kind == "load balancer":
        arch = load_balanced(servers=servers, health_check_interval_s=interval_s)
    else:
        arch = dns_round_robin(servers=servers, ttl_s=ttl_s, health_check_interval_s=interval_s)
    return arch.fail(victim, at_s=fail_at_s)


def detected_at(fail_at_s, interval_s, fall=1):
    """When health checks at 0, h, 2h, ... take out a server that died at ``fail_at_s``: the first check
    that finds it down, plus ``fall - 1`` more failed checks when the balancer needs ``fall`` in a row.

    >>> detected_at(22.5, 10), detected_at(20, 10), detected_at(22.5, 10, fall=3)
    (30.0, 20.0, 50.0)
    """
    check.number("fail_at_s", fail_at_s, low=0)
    check.number("interval_s", interval_s, low=0, low_open=True)
    check.number("fall", fall, low=1, integer=True)
    return (math.ceil(fail_at_s / interval_s) + fall - 1) * float(interval_s)


def cache_hit_ratio(rate, ttl_s, users=None):
    """Share of requests a client sends from a cached DNS answer (no lookup), as the simulation's clients do.

    The ``rate`` is spread over ``min(users, 1,000)`` clients (``users`` defaults to the number
    :meth:`chapter1.Workload.from_rate` gives, always over 1,000 here); each caches for ``ttl_s``.

    >>> round(cache_hit_ratio(50, ttl_s=60), 3)     # 0.05 req/s per client: r*TTL / (1 + r*TTL) = 3/4
    0.75
    """
    check.number("rate", rate, low=0, low_open=True)
    clients = MAX_CLIENTS if users is None else max(1, min(MAX_CLIENTS, int(users)))
    return DNS(ttl_s=ttl_s).hit_ratio(rate / clients)


def failed_share(t, kind, servers, fail_at_s, interval_s, ttl_s=0.0, hit_ratio=0.0, fall=1):
    """Expected share of requests failing at time ``t`` after one of ``servers`` servers dies at ``fail_at_s``.

    Until the health check that notices (at :func:`detected_at`), one request in ``servers`` goes to
    the dead server: a load balancer sends it its turn, and DNS keeps handing out its address.  After
    that a load balancer sends it nothing.  With DNS, a request that a client sends from a cached
    answer obtained before the check still goes there: requests from a cache are a ``hit_ratio``
    share, and the age of the answer they use is uniform over [0, ttl_s], so the share falls in a
    straight line to zero one TTL after the check.  One in ``servers`` holds for policies blind to
    the servers' state (round robin, random); see :func:`trap_runs` for least connections.

    >>> [round(failed_share(t, "DNS round robin", 4, 22.5, 10, ttl_s=60, hit_ratio=0.75), 4) for t in (20, 25, 60)]
    [0.0, 0.25, 0.0938]
    """
    return float(failed_shares(np.array([t], dtype=float), kind, servers, fail_at_s, interval_s, ttl_s, hit_ratio,
                               fall)[0])


def failed_shares(times, kind, servers, fail_at_s, interval_s, ttl_s=0.0, hit_ratio=0.0, fall=1):
    """:func:`failed_share` at each of ``times`` (an array), in one pass.

    >>> failed_shares(np.array([20.0, 25.0, 60.0]), "load balancer", 4, 22.5, 10).tolist()
    [0.0, 0.25, 0.0]
    """
    check.choice("kind", kind, KINDS)
    check.number("servers", servers, low=1, integer=True)
    check.number("hit_ratio", hit_ratio, low=0, high=1)
    check.number("ttl_s", ttl_s, low=0)
    seen = detected_at(fail_at_s, interval_s, fall)
    times = np.asarray(times, dtype=float)
    if kind == "load balancer" or ttl_s == 0:
        tail = np.zeros(len(times))
    else:
        tail = np.maximum(0.0, 1 - (times - seen) / ttl_s) * hit_ratio / servers
    return np.where(times < fail_at_s, 0.0, np.where(times < seen, 1 / servers, tail))


def expected_failed(rate, servers, fail_at_s, interval_s, kind="load balancer", ttl_s=None, hit_ratio=None, *,
                    fall=1, users=None):
    """Expected number of failed requests after one server dies: the integral of :func:`failed_share` x rate.

    rate/n x (time until the server is taken out) for a load balancer whose policy is blind to the
    servers' state (round robin, random): on average h/2 after a random death, h/2 + (fall - 1) x h
    when ``fall`` failed checks in a row are needed.  DNS round robin adds rate/n x hit ratio x TTL/2;
    it needs ``ttl_s``, and ``hit_ratio`` defaults to the share of requests the simulation's clients
    send from a cached answer (:func:`cache_hit_ratio` at this ``rate`` and ``users``).  A load balancer
    has no TTL: giving one is an error.  (A handful more requests were inside the server when it died.)

    >>> round(expected_failed(100, 4, 22.5, 10, "DNS round robin", ttl_s=60, hit_ratio=0.75))
    750
    >>> round(expected_failed(100, 4, 22.5, 10, fall=3))          # two more failed checks: 20 s more
    688
    """
    check.number("rate", rate, low=0)
    check.number("servers", servers, low=1, integer=True)
    check.choice("kind", kind, KINDS)
    if kind == "load balancer":
        if ttl_s or hit_ratio:
            raise ValueError(f"ttl_s and hit_ratio are for kind='DNS round robin'; a load balancer has no DNS TTL; "
                             f"got ttl_s={ttl_s!r}, hit_ratio={hit_ratio!r}")
        tail = 0.0
    else:
        if ttl_s is None:
            raise ValueError("ttl_s is needed with kind='DNS round robin' (how long clients keep an answer); got None")
        check.number("ttl_s", ttl_s, low=0)
        if hit_ratio is None:
            hit_ratio = cache_hit_ratio(rate, ttl_s, users) if rate > 0 and ttl_s > 0 else 0.0
        check.number("hit_ratio", hit_ratio, low=0, high=1)
        tail = hit_ratio * ttl_s / 2
    seen = detected_at(fail_at_s, interval_s, fall)
    return rate / servers * (seen - fail_at_s + tail)


def failures(result):
    """How many requests of ``result`` failed (any status but ok).

    >>> failures(simulate(failover_pool(fail_at_s=2.0), Workload.from_rate(FAILOVER_RATE), requests=500)) > 0
    True
    """
    return int(np.count_nonzero(result.status_code != OK))


def failover_data(result, kind, interval_s, ttl_s=0.0, fail_at_s=FAIL_AT_S, bins=50):
    """The datasets of the failover chart: simulated share failed per window, theory line (each a dict of columns,
    name -> array, as a chart reads them), event marks."""
    servers = len(_pool(result.architecture).servers)
    hit = cache_hit_ratio(result.workload.rate, ttl_s, result.workload.users) if kind != "load balancer" else 0.0
    table = result.timeline_columns(bins, utilization=False)
    windows = _windows(table, result.duration_s / bins)
    seen = detected_at(fail_at_s, interval_s)
    times = np.unique(np.concatenate([np.linspace(0, result.duration_s, 201),
                                      [fail_at_s, seen, min(seen + ttl_s, result.duration_s)]]))
    times = np.sort(np.concatenate([times, [fail_at_s - 1e-9, seen - 1e-9]]))  # vertical steps
    theory = {"t_s": times, "share": failed_shares(times, kind, servers, fail_at_s, interval_s, ttl_s, hit)}
    marks = [{"t_s": fail_at_s, "event": "server dies"}, {"t_s": seen, "event": "check notices"}]
    if kind != "load balancer" and ttl_s > 0:
        marks.append({"t_s": seen + ttl_s, "event": "last cached answer expires"})
    return {"windows": windows, "failover_theory": theory,
            "events": [m for m in marks if m["t_s"] <= result.duration_s]}


def _windows(timeline, width):
    """A run's failing share per window with each window's bounds (a dict of columns), from its timeline's columns."""
    t_s = timeline["t_s"]
    return {"t_s": t_s, "error_share": timeline["error_share"], "start": t_s - width / 2, "end": t_s + width / 2}


@functools.lru_cache(maxsize=1, typed=True)
def _failover_chart():
    return charts.failures_over_time(0.6, charts.title(
        "Requests failing after web-2 dies", "bars: simulation (2-second windows) · line: expected share"),
        first_event="server dies")


def failover_chart(result, kind, interval_s, ttl_s=0.0, fail_at_s=FAIL_AT_S, bins=50):
    """Share of requests failing over time after a server dies: simulated windows and the expected share.

    >>> result = simulate(failover_pool(), Workload.from_rate(FAILOVER_RATE), requests=500)
    >>> chart = failover_chart(result, "load balancer", 10)
    """
    data = failover_data(result, kind, interval_s, ttl_s, fail_at_s, bins)
    return charts.with_data(_failover_chart(), data)


def failover_panel(kind="load balancer", servers=4, interval_s=10, ttl_s=30, *, requests=None, seed=0):
    """Chapter 04's second panel: load balancer or DNS round robin, health-check interval, DNS TTL.

    >>> box = failover_panel()  # doctest: +SKIP
    """
    check.choice("kind", kind, KINDS)
    return FAILOVER.show(kind=kind, servers=servers, interval_s=interval_s, ttl_s=ttl_s, requests=requests, seed=seed)


def failover_view(kind, servers, interval_s, ttl_s, *, requests=panels.DEFAULT_REQUESTS, seed=0):
    """What the failover panel shows for one setting: (chart as SVG, headline HTML); three runs, overlaid."""
    arch = failover_pool(kind, servers, interval_s, ttl_s)
    results = [simulate(arch, Workload.from_rate(FAILOVER_RATE), requests=requests, seed=s) for s in run_seeds(seed)]
    ttl = ttl_s if kind != "load balancer" else 0.0
    datasets = overlaid_runs([failover_data(r, kind, interval_s, ttl) for r in results])
    return _failover_template().svg(datasets), failover_headline(results, kind, interval_s, ttl)


def overlaid_runs(datasets):
    """The first run's chart datasets with every run's failing-share windows (dicts of columns), to be drawn over
    each other.

    >>> overlaid_runs([{"windows": {"t_s": np.array([1.0])}}, {"windows": {"t_s": np.array([2.0])}}])["windows"]
    {'t_s': array([1., 2.]), 'run': array([1, 2])}
    """
    windows = [d["windows"] for d in datasets]
    joined = {name: np.concatenate([w[name] for w in windows]) for name in windows[0]}
    runs = np.repeat(np.arange(1, len(windows) + 1), [len(next(iter(w.values()))) for w in windows])
    return {**datasets[0], "windows": {**joined, "run": runs}}


@functools.lru_cache(maxsize=1, typed=True)
def _failover_template():
    return charts.Template(_failover_chart(), titles=False)  # captioned in HTML: FAILOVER_CAPTION


def failover_headline(result, kind, interval_s, ttl_s=0.0, fail_at_s=FAIL_AT_S):
    """The figures under the failover panel's sliders: failed requests, simulated (one result, or a list of
    runs) and expected."""
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    result = results[0]
    servers = len(_pool(result.architecture).servers)
    hit = cache_hit_ratio(result.workload.rate, ttl_s, result.workload.users) if kind != "load balancer" else 0.0
    dns = {} if kind == "load balancer" else {"ttl_s": ttl_s, "hit_ratio": hit}
    expected = expected_failed(result.workload.rate, servers, fail_at_s, interval_s, kind, **dns)
    failed = [failures(r) for r in results]
    seen = detected_at(fail_at_s, interval_s)
    text = (f"web-2 dies at <b>{fail_at_s:g} s</b>; the {'balancer' if kind == 'load balancer' else 'DNS server'}'s "
            f"health check notices at <b>{seen:g} s</b>")
    if kind != "load balancer":
        text += (f"; clients send <b>{hit:.0%}</b> of their requests from a cached answer, the last of which "
                 f"expires at <b>{seen + ttl_s:g} s</b>")
    text += f" · failed requests: <b>{spread(failed)}</b> (expected <b>{expected:,.0f}</b>)"
    return panels.headline(text, result=result, caption=FAILOVER_CAPTION)


FAILOVER = panels.register_panel(panels.Panel(
    "failover", "04", failover_view, caption=FAILOVER_CAPTION,
    controls={"kind": panels.choice(KINDS, "in front", kind="toggle"), "servers": panels.integer(2, 8, "servers"),
              "interval_s": panels.integer(1, 30, "health check every (s)"),
              "ttl_s": panels.integer(0, 60, "DNS TTL (s)", step=5)},
    defaults={"kind": "load balancer", "servers": 4, "interval_s": 10, "ttl_s": 30}))


def detection_sweep(intervals=(2, 5, 10, 20, 30), kinds=KINDS, *, servers=4, ttl_s=30.0, deaths=4,
                    requests=5_000, seed=0):
    """Failed requests per server death against the health-check interval, simulated and expected.

    For each interval h the server dies at ``deaths`` moments spread evenly over one interval
    (so the time to the next check varies, as it does in life, and averages h/2).  The table
    holds the mean count over them (``failed``) and the expected mean (``expected``):
    rate/n x h/2 behind a load balancer, plus rate/n x hit ratio x TTL/2 behind DNS round robin.

    >>> detection_sweep([4], ["load balancer"], deaths=1, requests=1_500).columns.tolist()
    ['kind', 'interval_s', 'ttl_s', 'failed', 'expected']
    """
    check.number("deaths", deaths, low=1, integer=True)
    check.number("requests", requests, low=100, integer=True)
    rows = []
    for kind in kinds:
        ttl = ttl_s if kind != "load balancer" else 0.0
        hit = cache_hit_ratio(FAILOVER_RATE, ttl) if kind != "load balancer" else 0.0
        for h in intervals:
            check.number("intervals", h, low=0, low_open=True, high=3_600)
            counts, expectations = [], []
            for k in range(deaths):
                fail_at = h * math.ceil(10 / h) + h * (k + 0.5) / deaths  # after a check at >= 10 s
                arch = failover_pool(kind, servers, h, ttl_s, fail_at_s=fail_at)
                result = simulate(arch, Workload.from_rate(FAILOVER_RATE), requests=requests, seed=seed + k)
                counts.append(failures(result))
                dns = {} if kind == "load balancer" else {"ttl_s": ttl, "hit_ratio": hit}
                expectations.append(expected_failed(FAILOVER_RATE, servers, fail_at, h, kind, **dns))
            rows.append({"kind": kind, "interval_s": float(h), "ttl_s": ttl, "failed": float(np.mean(counts)),
                         "expected": float(np.mean(expectations))})
    return pd.DataFrame(rows, columns=["kind", "interval_s", "ttl_s", "failed", "expected"])


def detection_chart(table):
    """Failed requests per server death against the health-check interval: expected lines, simulated dots.

    ``table`` is a :func:`detection_sweep` table.

    >>> chart = detection_chart(detection_sweep([5], ["load balancer"], deaths=1, requests=1_000))
    """
    ttl = table["ttl_s"].max() if len(table) else 0
    note = f" · DNS TTL {ttl:g} s" if ttl > 0 else ""
    return charts.lines_and_dots(
        table, table, scales.linear_axis("x", "interval_s:Q", "health check every (s)"),
        scales.linear_axis("y", "expected:Q", "failed requests per server death"), dot_y="failed:Q",
        color=scales.color("kind:N", dict(zip(KINDS, ("blue", "red"))), legend=charts.legend()),
        tooltip=("kind:N", "interval_s:Q", ("failed:Q", ",.0f"), ("expected:Q", ",.0f")), heading=charts.title(
            "The cost of noticing late", f"{FAILOVER_RATE:g} req/s{note} · lines: expected · dots: simulation"))
