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
import importlib
import math
from dataclasses import replace

import pandas as pd

from .. import theory as analytic
from ..architectures import load_balanced, single_server
from ..core import validation as check
from ..core.workload import Workload
from ..present import charts, scales
from .database_tier import simulated_latency, sweep_designs  # noqa: F401  (the same sweep serves both chapters)

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
        result[f"p{q}_ms"] = analytic.response_time_percentile(q, workload.rate, mu, c, lookup_s, miss) * 1_000.0
    return result


def saturation_users(architecture, **workload_options):
    """Daily active users at which a design's cores are all busy.

    >>> round(saturation_users(scale_up(128)))
    5529600
    """
    return cores(architecture) * 1_000.0 / SERVICE_MS / Workload(**workload_options).per_user_rate


# -- charts --------------------------------------------------------------------------------------

def latency_data(designs, users_range=USERS_RANGE, points=50):
    """Theory's mean and p95 (ms) for each design (label -> architecture) over a log grid of users.

    >>> sorted(latency_data({UP: scale_up(8)}, points=5)["statistic"].unique())
    ['mean', 'p95']
    """
    return charts.design_curves(designs, users_range, points, model=theory, ceiling=saturation_users,
                                near=(0.9, 0.95, 0.98, 0.99))


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
            "catalogue": _catalogue().copy(), "picks": picks}


def _short(label, arch):
    boxes, pool = _servers(arch)
    return f"1 x {boxes[0].workers} cores" if pool is None else f"{len(boxes)} x {boxes[0].workers} cores"


@functools.lru_cache(maxsize=1)
def _catalogue():
    return price_table()[["cores", "per_core"]]


DESIGN_COLOR = {UP: "violet", OUT: "green"}
DESIGN_SHAPE = {UP: "square", OUT: "circle"}


@functools.lru_cache(maxsize=4)
def _compare_chart(users_range):
    # Direct labels and explicit ticks instead of legends: a legend costs a noticeable share of a redraw.
    x, y = charts.latency_axes(users_range, LATENCY_RANGE_MS, nice=False)
    color = scales.color("design:N", DESIGN_COLOR)
    latency = charts.curves(
        x, y, color, line={"clip": True}, dots={"filled": True, "size": 60, "opacity": 0.9, "clip": True},
        tooltip=("design:N", "statistic:N", ("users:Q", ",.0f"), ("latency_ms:Q", ",.0f")), current="users:Q",
        line_channels={"strokeDash": charts.dash("statistic:N", {"mean": [1, 0], "p95": [5, 3]}),
                       "detail": "statistic:N"},
        dot_channels={"shape": charts.shape("design:N", DESIGN_SHAPE)},
        before=charts.walls(x, LATENCY_RANGE_MS, color), heading=charts.title(
            "Latency as users grow", ["solid: mean · dashed: p95 · lines: theory · dots: simulation",
                                      "purple: one big box · green: small boxes · band: full"]))
    prices = charts.price_per_core(CATALOGUE, color, charts.shape("design:N", DESIGN_SHAPE), places={
        UP: {"align": "right", "dx": -10, "dy": -2}, OUT: {"align": "left", "dx": 4, "dy": 16}})
    return charts.beside(latency, prices, spacing=30, independent=("color", "shape"))


def compare(designs, simulated=None, *, current=None, users_range=USERS_RANGE):
    """Latency as users grow for each design (theory lines, simulated dots), and the price of a core.

    ``designs`` maps :data:`UP` and :data:`OUT` to architectures (see :func:`designs_for`);
    ``simulated`` is a :func:`sweep_designs` table or None; ``current`` a users value to mark.

    >>> chart = compare(designs_for(2_000))
    """
    data = compare_data(designs, simulated, current=current, users_range=users_range)
    return charts.with_data(_compare_chart(tuple(users_range)), data)


def __getattr__(name):
    """The live panel (``scaling.scaling_panel``) and the availability half of the chapter live in their own
    modules, which build on this one; their names are reached from here too."""
    for part in ("scaling_panel", "availability"):
        module = importlib.import_module(f"{__package__}.{part}")
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
