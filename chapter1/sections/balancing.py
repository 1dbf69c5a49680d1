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

import altair as alt
import numpy as np
import pandas as pd

from ..core import validation as check
from .. import theory as analytic
from ..present import charts as charts
from ..architectures import dns_round_robin, load_balanced
from ..components.dns import DNS
from ..components.pool import POLICIES
from ..core.simulation import MAX_CLIENTS, simulate
from ..core.workload import Workload

SERVICE_MS = 50.0  # one request's work at a server (mean, exponential): 20 requests/s per worker
LABELS = {"random": "random", "round_robin": "round robin", "power_of_two": "power of two",
          "least_connections": "least connections", "weighted": "weighted", "ip_hash": "ip hash"}
THEORY_POLICIES = ("random", "round_robin", "power_of_two", "least_connections")
ALL_POLICIES = THEORY_POLICIES + ("weighted", "ip_hash")  # worst to best, then the ones without theory
POLICY_COLORS = alt.Scale(domain=[LABELS[p] for p in ALL_POLICIES],
                          range=["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b"])
LOAD_RANGE = (0.05, 0.95)
LATENCY_RANGE_MS = (40, 2_000)
KINDS = ("load balancer", "DNS round robin")


# -- policies against theory -------------------------------------------------------------------

def rate_for_load(load, servers, service_time_ms=SERVICE_MS):
    """Requests per second that keep ``servers`` one-worker servers busy a ``load`` share of the time.

    >>> rate_for_load(0.7, servers=8)
    112.0
    """
    check.number("load", load, low=0, high=1, low_open=True)
    check.number("servers", servers, low=1, high=1_000, integer=True)
    check.number("service_time_ms", service_time_ms, low=0, low_open=True)
    return load * servers * 1_000.0 / service_time_ms


def theory_ms(policy, load, servers, service_time_ms=SERVICE_MS):
    """Theory's mean time at the servers (ms) for ``policy`` at per-server ``load``; None for ip_hash.

    For ``"least_connections"`` this is one shared queue (M/M/n), a floor the policy comes close to.

    >>> round(theory_ms("least_connections", 0.8, servers=8), 1)
    64.3
    """
    rate = rate_for_load(load, servers, service_time_ms)
    stats = analytic.load_balancing(policy, rate, 1_000.0 / service_time_ms, servers)
    return None if stats is None else stats.mean_response_s * 1_000.0


def policy_pool(policy="round_robin", servers=8, slow=1.0, service_time_ms=SERVICE_MS, **options):
    """One-worker servers behind a load balancer; ``web-1`` is ``slow`` times slower than the others.

    ``slow=1`` gives identical servers, the case the theory covers.  The other options go to
    :func:`chapter1.architectures.load_balanced` (``health_check_interval_s``, ``weights``).

    >>> pool = policy_pool("weighted", servers=3, slow=2)
    >>> [s.capacity for s in pool["load balancer"].servers]
    [10.0, 20.0, 20.0]
    """
    check.number("slow", slow, low=1, high=100)
    arch = load_balanced(servers=servers, policy=policy, workers=1, service_time_ms=service_time_ms, **options)
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
    table = result.requests.iloc[int(warmup * len(result.requests)):]
    ok = table[table["status"] == "ok"]
    return float((ok["latency_ms"] - ok["dns_ms"]).mean()) if len(ok) else float("nan")


def theory_data(servers, policies=THEORY_POLICIES, loads=None, service_time_ms=SERVICE_MS):
    """Theory's mean time at the servers (ms) per policy over a grid of loads: policy, load, mean_ms.

    >>> table = theory_data(8)
    >>> sorted(table["policy"].unique())
    ['least connections', 'power of two', 'random', 'round robin']
    """
    check.number("servers", servers, low=1, high=1_000, integer=True)
    return _theory_data(servers, tuple(policies), None if loads is None else tuple(loads), service_time_ms).copy()


@functools.lru_cache(maxsize=64)
def _theory_data(servers, policies, loads, service_time_ms):
    grid = np.linspace(*LOAD_RANGE, 37) if loads is None else loads
    rows = [{"policy": LABELS[p], "load": float(load), "mean_ms": theory_ms(p, float(load), servers, service_time_ms)}
            for p in policies for load in grid]
    return pd.DataFrame([r for r in rows if r["mean_ms"] is not None and math.isfinite(r["mean_ms"])],
                        columns=["policy", "load", "mean_ms"])


def policy_sweep(policies=THEORY_POLICIES, loads=(0.3, 0.5, 0.7, 0.8, 0.9), servers=8, *, requests=10_000,
                 seeds=(0, 1)):
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
            arch = policy_pool(policy, servers)
            means = [server_time_ms(simulate(arch, Workload.from_rate(rate_for_load(load, servers)),
                                             requests=requests, seed=seed)) for seed in seeds]
            rows.append({"policy": LABELS[policy], "load": float(load), "mean_ms": float(np.mean(means)),
                         "spread_ms": float(np.ptp(means) / 2)})
    return pd.DataFrame(rows, columns=["policy", "load", "mean_ms", "spread_ms"])


def policies_chart(servers=8, simulated=None, *, current=None):
    """Mean time at the servers against load: one theory line per policy, simulated dots on top.

    ``simulated`` is a :func:`policy_sweep` table (or None); ``current`` a load to mark.

    >>> chart = policies_chart(8)
    """
    data = policies_data(servers, simulated, current=current)
    chart = _policies_chart(f"{servers} servers: time at the servers as load grows",
                            "lines: theory (for least connections, a floor) · dots: simulation")
    return chart.properties(datasets={k: charts._records(v) for k, v in data.items()})


def policies_data(servers, simulated=None, *, current=None):
    """The datasets :func:`policies_chart` draws: theory, labels, simulated, current."""
    return {"theory": theory_data(servers), "labels": _labels(servers),
            "simulated": simulated[["policy", "load", "mean_ms"]] if simulated is not None else [],
            "current": [{"load": current}] if current is not None else []}


@functools.lru_cache(maxsize=32)
def _policies_chart(title, subtitle):
    # Lines are labelled at their right ends instead of with a legend, which would cost a third of
    # a redraw; the axes get explicit ticks for the same reason.
    x = alt.X("load:Q", title="load: busy share of each server", scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%", values=[k / 5 for k in range(6)]))
    y = alt.Y("mean_ms:Q", title="mean time at the servers (ms)",
              scale=alt.Scale(type="log", domain=list(LATENCY_RANGE_MS)),
              axis=alt.Axis(values=[50, 100, 200, 500, 1_000, 2_000], format="~s"))
    color = alt.Color("policy:N", scale=POLICY_COLORS, legend=None)
    tooltip = ["policy:N", alt.Tooltip("load:Q", format=".0%"), alt.Tooltip("mean_ms:Q", format=",.0f")]
    return alt.layer(
        alt.Chart(alt.Data(name="theory")).mark_line(clip=True).encode(x=x, y=y, color=color, tooltip=tooltip),
        alt.Chart(alt.Data(name="labels")).mark_text(align="left", dx=5, fontWeight="bold", fontSize=11).encode(
            x=x, y=y, color=color, text="policy:N"),
        alt.Chart(alt.Data(name="simulated")).mark_point(filled=True, size=70, opacity=0.9, clip=True).encode(
            x=x, y=y, color=color, tooltip=tooltip),
        alt.Chart(alt.Data(name="current")).mark_rule(strokeDash=[4, 3], color="gray").encode(x="load:Q"),
    ).properties(width=charts.WIDTH, height=charts.HEIGHT, title=alt.Title(title, subtitle=subtitle))


@functools.lru_cache(maxsize=64)
def _labels(servers):
    """Each theory line's name at its right end, nudged apart where two ends are close on the log axis."""
    ends = theory_data(servers).groupby("policy", sort=False).tail(1).sort_values("mean_ms").reset_index(drop=True)
    y = list(np.log10(ends["mean_ms"]))
    for k in range(1, len(y)):  # at least 0.1 decades (about 13 px) above the label below
        y[k] = max(y[k], y[k - 1] + 0.1)
    return ends.assign(mean_ms=np.power(10, y))


# -- who is busy ---------------------------------------------------------------------------------

def server_loads(result):
    """One row per server: its share of the requests, its utilisation, its speed relative to the fastest.

    >>> result = simulate(policy_pool("round_robin", servers=2, slow=2), Workload.from_rate(8), requests=600)
    >>> server_loads(result)[["server", "share", "speed"]].round(2).values.tolist()
    [['web-1', 0.5, 0.5], ['web-2', 0.5, 1.0]]
    """
    members = _pool(result.architecture).members
    sent = result.requests["server"].value_counts(normalize=True)
    fastest = max(s.capacity for s in members)
    rows = [{"server": s.name, "share": float(sent.get(s.name, 0.0)), "utilization": result.utilization(s.name),
             "speed": s.capacity / fastest} for s in members]
    return pd.DataFrame(rows, columns=["server", "share", "utilization", "speed"])


@functools.lru_cache(maxsize=1)
def _loads_chart():
    y = alt.Y("server:N", title=None, sort=None)
    speed = alt.Color("kind:N", scale=alt.Scale(domain=["normal", "slower"], range=["#6baed6", "#fd8d3c"]),
                      legend=None)  # the subtitle explains the colours: a legend would cost a fifth of a redraw
    tooltip = ["server:N", alt.Tooltip("utilization:Q", format=".0%"), alt.Tooltip("share:Q", format=".1%")]
    bars = alt.Chart(alt.Data(name="servers")).mark_bar().encode(
        x=alt.X("utilization:Q", title="busy share of the server", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", values=[k / 5 for k in range(6)])), y=y, color=speed, tooltip=tooltip)
    target = alt.Chart(alt.Data(name="target")).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="load:Q")
    return alt.layer(bars, target).properties(width=charts.WIDTH * 0.7, height=charts.HEIGHT, title=alt.Title(
        "How busy each server is", subtitle=["orange: the slower server · dashed: each server's load",
                                             "if the traffic were shared out by speed"]))


def _pool(architecture):
    """The one load balancer or DNS round robin of ``architecture``."""
    pools = [c for c in architecture.components if hasattr(c, "members")]
    if len(pools) != 1:
        raise ValueError(f"architecture must have exactly one pool of servers; {architecture.name!r} has {len(pools)}")
    return pools[0]


BALANCER_CAPTION = (
    "<small><b>Left:</b> mean time at the servers as load grows; lines are theory for identical servers (for least "
    "connections, its floor: one shared queue), the dot is this run, the dashed line your load. <b>Right:</b> how "
    "busy each server was; orange is the slower server, the dashed line each server's load if the traffic were "
    "shared out by speed.</small>")
FAILOVER_CAPTION = (
    "<small>Share of requests failing after web-2 dies: bars are the simulation (2-second windows), the line is the "
    "expected share; dashed lines mark the death, the health check that notices it and, with DNS, the expiry of "
    "the last cached answer.</small>")


# -- the policies panel --------------------------------------------------------------------------

def balancer_panel(policy="round_robin", servers=8, load_percent=70, slow=1, *, requests=None, seed=0):
    """Chapter 04's first panel: policy, number of servers, load, and one slower server; theory for every policy.

    >>> box = balancer_panel()  # doctest: +SKIP
    """
    import ipywidgets as w

    from ..present import panels as widgets

    check.choice("policy", policy, tuple(POLICIES))
    controls = {
        "policy": w.Dropdown(options=[(LABELS[p], p) for p in POLICIES], value=policy, description="policy"),
        "servers": widgets.int_slider(servers, 2, 16, "servers"),
        "load_percent": widgets.int_slider(load_percent, 10, 95, "load (%)", step=5),
        "slow": widgets.int_slider(slow, 1, 4, "web-1 slower by (x)"),
    }
    requests = widgets.DEFAULT_REQUESTS if requests is None else requests
    return widgets.panel(controls, functools.partial(balancer_view, requests=requests, seed=seed))


def balancer_view(policy, servers, load_percent, slow=1, *, requests=5_000, seed=0):
    """What the policies panel shows for one setting: (chart as SVG, headline HTML); one simulation.

    ``load_percent`` is the load the servers would carry if they were all as fast as the fastest;
    a slower web-1 makes the real load higher.
    """
    check.number("load_percent", load_percent, low=0, high=100, low_open=True)
    load = load_percent / 100
    arch = policy_pool(policy, servers, slow=slow)
    result = simulate(arch, Workload.from_rate(rate_for_load(load, servers)), requests=requests, seed=seed)
    measured = server_time_ms(result)
    loads = server_loads(result).assign(kind=lambda t: np.where(t["speed"] < 1, "slower", "normal"))
    capacity = sum(s.capacity for s in arch["load balancer"].servers)
    even = result.workload.rate / capacity
    point = [] if not math.isfinite(measured) else [{"policy": LABELS[policy], "load": load, "mean_ms": measured}]
    datasets = {**policies_data(servers, current=load), "simulated": point,
                "servers": loads, "target": [{"load": min(even, 1.0)}]}
    headline = balancer_headline(result, policy, load, measured, loads) + BALANCER_CAPTION
    return _balancer_template().svg(datasets), headline


@functools.lru_cache(maxsize=1)
def _balancer_template():
    left = _policies_chart("Time at the servers as load grows",
                           "lines: theory, identical servers · dot: this run")
    # Titles are captioned in HTML under the sliders (BALANCER_CAPTION): they are a costly part of a redraw.
    return charts.Template(alt.hconcat(left, _loads_chart()).resolve_scale(color="independent"), titles=False)


def balancer_headline(result, policy, load, measured_ms, loads):
    """The figures under the policies panel's sliders."""
    s, servers = result.summary(), len(loads)
    theory = theory_ms(policy, load, servers) if (loads["speed"] == 1).all() else None
    failed = s["error_rate"] + s["timeout_rate"] + s["rejected_rate"]
    if theory is None:
        why = "no closed form for ip hash" if policy == "ip_hash" else "theory assumes identical servers"
        against = f" ({why})"
    elif math.isinf(theory):
        against = " (theory: overloaded)"
    else:
        floor = " floor, one shared queue" if policy == "least_connections" else ""
        against = f" (theory{floor}: <b>{theory:,.0f} ms</b>)"
    busiest = loads.loc[loads["utilization"].idxmax()]
    text = (f"<b>{result.workload.rate:,.0f}</b> req/s over <b>{servers}</b> servers · "
            f"policy <b>{LABELS[policy]}</b> · mean time at the servers <b>{measured_ms:,.0f} ms</b>{against}"
            f" · p95 <b>{s['p95_ms']:,.0f} ms</b> · busiest: {busiest['server']} at "
            f"<b>{busiest['utilization']:.0%}</b> · failed <b>{failed:.1%}</b>")
    return f"<div>{text}<br><small>{charts.budget_note(result)}</small></div>"


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
    if kind == "load balancer":
        arch = load_balanced(servers=servers, health_check_interval_s=interval_s)
    else:
        arch = dns_round_robin(servers=servers, ttl_s=ttl_s, health_check_interval_s=interval_s)
    return arch.fail(victim, at_s=fail_at_s)


def detected_at(fail_at_s, interval_s):
    """When health checks at 0, h, 2h, ... first see a server that died at ``fail_at_s``.

    >>> detected_at(22.5, 10), detected_at(20, 10)
    (30.0, 20.0)
    """
    check.number("fail_at_s", fail_at_s, low=0)
    check.number("interval_s", interval_s, low=0, low_open=True)
    return math.ceil(fail_at_s / interval_s) * float(interval_s)


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


def failed_share(t, kind, servers, fail_at_s, interval_s, ttl_s=0.0, hit_ratio=0.0):
    """Expected share of requests failing at time ``t`` after one of ``servers`` servers dies at ``fail_at_s``.

    Until the health check that notices (at :func:`detected_at`), one request in ``servers`` goes to
    the dead server: a load balancer sends it its turn, and DNS keeps handing out its address.  After
    that a load balancer sends it nothing.  With DNS, a request that a client sends from a cached
    answer obtained before the check still goes there: requests from a cache are a ``hit_ratio``
    share, and the age of the answer they use is uniform over [0, ttl_s], so the share falls in a
    straight line to zero one TTL after the check.

    >>> [round(failed_share(t, "DNS round robin", 4, 22.5, 10, ttl_s=60, hit_ratio=0.75), 4) for t in (20, 25, 60)]
    [0.0, 0.25, 0.0938]
    """
    check.choice("kind", kind, KINDS)
    check.number("servers", servers, low=1, integer=True)
    check.number("hit_ratio", hit_ratio, low=0, high=1)
    check.number("ttl_s", ttl_s, low=0)
    seen = detected_at(fail_at_s, interval_s)
    if t < fail_at_s:
        return 0.0
    if t < seen:
        return 1 / servers
    if kind == "load balancer" or ttl_s == 0:
        return 0.0
    return max(0.0, 1 - (t - seen) / ttl_s) * hit_ratio / servers


def expected_failed(rate, servers, fail_at_s, interval_s, kind="load balancer", ttl_s=0.0, hit_ratio=0.0):
    """Expected number of failed requests after one server dies: the integral of :func:`failed_share` x rate.

    rate/n x (time until the check) for a load balancer; DNS adds rate/n x hit_ratio x TTL/2.
    (A handful more were inside the server when it died.)

    >>> round(expected_failed(100, 4, 22.5, 10, "DNS round robin", ttl_s=60, hit_ratio=0.75))
    750
    """
    check.number("rate", rate, low=0)
    seen = detected_at(fail_at_s, interval_s)
    check.choice("kind", kind, KINDS)
    tail = 0.0 if kind == "load balancer" else hit_ratio * ttl_s / 2
    return rate / servers * (seen - fail_at_s + tail)


def failover_data(result, kind, interval_s, ttl_s=0.0, fail_at_s=FAIL_AT_S, bins=50):
    """The datasets of the failover chart: simulated share failed per window, theory line, event marks."""
    servers = len(_pool(result.architecture).servers)
    hit = cache_hit_ratio(result.workload.rate, ttl_s, result.workload.users) if kind != "load balancer" else 0.0
    table = result.timeline(bins)
    width = result.duration_s / bins
    windows = table[["t_s", "error_share"]].assign(start=table["t_s"] - width / 2, end=table["t_s"] + width / 2)
    seen = detected_at(fail_at_s, interval_s)
    times = np.unique(np.concatenate([np.linspace(0, result.duration_s, 201),
                                      [fail_at_s, seen, min(seen + ttl_s, result.duration_s)]]))
    times = np.sort(np.concatenate([times, [fail_at_s - 1e-9, seen - 1e-9]]))  # vertical steps
    theory = pd.DataFrame({"t_s": times, "share": [failed_share(t, kind, servers, fail_at_s, interval_s, ttl_s, hit)
                                                   for t in times]})
    marks = [{"t_s": fail_at_s, "event": "server dies"}, {"t_s": seen, "event": "check notices"}]
    if kind != "load balancer" and ttl_s > 0:
        marks.append({"t_s": seen + ttl_s, "event": "last cached answer expires"})
    return {"windows": windows, "failover_theory": theory,
            "events": [m for m in marks if m["t_s"] <= result.duration_s]}


@functools.lru_cache(maxsize=1)
def _failover_chart():
    x = alt.X("t_s:Q", title="simulated time (s)")
    y = alt.Y("share:Q", title="share of requests failing", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 0.6]))
    bars = alt.Chart(alt.Data(name="windows")).mark_rect(color="#d62728", opacity=0.45).encode(
        x="start:Q", x2="end:Q", y=alt.Y("error_share:Q"), y2=alt.datum(0),
        tooltip=[alt.Tooltip("t_s:Q", format=",.1f"), alt.Tooltip("error_share:Q", format=".1%")])
    line = alt.Chart(alt.Data(name="failover_theory")).mark_line(color="#333", strokeWidth=2).encode(x=x, y=y)
    events = alt.Chart(alt.Data(name="events")).mark_rule(strokeDash=[4, 3], color="#777").encode(
        x="t_s:Q", tooltip=["event:N", "t_s:Q"])
    def labels(side):  # "server dies" to the left of its line, later events to the right
        return alt.Chart(alt.Data(name="events")).transform_filter(
            alt.datum.event == "server dies" if side == "left" else alt.datum.event != "server dies").mark_text(
            align="right", dx=-4, angle=270, baseline="bottom" if side == "left" else "top", fontSize=10,
            color="#555").encode(x="t_s:Q", y=alt.datum(0.6), text="event:N")

    title = alt.Title("Requests failing after web-2 dies",
                      subtitle="bars: simulation (2-second windows) · line: expected share")
    return alt.layer(bars, line, events, labels("left"), labels("right")).properties(
        width=int(charts.WIDTH * 1.6), height=charts.HEIGHT, title=title)


def failover_chart(result, kind, interval_s, ttl_s=0.0, fail_at_s=FAIL_AT_S, bins=50):
    """Share of requests failing over time after a server dies: simulated windows and the expected share.

    >>> result = simulate(failover_pool(), Workload.from_rate(FAILOVER_RATE), requests=500)
    >>> chart = failover_chart(result, "load balancer", 10)
    """
    data = failover_data(result, kind, interval_s, ttl_s, fail_at_s, bins)
    return _failover_chart().properties(datasets={k: charts._records(v) for k, v in data.items()})


def failover_panel(kind="load balancer", servers=4, interval_s=10, ttl_s=30, *, requests=None, seed=0):
    """Chapter 04's second panel: load balancer or DNS round robin, health-check interval, DNS TTL.

    >>> box = failover_panel()  # doctest: +SKIP
    """
    import ipywidgets as w

    from ..present import panels as widgets

    check.choice("kind", kind, KINDS)
    controls = {
        "kind": w.ToggleButtons(options=list(KINDS), value=kind, description="in front"),
        "servers": widgets.int_slider(servers, 2, 8, "servers"),
        "interval_s": widgets.int_slider(interval_s, 1, 30, "health check every (s)"),
        "ttl_s": widgets.int_slider(ttl_s, 0, 60, "DNS TTL (s)", step=5),
    }
    requests = widgets.DEFAULT_REQUESTS if requests is None else requests
    return widgets.panel(controls, functools.partial(failover_view, requests=requests, seed=seed))


def failover_view(kind, servers, interval_s, ttl_s, *, requests=5_000, seed=0):
    """What the failover panel shows for one setting: (chart as SVG, headline HTML); one simulation."""
    arch = failover_pool(kind, servers, interval_s, ttl_s)
    result = simulate(arch, Workload.from_rate(FAILOVER_RATE), requests=requests, seed=seed)
    ttl = ttl_s if kind != "load balancer" else 0.0
    datasets = failover_data(result, kind, interval_s, ttl)
    return _failover_template().svg(datasets), failover_headline(result, kind, interval_s, ttl) + FAILOVER_CAPTION


@functools.lru_cache(maxsize=1)
def _failover_template():
    return charts.Template(_failover_chart(), titles=False)  # captioned in HTML: FAILOVER_CAPTION


def failover_headline(result, kind, interval_s, ttl_s=0.0, fail_at_s=FAIL_AT_S):
    """The figures under the failover panel's sliders: failed requests, simulated and expected."""
    servers = len(_pool(result.architecture).servers)
    hit = cache_hit_ratio(result.workload.rate, ttl_s, result.workload.users) if kind != "load balancer" else 0.0
    expected = expected_failed(result.workload.rate, servers, fail_at_s, interval_s, kind, ttl_s, hit)
    failed = int((result.requests["status"] != "ok").sum())
    seen = detected_at(fail_at_s, interval_s)
    text = (f"web-2 dies at <b>{fail_at_s:g} s</b>; the {'balancer' if kind == 'load balancer' else 'DNS server'}'s "
            f"health check notices at <b>{seen:g} s</b>")
    if kind != "load balancer":
        text += (f"; clients send <b>{hit:.0%}</b> of their requests from a cached answer, the last of which "
                 f"expires at <b>{seen + ttl_s:g} s</b>")
    text += f" · failed requests: <b>{failed:,}</b> (expected <b>{expected:,.0f}</b>)"
    return f"<div>{text}<br><small>{charts.budget_note(result)}</small></div>"


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
                counts.append(int((result.requests["status"] != "ok").sum()))
                expectations.append(expected_failed(FAILOVER_RATE, servers, fail_at, h, kind, ttl, hit))
            rows.append({"kind": kind, "interval_s": float(h), "ttl_s": ttl, "failed": float(np.mean(counts)),
                         "expected": float(np.mean(expectations))})
    return pd.DataFrame(rows, columns=["kind", "interval_s", "ttl_s", "failed", "expected"])


def detection_chart(table):
    """Failed requests per server death against the health-check interval: expected lines, simulated dots.

    ``table`` is a :func:`detection_sweep` table.

    >>> chart = detection_chart(detection_sweep([5], ["load balancer"], deaths=1, requests=1_000))
    """
    kinds = alt.Scale(domain=list(KINDS), range=["#1f77b4", "#d62728"])
    x = alt.X("interval_s:Q", title="health check every (s)")
    tooltip = ["kind:N", "interval_s:Q", alt.Tooltip("failed:Q", format=",.0f"),
               alt.Tooltip("expected:Q", format=",.0f")]
    line = alt.Chart().mark_line().encode(x=x, y=alt.Y("expected:Q", title="failed requests per server death"),
                                          color=alt.Color("kind:N", scale=kinds, title=None), tooltip=tooltip)
    dots = alt.Chart().mark_point(filled=True, size=70).encode(
        x=x, y="failed:Q", color=alt.Color("kind:N", scale=kinds), tooltip=tooltip)
    ttl = table["ttl_s"].max() if len(table) else 0
    note = f" · DNS TTL {ttl:g} s" if ttl > 0 else ""
    return alt.layer(line, dots, data=table).properties(width=charts.WIDTH, height=charts.HEIGHT, title=alt.Title(
        "The cost of noticing late",
        subtitle=f"{FAILOVER_RATE:g} req/s{note} · lines: expected · dots: simulation"))
