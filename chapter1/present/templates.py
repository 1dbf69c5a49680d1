"""Chart templates: a chart's Vega-Lite spec compiled to Vega once, its data put in per redraw, drawn as SVG in
the kernel (:class:`Drawing`) or by the browser's own Vega (:class:`BrowserDrawing`); :func:`records` turns
tables into the rows a chart's datasets hold.
"""

import collections
import json
import re

import numpy as np
import pandas as pd
import vl_convert

from .svg import Picture


def newest_vega_lite_5(versions=None):
    """The newest Vega-Lite 5 that vl-convert compiles with (``versions``: its list; vl-convert 1.6 has none
    to give, and goes up to 5.20).

    >>> newest_vega_lite_5(["5.8", "5.20", "5.21", "6.4"])
    '5.21'
    """
    versions = versions or getattr(vl_convert, "get_vegalite_versions", lambda: ["5.20"])()
    return max((v for v in versions if v.startswith("5.")), key=lambda v: tuple(map(int, v.split("."))))


# Templates compile with the newest Vega-Lite that targets Vega 5, the Vega JupyterLab 4.6 bundles: one spec, drawn
# in the kernel (vl-convert's Vega 6 draws it the same) and in the browser.
VEGA_LITE = newest_vega_lite_5()
# The colours JupyterLab's dark theme gives a chart its browser draws (vega-themes' "dark": white labels and titles,
# on the white background the spec keeps), pinned to Vega's own: the same picture in any theme, as the SVG is.
LIGHT = {"title": {"color": "#000", "subtitleColor": "#000"},
         "style": {"guide-label": {"fill": "#000"}, "guide-title": {"fill": "#000"}},
         "axis": {"domainColor": "#888", "gridColor": "#ddd", "tickColor": "#888"}}
CONTINUOUS = {"linear", "log", "pow", "sqrt", "symlog", "time", "utc", "sequential"}  # Vega scales labelled by numbers


class Template:
    """A chart's Vega-Lite spec, validated and compiled to Vega once, its data left out; ``svg(datasets)`` draws it.

    Building and validating an altair chart, then compiling Vega-Lite to Vega, costs more than drawing
    it, so a live panel pays that once: a redraw only puts its datasets into the compiled Vega spec.

    >>> import altair as alt
    >>> t = Template(alt.Chart(alt.Data(name="a")).mark_point().encode(x="x:Q"))
    >>> t.names, t.svg({"a": [{"x": 1}]}).data.startswith("<svg")
    (['a'], True)
    """

    def __init__(self, chart, titles=True):
        self.spec = chart.to_dict()  # validated once, here
        if not titles:  # a panel can caption its charts in HTML instead: titles are a costly part of a redraw
            self.spec = _without_titles(self.spec)
        # No ARIA labels on every mark (a third of a redraw): JupyterLab shows an SVG as an <img>, whose
        # inner labels no screen reader reads; the picture is the same.
        self.spec = {**self.spec, "config": {**self.spec.get("config", {}), "aria": False}}
        self.names = sorted(_dataset_names(self.spec))
        self._vega = _lighter(vl_convert.vegalite_to_vega({**self.spec, "datasets": {name: [] for name in self.names}},
                                                          vl_version=VEGA_LITE))
        self._vega["config"] = _beneath(LIGHT, self._vega.get("config", {}))
        self._slots = [k for k, source in enumerate(self._vega.get("data", []))
                       if source.get("name") in self.names and source.get("values") == []]
        missing = set(self.names) - {self._vega["data"][k]["name"] for k in self._slots}
        if missing:  # Vega-Lite compiled a dataset into another shape: a redraw would silently lose it
            raise ValueError(f"the compiled chart has no data source for {sorted(missing)}; draw it with with_data()")

    def vega(self, datasets):
        """The compiled Vega spec with ``datasets`` in place (a dataset not given is empty); shares all else."""
        data = list(self._vega["data"])
        for k in self._slots:
            data[k] = {**data[k], "values": records(datasets.get(data[k]["name"], []))}
        return {**self._vega, "data": data}

    def svg(self, datasets):
        """The chart with ``datasets`` (name -> DataFrame, records or a dict of columns; others are ignored) in
        place: a :class:`Drawing`, drawn as SVG for Jupyter when first shown."""
        vega = self.vega(datasets)
        data = list(vega["data"])
        for k in self._slots:  # each dataset as JSON text that Vega parses itself
            data[k] = _as_json_text(data[k])
        return Drawing({**vega, "data": data}, plain_json=all(isinstance(data[k]["values"], str) for k in self._slots))

    def svg_from_vega_lite(self, datasets):
        """The same SVG through Vega-Lite each time (the slower path :meth:`svg` replaces; kept to compare)."""
        data = {name: records(datasets.get(name, [])) for name in self.names}
        return Picture(vl_convert.vegalite_to_svg({**self.spec, "datasets": data}))


class Drawing(Picture):
    """A compiled Vega chart with its data: drawn as SVG in the kernel when first shown (``data``), or handed to
    the browser to draw (:meth:`for_browser`).

    >>> d = Drawing({"marks": [{"type": "rect", "encode": {"enter": {"width": {"value": 5}}}}]})
    >>> d.data.startswith("<svg"), BrowserDrawing.MIME in d.for_browser()._repr_mimebundle_()[0]
    (True, True)
    """

    def __init__(self, vega, plain_json=True):  # Picture.__init__ is not called: the SVG is drawn when asked for
        self.vega = vega
        self.plain_json = plain_json  # whether the spec is plain JSON (a dataset holding infinity is not)
        self._svg = None

    @property
    def data(self):
        """The chart as SVG text, drawn by Vega in the kernel (once)."""
        if self._svg is None:
            self._svg = vl_convert.vega_to_svg(self.vega)
        return self._svg

    def for_browser(self):
        """The chart for the front end's Vega renderer to draw; itself (drawn in the kernel) when its data holds
        numbers JSON cannot carry."""
        return BrowserDrawing(self.vega) if self.plain_json else self


class BrowserDrawing:
    """A Vega spec for the front end's Vega 5 renderer (JupyterLab, Notebook 7) to draw as SVG, without the
    export menu.  A front end without that renderer shows the plain-text line, which says what to do."""

    MIME = "application/vnd.vega.v5+json"
    NOTE = ("[a chart for the browser's Vega renderer, which this front end lacks: run "
            "chapter1.widgets.draw_charts_in('kernel') and move the slider again]")

    def __init__(self, vega):
        self.vega = vega

    def _repr_mimebundle_(self, include=None, exclude=None):
        return ({self.MIME: self.vega, "text/plain": self.NOTE},
                {self.MIME: {"embed_options": {"actions": False, "renderer": "svg"}}})


def _lighter(vega):
    """The compiled Vega spec, drawn the same for less: no tooltips, and no label limit on continuous axes.

    The SVG never shows a tooltip, yet every mark evaluated one per item.  An axis label with a limit
    (180 px by default) had its width measured once more as it was drawn, to see whether it needs
    cutting; a number or a date on a continuous axis is far shorter than that, so the limit only cost
    time.  Band and point axes (names) and any axis given its own limit keep theirs.
    """
    kinds = collections.defaultdict(set)  # scale name -> its types (a name reused in another scope: each)
    _walk(vega, lambda d: [kinds[s["name"]].add(s.get("type", "linear")) for s in d.get("scales", [])
                           if isinstance(s, dict) and "name" in s])
    continuous = {name for name, types in kinds.items() if types <= CONTINUOUS}

    def lighter(d):
        if "axes" in d:
            d["axes"] = [{**a, "labelLimit": 0} if a["scale"] in continuous and "labelLimit" not in a
                         and a.get("labels", True) is not False else a for a in d["axes"]]
        if isinstance(d.get("encode"), dict):
            d["encode"] = {k: {c: v for c, v in e.items() if c != "tooltip"} if isinstance(e, dict) else e
                           for k, e in d["encode"].items()}
    return _walk(json.loads(json.dumps(vega)), lighter)


def comparable(svg):
    """``svg`` with its clip-path ids numbered in order of appearance: Vega counts them across every chart a
    process draws, so two drawings of one chart differ only there.

    >>> comparable('<clipPath id="clip7"/><g clip-path="url(#clip7)"/>')
    '<clipPath id="clip0"/><g clip-path="url(#clip0)"/>'
    """
    ids = {}
    return re.sub(r"clip\d+", lambda m: ids.setdefault(m.group(0), f"clip{len(ids)}"), svg)


def _beneath(defaults, given):
    """``given`` (a nested dict) with ``defaults`` filled in wherever it sets nothing.

    >>> _beneath({"axis": {"gridColor": "#ddd", "tickColor": "#888"}}, {"axis": {"tickColor": "red"}, "aria": False})
    {'axis': {'gridColor': '#ddd', 'tickColor': 'red'}, 'aria': False}
    """
    merged = {**defaults, **given}
    for key in defaults.keys() & given.keys():
        if isinstance(defaults[key], dict) and isinstance(given[key], dict):
            merged[key] = _beneath(defaults[key], given[key])
    return merged


def _walk(node, visit):
    """Call ``visit`` on every dict in ``node`` (a JSON-like tree), outermost first; returns ``node``."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)
    return node


def _as_json_text(source):
    """A data source with its rows as JSON text that Vega parses itself: cheaper to hand over than many
    small objects, and the numbers arrive exact.  Rows JSON cannot hold (infinity) stay objects.

    >>> _as_json_text({"name": "a", "values": [{"x": 0.1}]})
    {'name': 'a', 'values': '[{"x":0.1}]', 'format': {'type': 'json'}}
    """
    try:
        text = json.dumps(source["values"], allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return source
    return {**source, "values": text, "format": {**source.get("format", {}), "type": "json"}}


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


def records(data):
    """JSON-ready rows: NaN becomes null (a gap in a line), numpy scalars become plain numbers.

    ``data``: a DataFrame, a list of rows (dicts), or a dict of columns (name -> array or list, all as long):
    the same rows as the DataFrame of those columns, without building one.

    >>> records(pd.DataFrame({"a": [1.0, float("nan")]}))
    [{'a': 1.0}, {'a': None}]
    >>> records({"a": np.array([1.0, np.nan]), "b": ["x", "y"]})
    [{'a': 1.0, 'b': 'x'}, {'a': None, 'b': 'y'}]
    """
    if isinstance(data, pd.DataFrame):
        names = [str(name) for name in data.columns]
        return [dict(zip(names, row)) for row in zip(*(_column(column) for _, column in data.items()))]
    if isinstance(data, dict):
        names = [str(name) for name in data]
        return [dict(zip(names, row)) for row in zip(*(_column(np.asarray(column)) for column in data.values()))]
    return [{k: plain(v) for k, v in row.items()} for row in data]


def _column(column):
    """A column's values (a Series or an array) as plain Python (NaN as None), by numpy when its type allows."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiub":
        values = column.tolist() if isinstance(column, np.ndarray) else column.to_numpy().tolist()
        return [None if v != v else v for v in values] if column.dtype.kind == "f" else values
    return [None if v is pd.NA or v is pd.NaT else plain(v) for v in column.tolist()]


def plain(value):
    """A value as plain Python for JSON: NaN as None, numpy scalars as numbers."""
    if isinstance(value, (float, np.floating)):
        return None if value != value else float(value)
    return value.item() if isinstance(value, np.generic) else value
