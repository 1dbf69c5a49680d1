"""Altair charts of Results, with theory drawn on the same axes as the simulation.

Every chart reads named, aggregated datasets (percentiles, windows), never raw requests,
so it stays small when stored in a notebook.  Charts render as SVG, which needs no internet.
A chart's structure is built once (:class:`Template`); a live panel only swaps its datasets,
which keeps a redraw fast.
"""

import functools

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

from .. import theory as analytic
from ..core.workload import Workload

USERS_RANGE = (10, 10_000_000)
STATISTICS = {"mean_ms": "mean", "p95_ms": "p95"}
COLORS = alt.Scale(domain=list(STATISTICS.values()), range=["#1f77b4", "#d62728"])
PERCENTILE_COLORS = alt.Scale(domain=["p50", "p95", "p99"], range=["#74a9cf", "#fd8d3c", "#bd0026"])
WIDTH, HEIGHT = 340, 230
TIME = alt.X("t_s:Q", title="simulated time (s)")


def use_offline_renderer():
    """Render charts as SVG in the kernel: works with no internet and when a notebook is viewed as a file."""
    alt.renderers.enable("svg")


class Template:
    """A chart's Vega-Lite spec, validated once, with its data left out; ``svg(datasets)`` draws it.

    Building and validating an altair chart costs more than drawing it, so a live panel pays that once.
    """

    def __init__(self, chart, titles=True):
        self.spec = chart.to_dict()  # validated once, here
        if not titles:  # a panel can caption its charts in HTML instead: titles are a costly part of a redraw
            self.spec = _without_titles(self.spec)
        self.names = sorted(_dataset_names(self.spec))

    def svg(self, datasets):
        """Render with ``datasets`` (name -> DataFrame or records; others are ignored) as an SVG for Jupyter."""
        data = {name: _records(datasets.get(name, [])) for name in self.names}
        return Picture(vl_convert.vegalite_to_svg({**self.spec, "datasets": data}))


class Picture:
    """SVG text that Jupyter displays as an image (without re-parsing it, unlike IPython's SVG).

    >>> Picture("<svg/>")._repr_svg_()
    '<svg/>'
    """

    def __init__(self, data):
        self.data = data

    def _repr_svg_(self):
        return self.data


def _without_titles(spec):
    """The spec with chart titles removed (axis and legend titles stay)."""
    if isinstance(spec, list):
        return [_without_titles(v) for v in spec]
    if not isinstance(spec, dict):
        return spec
    is_view = any(k in spec for k in ("mark", "layer", "hconcat", "vconcat", "concat"))
    return {k: _without_titles(v) for k, v in spec.items() if not (is_view and k == "title")}


def _dataset_names(spec):
    """Names of the named data sources a Vega-Lite spec reads (``{"data": {"name": ...}}``)."""
    if isinstance(spec, dict):
        found = {spec["data"]["name"]} if isinstance(spec.get("data"), dict) and "name" in spec["data"] else set()
        return found.union(*(_dataset_names(v) for v in spec.values()))
    if isinstance(spec, list):
        return set().union(*(_dataset_names(v) for v in spec))
    return set()


# -- latency as users grow -----------------------------------------------------------------

def knee(architecture, simulated=None, *, current=None, users_range=USERS_RANGE, **workload_options):
    """Latency against daily active users: theory lines, simulated dots, and where the box saturates.

    ``simulated`` is a :func:`chapter1.sweep` table (or None); ``current`` is a users value to mark.

    >>> from chapter1 import single_server
    >>> chart = knee(single_server())
    """
    data = knee_data(architecture, simulated, current=current, users_range=users_range, **workload_options)
    return _knee_chart(tuple(users_range)).properties(datasets={k: _records(v) for k, v in data.items()})


def knee_data(architecture, simulated=None, *, current=None, users_range=USERS_RANGE, **workload_options):
    """The datasets :func:`knee` draws: theory curve, simulated points, saturation band, current marker."""
    per_user = Workload(**workload_options).per_user_rate
    capacity = min(getattr(t, "capacity", np.inf) for t in architecture.tiers)
    start = capacity / per_user
    theory = theory_curve(architecture, users_range, **workload_options)
    return {
        "theory": theory,
        "labels": theory.groupby("statistic", sort=False).head(1),
        "simulated": _long(simulated, "users") if simulated is not None else [],
        "saturation": [{"start": start, "end": users_range[1]}] if start < users_range[1] else [],
        "current": [{"users": current}] if current is not None else [],
    }


@functools.lru_cache(maxsize=8)
def _knee_chart(users_range):
    # Explicit ticks and direct labels instead of a legend: each costs a noticeable share of a redraw.
    decades = [10.0 ** k for k in range(8)]
    x = alt.X("users:Q", title="daily active users", scale=alt.Scale(type="log", domain=list(users_range)),
              axis=alt.Axis(format="~s", values=decades))
    y = alt.Y("latency_ms:Q", title="latency (ms)", scale=alt.Scale(type="log"),
              axis=alt.Axis(values=[m * d for d in decades[:5] for m in (1, 2, 5)], format="~s"))
    color = alt.Color("statistic:N", scale=COLORS, legend=None)
    tooltip = ["users:Q", "statistic:N", alt.Tooltip("latency_ms:Q", format=",.0f")]
    return alt.layer(
        alt.Chart(alt.Data(name="saturation")).mark_rect(color="gray", opacity=0.15).encode(
            x=alt.X("start:Q", scale=alt.Scale(type="log", domain=list(users_range))), x2="end:Q"),
        alt.Chart(alt.Data(name="theory")).mark_line().encode(x=x, y=y, color=color, tooltip=tooltip),
        alt.Chart(alt.Data(name="labels")).mark_text(align="left", dx=4, dy=-8, fontWeight="bold").encode(
            x=x, y=y, color=color, text="statistic:N"),
        alt.Chart(alt.Data(name="simulated")).mark_point(filled=True, size=70).encode(
            x=x, y=y, color=color, tooltip=tooltip),
        alt.Chart(alt.Data(name="current")).mark_rule(strokeDash=[4, 3], color="gray").encode(x=x),
    ).properties(width=WIDTH, height=HEIGHT, title=alt.Title(
        "Latency as users grow", subtitle="lines: queueing theory · dots: simulation · grey: overloaded"))


def theory_curve(architecture, users_range=USERS_RANGE, points=80, **workload_options):
    """Theory's mean and p95 latency (ms) over a log grid of users, leaving out the overloaded part.

    >>> from chapter1 import single_server
    >>> sorted(set(theory_curve(single_server())["statistic"]))
    ['mean', 'p95']
    """
    return _theory_curve(architecture, tuple(users_range), points, tuple(sorted(workload_options.items()))).copy()


@functools.lru_cache(maxsize=64)
def _theory_curve(architecture, users_range, points, workload_items):
    rows = []
    for users in np.geomspace(*users_range, points):
        theory = analytic.predict(architecture, Workload(users=float(users), **dict(workload_items)), percents=(95,))
        if theory is None or not np.isfinite(theory["mean_ms"]):
            continue
        rows += [{"users": users, "statistic": label, "latency_ms": theory[key]}
                 for key, label in STATISTICS.items() if np.isfinite(theory[key])]  # NaN: no closed form (tandems)
    return pd.DataFrame(rows, columns=["users", "statistic", "latency_ms"])


# -- what happens over simulated time ------------------------------------------------------

def timeline(result, bins=40):
    """Latency percentiles and the share of failed requests over simulated time; outages shaded red."""
    chart = _timeline_chart().properties(title=alt.Title("Over simulated time", subtitle=budget_note(result)))
    return chart.properties(datasets={k: _records(v) for k, v in timeline_data(result, bins).items()})


def timeline_data(result, bins=40):
    """The datasets :func:`timeline` draws: latency per window (long form), windows, outage bands."""
    table = result.timeline(bins)
    latency = table.melt("t_s", ["p50_ms", "p95_ms", "p99_ms"], var_name="percentile", value_name="latency_ms")
    latency["percentile"] = latency["percentile"].str.removesuffix("_ms")
    labels = _spread_labels(latency.dropna().groupby("percentile").tail(1))
    return {"latency": latency, "latency_labels": labels, "windows": table[["t_s", "error_share"]],
            "outages": _outages(result)}


def _spread_labels(labels, gap=0.1):
    """Move line-end labels apart (in ``label_ms``) so that close values do not print on top of each other."""
    labels = labels.sort_values("latency_ms").copy()
    values = labels["latency_ms"].to_numpy(dtype=float, copy=True)
    span = max(values.max() - values.min(), values.max()) if len(values) else 0.0
    for k in range(1, len(values)):
        values[k] = max(values[k], values[k - 1] + gap * span)
    labels["label_ms"] = values
    return labels


@functools.lru_cache(maxsize=1)
def _latency_chart():
    x, bands = TIME, _outage_bands()
    y = alt.Y("latency_ms:Q", title="latency (ms)")
    color = alt.Color("percentile:N", scale=PERCENTILE_COLORS, legend=None)
    return alt.layer(bands, alt.Chart(alt.Data(name="latency")).mark_line(
        invalid="break-paths-show-domains").encode(
        x=x, y=y, color=color,
        tooltip=[alt.Tooltip("t_s:Q", format=",.1f"), "percentile:N", alt.Tooltip("latency_ms:Q", format=",.0f")],
    ), alt.Chart(alt.Data(name="latency_labels")).mark_text(align="left", dx=5, fontWeight="bold").encode(
        x=x, y="label_ms:Q", color=color, text="percentile:N"),
    ).properties(width=WIDTH, height=int(HEIGHT * 0.6))


@functools.lru_cache(maxsize=1)
def _timeline_chart():
    x, bands = TIME, _outage_bands()
    bottom = alt.layer(bands, alt.Chart(alt.Data(name="windows")).mark_area(color="#d62728", opacity=0.7).encode(
        x=x, y=alt.Y("error_share:Q", title="failed", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
    )).properties(width=WIDTH, height=int(HEIGHT * 0.25))
    return alt.vconcat(_latency_chart(), bottom, spacing=5)


def _outage_bands():
    """Red bands over the stretches of simulated time when a component was down."""
    return alt.Chart(alt.Data(name="outages")).mark_rect(color="#d62728", opacity=0.12).encode(
        x="start:Q", x2="end:Q", tooltip=["component:N", "start:Q", "end:Q"])


def utilization(result, bins=40):
    """Busy share of each tier's workers over simulated time; outages shaded red."""
    table = result.timeline(bins)
    columns = [c for c in table.columns if c.endswith("_utilization")]
    long = table.melt("t_s", columns, var_name="component", value_name="utilization")
    long["component"] = long["component"].str.removesuffix("_utilization")
    lines = alt.Chart(alt.Data(name="utilization")).mark_line().encode(
        x=TIME,
        y=alt.Y("utilization:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])), color="component:N")
    return alt.layer(_outage_bands(), lines).properties(
        width=WIDTH, height=int(HEIGHT * 0.6), title="Worker utilisation",
        datasets={"outages": _records(_outages(result)), "utilization": _records(long)})


def budget_note(result):
    """'5,000 simulated requests = 10.8 s of peak traffic at 463 req/s': what a chart's sample covers."""
    s = result.summary()
    return (f"{s['requests']:,} simulated requests = {s['simulated_s']:,.1f} s of peak traffic "
            f"at {s['offered_rps']:,.0f} req/s")


def _outages(result):
    return pd.DataFrame([{"start": o.start_s, "end": min(o.end_s, result.duration_s), "component": c.name}
                         for c in result.architecture.components for o in c.outages
                         if o.start_s < result.duration_s], columns=["start", "end", "component"])


def _long(table, by):
    present = {k: v for k, v in STATISTICS.items() if k in table}
    long = table[[by, *present]].melt(by, list(present), var_name="statistic", value_name="latency_ms")
    long["statistic"] = long["statistic"].map(present)
    return long.dropna()


def _records(data):
    """JSON-ready rows: NaN becomes null (a gap in a line), numpy scalars become plain numbers."""
    if isinstance(data, pd.DataFrame):
        data = data.to_dict("records")
    return [{k: _plain(v) for k, v in row.items()} for row in data]


def _plain(value):
    if isinstance(value, (float, np.floating)):
        return None if value != value else float(value)
    return value.item() if isinstance(value, np.generic) else value

# Charts render as SVG in the kernel: no internet needed, and they show when a notebook is viewed as a file.
use_offline_renderer()
