"""Chapter 02: the web tier and the data tier on separate servers.

One box that does both the web work and the database work of every request is compared with
:func:`chapter1.architectures.web_and_database`, where each has its own server.  Theory for
the split design is a tandem of M/M/c queues (:func:`chapter1.analytic.tandem`): its mean
latency is exact, and each tier's utilisation shows which one saturates first.

>>> from chapter1.architectures import web_and_database
>>> split = web_and_database(web_workers=8, db_workers=4, web_service_ms=30, db_service_ms=20)
>>> bottleneck(split)
'database'
>>> round(saturation_users(split))
432000
"""

import functools
import math
from dataclasses import replace

import altair as alt
import numpy as np
import pandas as pd

from .. import theory as analytic

from ..present import charts as charts
from ..core import validation as check
from ..architectures import single_server, web_and_database
from ..core.simulation import simulate, sweep
from ..core.workload import Workload
from ..present.subnets import subnet_diagram  # noqa: F401  (the notebook calls dbt.subnet_diagram)

BOX, SPLIT = "one box", "separate tiers"
DESIGNS = alt.Scale(domain=[BOX, SPLIT], range=[[5, 3], [1, 0]])
SHAPES = alt.Scale(domain=[BOX, SPLIT], range=["square", "circle"])
TIER_COLORS = alt.Scale(domain=[BOX, "web", "database"], range=["#9e9e9e", "#2ca02c", "#9467bd"])
USERS_RANGE = (10_000, 10_000_000)  # the interesting part: where one box and the tiers saturate
LATENCY_RANGE_MS = (20, 20_000)


def one_box(workers=8, web_service_ms=30.0, db_service_ms=20.0, **server_options):
    """The single server of chapter 01 doing both jobs: each request needs web work plus database work.

    >>> box = one_box(workers=8, web_service_ms=30, db_service_ms=20)
    >>> box["server"].service_time_ms, box["server"].capacity
    (50.0, 160.0)
    """
    check.number("web_service_ms", web_service_ms, low=0, low_open=True, high=3_600_000)
    check.number("db_service_ms", db_service_ms, low=0, low_open=True, high=3_600_000)
    box = single_server(workers=workers, service_time_ms=float(web_service_ms + db_service_ms), **server_options)
    return replace(box, name="one box: web + database")


# -- which tier gives out first ----------------------------------------------------------------

def capacities(architecture):
    """Requests per second each tier completes with every worker busy, in request order (tier name -> req/s).

    >>> capacities(web_and_database(web_workers=8, db_workers=4))
    {'web': 266.6666666666667, 'database': 200.0}
    """
    missing = [t.name for t in architecture.tiers if not hasattr(t, "capacity")]
    if missing:
        raise ValueError(f"every tier needs workers and a service time; {', '.join(missing)} has none")
    return {t.name: t.capacity for t in architecture.tiers}


def bottleneck(architecture):
    """The tier with the least capacity: the first to saturate as users grow (the earlier one on a tie)."""
    caps = capacities(architecture)
    return min(caps, key=caps.get)


def saturation_users(architecture, **workload_options):
    """Daily active users at which the bottleneck tier is fully busy (the design's ceiling).

    >>> round(saturation_users(one_box()))
    345600
    """
    return min(capacities(architecture).values()) / Workload(**workload_options).per_user_rate


def tier_table(architecture, workload):
    """One row per tier: workers, work per request, capacity, users at saturation, theory's utilisation
    and mean time spent there (ms, inf when overloaded).

    >>> tier_table(web_and_database(), Workload(users=300_000))["utilization"].round(2).tolist()
    [0.52, 0.69]
    """
    rows = []
    for tier in architecture.tiers:
        queue = analytic.mmc(workload.rate, tier.service_rate, tier.workers)
        rows.append({"tier": tier.name, "workers": tier.workers, "work_ms": tier.service_time_ms,
                     "capacity_rps": tier.capacity, "saturates_at_users": tier.capacity / workload.per_user_rate,
                     "utilization": queue.utilization, "mean_ms": queue.mean_response_s * 1_000.0})
    return pd.DataFrame(rows)


# -- theory and simulation on one chart -------------------------------------------------------

def sweep_designs(designs, users, *, requests=4_000, seed=0):
    """Simulate each design (label -> architecture) at each number of users: one summary row per pair.

    >>> table = sweep_designs({BOX: one_box()}, [1_000], requests=300)
    >>> list(table[["design", "users"]].itertuples(index=False, name=None))
    [('one box', 1000)]
    """
    tables = [sweep(arch, users, requests=requests, seed=seed).assign(design=label) for label, arch in designs.items()]
    return pd.concat(tables, ignore_index=True)


def latency_data(designs, users_range=USERS_RANGE, points=60):
    """Theory's mean and p95 latency (ms) per design over a log grid of users; NaN/inf points left out.

    The split design's p95 exists only when each tier has one worker (see :func:`chapter1.analytic.predict`).
    """
    frames = [_latency_curve(arch, tuple(users_range), points).assign(design=label) for label, arch in designs.items()]
    return pd.concat(frames, ignore_index=True)[["users", "design", "statistic", "latency_ms"]]


@functools.lru_cache(maxsize=128)
def _latency_curve(architecture, users_range, points):
    rows, ceiling = [], saturation_users(architecture)
    near = ceiling * np.array([0.9, 0.95, 0.98, 0.99, 0.995])  # so the line climbs the wall instead of stopping short
    grid = np.geomspace(*users_range, points)
    for users in np.sort(np.concatenate([grid, near[(near > users_range[0]) & (near < users_range[1])]])):
        theory = analytic.predict(architecture, Workload(users=float(users)), percents=(95,))
        rows += [{"users": users, "statistic": label, "latency_ms": theory[key]}
                 for key, label in charts.STATISTICS.items() if np.isfinite(theory[key])]
    return pd.DataFrame(rows, columns=["users", "statistic", "latency_ms"])


def utilization_data(designs, users_range=USERS_RANGE, points=40):
    """Theory's utilisation of each tier (arrival rate / capacity, capped at 1) over a log grid of users.

    A one-tier design is labelled with its design name, a tier of the split design with the tier's name.
    """
    rows = []
    per_user = Workload().per_user_rate
    grid = np.geomspace(*users_range, points)
    for label, arch in designs.items():
        for name, capacity in capacities(arch).items():
            tier = label if len(arch.tiers) == 1 else name
            rows += [{"users": u, "tier": tier, "utilization": min(1.0, u * per_user / capacity)} for u in grid]
    return pd.DataFrame(rows, columns=["users", "tier", "utilization"])


def simulated_latency(table):
    """Long form of :func:`sweep_designs` output for the latency chart: users, design, statistic, latency_ms."""
    present = {k: v for k, v in charts.STATISTICS.items() if k in table}
    long = table[["users", "design", *present]].melt(["users", "design"], list(present), var_name="statistic",
                                                    value_name="latency_ms")
    long["statistic"] = long["statistic"].map(present)
    return long.dropna()


def simulated_utilization(table):
    """Long form of :func:`sweep_designs` output for the utilisation chart: users, tier, utilization."""
    columns = [c for c in table.columns if c.endswith("_utilization")]
    long = table[["users", "design", *columns]].melt(["users", "design"], columns, var_name="tier",
                                                    value_name="utilization").dropna()
    long["tier"] = np.where(long["tier"] == "server_utilization", long["design"],
                            long["tier"].str.removesuffix("_utilization"))
    return long[["users", "tier", "utilization"]]


def compare(designs, simulated=None, *, current=None, users_range=USERS_RANGE):
    """Latency as users grow for each design, and each tier's utilisation: theory lines, simulated dots.

    ``designs`` maps a label (:data:`BOX`, :data:`SPLIT`) to an architecture; ``simulated`` is a
    :func:`sweep_designs` table (or None); ``current`` a users value to mark.

    >>> chart = compare({BOX: one_box(), SPLIT: web_and_database()})
    """
    data = compare_data(designs, simulated, current=current, users_range=users_range)
    return _compare_chart(tuple(users_range)).properties(datasets={k: charts._records(v) for k, v in data.items()})


def compare_data(designs, simulated=None, *, current=None, users_range=USERS_RANGE):
    """The datasets :func:`compare` draws."""
    theory, tiers = latency_data(designs, users_range), utilization_data(designs, users_range)
    return {
        "theory": theory,
        "labels": theory.groupby("statistic", sort=False).head(1),
        "simulated": simulated_latency(simulated) if simulated is not None else [],
        "tier_theory": tiers,
        "tier_labels": _staggered_labels(tiers),
        "tier_simulated": simulated_utilization(simulated) if simulated is not None else [],
        "current": [{"users": current}] if current is not None else [],
    }


def _staggered_labels(tiers):
    """One label per tier, where its line crosses 30 %, 50 %, 70 %, ... busy, so that labels never overlap."""
    rows = []
    for k, (name, line) in enumerate(tiers.groupby("tier", sort=False)):
        level = min(0.3 + 0.2 * k, 0.9)
        rows.append(line[line.utilization >= level].head(1))
    return pd.concat(rows) if rows else tiers.head(0)


@functools.lru_cache(maxsize=4)
def _compare_chart(users_range):
    # Log axes labelled and gridded at 1-2-5 values only: easier to read than a line at every minor tick.
    x = alt.X("users:Q", title="daily active users", scale=alt.Scale(type="log", domain=list(users_range)),
              axis=alt.Axis(format="~s", values=_log_ticks(users_range)))
    y = alt.Y("latency_ms:Q", title="latency (ms)", scale=alt.Scale(type="log", domain=list(LATENCY_RANGE_MS)),
              axis=alt.Axis(values=_log_ticks(LATENCY_RANGE_MS)))
    # Direct labels instead of legends: each legend costs a noticeable share of a live redraw.
    color = alt.Color("statistic:N", scale=charts.COLORS, legend=None)
    tooltip = ["design:N", "statistic:N", alt.Tooltip("users:Q", format=",.0f"), alt.Tooltip("latency_ms:Q", format=",.0f")]
    current = alt.Chart(alt.Data(name="current")).mark_rule(strokeDash=[4, 3], color="gray").encode(x=x)
    latency = alt.layer(
        alt.Chart(alt.Data(name="theory")).mark_line(clip=True).encode(
            x=x, y=y, color=color, strokeDash=alt.StrokeDash("design:N", scale=DESIGNS, legend=None),
            detail="design:N", tooltip=tooltip),
        alt.Chart(alt.Data(name="simulated")).mark_point(filled=True, size=60, opacity=0.9, clip=True).encode(
            x=x, y=y, color=color, shape=alt.Shape("design:N", scale=SHAPES, legend=None), tooltip=tooltip),
        alt.Chart(alt.Data(name="labels")).mark_text(align="left", dx=4, dy=-8, fontWeight="bold").encode(
            x=x, y=y, color=color, text="statistic:N"),
        current,
    ).properties(width=charts.WIDTH, height=charts.HEIGHT, title=alt.Title(
        "Latency as users grow", subtitle="lines: queueing theory · dots: simulation · dashed, squares: one box"))
    u = alt.Y("utilization:Q", title="busy share of the tier's workers", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 1.05]))
    tier = alt.Color("tier:N", scale=TIER_COLORS, legend=None)
    tier_tooltip = ["tier:N", alt.Tooltip("users:Q", format=",.0f"), alt.Tooltip("utilization:Q", format=".0%")]
    tiers = alt.layer(
        alt.Chart(alt.Data(values=[{"full": 1.0}])).mark_rule(color="#d62728", strokeDash=[2, 2]).encode(y="full:Q"),
        alt.Chart(alt.Data(name="tier_theory")).mark_line().encode(x=x, y=u, color=tier, tooltip=tier_tooltip),
        alt.Chart(alt.Data(name="tier_simulated")).mark_point(filled=True, size=60, opacity=0.9).encode(
            x=x, y=u, color=tier, tooltip=tier_tooltip),
        alt.Chart(alt.Data(name="tier_labels")).mark_text(align="right", dx=-6, fontWeight="bold").encode(
            x=x, y=u, color=tier, text="tier:N"),
        current,
    ).properties(width=charts.WIDTH, height=charts.HEIGHT, title=alt.Title(
        "Which tier saturates first", subtitle="lines: load / capacity · dots: simulation · red: 100 % busy"))
    return alt.hconcat(latency, tiers).resolve_scale(color="independent", strokeDash="independent",
                                                     shape="independent")


def _log_ticks(bounds):
    """1, 2, 5 x powers of ten within ``bounds``."""
    low, high = bounds
    return [m * 10 ** e for e in range(int(math.floor(math.log10(low))), int(math.ceil(math.log10(high))) + 1)
            for m in (1, 2, 5) if low <= m * 10 ** e <= high]


# -- the live panel ----------------------------------------------------------------------------

# Each request visits two tiers: half chapter 01's budget keeps the same number of server visits per redraw.
PANEL_REQUESTS = 2_500
PANEL_CAPTION = ("<small><b>Left:</b> latency as users grow; lines are queueing theory, dots the simulation, dashed "
                 "lines and squares the one box. <b>Right:</b> which tier saturates first (load / capacity; red: "
                 "100 % busy).</small>")


def tiers_panel(users=300_000, web_workers=8, db_workers=4, web_service_ms=30, db_service_ms=20, *,
                box_workers=8, requests=None, seed=0):
    """Chapter 02's panel: users, and the workers and work per request of each tier, scaled separately.

    The one box (``box_workers`` workers doing both jobs) stays on the chart for comparison.
    """
    from ..present import panels as widgets

    check.number("users", users, low=USERS_RANGE[0], high=USERS_RANGE[1])
    controls = {
        "users": _users_slider(users),
        "web_workers": widgets.int_slider(web_workers, 1, 64, "web workers"),
        "db_workers": widgets.int_slider(db_workers, 1, 64, "database workers"),
        "web_service_ms": widgets.int_slider(web_service_ms, 5, 200, "web work (ms)", step=5),
        "db_service_ms": widgets.int_slider(db_service_ms, 5, 200, "database work (ms)", step=5),
    }
    requests = PANEL_REQUESTS if requests is None else requests
    return widgets.panel(controls, functools.partial(tiers_view, box_workers=box_workers, requests=requests, seed=seed))


def _users_slider(users):
    from ..present import panels as widgets

    slider = widgets.users_slider(users)
    slider.min, slider.max, slider.step = math.log10(USERS_RANGE[0]), math.log10(USERS_RANGE[1]), 1 / 16
    return slider


def tiers_view(users, web_workers, db_workers, web_service_ms, db_service_ms, *, box_workers=8,
               requests=PANEL_REQUESTS, seed=0):
    """What the chapter 02 panel shows for one setting: (chart as SVG, headline HTML).

    Simulates the split design only (``requests`` requests); the one box is drawn from theory.
    """
    split = web_and_database(web_workers=web_workers, db_workers=db_workers, web_service_ms=web_service_ms,
                             db_service_ms=db_service_ms)
    box = one_box(workers=box_workers, web_service_ms=web_service_ms, db_service_ms=db_service_ms)
    result = simulate(split, Workload(users=users), requests=requests, seed=seed)
    point = result.summary().to_frame().T.assign(users=users, design=SPLIT)
    datasets = compare_data({BOX: box, SPLIT: split}, point, current=users)
    return _panel_template().svg(datasets), headline(result, box)


@functools.lru_cache(maxsize=1)
def _panel_template():
    return charts.Template(_compare_chart(USERS_RANGE), titles=False)


def headline(result, box=None):
    """The figures a learner reads under the sliders: load, each tier's capacity and use, the bottleneck."""
    s, arch = result.summary(), result.architecture
    caps = capacities(arch)
    tiers = " · ".join(f"{name} tier up to <b>{cap:,.0f}</b> req/s, busy <b>{s[f'{name}_utilization']:.0%}</b>"
                       for name, cap in caps.items())
    failed = s["error_rate"] + s["timeout_rate"] + s["rejected_rate"]
    text = (f"<b>{result.workload.users:,.0f}</b> users send <b>{s['offered_rps']:,.1f}</b> req/s at peak · {tiers}"
            f"<br>bottleneck: <b>{bottleneck(arch)}</b> (saturates at {saturation_users(arch):,.0f} users)")
    if box is not None:
        text += f"; the one box would saturate at {saturation_users(box):,.0f} users"
    text += f" · p95 <b>{s['p95_ms']:,.0f} ms</b> · failed <b>{failed:.1%}</b>"
    return f"<div>{text}<br><small>{charts.budget_note(result)}</small><br>{PANEL_CAPTION}</div>"
