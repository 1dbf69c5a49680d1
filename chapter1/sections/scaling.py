"""Chapter 03: scaling up (one bigger box) against scaling out (more boxes behind a load balancer).

**Cost model** (stated once, used everywhere): an editable price table, :data:`PRICES` (cores ->
$ a month).  Its numbers are illustrative, shaped like public cloud on-demand price lists: within a
mainstream *general-purpose* family the price is about linear in the cores ($35 a core a month here,
2 to 64 cores); the *large multi-socket* machines above that (96, 128, 192 cores) cost more per core;
and no box on sale has more than :data:`MAX_CORES` cores (the ceiling).  Pass your own table as
``prices=`` to any function here.  A managed load balancer costs $25 a month.

**Speed model**: every core serves a request in 50 ms on average (20 requests per second), and a box of
N cores is assumed to scale perfectly (N times one core) unless a ``contention`` share is given: then
its throughput follows Amdahl's law, N / (1 + s (N - 1)), with s the share of the work that runs one at
a time (locks, a shared cache line, the memory bus); a ``crosstalk`` k adds the universal scalability
law's k N (N - 1), and throughput then peaks at sqrt((1 - s) / k) cores -- see :func:`speedup` and
:mod:`chapter1.theory.contention`.

**Availability model**: every box is up 99.5 % of the time, the balancer 99.99 %; they fail
independently.  The scaled-out site is up while the balancer is up *and* enough boxes are.

>>> box_price(2), box_price(64), box_price(192)
(70.0, 2240.0, 15360.0)
>>> biggest_box(budget=2_000), boxes_for(budget=2_000, cores=8)
(48, 7)
"""

import functools
import importlib
import math
from dataclasses import replace

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import load_balanced, single_server
from ..core import validation as check
from ..core.workload import Workload
from .database_tier import simulated_latency, sweep_designs  # noqa: F401  (the same sweep serves both chapters)

PER_CORE = 35.0                         # $ a core a month in the general-purpose family (illustrative)
PRICES = {**{c: c * PER_CORE for c in (2, 4, 8, 16, 32, 48, 64)},      # general purpose: linear
          96: 96 * 56.0, 128: 128 * 70.0, 192: 192 * 80.0}               # large multi-socket: a premium per core
TIERS = {c: "general purpose" if c <= 64 else "large multi-socket" for c in PRICES}
CATALOGUE = tuple(PRICES)               # cores of the boxes on sale
MAX_CORES = CATALOGUE[-1]               # the ceiling: no bigger box at any price
BASE_PRICE = PRICES[CATALOGUE[0]]
BALANCER_PRICE = 25.0                   # $ a month for a managed load balancer
SERVICE_MS = 50.0                       # one core: 20 requests per second
SERVER_AVAILABILITY, BALANCER_AVAILABILITY = 0.995, 0.9999
SMALL_BOXES = (4, 8, 16, 32)            # the sizes the panel offers for scaling out
CONTENTION = (0.0, 0.005, 0.01, 0.02)   # serial shares the panel offers (Amdahl's s)
CROSSTALK = (0.0, 0.0001, 0.0005)       # crosstalk the panel offers (the USL's kappa)
USERS_RANGE = (100_000, 10_000_000)
LATENCY_RANGE_MS = (40, 5_000)
UP, OUT = "one big box", "small boxes"


# -- the cost model ------------------------------------------------------------------------------

def _prices(prices):
    """The price table sorted by cores, checked (once per table: a pool of 56 boxes asks 56 times)."""
    table = PRICES if prices is None else dict(prices)
    items = tuple(table.items())
    kinds = tuple(type(x) for pair in items for x in pair)  # 300 == 300.0 == a cached key: the types tell them apart
    try:
        _check_prices(items, kinds)
    except TypeError:  # unhashable: checked afresh, which names what is wrong
        _check_prices.__wrapped__(items, kinds)
    return dict(sorted(items))


@functools.lru_cache(maxsize=16, typed=True)
def _check_prices(items, kinds):
    """Refuse a price table that is empty or holds anything but whole cores >= 1 and prices > 0."""
    if not items:
        raise ValueError("prices must list at least one box: {cores: $ a month}")
    for cores_, price in items:
        check.number("prices (cores)", cores_, low=1, integer=True)
        check.number("prices ($ a month)", price, low=0, low_open=True)


def box_price(cores, prices=None):
    """Monthly price ($) of a box with ``cores`` cores, from the price table (:data:`PRICES` by default).

    >>> box_price(8), box_price(128), box_price(8, prices={8: 300})
    (280.0, 8960.0, 300)
    """
    table = _prices(prices)
    if cores not in table:
        raise ValueError(f"cores must be a size in the price table {tuple(table)}; got {cores!r}")
    return table[cores]


def speedup(cores, contention=0.0, crosstalk=0.0):
    """How many cores' worth of work a box of ``cores`` cores does: N / (1 + s (N - 1) + k N (N - 1)).

    ``contention`` s is the share of each request's work that runs one at a time (Amdahl's law);
    ``crosstalk`` k is the universal scalability law's coherence cost, which makes throughput fall past
    sqrt((1 - s) / k) cores.  s = k = 0 is perfect scaling, the course's default.

    >>> speedup(64), round(speedup(64, 0.01), 1), round(speedup(8, 0.01), 2), round(speedup(192, 0.01, 0.0001), 1)
    (64.0, 39.3, 7.48, 29.2)
    """
    check.number("cores", cores, low=1, integer=True)
    check.number("contention", contention, low=0, high=1)
    check.number("crosstalk", crosstalk, low=0, high=1)
    return analytic.usl_capacity(cores, contention, crosstalk)


def price_table(prices=None, contention=0.0, crosstalk=0.0):
    """The catalogue: cores, tier, price a month, price per core, capacity (req/s) and the users it can serve.

    >>> price_table()["per_core"].round(1).tolist()
    [35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 56.0, 70.0, 80.0]
    """
    per_user = Workload().per_user_rate
    rows = []
    for c, price in _prices(prices).items():
        capacity = speedup(c, contention, crosstalk) * 1_000 / SERVICE_MS
        rows.append({"cores": c, "tier": TIERS.get(c, "your table"), "price": price, "per_core": price / c,
                     "capacity_rps": capacity, "saturates_at_users": capacity / per_user})
    return pd.DataFrame(rows)


def biggest_box(budget, prices=None):
    """Cores of the biggest box in the price table that ``budget`` ($ a month) buys (at most the ceiling).

    >>> biggest_box(300), biggest_box(1_000_000)
    (8, 192)
    """
    table = _prices(prices)
    check.number("budget", budget, low=min(table.values()))
    return max(c for c, price in table.items() if price <= budget)


def boxes_for(budget, cores, prices=None):
    """How many boxes of ``cores`` cores ``budget`` ($ a month) buys after paying for a load balancer.

    >>> boxes_for(1_000, cores=4)
    6
    """
    check.number("budget", budget, low=0)
    return max(0, math.floor((budget - BALANCER_PRICE) / box_price(cores, prices) + 1e-9))


# -- the two designs -----------------------------------------------------------------------------

def _service_ms(cores, contention, crosstalk=0.0):
    """Each worker's mean service time in a box whose throughput follows :func:`speedup`."""
    return SERVICE_MS * cores / speedup(cores, contention, crosstalk)


def scale_up(cores, contention=0.0, crosstalk=0.0):
    """One box with ``cores`` cores (one worker each) that runs everything: web, database and cache, as the
    single server of chapter 01, made bigger.  With ``contention`` (and ``crosstalk``), each core is slowed
    so that the box does :func:`speedup` cores' worth of work.

    >>> scale_up(32)["server"].capacity, round(scale_up(32, contention=0.01)["server"].capacity)
    (640.0, 489)
    """
    check.number("cores", cores, low=1, high=MAX_CORES, integer=True)
    arch = single_server(workers=cores, service_time_ms=_service_ms(cores, contention, crosstalk))
    return replace(arch, name=f"one big box: {cores} cores")


def scale_out(servers, cores, contention=0.0, crosstalk=0.0):
    """``servers`` web boxes of ``cores`` cores behind a load balancer that sends each request to the least busy.

    The small boxes run the web tier only: a web server is stateless and can be cloned, a database
    cannot (chapter 05), so the data stays on its own box, which the comparison leaves out of both designs'
    latency (the big box's queue holds all its work; see the chapter's text).

    >>> [c.name for c in scale_out(2, 8).components]
    ['dns', 'load balancer', 'web-1', 'web-2']
    """
    check.number("cores", cores, low=1, high=MAX_CORES, integer=True)
    arch = load_balanced(servers=servers, policy="least_connections", workers=cores,
                         service_time_ms=_service_ms(cores, contention, crosstalk))
    return replace(arch, name=f"{servers} {'box' if servers == 1 else 'boxes'} x {cores} cores behind a load balancer")


def designs_for(budget, box_cores=8, *, prices=None, contention=0.0, crosstalk=0.0):
    """The two ways to spend ``budget``: the biggest box it buys, or as many ``box_cores`` boxes as fit.

    At least one small box, even when the budget does not stretch to it (see :func:`monthly_cost`).

    >>> {label: arch.name for label, arch in designs_for(2_000).items()}
    {'one big box': 'one big box: 48 cores', 'small boxes': '7 boxes x 8 cores behind a load balancer'}
    """
    check.number("box_cores", box_cores, low=1, high=MAX_CORES, integer=True)
    return {UP: scale_up(biggest_box(budget, prices), contention, crosstalk),
            OUT: scale_out(max(1, boxes_for(budget, box_cores, prices)), box_cores, contention, crosstalk)}


def design_table(designs, workload):
    """One row per design: boxes, cores, monthly cost, capacity, users at saturation, theory's latency
    and load at ``workload``, availability and hours down a year.

    >>> table = design_table(designs_for(2_000), Workload(users=1_000_000))
    >>> table[["design", "boxes", "cores", "cost"]].values.tolist()
    [['one big box', 1, 48, 1680.0], ['small boxes', 7, 56, 1985.0]]
    """
    rows = []
    for label, arch in designs.items():
        figures, up = theory(arch, workload), availability(arch)
        rows.append({"design": label, "boxes": len(_servers(arch)[0]), "cores": cores(arch),
                     "cost": round(monthly_cost(arch), 2), "capacity_rps": capacity(arch),
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


def monthly_cost(architecture, prices=None):
    """What a design costs a month ($): its boxes at the price table's prices, plus the balancer if it has one.

    >>> monthly_cost(scale_out(6, 8))
    1705.0
    """
    boxes, balancer = _servers(architecture)
    return sum(box_price(b.workers, prices) for b in boxes) + (BALANCER_PRICE if balancer is not None else 0.0)


def capacity(architecture):
    """Requests per second all the design's boxes complete together when every core is busy.

    >>> capacity(scale_out(6, 8)), capacity(scale_up(32))
    (960.0, 640.0)
    """
    return sum(b.capacity for b in _servers(architecture)[0])


def cores(architecture):
    """Cores (workers) of all the design's boxes together.

    >>> cores(scale_out(6, 8)), cores(scale_up(32))
    (48, 32)
    """
    return sum(b.workers for b in _servers(architecture)[0])


def availability(architecture, server=SERVER_AVAILABILITY, balancer=BALANCER_AVAILABILITY):
    """Share of time a design can answer: one box alone, or the balancer in series with its boxes in parallel.

    This is the optimistic reading: one box is enough.  When the peak needs k of the n boxes, use
    :func:`chapter1.analytic.k_of_n_availability` (see :func:`k_of_n_table`).

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

    >>> round(theory(scale_up(48), Workload(users=1_000_000))["utilization"], 3)
    0.482
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


def theory_curve(architecture, users, percents=(95,)):
    """:func:`theory` at each of ``users`` in one vectorised pass (:func:`chapter1.analytic.mmc_curve`): a dict of
    arrays ``utilization``, ``mean_ms`` and ``p<q>_ms``, the same figures to the last bit or two.

    >>> curve = theory_curve(scale_up(48), [1_000_000, 3_000_000])
    >>> round(float(curve["utilization"][0]), 3), float(curve["p95_ms"][1])
    (0.482, inf)
    """
    boxes, _ = _servers(architecture)
    if len({(b.workers, b.service_time_ms) for b in boxes}) != 1:
        raise ValueError("theory covers designs whose boxes are all alike; got boxes of different sizes")
    box, dns, per_user = boxes[0], architecture.dns, Workload().per_user_rate
    miss = 0.0 if dns is None else 1 - dns.hit_ratio(per_user)
    lookup_s = 0.0 if dns is None else dns.lookup_ms / 1_000.0
    curve = analytic.mmc_curve(np.asarray(users, dtype=float) * per_user, box.service_rate, box.workers * len(boxes),
                               percents=percents, delay_s=lookup_s, delay_share=miss)
    return {"utilization": curve["utilization"], "mean_ms": curve["mean_response_s"] * 1_000.0,
            **{f"p{q}_ms": curve[f"p{q:g}_s"] * 1_000.0 for q in percents}}


def saturation_users(architecture, **workload_options):
    """Daily active users at which a design's cores are all busy.

    >>> round(saturation_users(scale_up(128)))
    5529600
    """
    return capacity(architecture) / Workload(**workload_options).per_user_rate


def __getattr__(name):
    """The charts and the live panel (``scaling.scaling_panel``), the availability half of the chapter and its
    N+1 panel live in their own modules, which build on this one; their names are reached from here too."""
    for part in ("scaling_panel", "availability", "n_plus_one"):
        module = importlib.import_module(f"{__package__}.{part}")
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
