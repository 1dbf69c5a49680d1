"""Altair charts of Results, with theory drawn on the same axes as the simulation.

Every chart reads named, aggregated datasets (percentiles, windows), never raw requests,
so it stays small when stored in a notebook.  Charts render as SVG, which needs no internet.
A chart's structure is built once (:class:`Template`); a live panel only swaps its datasets,
which keeps a redraw fast, and once a slider moves the browser's own Vega draws it (:mod:`.templates`).
"""

import functools
import gc
import math

import altair as alt
import numpy as np
import pandas as pd

from .. import theory as analytic
from ..core.workload import Workload
from . import scales
from .scales import HEIGHT, STATISTICS, WIDTH
from .svg import Picture  # noqa: F401  (charts.Picture: SVG text Jupyter shows as an image)
from .templates import BrowserDrawing, Drawing, Template, plain, records  # noqa: F401  (charts.Template, ...)

USERS_RANGE = (10, 10_000_000)
COLORS = scales.palette(scales.STATISTIC_COLORS)
PERCENTILE_COLORS = scales.palette(scales.PERCENTILE_COLORS)
TIME = alt.X("t_s:Q", title="simulated time (s)")
DOTS = {"filled": True, "size": 70}
LABELS = {"align": "left", "dx": 4, "dy": -8, "fontWeight": "bold"}

# Everything loaded so far (altair, pandas, numpy, IPython: about 90,000 objects) lives as long as the kernel.
# Frozen, it is left out of the collector's full sweeps, which every few dozen panel updates cost 50-110 ms
# of walking it; an update's own garbage is collected as before.
gc.freeze()


def use_offline_renderer():
    """Render charts as SVG in the kernel: works with no internet and when a notebook is viewed as a file."""
    alt.renderers.enable("svg")


def with_data(chart, datasets):
    """``chart`` carrying ``datasets`` (name -> DataFrame or records), ready to display on its own.

    >>> with_data(alt.Chart(alt.Data(name="a")).mark_point(), {"a": [{"x": 1}]}).to_dict()["datasets"]
    {'a': [{'x': 1}]}
    """
    return chart.properties(datasets={k: records(v) for k, v in datasets.items()})


def beside(*charts, spacing=None, independent=("color",)):
    """Charts side by side, each with its own colours (and the other ``independent`` channels)."""
    options = {} if spacing is None else {"spacing": spacing}
    return alt.hconcat(*charts, **options).resolve_scale(**{channel: "independent" for channel in independent})


def title(text, subtitle=None):
    """A chart title with an optional subtitle (a string or a list of lines)."""
    return alt.Title(text, subtitle=subtitle) if subtitle is not None else alt.Title(text)


def tooltips(*fields):
    """Tooltip channels: a field (``"users:Q"``) or a (field, format) pair each.

    >>> tooltips("a:N", ("b:Q", ".0%"))[1].to_dict()
    {'field': 'b', 'format': '.0%', 'type': 'quantitative'}
    """
    return [alt.Tooltip(f[0], format=f[1]) if isinstance(f, tuple) else f for f in fields]


def dash(field, patterns):
    """A stroke-dash channel from {label: dash pattern}; no legend."""
    return alt.StrokeDash(field, scale=alt.Scale(domain=list(patterns), range=list(patterns.values())), legend=None)


def shape(field, shapes, legend=None, **options):
    """A point-shape channel from {label: shape} (or a list of shapes); no legend unless asked."""
    scale = (alt.Scale(range=list(shapes)) if isinstance(shapes, (list, tuple))
             else alt.Scale(domain=list(shapes), range=list(shapes.values())))
    return alt.Shape(field, scale=scale, legend=legend, **options)


# -- measured against theory ---------------------------------------------------------------

def curves(x, y, color, *, tooltip=(), label=None, label_style=LABELS, line=None, dots=DOTS, current=None,
           prefix="", before=(), after=(), line_channels=None, dot_channels=None, heading=None,
           width=WIDTH, height=HEIGHT):
    """Theory lines, their direct labels, simulated dots and a dashed "your setting" rule, layered.

    Reads the named datasets ``<prefix>theory``, ``<prefix>labels`` (when ``label`` names the text
    field), ``<prefix>simulated`` and ``current`` (when ``current`` names the rule's field); ``before``
    and ``after`` are extra layers drawn under and over them.

    >>> x, y = scales.log_axis("x", "users:Q", "users", (10, 1_000)), alt.Y("latency_ms:Q")
    >>> len(curves(x, y, scales.color("statistic:N", scales.STATISTIC_COLORS), current="users:Q").layer)
    3
    """
    tips = tooltips(*tooltip)
    layers = [*before, alt.Chart(alt.Data(name=f"{prefix}theory")).mark_line(**(line or {})).encode(
        x=x, y=y, color=color, tooltip=tips, **(line_channels or {}))]
    if label is not None:
        layers.append(alt.Chart(alt.Data(name=f"{prefix}labels")).mark_text(**label_style).encode(
            x=x, y=y, color=color, text=label))
    layers.append(alt.Chart(alt.Data(name=f"{prefix}simulated")).mark_point(**dots).encode(
        x=x, y=y, color=color, tooltip=tips, **(dot_channels or {})))
    if current is not None:
        layers.append(alt.Chart(alt.Data(name="current")).mark_rule(strokeDash=[4, 3], color="gray").encode(x=current))
    chart = alt.layer(*layers, *after).properties(width=width, height=height)
    return chart.properties(title=heading) if heading is not None else chart


def latency_axes(users_range, latency_range=None, users_ticks=(1,), y_format="~s", **scale):
    """The users (log, x) and latency (log, y, ms) channels of the "latency as users grow" charts."""
    x = scales.log_axis("x", "users:Q", "daily active users", users_range,
                        ticks=scales.log_ticks(users_range, users_ticks))
    ticks = scales.log_ticks(latency_range or (1, 50_000))
    y = scales.log_axis("y", "latency_ms:Q", "latency (ms)", latency_range, ticks=ticks, format=y_format, **scale)
    return x, y


def walls(x_field, y_range, color):
    """A wide translucent rule where each design is full, labelled near the top on the side given in ``side``.

    Reads the dataset ``walls``: users, design, label, label_ms and side ("left" or "right").
    """
    y = alt.Y("label_ms:Q", scale=alt.Scale(type="log", domain=list(y_range)))
    rule = alt.Chart(alt.Data(name="walls")).mark_rule(strokeWidth=6, opacity=0.25).encode(x=x_field, color=color)
    return [rule] + [alt.Chart(alt.Data(name="walls")).transform_filter(alt.datum.side == side).mark_text(
        align=side, dx=5 if side == "left" else -5, fontWeight="bold").encode(
        x="users:Q", y=y, text="label:N", color=color) for side in ("left", "right")]


def full_line():
    """A red dashed rule at 100 % busy."""
    return alt.Chart(alt.Data(values=[{"full": 1.0}])).mark_rule(color=scales.RED, strokeDash=[2, 2]).encode(
        y="full:Q")


def knee(architecture, simulated=None, *, current=None, users_range=USERS_RANGE, **workload_options):
    """Latency against daily active users: theory lines, simulated dots, and where the box saturates.

    ``simulated`` is a :func:`chapter1.sweep` table (or None); ``current`` is a users value to mark.

    >>> from chapter1 import single_server
    >>> chart = knee(single_server())
    """
    data = knee_data(architecture, simulated, current=current, users_range=users_range, **workload_options)
    return with_data(_knee_chart(tuple(users_range)), data)


def knee_data(architecture, simulated=None, *, current=None, users_range=USERS_RANGE, **workload_options):
    """The datasets :func:`knee` draws: theory curve, simulated points, saturation band, current marker."""
    per_user = Workload(**workload_options).per_user_rate
    capacity = min(getattr(t, "capacity", np.inf) for t in architecture.tiers)
    start = capacity / per_user
    theory = theory_curve(architecture, users_range, **workload_options)
    return {
        "theory": theory,
        "labels": first_rows(theory, "statistic"),
        "simulated": long_latency(simulated, "users") if simulated is not None else [],
        "saturation": [{"start": start, "end": users_range[1]}] if start < users_range[1] else [],
        "current": [{"users": current}] if current is not None else [],
    }


@functools.lru_cache(maxsize=8, typed=True)
def _knee_chart(users_range):
    x, y = latency_axes(users_range)
    saturation = alt.Chart(alt.Data(name="saturation")).mark_rect(color="gray", opacity=0.15).encode(
        x=alt.X("start:Q", scale=alt.Scale(type="log", domain=list(users_range))), x2="end:Q")
    return curves(x, y, alt.Color("statistic:N", scale=COLORS, legend=None), label="statistic:N",
                  tooltip=("users:Q", "statistic:N", ("latency_ms:Q", ",.0f")), current="users:Q",
                  before=[saturation], heading=title(
                      "Latency as users grow", "lines: queueing theory · dots: simulation · grey: overloaded"))


def theory_curve(architecture, users_range=USERS_RANGE, points=80, *, model=None, ceiling=None, near=(),
                 **workload_options):
    """Theory's mean and p95 latency (ms) over a log grid of users, leaving out the overloaded part.

    ``model(architecture, workload, percents=(95,))`` gives the figures (default: :func:`chapter1.analytic.predict`);
    ``ceiling(architecture)``, users at saturation, adds points at the ``near`` shares of it, so that a
    line climbs its wall instead of stopping short.

    >>> from chapter1 import single_server
    >>> sorted(set(theory_curve(single_server())["statistic"]))
    ['mean', 'p95']
    """
    return _theory_curve(architecture, tuple(users_range), points, model or analytic.predict, ceiling, tuple(near),
                         tuple(sorted(workload_options.items()))).copy()


@functools.lru_cache(maxsize=256, typed=True)
def _theory_curve(architecture, users_range, points, model, ceiling, near, workload_items):
    grid = np.geomspace(*users_range, points)
    if ceiling is not None and near:
        extra = ceiling(architecture) * np.array(near)
        grid = np.sort(np.concatenate([grid, extra[(extra > users_range[0]) & (extra < users_range[1])]]))
    options = dict(workload_items)
    points = (analytic.predict_curve(architecture, grid, (95,), **options) if model is analytic.predict else
              [model(architecture, Workload(users=float(users), **options), percents=(95,)) for users in grid])
    latency = np.array([[math.nan if theory is None else theory[key] for key in STATISTICS] for theory in points],
                       dtype=float).reshape(-1)  # point by point, its statistics in turn; NaN: no closed form (tandems)
    kept, labels = np.isfinite(latency), np.tile(np.array(list(STATISTICS.values()), dtype=object), len(grid))
    return pd.DataFrame({"users": np.repeat(grid, len(STATISTICS))[kept], "statistic": labels[kept],
                         "latency_ms": latency[kept]})


def first_rows(table, by, last=False):
    """The first (``last``: the last) row of each group of ``by`` in ``table``, in the table's order:
    ``table.groupby(by, sort=False).head(1)`` (``.tail(1)``), found in numpy.

    >>> table = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
    >>> first_rows(table, "k")["v"].tolist(), first_rows(table, "k", last=True)["v"].tolist()
    ([1, 2], [2, 3])
    """
    keys = table[by].to_numpy()
    _, found = np.unique(keys[::-1] if last else keys, return_index=True)
    return table.iloc[np.sort(len(keys) - 1 - found if last else found)]


def design_curves(designs, users_range, points, **options):
    """:func:`theory_curve` for each design (label -> architecture), with a ``design`` column."""
    return by_design({label: theory_curve(arch, users_range, points, **options) for label, arch in designs.items()})


def by_design(curves):
    """Designs' lines (label -> table of users, statistic, latency_ms) as one table with a ``design`` column, joined
    column by column (not by assign and concat).

    >>> by_design({"a": pd.DataFrame({"users": [1.0], "statistic": ["mean"], "latency_ms": [2.0]})}).values.tolist()
    [[1.0, 'a', 'mean', 2.0]]
    """
    joined = {name: np.concatenate([np.zeros(0)] + [curve[name].to_numpy() for curve in curves.values()])
              for name in ("users", "statistic", "latency_ms")}
    joined["design"] = np.repeat(np.array(list(curves), dtype=object), [len(curve) for curve in curves.values()])
    return pd.DataFrame({name: joined[name] for name in ("users", "design", "statistic", "latency_ms")})


def long_latency(table, *by):
    """Long form of a sweep table's mean and p95 columns: ``by`` columns, statistic, latency_ms.

    >>> long_latency(pd.DataFrame({"users": [1], "mean_ms": [2.0]}), "users").values.tolist()
    [[1, 'mean', 2.0]]
    """
    present = {k: v for k, v in STATISTICS.items() if k in table}
    return long_form(table, list(by), present, "statistic", "latency_ms").dropna()


def long_form(table, ids, columns, var_name, value_name):
    """``table.melt(ids, columns, var_name, value_name)`` in a few numpy steps (pandas' melt costs a redraw
    more than the rest of its tables); ``columns`` may be a dict {column: name in ``var_name``}.

    >>> wide = pd.DataFrame({"t": [0, 1], "a": [1.0, 2.0], "b": [3.0, 4.0]})
    >>> long_form(wide, ["t"], ["a", "b"], "k", "v").values.tolist()
    [[0, 'a', 1.0], [1, 'a', 2.0], [0, 'b', 3.0], [1, 'b', 4.0]]
    """
    names = columns if isinstance(columns, dict) else {c: c for c in columns}
    rows = len(table)
    data = {c: np.tile(table[c].to_numpy(), len(names)) for c in ids}
    data[var_name] = np.repeat(np.array(list(names.values()), dtype=object), rows)
    data[value_name] = (np.concatenate([table[c].to_numpy() for c in names]) if names else np.zeros(0))
    return pd.DataFrame(data)


# -- what happens over simulated time ------------------------------------------------------

def timeline(result, bins=40):
    """Latency percentiles and the share of failed requests over simulated time; outages shaded red."""
    chart = _timeline_chart().properties(title=alt.Title("Over simulated time", subtitle=budget_note(result)))
    return with_data(chart, timeline_data(result, bins))


def timeline_data(result, bins=40):
    """The datasets :func:`timeline` draws: latency per window (long form), windows, outage bands."""
    table = result.timeline_columns(bins, utilization=False)  # (dicts of columns: no table is built)
    names, t_s = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"}, table["t_s"]
    latency = {"t_s": np.tile(t_s, 3), "percentile": np.repeat(np.array(list(names.values()), dtype=object), len(t_s)),
               "latency_ms": np.concatenate([table[column] for column in names])}
    ends = sorted([(t_s[k[-1]], name, table[c][k[-1]]) for c, name in names.items()  # each line's last point,
                   for k in [np.flatnonzero(~np.isnan(table[c]))] if len(k)], key=lambda end: end[2])  # by height
    values = np.array([end[2] for end in ends], dtype=float)
    gap = 0.1 * max(values.max() - values.min(), values.max()) if len(values) else 0.1
    labels = {"t_s": np.array([end[0] for end in ends], dtype=float), "percentile": [end[1] for end in ends],
              "latency_ms": values, "label_ms": scales.spread(values, gap)}
    return {"latency": latency, "latency_labels": labels, "windows": {"t_s": t_s, "error_share": table["error_share"]},
            "outages": _outages(result)}


@functools.lru_cache(maxsize=1, typed=True)
def _latency_chart():
    x, bands = TIME, _outage_bands()
    y = alt.Y("latency_ms:Q", title="latency (ms)")
    color = alt.Color("percentile:N", scale=PERCENTILE_COLORS, legend=None)
    return alt.layer(bands, alt.Chart(alt.Data(name="latency")).mark_line(
        invalid="break-paths-show-domains").encode(
        x=x, y=y, color=color, tooltip=tooltips(("t_s:Q", ",.1f"), "percentile:N", ("latency_ms:Q", ",.0f")),
    ), alt.Chart(alt.Data(name="latency_labels")).mark_text(align="left", dx=5, fontWeight="bold").encode(
        x=x, y="label_ms:Q", color=color, text="percentile:N"),
    ).properties(width=WIDTH, height=int(HEIGHT * 0.6))


@functools.lru_cache(maxsize=1, typed=True)
def _timeline_chart():
    x, bands = TIME, _outage_bands()
    bottom = alt.layer(bands, alt.Chart(alt.Data(name="windows")).mark_area(color=scales.RED, opacity=0.7).encode(
        x=x, y=scales.share_axis("y", "error_share:Q", "failed"),
    )).properties(width=WIDTH, height=int(HEIGHT * 0.25))
    return alt.vconcat(_latency_chart(), bottom, spacing=5)


def lines_and_dots(lines, dots, x, y, *, color=None, dash=None, dot_y=None, dot_channels=None, dots_style=DOTS,
                   tooltip=(), heading=None, width=WIDTH, height=HEIGHT):
    """Theory lines from the table ``lines`` and measured dots from ``dots`` (the same table will do), for a
    chart drawn once (legends allowed); ``dot_y`` plots the dots' own column.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"n": [1, 2], "expected": [1.0, 2.0], "measured": [1.1, 1.9]})
    >>> len(lines_and_dots(t, t, alt.X("n:Q"), alt.Y("expected:Q"), dot_y="measured:Q").layer)
    2
    """
    tips = tooltips(*tooltip)
    line_channels = {k: v for k, v in (("color", color), ("strokeDash", dash)) if v is not None}
    dot_channels = dot_channels if dot_channels is not None else ({"color": color} if color is not None else {})
    chart = alt.layer(
        alt.Chart(lines).mark_line().encode(x=x, y=y, tooltip=tips, **line_channels),
        alt.Chart(dots).mark_point(**dots_style).encode(x=x, y=dot_y or y, tooltip=tips, **dot_channels),
    ).properties(width=width, height=height)
    return chart.properties(title=heading) if heading is not None else chart


def constant(value):
    """A channel holding one value for every mark (a colour, say)."""
    return alt.value(value)


def price_per_core(catalogue, color, shape, places, limit_label=("no box", "this big")):
    """The catalogue's price per core against cores (log 2), past the biggest box shaded red, and the
    designs' picks as large labelled points (``places``: design -> text placement).

    Reads the datasets ``catalogue`` (cores, per_core) and ``picks`` (design, cores, per_core, label).
    """
    top = catalogue[-1] * 2
    cx = alt.X("cores:Q", title="cores in the box", scale=alt.Scale(type="log", base=2, domain=[catalogue[0], top]),
               axis=alt.Axis(values=list(catalogue) + [top], format="d"))
    cy = scales.linear_axis("y", "per_core:Q", "price per core ($ a month)", (0, 110), ticks=[0, 25, 50, 75, 100])
    middle = (catalogue[-1] * top) ** 0.5
    return alt.layer(
        alt.Chart(alt.Data(values=[{"cores": catalogue[-1], "end": top}])).mark_rect(
            color=scales.RED, opacity=0.1).encode(x="cores:Q", x2="end:Q"),
        alt.Chart(alt.Data(values=[{"cores": round(middle), "per_core": 55, "text": limit_label[0]},
                                   {"cores": round(middle), "per_core": 47, "text": limit_label[1]}])).mark_text(
            color=scales.RED, fontSize=11).encode(x="cores:Q", y="per_core:Q", text="text:N"),
        alt.Chart(alt.Data(name="catalogue")).mark_line(point=True, color=scales.COLORS["light grey"]).encode(
            x=cx, y=cy, tooltip=tooltips("cores:Q", ("per_core:Q", "$.1f"))),
        alt.Chart(alt.Data(name="picks")).mark_point(filled=True, size=160, opacity=1).encode(
            x=cx, y=cy, color=color, shape=shape),
        *[alt.Chart(alt.Data(name="picks")).transform_filter(alt.datum.design == design).mark_text(
            fontWeight="bold", **place).encode(x=cx, y=cy, text="label:N", color=color)
          for design, place in places.items()],
    ).properties(width=int(WIDTH * 0.75), height=HEIGHT, title=title(
        "Bigger boxes cost more per core", "price x 2.5 for each doubling of the cores"))


def latency_and_knee():
    """Chapter 01's panel chart: latency as users grow beside latency over time (datasets of both)."""
    return beside(_knee_chart(USERS_RANGE), _latency_chart())


def _outage_bands():
    """Red bands over the stretches of simulated time when a component was down."""
    return alt.Chart(alt.Data(name="outages")).mark_rect(color=scales.RED, opacity=0.12).encode(
        x="start:Q", x2="end:Q", tooltip=["component:N", "start:Q", "end:Q"])


def utilization(result, bins=40):
    """Busy share of each tier's workers over simulated time; outages shaded red."""
    table = result.timeline(bins)
    columns = [c for c in table.columns if c.endswith("_utilization")]
    long = long_form(table, ["t_s"], {c: c.removesuffix("_utilization") for c in columns}, "component", "utilization")
    lines = alt.Chart(alt.Data(name="utilization")).mark_line().encode(
        x=TIME,
        y=alt.Y("utilization:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])), color="component:N")
    return with_data(alt.layer(_outage_bands(), lines).properties(
        width=WIDTH, height=int(HEIGHT * 0.6), title="Worker utilisation"),
        {"outages": _outages(result), "utilization": long})


def failures_over_time(top, heading, first_event, width=int(WIDTH * 1.6)):
    """Share of requests failing over time: simulated windows as bars, the expected share as a line, events.

    Reads ``windows`` (start, end, t_s, error_share), ``failover_theory`` (t_s, share) and ``events``
    (t_s, event); ``first_event`` is labelled left of its rule, the later events right of theirs.
    """
    x = alt.X("t_s:Q", title="simulated time (s)")
    y = scales.share_axis("y", "share:Q", "share of requests failing", top=top)
    bars = alt.Chart(alt.Data(name="windows")).mark_rect(color=scales.RED, opacity=0.45).encode(
        x="start:Q", x2="end:Q", y=alt.Y("error_share:Q"), y2=alt.datum(0),
        tooltip=tooltips(("t_s:Q", ",.1f"), ("error_share:Q", ".1%")))
    line = alt.Chart(alt.Data(name="failover_theory")).mark_line(color=scales.DARK, strokeWidth=2).encode(x=x, y=y)
    events = alt.Chart(alt.Data(name="events")).mark_rule(strokeDash=[4, 3], color=scales.COLORS["mid grey"]).encode(
        x="t_s:Q", tooltip=["event:N", "t_s:Q"])

    def labels(side):
        return alt.Chart(alt.Data(name="events")).transform_filter(
            alt.datum.event == first_event if side == "left" else alt.datum.event != first_event).mark_text(
            align="right", dx=-4, angle=270, baseline="bottom" if side == "left" else "top", fontSize=10,
            color="#555").encode(x="t_s:Q", y=alt.datum(top), text="event:N")

    return alt.layer(bars, line, events, labels("left"), labels("right")).properties(
        width=width, height=HEIGHT, title=heading)


# -- per component ----------------------------------------------------------------------------

def bars(name, x, y, color, *, tooltip=(), rule=None, text=None, width=WIDTH, height=HEIGHT, heading=None):
    """Horizontal bars, one per component (dataset ``name``), not stacked, with an optional dashed rule at
    the field ``rule`` (dataset ``target``) and value labels (``text`` = (field, format))."""
    x = x.copy()
    x.stack = None
    base = alt.Chart()
    layers = [base.mark_bar().encode(x=x, y=y, color=color, tooltip=tooltips(*tooltip))]
    if text is not None:
        layers.append(base.mark_text(align="left", dx=4, fontSize=11).encode(
            x=x, y=y, text=alt.Text(text[0], format=text[1])))
    if rule is not None:
        layers.append(alt.Chart(alt.Data(name="target")).mark_rule(color=scales.DARK, strokeDash=[4, 3]).encode(
            x=rule))
    chart = alt.layer(*layers, data=alt.Data(name=name)).properties(
        width=width, **({"height": height} if height is not None else {}))
    return chart.properties(title=heading) if heading is not None else chart


def by_row(chart, field, sort, heading=None):
    """``chart`` repeated in one row per value of ``field`` (in ``sort`` order), each with its own y axis."""
    faceted = chart.facet(row=alt.Row(field, title=None, sort=list(sort), header=alt.Header(
        labelAngle=0, labelAlign="left", labelFontWeight="bold"))).resolve_scale(y="independent")
    return faceted.properties(title=heading) if heading is not None else faceted


def nominal(field, title=None, label_limit=None):
    """A y channel listing categories in data order (no sorting)."""
    axis = alt.Axis(labelLimit=label_limit) if label_limit else alt.Undefined
    return alt.Y(field, title=title, sort=None, axis=axis)


def legend(title=None, **options):
    """A legend (for static charts; live panels label directly)."""
    return alt.Legend(title=title, **options) if options or title else alt.Legend(title=title)


def budget_note(result):
    """'5,000 simulated requests = 10.8 s of peak traffic at 463 req/s (run 1)': what a chart's sample covers.

    The run number is the seed plus one: "new run" on a panel draws the next.
    """
    requests, seconds, rate = len(result.status_code), float(result.duration_s), float(result.workload.rate)
    return (f"{requests:,} simulated requests = {seconds:,.1f} s of peak traffic at {rate:,.0f} req/s "
            f"(run {result.seed + 1})")  # (the summary's figures, read without computing all of it)


def _outages(result):
    return pd.DataFrame([{"start": o.start_s, "end": min(o.end_s, result.duration_s), "component": c.name}
                         for c in result.architecture.components for o in c.outages
                         if o.start_s < result.duration_s], columns=["start", "end", "component"])


# Charts render as SVG in the kernel: no internet needed, and they show when a notebook is viewed as a file.
use_offline_renderer()


# -- a run's headline figures, readable ---------------------------------------------------------

SUMMARY_LABELS = {
    "requests": "simulated requests", "simulated_s": "simulated time", "offered_rps": "offered load (peak)",
    "throughput_rps": "throughput", "mean_ms": "mean latency", "p50_ms": "p50 latency (median)",
    "p95_ms": "p95 latency", "p99_ms": "p99 latency", "error_rate": "failed: errors",
    "timeout_rate": "failed: timed out", "rejected_rate": "failed: rejected (queue full)",
    "dns_hit_ratio": "DNS answered from the browser's cache",
}


def summary_table(summary, keys=None):
    """A run's headline figures as a readable table: milliseconds with units, shares as percentages.

    ``summary`` is a :class:`chapter1.Result` or its ``summary()``; ``keys`` picks and orders figures.
    Unlike the raw summary (fractions, long floats), this is what a chart's headline shows.

    >>> from chapter1 import Workload, simulate, single_server
    >>> run = simulate(single_server(), Workload(users=1_000), requests=500)
    >>> table = summary_table(run, ["p95_ms", "server_utilization"])
    >>> table["value"].tolist(), table.index.tolist()
    (['153.9 ms', '0.3 %'], ['p95 latency', 'server: busy share'])
    """
    s = summary.summary() if hasattr(summary, "summary") else summary
    keys = [k for k in (keys if keys is not None else s.index) if k in s.index]
    rows = {_summary_label(k): _summary_value(k, s[k]) for k in keys}
    return pd.DataFrame({"value": list(rows.values())}, index=list(rows))


def _summary_label(key):
    if key in SUMMARY_LABELS:
        return SUMMARY_LABELS[key]
    if key.endswith("_utilization"):
        return f"{key.removesuffix('_utilization')}: busy share"
    return key.replace("_", " ")


def _summary_value(key, value):
    value = plain(value)
    if value is None or value != value:
        return "n/a"
    if key == "requests" or isinstance(value, int) and not isinstance(value, bool):
        return f"{int(value):,}"
    if key.endswith("_ms"):
        return f"{value:,.1f} ms"
    if key.endswith("_rps"):
        return f"{value:,.1f} req/s"
    if key.endswith("_s"):
        return f"{value:,.1f} s"
    if key.endswith(("_rate", "_ratio", "_utilization", "_share")):
        return f"{value:.1%}".replace("%", " %")
    return f"{value:,.4g}"


# -- latency against utilisation, linear axes ---------------------------------------------------

def against_load(group, colors, latency_top_ms, heading=None, subtitle=None, width=WIDTH, height=HEIGHT):
    """Latency (ms, linear) against utilisation (0-100 %, linear): one theory line per ``group`` value,
    labelled at its end, measured dots in the same colour.

    Reads ``theory`` and ``simulated`` (utilization, latency_ms and the ``group`` field) and ``labels``
    (one row per line: where its label goes).  ``colors`` maps each group value to a colour name.

    >>> len(against_load("servers", {"c = 1": "red"}, 1_000).layer)
    3
    """
    x = scales.share_axis("x", "utilization:Q", "utilisation (busy share of the workers)", ticks=scales.fifths())
    y = scales.linear_axis("y", "latency_ms:Q", "mean latency (ms)", (0, latency_top_ms))
    y.scale = alt.Scale(domain=[0, latency_top_ms], clamp=False)
    return curves(x, y, scales.color(f"{group}:N", colors), label=f"{group}:N",
                  label_style={"align": "left", "dx": 5, "fontWeight": "bold"}, line={"clip": True},
                  dots={"filled": True, "size": 40, "opacity": 0.75, "clip": True},
                  tooltip=(f"{group}:N", ("utilization:Q", ".0%"), ("latency_ms:Q", ",.0f")),
                  heading=title(heading, subtitle) if heading else None, width=width, height=height)
