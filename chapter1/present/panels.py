"""Live panels: sliders bound to a view (simulate + chart), redrawn whenever a slider moves.

A chapter describes its panel once as a :class:`Panel` (controls, view, caption, request budget)
and registers it (:func:`register_panel`), so the benchmark and the browser tests can loop over
every panel (:func:`all_panels`).  :func:`headline` builds the figures printed under the sliders.

>>> p = Panel("demo", "00", lambda n, requests, seed: (None, f"n is {n}"), {"n": integer(1, 5, "n")}, {"n": 2})
>>> p.draw()
(None, 'n is 2')
"""

import dataclasses
import functools
import importlib
import os
import pkgutil
from typing import Callable

from . import charts

DEFAULT_REQUESTS = 5_000
STYLE = {"description_width": "initial"}
PANELS = {}  # name -> Panel, filled as the chapter modules are imported
PLACES = ("browser", "kernel")


def _from_environment():
    """The place named by ``CHAPTER1_DRAW`` (an instructor's setting for a room), else "browser"."""
    where = os.environ.get("CHAPTER1_DRAW") or PLACES[0]
    if where not in PLACES:
        raise ValueError(f"CHAPTER1_DRAW must be one of {', '.join(PLACES)}, not {where!r}")
    return where


DRAWING = {"where": _from_environment()}  # where a moved panel's chart is drawn


def draw_charts_in(where):
    """Where live panels draw a chart after a control moves: "browser" or "kernel".

    "browser" (the default) sends the chart's Vega spec and JupyterLab's own Vega renderer draws it:
    the kernel's share of a move is then the panel's view alone (simulation, theory, headline).
    "kernel" draws SVG in the kernel, as for a panel's first chart (so a saved or exported notebook
    always shows one): use it in a front end that has no Vega renderer.  ``CHAPTER1_DRAW=kernel`` in
    the environment sets it for a room.

    >>> draw_charts_in("kernel"); DRAWING["where"]
    'kernel'
    >>> draw_charts_in("browser"); draw_charts_in("server")
    Traceback (most recent call last):
    ValueError: where must be one of 'browser', 'kernel', not 'server'
    """
    if where not in PLACES:
        raise ValueError(f"where must be one of {', '.join(map(repr, PLACES))}, not {where!r}")
    DRAWING["where"] = where


# JupyterLab sets its Vega charts 8 px in from the top and left: a chart the browser draws sits where the first did.
BROWSER_CHART_STYLE = "<style>.chapter1-panel .jp-RenderedVegaCommon5 { margin: 0; }</style>"


def shown(chart, moved):
    """What a panel displays: after a control ``moved``, a chart the browser can draw goes as its Vega spec.

    >>> picture = charts.Drawing({"marks": []})
    >>> type(shown(picture, moved=False)).__name__, type(shown(picture, moved=True)).__name__
    ('Drawing', 'BrowserDrawing')
    """
    if moved and DRAWING["where"] == "browser" and hasattr(chart, "for_browser"):
        return chart.for_browser()
    return chart


@dataclasses.dataclass(frozen=True)
class Control:
    """One slider, dropdown or toggle: its kind, label, range or options; ``widget(value)`` builds it."""

    kind: str  # "int", "log", "select" (a slider over options), "dropdown", "toggle"
    description: str
    low: float = 0
    high: float = 0
    step: float = 1
    options: tuple = ()
    readout: str = ".2s"

    def values(self):
        """Every value the control offers (log sliders: at each step).

        >>> integer(1, 9, "n", step=4).values()
        [1, 5, 9]
        """
        if self.kind == "int":
            return list(range(self.low, self.high + 1, self.step))
        if self.kind == "log":
            steps = round((self.high - self.low) / self.step)
            return [10 ** (self.low + k * self.step) for k in range(steps + 1)]
        return [o[1] if isinstance(o, tuple) else o for o in self.options]

    def widget(self, value):
        """The ipywidget for this control, set to ``value``; it reports a change when released."""
        import ipywidgets as w

        common = {"value": value, "description": self.description, "style": STYLE}
        if self.kind == "int":
            return w.IntSlider(min=self.low, max=self.high, step=self.step, continuous_update=False, **common)
        if self.kind == "log":
            return w.FloatLogSlider(base=10, min=self.low, max=self.high, step=self.step, continuous_update=False,
                                    readout_format=self.readout, **common)
        if self.kind == "select":
            return w.SelectionSlider(options=list(self.options), continuous_update=False, **common)
        kind = w.Dropdown if self.kind == "dropdown" else w.ToggleButtons
        return kind(options=list(self.options), value=value, description=self.description)


def integer(low, high, description, step=1):
    """A whole-number slider from ``low`` to ``high``."""
    return Control("int", description, low, high, step)


def log_slider(low, high, description, step=0.125, readout=".2s"):
    """A log slider from 10**low to 10**high."""
    return Control("log", description, low, high, step, readout=readout)


def users(low=1, high=7, step=0.125, description="users"):
    """A log slider of daily active users, from 10**low to 10**high."""
    return log_slider(low, high, description, step)


def choice(options, description, kind="dropdown"):
    """A choice among ``options`` (values, or (label, value) pairs): "dropdown", "toggle" or "select"."""
    return Control(kind, description, options=tuple(options))


@dataclasses.dataclass(frozen=True)
class Panel:
    """A chapter's live panel: ``view(**values, requests=, seed=, **options)`` returns (chart, headline HTML).

    ``controls`` maps each view argument to a :class:`Control`, ``defaults`` gives their starting
    values, ``requests`` is the request budget of one redraw, ``options`` fixed keyword arguments,
    and ``examples`` a few other settings worth trying (the benchmark starts from each).
    """

    name: str
    chapter: str
    view: Callable
    controls: dict
    defaults: dict
    caption: str = ""
    requests: int = DEFAULT_REQUESTS
    options: dict = dataclasses.field(default_factory=dict)
    examples: tuple = ()

    def draw(self, *, requests=None, seed=0, **values):
        """What the panel shows for a setting (defaults for whatever is not given): (chart, HTML)."""
        return self.view(**{**self.defaults, **values}, requests=requests or self.requests, seed=seed,
                         **self.options)

    def show(self, *, requests=None, seed=0, **values):
        """The live panel: one control per view argument, starting at ``values`` (else the defaults)."""
        values = {**self.defaults, **values}
        controls = {name: control.widget(values[name]) for name, control in self.controls.items()}
        draw = functools.partial(self.view, requests=requests or self.requests, **self.options)
        return panel(controls, draw, seed=seed)

    def moves(self, count, start=None):
        """``count`` settings, each one control moved from the last, as a learner would move them.

        Controls fixed by ``start`` stay where it puts them.

        >>> p = Panel("demo", "00", None, {"n": integer(1, 5, "n"), "m": integer(1, 3, "m")}, {"n": 2, "m": 1})
        >>> p.moves(3, start={"m": 3})
        [{'n': 4, 'm': 3}, {'n': 1, 'm': 3}, {'n': 3, 'm': 3}]
        """
        setting, movable = {**self.defaults, **(start or {})}, [n for n in self.controls if n not in (start or {})]
        settings = []
        for k in range(count):
            name = movable[k % len(movable)]
            values = self.controls[name].values()
            setting = {**setting, name: values[(7 * k + 3) % len(values)]}
            settings.append(setting)
        return settings


def register_panel(panel_):
    """Add ``panel_`` to :data:`PANELS` under its name; returns it."""
    PANELS[panel_.name] = panel_
    return panel_


def all_panels():
    """Every registered panel, chapter by chapter (imports every chapter module first)."""
    from .. import sections

    for module in pkgutil.iter_modules(sections.__path__):
        importlib.import_module(f"{sections.__name__}.{module.name}")
    return sorted(PANELS.values(), key=lambda p: (p.chapter, p.name))


def users_slider(value=100_000, description="users"):
    """A log slider from 10 to 10,000,000 daily active users."""
    return users(description=description).widget(value)


def int_slider(value, low, high, description, step=1):
    """A whole-number slider that redraws when released (so one drag is one simulation)."""
    return integer(low, high, description, step).widget(value)


def panel(controls, draw, seed=None):
    """A live panel: ``controls`` maps names to widgets; ``draw(**values)`` returns (chart, html).

    The panel calls ``draw`` once at start and again whenever a control changes.  Given a ``seed``,
    ``draw`` also gets ``seed=``, and a "new run" button draws the same setting with the next seed:
    what changes then is noise, not the model.  The first chart is shown as the kernel draws it;
    later ones go as :func:`shown` says (by default the browser draws them: :func:`draw_charts_in`).

    >>> p = panel({"n": int_slider(2, 1, 5, "n")}, lambda n: (None, f"n is {n}"))
    >>> p.children[1].value
    'n is 2'
    >>> p = panel({"n": int_slider(2, 1, 5, "n")}, lambda n, seed: (None, f"n is {n}, run {seed}"), seed=0)
    >>> p.children[0].children[-1].click(); p.children[1].value
    'n is 2, run 1'
    """
    import ipywidgets as w
    from IPython.display import display

    output, figures = w.Output(), w.HTML()
    runs = {} if seed is None else {"seed": seed}

    def redraw(_change=None):
        chart, text = draw(**{name: control.value for name, control in controls.items()}, **runs)
        figures.value = text
        if chart is not None:
            with output:
                output.clear_output(wait=True)
                display(shown(chart, moved=_change is not None))

    def new_run(button):
        runs["seed"] += 1
        redraw(button)

    for control in controls.values():
        control.observe(redraw, names="value")
    row = list(controls.values())
    if runs:
        button = w.Button(description="new run", tooltip="the same setting, simulated with the next seed",
                          layout=w.Layout(width="auto"))
        button.on_click(new_run)
        row.append(button)
    redraw()
    style = w.HTML(BROWSER_CHART_STYLE, layout=w.Layout(display="none"))
    box = w.VBox([w.HBox(row, layout=w.Layout(flex_flow="row wrap")), figures, output, style])
    box.add_class("chapter1-panel")
    return box


# -- the figures under the sliders -----------------------------------------------------------------

def failed(summary):
    """Share of requests that failed in any way (errors, time-outs, rejections).

    >>> failed({"error_rate": 0.01, "timeout_rate": 0.02, "rejected_rate": 0.0})
    0.03
    """
    return summary["error_rate"] + summary["timeout_rate"] + summary["rejected_rate"]


def outcome(summary, failures="always"):
    """'p95 <b>120 ms</b> · failed <b>0.0%</b>': the latency and failure figures of a run.

    ``failures="if any"`` leaves the failed share out when nothing failed.

    >>> outcome({"p95_ms": 120.4, "error_rate": 0.0, "timeout_rate": 0.0, "rejected_rate": 0.0})
    'p95 <b>120 ms</b> · failed <b>0.0%</b>'
    """
    share = failed(summary)
    text = f"p95 <b>{summary['p95_ms']:,.0f} ms</b>"
    return text + (f" · failed <b>{share:.1%}</b>" if share or failures == "always" else "")


def headline(*lines, result=None, note="", caption=""):
    """The HTML under a panel's sliders: figure ``lines``, the sample the charts stand on, a caption.

    >>> headline("a", "b", caption="<small>c</small>")
    '<div>a<br>b<br><small>c</small></div>'
    """
    parts = list(lines)
    if result is not None:
        parts.append(f"<small>{charts.budget_note(result)}{note}</small>")
    if caption:
        parts.append(caption)
    return f"<div>{'<br>'.join(parts)}</div>"


def __getattr__(name):  # chapter 01's panel now lives in its chapter module
    if name in ("single_server_panel", "single_server_view"):
        from ..sections import single_server

        return getattr(single_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
