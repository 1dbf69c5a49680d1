"""Scales, ticks, colours and direct-label placement: every chart of the course takes them from here.

Charts label their lines directly and give their axes explicit ticks instead of legends and
automatic ticks: both were measured to make a live redraw cheaper.

>>> log_ticks((40, 2_000))
[50, 100, 200, 500, 1000, 2000]
>>> spread([1.0, 1.05, 3.0], gap=0.5).tolist()
[1.0, 1.5, 3.0]
"""

import math

import altair as alt
import numpy as np
import pandas as pd

WIDTH, HEIGHT = 340, 230
STATISTICS = {"mean_ms": "mean", "p95_ms": "p95"}

# Every colour the course draws with, by name.
COLORS = {
    "blue": "#1f77b4", "red": "#d62728", "orange": "#ff7f0e", "green": "#2ca02c", "purple": "#9467bd",
    "brown": "#8c564b", "grey": "#9e9e9e", "light grey": "#999", "dark": "#333", "mid grey": "#777",
    "violet": "#7b3294", "sky": "#6baed6", "amber": "#fd8d3c", "pale blue": "#74a9cf", "wine": "#bd0026",
}
RED, DARK = COLORS["red"], COLORS["dark"]
STATISTIC_COLORS = {"mean": "blue", "p95": "red"}
PERCENTILE_COLORS = {"p50": "pale blue", "p95": "amber", "p99": "wine"}


def palette(names):
    """An altair colour scale from {label: colour name (or hex)}, labels in that order.

    >>> palette({"mean": "blue"}).to_dict()
    {'domain': ['mean'], 'range': ['#1f77b4']}
    """
    return alt.Scale(domain=list(names), range=[COLORS.get(c, c) for c in names.values()])


def color(field, names, legend=None, **options):
    """A colour channel for ``field`` (``"name:N"``) coloured by :func:`palette`; no legend unless asked."""
    return alt.Color(field, scale=palette(names), legend=legend, **options)


def log_ticks(bounds, multiples=(1, 2, 5)):
    """``multiples`` x powers of ten within ``bounds``: 1-2-5 ticks, or decades with ``multiples=(1,)``.

    >>> log_ticks((10, 10_000_000), multiples=(1,))
    [10, 100, 1000, 10000, 100000, 1000000, 10000000]
    """
    low, high = bounds
    return [m * 10 ** e for e in range(int(math.floor(math.log10(low))), int(math.ceil(math.log10(high))) + 1)
            for m in multiples if low <= m * 10 ** e <= high]


def log_axis(channel, field, title, domain=None, ticks=None, format="~s", **scale):
    """An x or y channel on a log scale with explicit ``ticks`` (1-2-5 within ``domain`` by default; "auto": vega's).

    >>> log_axis("x", "users:Q", "users", (10, 1_000)).to_dict()["axis"]["values"]
    [10, 20, 50, 100, 200, 500, 1000]
    """
    kind = alt.X if channel == "x" else alt.Y
    options = {"domain": list(domain)} if domain is not None else {}
    axis = {} if format is None else {"format": format}
    if ticks != "auto":
        axis["values"] = log_ticks(domain) if ticks is None else list(ticks)
    return kind(field, title=title, scale=alt.Scale(type="log", **options, **scale), axis=alt.Axis(**axis))


def linear_axis(channel, field, title, domain=None, ticks=None, format=None):
    """An x or y channel on a linear scale, with explicit ``ticks`` if given.

    >>> linear_axis("x", "n:Q", "n", (0, 2), ticks=[0, 1, 2]).to_dict()["axis"]
    {'values': [0, 1, 2]}
    """
    kind = alt.X if channel == "x" else alt.Y
    axis = {k: v for k, v in (("format", format), ("values", ticks)) if v is not None}
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Undefined
    return kind(field, title=title, scale=scale, axis=alt.Axis(**axis) if axis else alt.Undefined)


def share_axis(channel, field, title, top=1.0, ticks=None):
    """An x or y channel for a share (0 to ``top``) shown as percentages.

    >>> share_axis("y", "share:Q", "failed").to_dict()["scale"]
    {'domain': [0, 1.0]}
    """
    kind = alt.X if channel == "x" else alt.Y
    axis = alt.Axis(format="%", values=list(ticks)) if ticks is not None else alt.Axis(format="%")
    return kind(field, title=title, axis=axis, scale=alt.Scale(domain=[0, top]))


def fifths():
    """Ticks at 0, 20, ..., 100 %."""
    return [k / 5 for k in range(6)]


def spread(values, gap, log=False):
    """Label heights moved apart, in the given order, so that each is at least ``gap`` above the one below.

    With ``log=True`` the gap is in decades (for a log axis).
    """
    y = np.log10(np.asarray(values, dtype=float)) if log else np.array(values, dtype=float)
    for k in range(1, len(y)):
        y[k] = max(y[k], y[k - 1] + gap)
    return np.power(10, y) if log else y


def spread_labels(labels, field, gap, *, log=False, span=False, into=None):
    """The rows of ``labels`` sorted by ``field``, heights spread apart (:func:`spread`) into column ``into``.

    ``span=True`` makes ``gap`` a share of the values' span (or of the largest value).

    >>> spread_labels(pd.DataFrame({"v": [10.0, 11.0]}), "v", 5)["v"].tolist()
    [10.0, 15.0]
    """
    labels = labels.sort_values(field).reset_index(drop=True)
    values = labels[field].to_numpy(dtype=float)
    if span and len(values):
        gap *= max(values.max() - values.min(), values.max())
    return labels.assign(**{into or field: spread(values, gap, log=log)})


def at_levels(lines, by, field, start=0.3, step=0.2, top=0.9):
    """One label per line (group of ``by``): its first point at or over 30 %, 50 %, 70 %, ... of ``field``.

    Successive lines get successive levels, so their labels never sit on top of each other.  (Worked out at once,
    each line's level from its place among the lines; the rows and their index as the line by line search gives.)

    >>> at_levels(pd.DataFrame({"k": ["a", "a", "b", "b"], "v": [0.2, 0.4, 0.4, 0.6]}), "k", "v")["v"].tolist()
    [0.4, 0.6]
    """
    line, _ = pd.factorize(lines[by], sort=False)  # each row's line, numbered in order of first appearance
    level = np.minimum(start + step * line.astype(float), top)
    hits = np.flatnonzero((lines[field].to_numpy(dtype=float) >= level) & (line >= 0))  # (no line: no label)
    _, first = np.unique(line[hits], return_index=True)  # each line's first row at its level, lines in order
    return lines.iloc[hits[first]]


def si(value, digits=3):
    """A number as a slider's readout shows it (d3's ``.3s``): three significant figures and k, M or G.

    >>> si(237_137), si(1_000_000), si(42.0), si(345_600)
    ('237k', '1.00M', '42.0', '346k')
    """
    value = float(value)
    bigger = [(p, s) for p, s in ((9, "G"), (6, "M"), (3, "k")) if abs(value) >= 10 ** p * (1 - 0.5 * 10 ** -digits)]
    power, suffix = bigger[0] if bigger else (0, "")
    scaled = value / 10 ** power
    if scaled == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(round(scaled, digits))))))
    return f"{scaled:.{decimals}f}{suffix}"
