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
from dataclasses import replace

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import single_server, web_and_database
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from ..present.subnets import subnet_diagram  # noqa: F401  (the notebook calls dbt.subnet_diagram)
from .single_server import run_figures, run_outcome, sweep_runs, users_label
from .web_workers import (  # noqa: F401  (the notebook calls them as dbt.*)
    ASYNC,
    THREADS,
    independence_curve,
    independence_model,
    independent_percentile,
    thread_capacity,
    thread_per_request,
    thread_saturation_users,
    thread_summary,
    threaded,
)

BOX, SPLIT = "one box", "separate tiers"
TIER_COLORS = {BOX: "grey", "web": "green", "database": "purple"}
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
    check.instance("architecture", architecture, Architecture, "web_and_database()")
    check.instance("workload", workload, Workload, "Workload(users=300_000)")
    rows = []
    for tier in architecture.tiers:
        queue = analytic.mmc(workload.rate, tier.service_rate, tier.workers)
        rows.append({"tier": tier.name, "workers": tier.workers, "work_ms": tier.service_time_ms,
                     "capacity_rps": tier.capacity, "saturates_at_users": tier.capacity / workload.per_user_rate,
                     "utilization": queue.utilization, "mean_ms": queue.mean_response_s * 1_000.0})
    return pd.DataFrame(rows)


# -- theory and simulation on one chart -------------------------------------------------------

def sweep_designs(designs, users, *, requests=4_000, seed=0, seeds=None):
    """Simulate each design (label -> architecture) at each number of users: one summary row per pair
    and run (``seeds``, several runs whose spread is noise; else the one ``seed``).

    >>> table = sweep_designs({BOX: one_box()}, [1_000], requests=300)
    >>> list(table[["design", "users"]].itertuples(index=False, name=None))
    [('one box', 1000)]
    """
    seeds = (seed,) if seeds is None else tuple(seeds)
    tables = [sweep_runs(arch, users, requests=requests, seeds=seeds).assign(design=label)
              for label, arch in designs.items()]
    return pd.concat(tables, ignore_index=True)


def latency_data(designs, users_range=USERS_RANGE, points=60, web_model=ASYNC):
    """Theory's mean and p95 latency (ms) per design over a log grid of users; NaN/inf points left out.

    The split design's p95 is exact only when each tier has one worker; otherwise it is the
    independence approximation (:func:`independent_percentile`).  With thread-per-request web workers
    (``web_model=THREADS``) the split design has no line: no closed form is drawn, the dots are the model.

    >>> sorted(latency_data({BOX: one_box()}, points=5)["statistic"].unique())
    ['mean', 'p95']
    """
    if web_model == THREADS:
        designs = {label: arch for label, arch in designs.items() if len(arch.tiers) == 1}
    return charts.by_design({label: independence_curve(arch, users_range, points, ceiling=saturation_users,
                                                       near=(0.9, 0.95, 0.98, 0.99, 0.995))
                             for label, arch in designs.items()})


def utilization_data(designs, users_range=USERS_RANGE, points=40, web_model=ASYNC):
    """Theory's utilisation of each tier (arrival rate / capacity, capped at 1) over a log grid of users.

    A one-tier design is labelled with its design name, a tier of the split design with the tier's name.
    With thread-per-request web workers the web tier's line is its floor: each worker held for the web
    and the database work, with no wait at the database.
    """
    names, loads = [], []
    per_user = Workload().per_user_rate
    grid = np.geomspace(*users_range, points)
    for label, arch in designs.items():
        tiers = capacities(arch)
        if web_model == THREADS and len(arch.tiers) == 2:
            web, database = arch.tiers
            tiers[web.name] = web.workers * 1_000.0 / (web.service_time_ms + database.service_time_ms)
        for name, capacity in tiers.items():
            names.append(label if len(arch.tiers) == 1 else name)
            loads.append(np.minimum(1.0, grid * per_user / capacity))
    if not names:
        return pd.DataFrame([], columns=["users", "tier", "utilization"])
    return pd.DataFrame({"users": np.tile(grid, len(names)), "tier": np.repeat(np.array(names, dtype=object), points),
                         "utilization": np.concatenate(loads)})  # design by design, tier by tier, user by user


def simulated_latency(table):
    """Long form of :func:`sweep_designs` output for the latency chart: users, design, statistic, latency_ms."""
    return charts.long_latency(table, "users", "design")


def simulated_utilization(table):
    """Long form of :func:`sweep_designs` output for the utilisation chart: users, tier, utilization."""
    columns = [c for c in table.columns if c.endswith("_utilization")]
    if not columns:
        return pd.DataFrame({"users": table["users"].to_numpy()[:0], "tier": np.zeros(0, dtype=object),
                             "utilization": np.zeros(0)})
    rows, design = len(table), table["design"].to_numpy()  # in numpy: pandas' string steps cost more than the rest
    tier = np.concatenate([design if c == "server_utilization" else
                           np.repeat(np.array([c.removesuffix("_utilization")], dtype=object), rows) for c in columns])
    value = np.concatenate([table[c].to_numpy() for c in columns])
    kept = ~pd.isna(value)  # as dropna() on the long form (its row numbers kept as the index)
    return pd.DataFrame({"users": np.tile(table["users"].to_numpy(), len(columns))[kept], "tier": tier[kept],
                         "utilization": value[kept]}, index=np.flatnonzero(kept))


def compare(designs, simulated=None, *, current=None, users_range=USERS_RANGE, web_model=ASYNC):
    """Latency as users grow for each design, and each tier's utilisation: theory lines, simulated dots.

    ``designs`` maps a label (:data:`BOX`, :data:`SPLIT`) to an architecture; ``simulated`` is a
    :func:`sweep_designs` table (or None); ``current`` a users value to mark.

    >>> chart = compare({BOX: one_box(), SPLIT: web_and_database()})
    """
    data = compare_data(designs, simulated, current=current, users_range=users_range, web_model=web_model)
    return charts.with_data(_compare_chart(tuple(users_range)), data)


def compare_data(designs, simulated=None, *, current=None, users_range=USERS_RANGE, web_model=ASYNC):
    """The datasets :func:`compare` draws."""
    theory = latency_data(designs, users_range, web_model=web_model)
    tiers = utilization_data(designs, users_range, web_model=web_model)
    return {
        "theory": theory,
        "labels": charts.first_rows(theory, "statistic"),
        "simulated": simulated_latency(simulated) if simulated is not None else [],
        "tier_theory": tiers,
        "tier_labels": scales.at_levels(tiers, "tier", "utilization"),  # 30 %, 50 %, ... busy: never overlapping
        "tier_simulated": simulated_utilization(simulated) if simulated is not None else [],
        "current": [{"users": current}] if current is not None else [],
    }


@functools.lru_cache(maxsize=4, typed=True)
def _compare_chart(users_range):
    # Log axes labelled and gridded at 1-2-5 values only; direct labels instead of legends (cheaper redraws).
    x, y = charts.latency_axes(users_range, LATENCY_RANGE_MS, users_ticks=(1, 2, 5), y_format=None)
    tooltip = ("design:N", "statistic:N", ("users:Q", ",.0f"), ("latency_ms:Q", ",.0f"))
    dots = {"filled": True, "size": 60, "opacity": 0.9, "clip": True}
    latency = charts.curves(
        x, y, scales.color("statistic:N", scales.STATISTIC_COLORS), tooltip=tooltip, label="statistic:N",
        line={"clip": True}, dots=dots, current="users:Q",
        line_channels={"strokeDash": charts.dash("design:N", {BOX: [5, 3], SPLIT: [1, 0]}), "detail": "design:N"},
        dot_channels={"shape": charts.shape("design:N", {BOX: "square", SPLIT: "circle"})},
        heading=charts.title("Latency as users grow",
                             "lines: queueing theory · dots: simulation · dashed, squares: one box"))
    busy = scales.share_axis("y", "utilization:Q", "busy share of the tier's workers", top=1.05)
    tiers = charts.curves(
        x, busy, scales.color("tier:N", TIER_COLORS), prefix="tier_", label="tier:N",
        label_style={"align": "right", "dx": -6, "fontWeight": "bold"}, dots={**dots, "clip": False},
        tooltip=("tier:N", ("users:Q", ",.0f"), ("utilization:Q", ".0%")), current="users:Q",
        before=[charts.full_line()], heading=charts.title(
            "Which tier saturates first", "lines: load / capacity · dots: simulation · red: 100 % busy"))
    return charts.beside(latency, tiers, independent=("color", "strokeDash", "shape"))


# -- the live panel ----------------------------------------------------------------------------

# Each request visits two tiers: half chapter 01's budget keeps the same number of server visits per run.
PANEL_REQUESTS = 2_500
RUNS = 3  # runs per setting: the spread of the dots is run-to-run noise
PANEL_CAPTION = ("<small><b>Left:</b> latency as users grow; lines are queueing theory (the split design's p95: "
                 "as if its tiers' times were independent; with thread per request no line), dots the simulation "
                 "(three runs), dashed lines and squares the one box. <b>Right:</b> which tier saturates first "
                 "(load / capacity; with thread per request the web line is its floor; red: 100 % busy).</small>")


def tiers_panel(users=300_000, web_workers=8, db_workers=4, web_service_ms=30, db_service_ms=20,
                web_model=ASYNC, *, box_workers=8, requests=None, seed=0):
    """Chapter 02's panel: users, and the workers and work per request of each tier, scaled separately;
    ``web_model`` says whether a web worker is free while the database works (:data:`ASYNC`) or held
    (:data:`THREADS`).  The one box (``box_workers`` workers doing both jobs) stays on the chart.

    >>> box = tiers_panel()  # doctest: +SKIP
    """
    check.number("users", users, low=USERS_RANGE[0], high=USERS_RANGE[1])
    same = box_workers == PANEL.options["box_workers"]
    panel = PANEL if same else replace(PANEL, options={"box_workers": box_workers})
    return panel.show(users=users, web_workers=web_workers, db_workers=db_workers, web_service_ms=web_service_ms,
                      db_service_ms=db_service_ms, web_model=web_model, requests=requests, seed=seed)


def tiers_view(users, web_workers, db_workers, web_service_ms, db_service_ms, web_model=ASYNC, *, box_workers=8,
               requests=PANEL_REQUESTS, seed=0, runs=RUNS):
    """What the chapter 02 panel shows for one setting: (chart as SVG, headline HTML).

    Simulates the split design ``runs`` times (``requests`` requests each; seeds ``seed``, ``seed`` + 1000,
    ...), with thread-per-request web workers if ``web_model`` is :data:`THREADS`; the one box is drawn
    from theory.
    """
    split = web_and_database(web_workers=web_workers, db_workers=db_workers, web_service_ms=web_service_ms,
                             db_service_ms=db_service_ms)
    box = one_box(workers=box_workers, web_service_ms=web_service_ms, db_service_ms=db_service_ms)
    results = [simulate(split, Workload(users=users), requests=requests, seed=seed + 1_000 * k) for k in range(runs)]
    if web_model == THREADS:
        summaries = [thread_summary(r) for r in results]
    else:  # the figures the dots draw; the first run's also those the headline reads (not its whole summary)
        summaries = [run_figures(r, capacities(split)) for r in results]
        summaries[0].update(offered_rps=float(results[0].workload.rate), **run_outcome(results[0]))
    rows = [s.to_dict() if isinstance(s, pd.Series) else s for s in summaries]
    points = pd.DataFrame(rows).assign(users=users, design=SPLIT)
    datasets = compare_data({BOX: box, SPLIT: split}, points, current=users, web_model=web_model)
    return _panel_template().svg(datasets), headline(results[0], box, web_model=web_model, summaries=summaries)


@functools.lru_cache(maxsize=1, typed=True)
def _panel_template():
    return charts.Template(_compare_chart(USERS_RANGE), titles=False)


def headline(result, box=None, web_model=ASYNC, summaries=None):
    """The figures a learner reads under the sliders: load, each tier's capacity and use, the bottleneck."""
    summaries = summaries or [thread_summary(result) if web_model == THREADS else result.summary()]
    s, arch = summaries[0], result.architecture
    caps = capacities(arch)
    if web_model == THREADS:
        web, database = arch.tiers
        caps[web.name] = web.workers * 1_000.0 / (web.service_time_ms + database.service_time_ms)
        wall = (f"thread per request: a web worker is held while the database works, so the web tier finishes "
                f"at most {caps[web.name]:,.0f} req/s; wall at most <b>{thread_saturation_users(arch):,.0f}</b> "
                "users (less: workers also wait for the database)")
    else:
        wall = (f"bottleneck: <b>{bottleneck(arch)}</b> (saturates at {saturation_users(arch):,.0f} users; "
                "asynchronous web workers)")
    tiers = " · ".join(f"{name} tier up to <b>{cap:,.0f}</b> req/s, busy <b>{s[f'{name}_utilization']:.0%}</b>"
                       for name, cap in caps.items())
    if box is not None:
        wall += f"; the one box would saturate at {saturation_users(box):,.0f} users"
    p95s = [x["p95_ms"] for x in summaries]
    spread = f" · p95 over {len(p95s)} runs: {min(p95s):,.0f}–{max(p95s):,.0f} ms" if len(p95s) > 1 else ""
    users = f"<b>{users_label(result.workload.users)}</b>"
    return panels.headline(f"{users} users send <b>{s['offered_rps']:,.1f}</b> req/s at peak · {tiers}",
                           f"{wall} · {panels.outcome(s)}{spread}", result=result, caption=PANEL_CAPTION)


PANEL = panels.register_panel(panels.Panel(
    "web and database tiers", "02", tiers_view, caption=PANEL_CAPTION, requests=PANEL_REQUESTS,
    controls={"users": panels.log_slider(4, 7, "users", step=1 / 64, readout=".3s"),
              "web_workers": panels.integer(1, 64, "web workers"),
              "db_workers": panels.integer(1, 64, "database workers"),
              "web_service_ms": panels.integer(5, 200, "web work (ms)", step=5),
              "db_service_ms": panels.integer(5, 200, "database work (ms)", step=5),
              "web_model": panels.choice([ASYNC, THREADS], "web worker", kind="toggle")},
    defaults={"users": 300_000, "web_workers": 8, "db_workers": 4, "web_service_ms": 30, "db_service_ms": 20,
              "web_model": ASYNC},
    options={"box_workers": 8},
    examples=({"users": 100_000}, {"users": 10_000_000}, {"users": 330_000, "web_model": THREADS})))
