"""Live panels: sliders bound to simulate() and a chart, redrawn whenever a slider moves.

A panel is one table of controls plus one draw function, so every chapter builds its
panel the same way (see :func:`panel`).
"""

import functools

import ipywidgets as w
from IPython.display import display

from ..present import charts as charts
from ..architectures import single_server
from ..core.simulation import simulate
from ..core.workload import Workload

DEFAULT_REQUESTS = 5_000
SINGLE_SERVER_CAPTION = ("<small><b>Left:</b> latency as users grow; lines are queueing theory, dots the simulation, "
                         "grey is overload, the dashed line your setting. <b>Right:</b> latency percentiles over the "
                         "simulated time.</small>")


def users_slider(value=100_000, description="users"):
    """A log slider from 10 to 10,000,000 daily active users."""
    return w.FloatLogSlider(value=value, base=10, min=1, max=7, step=0.125, description=description,
                            readout_format=".2s", continuous_update=False, style={"description_width": "initial"})


def int_slider(value, low, high, description, step=1):
    """A whole-number slider that redraws when released (so one drag is one simulation)."""
    return w.IntSlider(value=value, min=low, max=high, step=step, description=description,
                       continuous_update=False, style={"description_width": "initial"})


def panel(controls, draw):
    """A live panel: ``controls`` maps names to widgets; ``draw(**values)`` returns (chart, html).

    The panel calls ``draw`` once at start and again whenever a control changes.

    >>> p = panel({"n": int_slider(2, 1, 5, "n")}, lambda n: (None, f"n is {n}"))
    >>> p.children[1].value
    'n is 2'
    """
    output, figures = w.Output(), w.HTML()

    def redraw(_change=None):
        chart, text = draw(**{name: control.value for name, control in controls.items()})
        figures.value = text
        if chart is not None:
            with output:
                output.clear_output(wait=True)
                display(chart)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap")), figures, output])
    box.add_class("chapter1-panel")
    return box


def single_server_panel(users=100_000, workers=8, service_time_ms=50, requests=DEFAULT_REQUESTS, seed=0):
    """Chapter 01's panel: users, workers and service time of the one box; latency against theory.

    >>> box = single_server_panel(users=1_000)  # doctest: +SKIP
    """
    controls = {
        "users": users_slider(users),
        "workers": int_slider(workers, 1, 64, "workers"),
        "service_time_ms": int_slider(service_time_ms, 10, 500, "service time (ms)", step=10),
    }
    return panel(controls, functools.partial(single_server_view, requests=requests, seed=seed))


def single_server_view(users, workers, service_time_ms, requests=DEFAULT_REQUESTS, seed=0):
    """What the chapter 01 panel shows for one slider setting: (chart as SVG, headline HTML)."""
    arch = single_server(workers=workers, service_time_ms=service_time_ms)
    result = simulate(arch, Workload(users=users), requests=requests, seed=seed)
    point = result.summary().to_frame().T.assign(users=users)
    datasets = {**charts.knee_data(arch, point, current=users), **charts.timeline_data(result, bins=30)}
    return _single_server_template().svg(datasets), headline(result, SINGLE_SERVER_CAPTION)


@functools.lru_cache(maxsize=1)
def _single_server_template():
    # Latency over time without the failed-share strip: the headline gives that figure, and each view costs render time.
    chart = (charts._knee_chart(charts.USERS_RANGE) | charts._latency_chart()).resolve_scale(color="independent")
    return charts.Template(chart, titles=False)


def headline(result, caption=""):
    """The figures a learner reads under the sliders, the sample the charts stand on, and a caption."""
    s = result.summary()
    capacity = sum(getattr(t, "capacity", 0) for t in result.architecture.tiers[:1])
    failed = s["error_rate"] + s["timeout_rate"] + s["rejected_rate"]
    text = (f"<b>{result.workload.users:,.0f}</b> users send <b>{s['offered_rps']:,.1f}</b> req/s at peak; "
            f"the box serves up to <b>{capacity:,.0f}</b> req/s · utilisation <b>{s['server_utilization']:.0%}</b>"
            if "server_utilization" in s else f"<b>{s['offered_rps']:,.1f}</b> req/s at peak")
    text += f" · p95 <b>{s['p95_ms']:,.0f} ms</b> · failed <b>{failed:.1%}</b>"
    return f"<div>{text}<br><small>{charts.budget_note(result)}</small><br>{caption}</div>"
