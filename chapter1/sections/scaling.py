"""Chapter 03: scaling up (one bigger box) against scaling out (more boxes behind a load balancer).

**Cost model** (stated once, used everywhere): boxes come in sizes of 2, 4, ..., 128 cores
(:data:`CATALOGUE`); a 2-core box costs $50 a month, and each doubling of the cores multiplies
the price by 2.5, so price = 50 x (cores / 2) ^ log2(2.5).  A core costs more the bigger the box,
and no box on sale has more than 128 cores (:data:`MAX_CORES`).  A managed load balancer costs
$25 a month.  Every core serves a request in 50 ms on average (20 requests per second).

**Availability model**: every box is up 99.5 % of the time, the balancer 99.99 %; they fail
independently.  The scaled-out site is up while the balancer is up *and* at least one box is.

>>> box_price(2), box_price(4), box_price(128)
(50.0, 125.0, 12207.03)
>>> biggest_box(budget=2_000), boxes_for(budget=2_000, cores=8)
(32, 6)
"""

import functools
import math
from dataclasses import replace

import altair as alt
import numpy as np
import pandas as pd

from ..core import validation as check
from .. import theory as analytic
from ..present import charts as charts
from ..architectures import load_balanced, single_server
from ..core.component import Outage
from ..sections.database_tier import simulated_latency  # the same long form serves both chapters
from ..core.simulation import simulate
from ..core.workload import Workload

CATALOGUE = (2, 4, 8, 16, 32, 64, 128)  # cores of the boxes on sale
MAX_CORES = CATALOGUE[-1]
BASE_CORES, BASE_PRICE = 2, 50.0        # the smallest box: 2 cores for $50 a month
PRICE_STEP = 2.5                        # doubling the cores multiplies the price by this
BALANCER_PRICE = 25.0                   # $ a month for a managed load balancer
SERVICE_MS = 50.0                       # one core: 20 requests per second
SERVER_AVAILABILITY, BALANCER_AVAILABILITY = 0.995, 0.9999
SMALL_BOXES = (4, 8, 16, 32)            # the sizes the panel offers for scaling out
USERS_RANGE = (100_000, 10_000_000)
LATENCY_RANGE_MS = (40, 5_000)
UP, OUT = "one big box", "small boxes"


# -- the cost model ------------------------------------------------------------------------------

def box_price(cores):
    """Monthly price ($) of a box with ``cores`` cores: $50 for 2 cores, x2.5 for each doubling.

    >>> box_price(8), box_price(16)
    (312.5, 781.25)
    """
    check.number("cores", cores, low=1, high=MAX_CORES)
    return round(BASE_PRICE * PRICE_STEP ** math.log2(cores / BASE_CORES), 2)  # to the cent


def price_table():
    """The catalogue: cores, price a month, price per core, capacity (req/s) and the users it can serve.

    >>> price_table()["per_core"].round(1).tolist()
    [25.0, 31.2, 39.1, 48.8, 61.0, 76.3, 95.4]
    """
    per_user = Workload().per_user_rate
    rows = [{"cores": c, "price": box_price(c), "per_core": box_price(c) / c, "capacity_rps": c * 1_000 / SERVICE_MS,
             "saturates_at_users": c * 1_000 / SERVICE_MS / per_user} for c in CATALOGUE]
    return pd.DataFrame(rows)


def biggest_box(budget):
    """Cores of the biggest box in the catalogue that ``budget`` ($ a month) buys; at most :data:`MAX_CORES`.

    >>> biggest_box(300), biggest_box(1_000_000)
    (4, 128)
    """
    check.number("budget", budget, low=BASE_PRICE)
    return max(c for c in CATALOGUE if box_price(c) <= budget)


def boxes_for(budget, cores):
    """How many boxes of ``cores`` cores ``budget`` ($ a month) buys after paying for a load balancer.

    >>> boxes_for(1_000, cores=4)
    7
    """
    check.number("budget", budget, low=0)
    return max(0, math.floor((budget - BALANCER_PRICE) / box_price(cores) + 1e-9))


# -- the two designs -----------------------------------------------------------------------------

def scale_up(cores):
    """One box with ``cores`` cores (one worker each): the single server of chapter 01, made bigger.

    >>> scale_up(32)["server"].capacity
    640.0
    """
    check.number("cores", cores, low=1, high=MAX_CORES, integer=True)
    return replace(single_server(workers=cores, service_time_ms=SERVICE_MS), name=f"one big box: {cores} cores")


def scale_out(servers, cores):
    """``servers`` boxes of ``cores`` cores behind a load balancer that sends each request to the least busy.

    >>> [c.name for c in scale_out(2, 8).components]
    ['dns', 'load balancer', 'web-1', 'web-2']
    """
    check.number("cores", cores, low=1, high=MAX_CORES, integer=True)
    arch = load_balanced(servers=servers, policy="least_connections", workers=cores, service_time_ms=SERVICE_MS)
    return replace(arch, name=f"{servers} {'box' if servers == 1 else 'boxes'} x {cores} cores behind a load balancer")


def designs_for(budget, box_cores=8):
    """The two ways to spend ``budget``: the biggest box it buys, or as many ``box_cores`` boxes as fit.

    At least one small box, even when the budget does not stretch to it (see :func:`monthly_cost`).

    >>> {label: arch.name for label, arch in designs_for(2_000).items()}
    {'one big box': 'one big box: 32 cores', 'small boxes': '6 boxes x 8 cores behind a load balancer'}
    """
    check.number("box_cores", box_cores, low=1, high=MAX_CORES, integer=True)
    return {UP: scale_up(biggest_box(budget)), OUT: scale_out(max(1, boxes_for(budget, box_cores)), box_cores)}


def design_table(designs, workload):
    """One row per design: boxes, cores, monthly cost, capacity, users at saturation, theory's latency
    and load at ``workload``, availability and hours down a year.

    >>> table = design_table(designs_for(2_000), Workload(users=1_000_000))
    >>> table[["design", "boxes", "cores", "cost"]].values.tolist()
    [['one big box', 1, 32, 1953.12], ['small boxes', 6, 48, 1900.0]]
    """
    rows = []
    for label, arch in designs.items():
        figures, up = theory(arch, workload), availability(arch)
        rows.append({"design": label, "boxes": len(_servers(arch)[0]), "cores": cores(arch),
                     "cost": round(monthly_cost(arch), 2), "capacity_rps": cores(arch) * 1_000 / SERVICE_MS,
                     "saturates_at_users": saturation_users(arch), "load": figures["utilization"],
                     "mean_ms": figures["mean_ms"], "p95_ms": figures["p95_ms"], "availability": up,
                     "hours_down_a_year": analytic.downtime_per_year(up)})
    return pd.DataFrame(rows)


def _servers(architecture):
    """The boxes of a design (the one server, or the balanced pool's servers) and its balancer, if any."""
    pools = [c for c in architecture.tiers if hasattr(c, "members")]
    if pools:
        return list(pools[0].members), pools[0]
    return [t for t in architecture.tiers if hasattr(t, "workers")], None


def monthly_cost(architecture):
    """What a design costs a month ($): its boxes at catalogue prices, plus the balancer if it has one.

    >>> monthly_cost(scale_out(6, 8))
    1900.0
    """
    boxes, balancer = _servers(architecture)
    return sum(box_price(b.workers) for b in boxes) + (BALANCER_PRICE if balancer is not None else 0.0)


def cores(architecture):
    """Cores (workers) of all the design's boxes together.

    >>> cores(scale_out(6, 8)), cores(scale_up(32))
    (48, 32)
    """
    return sum(b.workers for b in _servers(architecture)[0])


def availability(architecture, server=SERVER_AVAILABILITY, balancer=BALANCER_AVAILABILITY):
    """Share of time a design can answer: one box alone, or the balancer in series with its boxes in parallel.

    >>> round(availability(scale_up(32)), 4), round(availability(scale_out(2, 8)), 6)
    (0.995, 0.999875)
    """
    boxes, pool = _servers(architecture)
    if pool is None:
        return analytic.availability_series(*[server] * len(boxes))
    return analytic.availability_series(balancer, analytic.availability_parallel(*[server] * len(boxes)))


def theory(architecture, workload, percents=(95,)):
    """Theory's latency (ms) and utilisation for a design; inf latencies when it is overloaded.

    One box with c cores is an M/M/c queue.  A pool of n boxes with k cores each behind a least-
    connections balancer behaves very nearly as one shared queue of n x k workers (M/M/nk): with
    4 or more cores per box the simulated mean and p95 stay within 3 % of it up to 85 % load.
    The DNS lookup is added as in :func:`chapter1.analytic.predict`.

    >>> round(theory(scale_up(32), Workload(users=1_000_000))["utilization"], 3)
    0.723
    """
    boxes, _ = _servers(architecture)
    if len({(b.workers, b.service_time_ms) for b in boxes}) != 1:
        raise ValueError("theory covers designs whose boxes are all alike; got boxes of different sizes")
    box, dns = boxes[0], architecture.dns
    miss = 0.0 if dns is None else 1 - dns.hit_ratio(workload.per_user_rate)
    lookup_s = 0.0 if dns is None else dns.lookup_ms / 1_000.0
    mu, c = box.service_rate, box.workers * len(boxes)
    queue = analytic.mmc(workload.rate, mu, c)
    result = {"utilization": queue.utilization, "mean_ms": (miss * lookup_s + queue.mean_response_s) * 1_000.0}
    for q in percents:
        result[f"p{q}_ms"] = _percentile_s(q, queue, workload.rate, mu, c, lookup_s, miss) * 1_000.0
    return result


def _percentile_s(percent, queue, rate, mu, c, delay_s, delay_share):
    """:func:`chapter1.analytic.response_time_percentile` with the queue's P(wait) computed once.

    (With hundreds of workers, Erlang C costs hundreds of steps, and a percentile search needs
    about a hundred survival values: computing it once keeps a theory curve to milliseconds.)
    """
    if not queue.stable:
        return math.inf
    theta = c * mu - rate

    def one(t):  # P(response > t) in the M/M/c queue: no wait (exp(mu)), or a wait (exp(theta)) then service
        if t <= 0:
            return 1.0
        if abs(theta - mu) < 1e-12 * mu:
            after_wait = (1 + mu * t) * math.exp(-mu * t)
        else:
            after_wait = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1 - queue.p_wait) * math.exp(-mu * t) + queue.p_wait * after_wait

    target = 1 - percent / 100
    low, high = 0.0, delay_s + 1 / mu
    while (1 - delay_share) * one(high) + delay_share * one(high - delay_s) > target:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        if (1 - delay_share) * one(mid) + delay_share * one(mid - delay_s) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def saturation_users(architecture, **workload_options):
    """Daily active users at which a design's cores are all busy.

    >>> round(saturation_users(scale_up(128)))
    5529600
    """
    return cores(architecture) * 1_000.0 / SERVICE_MS / Workload(**workload_options).per_user_rate


# -- charts --------------------------------------------------------------------------------------

def latency_data(designs, users_range=USERS_RANGE, points=50):
    """Theory's mean and p95 (ms) for each design (label -> architecture) over a log grid of users."""
    frames = [_latency_curve(arch, tuple(users_range), points).assign(design=label) for label, arch in designs.items()]
    return pd.concat(frames, ignore_index=True)[["users", "design", "statistic", "latency_ms"]]


@functools.lru_cache(maxsize=256)
def _latency_curve(architecture, users_range, points):
    ceiling = saturation_users(architecture)
    near = ceiling * np.array([0.9, 0.95, 0.98, 0.99])  # so each line climbs its wall instead of stopping short
    grid = np.geomspace(*users_range, points)
    rows = []
    for users in np.sort(np.concatenate([grid, near[(near > users_range[0]) & (near < users_range[1])]])):
        figures = theory(architecture, Workload(users=float(users)))
        rows += [{"users": users, "statistic": label, "latency_ms": figures[key]}
                 for key, label in charts.STATISTICS.items() if math.isfinite(figures[key])]
    return pd.DataFrame(rows, columns=["users", "statistic", "latency_ms"])


def sweep_designs(designs, users, *, requests=4_000, seed=0):
    """Simulate each design at each number of users: one summary row per (design, users).

    >>> sweep_designs({UP: scale_up(2)}, [1_000], requests=200)[["design", "users"]].values.tolist()
    [['one big box', 1000]]
    """
    rows = []
    for label, arch in designs.items():
        for u in users:
            summary = simulate(arch, Workload(users=u), requests=requests, seed=seed).summary()
            rows.append({"design": label, "users": u, **summary.to_dict()})
    return pd.DataFrame(rows)


def compare_data(designs, simulated=None, *, current=None, users_range=USERS_RANGE):
    """The datasets :func:`compare` draws: theory lines, simulated dots, walls (where each design is full),
    the catalogue's price per core and the two designs' picks from it."""
    # Each wall is labelled near the top, to its right (to its left near the right edge), one line apart.
    walls = [{"design": label, "users": saturation_users(arch), "label": f"{_short(label, arch)}: full",
              "label_ms": 3_800 if label == UP else 2_700,
              "side": "left" if saturation_users(arch) < users_range[1] / 3 else "right"}
             for label, arch in designs.items() if saturation_users(arch) < users_range[1]]
    picks = [{"design": label, "cores": _servers(arch)[0][0].workers,
              "per_core": box_price(_servers(arch)[0][0].workers) / _servers(arch)[0][0].workers,
              "label": _short(label, arch)} for label, arch in designs.items()]
    return {"theory": latency_data(designs, users_range),
            "simulated": simulated_latency(simulated) if simulated is not None else [],
            "walls": walls, "current": [{"users": current}] if current is not None else [],
            "catalogue": _catalogue(), "picks": picks}


def _short(label, arch):
    boxes, pool = _servers(arch)
    return f"1 x {boxes[0].workers} cores" if pool is None else f"{len(boxes)} x {boxes[0].workers} cores"


@functools.lru_cache(maxsize=1)
def _catalogue():
    return price_table()[["cores", "per_core"]]


STATISTIC_DASH = alt.Scale(domain=list(charts.STATISTICS.values()), range=[[1, 0], [5, 3]])
DESIGN_SHAPE = alt.Scale(domain=[UP, OUT], range=["square", "circle"])
DESIGN_COLOR = alt.Scale(domain=[UP, OUT], range=["#7b3294", "#2ca02c"])


@functools.lru_cache(maxsize=4)
def _compare_chart(users_range):
    # Direct labels and explicit ticks instead of legends: a legend costs a noticeable share of a redraw.
    decades = [10.0 ** k for k in range(8)]
    x = alt.X("users:Q", title="daily active users", scale=alt.Scale(type="log", domain=list(users_range)),
              axis=alt.Axis(format="~s", values=decades))
    y = alt.Y("latency_ms:Q", title="latency (ms)",
              scale=alt.Scale(type="log", domain=list(LATENCY_RANGE_MS), nice=False),
              axis=alt.Axis(values=[50, 100, 200, 500, 1_000, 2_000, 5_000], format="~s"))
    color = alt.Color("design:N", scale=DESIGN_COLOR, legend=None)
    dash = alt.StrokeDash("statistic:N", scale=STATISTIC_DASH, legend=None)
    tooltip = ["design:N", "statistic:N", alt.Tooltip("users:Q", format=",.0f"),
               alt.Tooltip("latency_ms:Q", format=",.0f")]
    latency = alt.layer(
        alt.Chart(alt.Data(name="walls")).mark_rule(strokeWidth=6, opacity=0.25).encode(
            x=alt.X("users:Q", scale=alt.Scale(type="log", domain=list(users_range))), color=color),
        *[alt.Chart(alt.Data(name="walls")).transform_filter(alt.datum.side == side).mark_text(
            align=side, dx=5 if side == "left" else -5, fontWeight="bold").encode(
            x="users:Q", y=alt.Y("label_ms:Q", scale=alt.Scale(type="log", domain=list(LATENCY_RANGE_MS))),
            text="label:N", color=color) for side in ("left", "right")],
        alt.Chart(alt.Data(name="theory")).mark_line(clip=True).encode(
            x=x, y=y, color=color, strokeDash=dash, detail="statistic:N", tooltip=tooltip),
        alt.Chart(alt.Data(name="simulated")).mark_point(filled=True, size=60, opacity=0.9, clip=True).encode(
            x=x, y=y, color=color, shape=alt.Shape("design:N", scale=DESIGN_SHAPE, legend=None), tooltip=tooltip),
        alt.Chart(alt.Data(name="current")).mark_rule(strokeDash=[4, 3], color="gray").encode(x="users:Q"),
    ).properties(width=charts.WIDTH, height=charts.HEIGHT, title=alt.Title(
        "Latency as users grow", subtitle=["solid: mean · dashed: p95 · lines: theory · dots: simulation",
                                           "purple: one big box · green: small boxes · band: full"]))
    cx = alt.X("cores:Q", title="cores in the box", scale=alt.Scale(type="log", base=2, domain=[2, 256]),
               axis=alt.Axis(values=list(CATALOGUE) + [256], format="d"))
    cy = alt.Y("per_core:Q", title="price per core ($ a month)", scale=alt.Scale(domain=[0, 110]),
               axis=alt.Axis(values=[0, 25, 50, 75, 100]))
    prices = alt.layer(
        alt.Chart(alt.Data(values=[{"cores": MAX_CORES, "end": 256}])).mark_rect(color="#d62728", opacity=0.1).encode(
            x="cores:Q", x2="end:Q"),
        alt.Chart(alt.Data(values=[{"cores": 181, "per_core": 55, "text": "no box"},
                                   {"cores": 181, "per_core": 47, "text": "this big"}])).mark_text(
            color="#d62728", fontSize=11).encode(x="cores:Q", y="per_core:Q", text="text:N"),
        alt.Chart(alt.Data(name="catalogue")).mark_line(point=True, color="#999").encode(
            x=cx, y=cy, tooltip=["cores:Q", alt.Tooltip("per_core:Q", format="$.1f")]),
        alt.Chart(alt.Data(name="picks")).mark_point(filled=True, size=160, opacity=1).encode(
            x=cx, y=cy, color=alt.Color("design:N", scale=DESIGN_COLOR, legend=None),
            shape=alt.Shape("design:N", scale=DESIGN_SHAPE, legend=None)),
        *[alt.Chart(alt.Data(name="picks")).transform_filter(alt.datum.design == design).mark_text(
            fontWeight="bold", **place).encode(
            x=cx, y=cy, text="label:N", color=alt.Color("design:N", scale=DESIGN_COLOR, legend=None))
          for design, place in ((UP, {"align": "right", "dx": -10, "dy": -2}),
                                (OUT, {"align": "left", "dx": 4, "dy": 16}))],
    ).properties(width=int(charts.WIDTH * 0.75), height=charts.HEIGHT, title=alt.Title(
        "Bigger boxes cost more per core", subtitle="price x 2.5 for each doubling of the cores"))
    return alt.hconcat(latency, prices, spacing=30).resolve_scale(color="independent", shape="independent")


def compare(designs, simulated=None, *, current=None, users_range=USERS_RANGE):
    """Latency as users grow for each design (theory lines, simulated dots), and the price of a core.

    ``designs`` maps :data:`UP` and :data:`OUT` to architectures (see :func:`designs_for`);
    ``simulated`` is a :func:`sweep_designs` table or None; ``current`` a users value to mark.

    >>> chart = compare(designs_for(2_000))
    """
    data = compare_data(designs, simulated, current=current, users_range=users_range)
    return _compare_chart(tuple(users_range)).properties(datasets={k: charts._records(v) for k, v in data.items()})


# -- the live panel ------------------------------------------------------------------------------

def scaling_panel(users=1_000_000, budget=2_000, box_cores=8, *, requests=None, seed=0):
    """Chapter 03's panel: users, a monthly budget, and the size of the small boxes; both designs compared.

    >>> box = scaling_panel()  # doctest: +SKIP
    """
    import ipywidgets as w

    from ..present import panels as widgets

    check.number("users", users, low=USERS_RANGE[0], high=USERS_RANGE[1])
    check.number("budget", budget, low=10 ** 2.5, high=10 ** 4.2)
    check.choice("box_cores", box_cores, SMALL_BOXES)
    users_slider = widgets.users_slider(users)
    users_slider.min, users_slider.max = math.log10(USERS_RANGE[0]), math.log10(USERS_RANGE[1])
    users_slider.step = 1 / 8
    controls = {
        "users": users_slider,
        "budget": w.FloatLogSlider(value=budget, base=10, min=2.5, max=4.2, step=0.05, description="budget ($/month)",
                                   readout_format=",.0f", continuous_update=False,
                                   style={"description_width": "initial"}),
        "box_cores": w.SelectionSlider(options=list(SMALL_BOXES), value=box_cores, description="small box (cores)",
                                       continuous_update=False, style={"description_width": "initial"}),
    }
    requests = widgets.DEFAULT_REQUESTS if requests is None else requests
    return widgets.panel(controls, functools.partial(scaling_view, requests=requests, seed=seed))


def scaling_view(users, budget, box_cores, *, requests=5_000, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML).

    Simulates the scaled-out design (one run of ``requests`` requests); the big box is drawn from its
    M/M/c theory, which chapter 01 checked against simulation.
    """
    designs = designs_for(budget, box_cores)
    result = simulate(designs[OUT], Workload(users=users), requests=requests, seed=seed)
    point = result.summary().to_frame().T.assign(users=users, design=OUT)
    datasets = compare_data(designs, point, current=users)
    return _panel_template().svg(datasets), headline(designs, result, budget)


@functools.lru_cache(maxsize=1)
def _panel_template():
    return charts.Template(_compare_chart(USERS_RANGE), titles=False)  # captioned in HTML: PANEL_CAPTION


PANEL_CAPTION = (
    "<small><b>Left:</b> latency as users grow; solid lines are theory's mean, dashed its p95, dots this run; "
    "purple is the one big box, green the small boxes; a shaded band marks where a design is full, the dashed "
    "grey line your users. <b>Right:</b> the price of a core in each box of the catalogue (x2.5 per doubling of "
    "the cores); red: no box this big.</small>")


def headline(designs, result, budget):
    """The figures under the panel's sliders: what the budget buys each way, latency, availability."""
    workload, s = result.workload, result.summary()
    parts = []
    for label, arch in designs.items():
        cost, up = monthly_cost(arch), availability(arch)
        over = " <b style='color:#d62728'>over budget</b>" if cost > budget + 1e-6 else ""
        figures = theory(arch, workload)
        load = figures["utilization"]
        if load >= 1:
            latency = "<b style='color:#d62728'>overloaded</b>: its queue grows for as long as the peak lasts"
        elif label == OUT:
            failed = s["error_rate"] + s["timeout_rate"] + s["rejected_rate"]
            latency = f"p95 <b>{s['p95_ms']:,.0f} ms</b> simulated"
            latency += f", failed <b>{failed:.1%}</b>" if failed else ""
        else:
            latency = f"p95 <b>{figures['p95_ms']:,.0f} ms</b> in theory"
        parts.append(f"<b>{label}</b> ({_short(label, arch)}, ${cost:,.0f}{over}): up to "
                     f"<b>{cores(arch) * 1_000 / SERVICE_MS:,.0f}</b> req/s, load <b>{load:.0%}</b>, {latency}; "
                     f"up <b>{up:.3%}</b> of the time (<b>{analytic.downtime_per_year(up):,.1f} h</b> down a year)")
    head = (f"<b>{workload.users:,.0f}</b> users send <b>{workload.rate:,.0f}</b> req/s at peak; "
            f"<b>${budget:,.0f}</b> a month buys:")
    return (f"<div>{head}<br>· {parts[0]}<br>· {parts[1]}<br><small>{charts.budget_note(result)}"
            f" (small boxes); the big box is drawn from theory</small><br>{PANEL_CAPTION}</div>")


# -- availability: servers that fail and recover --------------------------------------------------

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

    >>> from chapter1 import Server
    >>> a, b = Server(name="a").fail(0, 10), Server(name="b").fail(5, 20)
    >>> down_share([a, b], 100), down_share([a, b], 100, need="any")
    (0.05, 0.2)
    """
    check.choice("need", need, ("all", "any"))
    check.number("horizon_s", horizon_s, low=0, low_open=True)
    if not components:
        raise ValueError("components must hold at least one component; got none")
    times, steps = [], []
    for c in components:
        for o in c.outages:
            times += [min(o.start_s, horizon_s), min(o.end_s, horizon_s)]
            steps += [1, -1]
    if not times:
        return 0.0
    order = np.lexsort((steps, times))  # at equal times, recoveries (-1) before failures
    t, down = np.array(times)[order], np.cumsum(np.array(steps)[order])
    threshold = len(components) if need == "all" else 1
    spans = np.diff(np.append(t, horizon_s))
    return float(spans[down >= threshold].sum() / horizon_s)


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
    times, steps = [], []
    for c in boxes:
        for o in c.outages:
            times += [o.start_s, o.end_s]
            steps += [1, -1]
    outages = []
    if times:
        order = np.lexsort((steps, times))
        t, down = np.array(times)[order], np.cumsum(np.array(steps)[order])
        start = None
        for k in range(len(t)):
            if down[k] >= len(boxes) and start is None:
                start = t[k]
            elif down[k] < len(boxes) and start is not None:
                if t[k] > start:
                    outages.append(Outage(float(start), float(t[k])))
                start = None
        if start is not None:
            outages.append(Outage(float(start)))
    return replace(boxes[0], name="all boxes", outages=tuple(outages))


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
    x = alt.X("servers:Q", title="boxes behind the balancer", axis=alt.Axis(values=n, format="d"),
              scale=alt.Scale(domain=[0.8, max_servers + 0.2]))
    y = alt.Y("share:Q", title="share down (log scale)", scale=alt.Scale(type="log", domain=[1e-5, 0.3]),
              axis=alt.Axis(format=".3~%", values=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1]))
    line_colors = alt.Scale(domain=list(THEORY_LINES), range=["#999", "#1f77b4", "#d62728"])
    return alt.layer(
        alt.Chart(lines).mark_line().encode(
            x=x, y=y, color=alt.Color("what:N", scale=line_colors, title="theory",
                                      legend=alt.Legend(orient="right", labelLimit=260)),
            strokeDash=alt.StrokeDash("what:N", legend=None, scale=alt.Scale(
                domain=list(THEORY_LINES), range=[[4, 3], [1, 0], [2, 2]]))),
        alt.Chart(dots).mark_point(filled=True, size=80, opacity=0.85).encode(
            x=x, y=y, shape=alt.Shape("measure:N", title="simulation", legend=alt.Legend(labelLimit=340),
                                      scale=alt.Scale(range=["circle", "diamond", "square"])),
            color=alt.value("#333"), tooltip=["servers:Q", "measure:N", alt.Tooltip("share:Q", format=".3%")]),
    ).properties(width=charts.WIDTH, height=charts.HEIGHT, title=alt.Title(
        "More boxes, less downtime, until the balancer dominates",
        subtitle=f"boxes up {server_up:.0%} · balancer up {balancer_up:.0%} · "
                 f"health checks every {settings['interval_s']:g} s"))
