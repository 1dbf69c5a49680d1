"""Chapter 03's charts and live panel: users, a monthly budget, the size of the small boxes, contention.

``chapter1.scaling`` re-exports every name here.
"""

import functools

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from .database_tier import simulated_latency
from .scaling import (
    CATALOGUE,
    CONTENTION,
    CROSSTALK,
    LATENCY_RANGE_MS,
    OUT,
    SERVICE_MS,
    SMALL_BOXES,
    UP,
    USERS_RANGE,
    _servers,
    availability,
    box_price,
    capacity,
    check,
    designs_for,
    monthly_cost,
    price_table,
    saturation_users,
    scale_up,
    speedup,
    theory,
    theory_curve,
)
from .single_server import run_figures, run_seeds, spread

__all__ = ["scaling_panel", "scaling_view", "headline", "PANEL", "PANEL_CAPTION", "latency_data", "compare_data",
           "compare", "DESIGN_COLOR", "DESIGN_SHAPE", "contention_runs", "contention_chart", "LAWS"]


# -- charts --------------------------------------------------------------------------------------

def latency_data(designs, users_range=USERS_RANGE, points=50):
    """Theory's mean and p95 (ms) for each design (label -> architecture) over a log grid of users.

    >>> from chapter1.scaling import scale_up
    >>> sorted(latency_data({UP: scale_up(8)}, points=5)["statistic"].unique())
    ['mean', 'p95']
    """
    return charts.by_design({label: _curve(arch, tuple(users_range), points) for label, arch in designs.items()})


NEAR = (0.9, 0.95, 0.98, 0.99)  # shares of the users at saturation where a line gets extra points, to climb its wall


@functools.lru_cache(maxsize=64, typed=True)
def _curve(arch, users_range, points):
    """A design's theory line: mean and p95 over a log grid of users (with points near its wall), in one pass."""
    grid = np.geomspace(*users_range, points)
    extra = saturation_users(arch) * np.array(NEAR)
    grid = np.sort(np.concatenate([grid, extra[(extra > users_range[0]) & (extra < users_range[1])]]))
    figures = theory_curve(arch, grid)
    latency = np.column_stack([figures[key] for key in scales.STATISTICS]).ravel()  # user by user, mean then p95
    kept = np.isfinite(latency)
    return pd.DataFrame({"users": np.repeat(grid, len(scales.STATISTICS))[kept],
                         "statistic": np.tile(list(scales.STATISTICS.values()), len(grid))[kept].astype(object),
                         "latency_ms": latency[kept]})


def compare_data(designs, simulated=None, *, current=None, users_range=USERS_RANGE, prices=None):
    """The datasets :func:`compare` draws: theory lines, simulated dots, walls (where each design is full),
    the catalogue's price per core and the two designs' picks from it."""
    # Each wall is labelled near the top, to its right (to its left near the right edge), one line apart.
    walls = [{"design": label, "users": saturation_users(arch), "label": f"{_short(label, arch)}: full",
              "label_ms": 3_800 if label == UP else 2_700,
              "side": "left" if saturation_users(arch) < users_range[1] / 3 else "right"}
             for label, arch in designs.items() if saturation_users(arch) < users_range[1]]
    picks = [{"design": label, "cores": _servers(arch)[0][0].workers,
              "per_core": box_price(_servers(arch)[0][0].workers, prices) / _servers(arch)[0][0].workers,
              "label": _short(label, arch)} for label, arch in designs.items()]
    return {"theory": latency_data(designs, users_range),
            "simulated": simulated_latency(simulated) if simulated is not None else [],
            "walls": walls, "current": [{"users": current}] if current is not None else [],
            "catalogue": price_table(prices)[["cores", "per_core"]], "picks": picks}


def _short(label, arch):
    boxes, pool = _servers(arch)
    return f"1 x {boxes[0].workers} cores" if pool is None else f"{len(boxes)} x {boxes[0].workers} cores"


DESIGN_COLOR = {UP: "violet", OUT: "green"}
DESIGN_SHAPE = {UP: "square", OUT: "circle"}


@functools.lru_cache(maxsize=4, typed=True)
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
        UP: {"align": "right", "dx": -10, "dy": -2}, OUT: {"align": "left", "dx": 4, "dy": 16}}).properties(
        title=charts.title("Price of a core in each box", ["illustrative table: linear to 64 cores,",
                                                           "a premium for multi-socket boxes"]))
    return charts.beside(latency, prices, spacing=30, independent=("color", "shape"))


def compare(designs, simulated=None, *, current=None, users_range=USERS_RANGE, prices=None):
    """Latency as users grow for each design (theory lines, simulated dots), and the price of a core.

    ``designs`` maps :data:`UP` and :data:`OUT` to architectures (see :func:`designs_for`);
    ``simulated`` is a :func:`sweep_designs` table or None; ``current`` a users value to mark.

    >>> chart = compare(designs_for(2_000))
    """
    data = compare_data(designs, simulated, current=current, users_range=users_range, prices=prices)
    return charts.with_data(_compare_chart(tuple(users_range)), data)


# -- contention: Amdahl and the universal scalability law -------------------------------------------

LAWS = {"perfect": "light grey", "Amdahl": "blue", "USL": "red", "USL peak": "mid grey"}


def _laws(contention, crosstalk):
    return {"perfect": (0.0, 0.0), "Amdahl": (contention, 0.0), "USL": (contention, crosstalk)}


def contention_runs(cores=(8, 32, 64, 96, 128, 192), contention=0.01, crosstalk=0.0001, *, seeds=(0, 1, 2),
                    requests=10_000):
    """Simulated work of one box of each size, in cores' worth, under Amdahl (``contention``) and the USL
    (``contention`` and ``crosstalk``): one row per law, size and seed.

    Each box runs as :func:`chapter1.scaling.scale_up` builds it (each core slowed so that the box does
    :func:`chapter1.scaling.speedup` cores' work) and gets twice its capacity, so its workers never idle;
    its measured throughput over the 20 requests a second of one perfect core is the work it does.

    >>> contention_runs([8], seeds=(0,), requests=500).columns.tolist()
    ['law', 'cores', 'seed', 'work', 'theory']
    """
    rows = []
    for law, (s, k) in _laws(contention, crosstalk).items():
        if law == "perfect":
            continue
        for n in cores:
            box = scale_up(n, s, k)
            for seed in seeds:
                run = simulate(box, Workload.from_rate(2 * capacity(box)), requests=requests, seed=seed)
                rows.append({"law": law, "cores": n, "seed": seed,
                             "work": run.summary()["throughput_rps"] * SERVICE_MS / 1_000.0,
                             "theory": speedup(n, s, k)})
    return pd.DataFrame(rows, columns=["law", "cores", "seed", "work", "theory"])


def contention_chart(simulated=None, contention=0.01, crosstalk=0.0001, max_cores=CATALOGUE[-1]):
    """Cores' worth of work against cores: perfect scaling, Amdahl and the USL (lines), simulated boxes
    (dots, :func:`contention_runs`), and where USL throughput peaks, sqrt((1 - s) / k) (a grey rule).

    >>> chart = contention_chart()
    """
    grid = list(range(1, max_cores + 1))
    lines = pd.concat([pd.DataFrame({"law": law, "cores": grid, "work": [speedup(n, s, k) for n in grid]})
                       for law, (s, k) in _laws(contention, crosstalk).items()], ignore_index=True)
    peak = analytic.usl_peak(contention, crosstalk)
    if peak <= max_cores:
        top = speedup(max(1, round(peak)), contention, crosstalk)
        lines = pd.concat([lines, pd.DataFrame({"law": "USL peak", "cores": [peak, peak], "work": [0.0, top]})],
                          ignore_index=True)
    dots = simulated[["law", "cores", "work"]] if simulated is not None else lines.iloc[:0]
    x = scales.linear_axis("x", "cores:Q", "cores in the box", (0, max_cores), ticks=[0, 32, 64, 96, 128, 160, 192])
    y = scales.linear_axis("y", "work:Q", "cores' worth of work done", (0, 80))
    peak_text = f"USL peak at {peak:.0f} cores" if peak <= max_cores else "no USL peak in the catalogue"
    return charts.lines_and_dots(
        lines[lines["work"] <= 80], dots, x, y,
        color=scales.color("law:N", LAWS, legend=charts.legend("lines: theory", orient="right")),
        tooltip=("law:N", "cores:Q", ("work:Q", ",.1f")), dots_style={"filled": True, "size": 50, "opacity": 0.8},
        heading=charts.title("A bigger box, under contention",
                             [f"serial share s = {contention:g}, crosstalk k = {crosstalk:g} · {peak_text}",
                              "dots: simulated boxes at saturation, three runs each"]))


# -- the live panel ------------------------------------------------------------------------------

def scaling_panel(users=1_000_000, budget=2_000, box_cores=8, contention=0.0, crosstalk=0.0, *, requests=None, seed=0):
    """Chapter 03's panel: users, a monthly budget, the size of the small boxes and the cores' contention.

    >>> box = scaling_panel()  # doctest: +SKIP
    """
    check.number("users", users, low=USERS_RANGE[0], high=USERS_RANGE[1])
    check.number("budget", budget, low=10 ** 2.5, high=10 ** 4.2)
    check.choice("box_cores", box_cores, SMALL_BOXES)
    check.choice("contention", contention, CONTENTION)
    check.choice("crosstalk", crosstalk, CROSSTALK)
    return PANEL.show(users=users, budget=budget, box_cores=box_cores, contention=contention, crosstalk=crosstalk,
                      requests=requests, seed=seed)


def scaling_view(users, budget, box_cores, contention=0.0, crosstalk=0.0, *, requests=panels.DEFAULT_REQUESTS, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML).

    Simulates the scaled-out design (three runs of ``requests`` requests, a pair of dots each); the big box
    is drawn from its M/M/c theory, which chapter 01 checked against simulation.  ``contention`` is Amdahl's
    serial share and ``crosstalk`` the USL's coherence cost (both 0: perfect core scaling).
    """
    designs = designs_for(budget, box_cores, contention=contention, crosstalk=crosstalk)
    results = [simulate(designs[OUT], Workload(users=users), requests=requests, seed=s) for s in run_seeds(seed)]
    points = pd.DataFrame([run_figures(r) for r in results]).assign(users=users, design=OUT)
    datasets = compare_data(designs, points, current=users)
    return _panel_template().svg(datasets), headline(designs, results, budget, contention, crosstalk)


@functools.lru_cache(maxsize=1, typed=True)
def _panel_template():
    return charts.Template(_compare_chart(USERS_RANGE), titles=False)  # captioned in HTML: PANEL_CAPTION


PANEL_CAPTION = (
    "<small><b>Left:</b> latency as users grow; solid lines are theory's mean, dashed its p95, dots the simulation; "
    "purple is the one big box, green the small boxes; a shaded band marks where a design is full, the dashed "
    "grey line your users; the small boxes are simulated three times (their dots' spread is noise). "
    "<b>Right:</b> the price of a core in each box of an illustrative price table (linear in the cores up to "
    "64, a premium for large multi-socket boxes); red: no box this big. The big box runs web and database "
    "together; the small boxes run the web tier only, since a database cannot be cloned like a web server "
    "(chapter 05).</small>")


def headline(designs, result, budget, contention=0.0, crosstalk=0.0):
    """The figures under the panel's sliders: what the budget buys each way, latency, availability
    (``result``: the small boxes' run, or a list of runs)."""
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    result = results[0]
    workload, s = result.workload, result.status_rates()  # (the summary's failure shares, without the rest of it)
    parts = []
    for label, arch in designs.items():
        cost, up = monthly_cost(arch), availability(arch)
        over = " <b style='color:#d62728'>over budget</b>" if cost > budget + 1e-6 else ""
        figures = theory(arch, workload, percents=() if label == OUT else (95,))  # the small boxes' p95: simulated
        load = figures["utilization"]
        if load >= 1:
            latency = "<b style='color:#d62728'>overloaded</b>: its queue grows for as long as the peak lasts"
        elif label == OUT:
            failed = panels.failed(s)
            latency = f"p95 <b>{spread([r.percentile(95) for r in results], ' ms')}</b> simulated"
            latency += f", failed <b>{failed:.1%}</b>" if failed else ""
        else:
            latency = f"p95 <b>{figures['p95_ms']:,.0f} ms</b> in theory"
        parts.append(f"· <b>{label}</b> ({_short(label, arch)}, ${cost:,.0f}{over}): up to "
                     f"<b>{capacity(arch):,.0f}</b> req/s, load <b>{load:.0%}</b>, {latency}; "
                     f"up <b>{up:.3%}</b> of the time (<b>{analytic.downtime_per_year(up):,.1f} h</b> down a year)")
    if crosstalk:
        scaling = (f"contention {contention:.1%} and crosstalk {crosstalk:g} (USL): a box of N cores does N / (1 + "
                   f"{contention:g} (N - 1) + {crosstalk:g} N (N - 1)) cores' work, most at "
                   f"{analytic.usl_peak(contention, crosstalk):.0f} cores")
    elif contention:
        scaling = f"contention {contention:.1%}: a box of N cores does N / (1 + {contention:g} (N - 1)) cores' work"
    else:
        scaling = "cores scale perfectly (an assumption)"
    head = (f"<b>{workload.users:,.0f}</b> users send <b>{workload.rate:,.0f}</b> req/s at peak; "
            f"<b>${budget:,.0f}</b> a month buys ({scaling}):")
    return panels.headline(head, *parts, result=result, note=" (small boxes); the big box is drawn from theory",
                           caption=PANEL_CAPTION)


PANEL = panels.register_panel(panels.Panel(
    "big box or small boxes", "03", scaling_view, caption=PANEL_CAPTION,
    controls={"users": panels.users(5, 7, 1 / 8),
              "budget": panels.log_slider(2.5, 4.2, "budget ($/month)", step=0.05, readout=",.0f"),
              "box_cores": panels.choice(SMALL_BOXES, "small box (cores)", kind="select"),
              "contention": panels.choice([("none", 0.0), ("0.5 %", 0.005), ("1 %", 0.01), ("2 %", 0.02)],
                                          "contention (serial share)"),
              "crosstalk": panels.choice([("none", 0.0), ("0.0001", 0.0001), ("0.0005", 0.0005)],
                                         "crosstalk (USL κ)")},
    defaults={"users": 1_000_000, "budget": 2_000, "box_cores": 8, "contention": 0.0, "crosstalk": 0.0},
    examples=({"users": 1_000_000}, {"users": 8_000_000})))
