"""Time one live-panel update at every panel's low, middle and high slider positions.

Loops over every registered panel (:func:`chapter1.present.panels.all_panels`).  For each control it
sets the lowest, the middle and the highest value the control offers (the others at their defaults),
each from a cold start (theory lines and labels computed afresh; chart templates are built
once per kernel, and so are the compiled loops some panels' runs take: their load is timed once,
apart).  Each chapter's panels run as in a kernel of their own: the compiled loops are there only
once one of that chapter's panels, drawn at its defaults, asks for them.

An update is what the kernel does when a slider moves.  By default the browser draws the chart
(JupyterLab's Vega renderer): the kernel runs the panel's view and sends the chart's Vega spec with
its data.  With ``draw_charts_in("kernel")`` the kernel draws the SVG itself.  Both are timed, from the
same views; the parts are

* **simulate**: the runs (``Simulation.run``),
* **rest**: everything else the browser-drawn update costs: theory curves, tables the chart reads, the
  headline, the spec as JSON text,
* **render**: Vega drawing the SVG in the kernel (``vl_convert``).

It also times each position as a learner first meets it: every cache cleared, the panel drawn at
another value of the same control (the lowest, or for the lowest the highest), then moved to it; what
the move does not change (the workload's tables, a design's shared theory) is then already there.

Each position is updated cold three times (Vega draws one spec in 21 to 60 ms of CPU from one call
to the next, and a simulation's first run after the caches are cleared varies too); a position's cost
is the median of its three; the share of single updates within the target is printed too.

It prints the median and the range (min-max) over those settings, per panel and over all panels,
and, as the baseline measured in the same process, the render time of the same charts as they were
drawn before templates were compiled: Vega-Lite from scratch, with ARIA labels on every mark.
Target: <= 50 ms of CPU per update at every position.  CPU time (``process_time``, every thread
of the process) is the fair figure on a shared machine.

    python benchmarks/widget_update.py [chapter ...]
"""

import collections
import json
import statistics
import sys
import time

import vl_convert
from IPython.core.formatters import format_display_data

from chapter1.core import kernels, simulation
from chapter1.present import charts, panels, templates
from chapter1.present.panels import all_panels

SPENT = collections.Counter()


def _timed(key, function):
    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[key] += time.process_time() - start
    return timed


def instrument():
    """Count CPU time in the simulation and in Vega; keep the Vega-Lite path to compare."""
    simulation.Simulation.run = _timed("simulate", simulation.Simulation.run)
    templates.vl_convert = type("Renderer", (), {"vega_to_svg": staticmethod(_timed("render", vl_convert.vega_to_svg)),
                                              "vegalite_to_svg": staticmethod(vl_convert.vegalite_to_svg),
                                              "vegalite_to_vega": staticmethod(vl_convert.vegalite_to_vega)})
    drawn = []
    svg = charts.Template.svg

    def keep(template, datasets):
        drawn.append((template, datasets))
        return svg(template, datasets)

    charts.Template.svg = keep
    return drawn


def cold_caches():
    """Every cache the library keeps between updates (theory lines, labels, the capstone's tables and its cache
    clusters' warm-ups, hash rings), not the chart templates: cleared before each update to start it cold."""
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("chapter1."):
            found += [f for key, f in vars(module).items() if hasattr(f, "cache_clear") and hasattr(f, "__wrapped__")
                      and "template" not in key and "chart" not in key]
            found += [memo for key, memo in vars(module).items() if key == "_WARM" and isinstance(memo, dict)]
    return found


def before(template, datasets):
    """The Vega-Lite spec the path before compiled templates drew: data inline, ARIA labels on every mark."""
    config = {k: v for k, v in template.spec.get("config", {}).items() if k != "aria"}
    spec = {k: v for k, v in template.spec.items() if k != "config"}
    return {**spec, **({"config": config} if config else {}),
            "datasets": {name: charts.records(datasets.get(name, [])) for name in template.names}}


def positions(panel):
    """Each control at its lowest, middle and highest value (once each), the rest at the defaults."""
    settings = []
    for name, control in panel.controls.items():
        values = control.values()
        for value in dict.fromkeys((values[0], values[len(values) // 2], values[-1])):
            settings.append({name: value})
    return settings


def elsewhere(panel, setting):
    """The same control at another value: the lowest it offers, or for the lowest the highest."""
    (name, value), = setting.items()
    values = panel.controls[name].values()
    return {name: values[-1] if value == values[0] else values[0]}


def sent(chart):
    """What the kernel sends after a control moves when the browser draws: the chart as the panel displays it,
    formatted by IPython and as JSON text (as kernel_capacity.py times it in a kernel); a chart only the kernel
    can draw is drawn here."""
    return json.dumps(format_display_data(panels.shown(chart, moved=True)))


def update(panel, setting):
    """One cold update at ``setting``: CPU seconds of the panel's view, of sending it for the browser to draw,
    and of drawing its SVG in the kernel instead."""
    c0 = time.process_time()
    chart = panel.draw(**setting)[0]
    c1 = time.process_time()
    sent(chart)
    c2 = time.process_time()
    getattr(chart, "data", None)  # the SVG, as the kernel draws it when asked to
    return c1 - c0, c2 - c1, time.process_time() - c2


def measure(panel, drawn):
    """One row per position of the panel's controls: CPU ms of the update when the browser draws (view + send) and
    when the kernel draws (view + SVG), each the median of REPEATS cold updates, and the parts of the first."""
    panel.draw()  # the chart templates and the renderer start once per kernel, not per update
    rows, caches = [], cold_caches()

    def cold():
        for cache in caches:
            cache.clear() if isinstance(cache, dict) else cache.cache_clear()
    for setting in positions(panel):
        repeats = []
        for _ in range(REPEATS):
            cold()
            SPENT.clear()
            drawn.clear()
            view, send, svg = update(panel, setting)
            repeats.append({"browser": 1e3 * (view + send), "kernel": 1e3 * (view + svg),
                            "simulate": 1e3 * SPENT["simulate"], "render": 1e3 * SPENT["render"], "drawn": list(drawn)})
        row = {**repeats[0], "setting": setting,
               "browser": statistics.median(r["browser"] for r in repeats),
               "kernel": statistics.median(r["kernel"] for r in repeats),
               "singles": [r["browser"] for r in repeats], "kernel singles": [r["kernel"] for r in repeats]}
        c1 = time.process_time()
        for template, datasets in row.pop("drawn"):
            vl_convert.vegalite_to_svg(before(template, datasets))
        row["baseline"] = 1e3 * (time.process_time() - c1)
        cold()
        panel.draw(**elsewhere(panel, setting))
        view, send, _ = update(panel, setting)
        row["first"] = 1e3 * (view + send)
        rows.append(row)
    return rows


REPEATS = 3  # cold updates per position: a position's cost is their median (Vega's drawing of one spec varies 2x)


def spread(values):
    values = list(values)
    return f"{statistics.median(values):6.1f} ({min(values):5.1f}-{max(values):6.1f})"


def within(values, target=50):
    values = list(values)
    return f"{sum(v <= target for v in values)} of {len(values)}"


def main():
    chapters = set(sys.argv[1:])
    drawn = instrument()
    panels.draw_charts_in("browser")
    load = open("/proc/loadavg").read().split()[:3]
    print(f"CPU ms per update: median (min-max) over each control's low, middle and high value; target <= 50 at "
          f"every position (load average {' '.join(load)})")
    start = time.process_time()
    loops = kernels.compiled()  # (numba and the compiled loops: once per kernel, at the first run that takes them)
    print(f"loading the compiled loops, once per kernel: {time.process_time() - start:.2f} s CPU")
    kernels._compile = lambda: loops  # from here on a "load" costs nothing: its cost is the line above
    print(f"{'panel':<33} {'update, browser draws':>21} {'simulate':>20} {'rest':>20} {'update, kernel draws':>21} "
          f"{'render':>20} {'render, before':>20} {'first visit':>20}")
    everything, chapter = [], None
    for panel in all_panels():
        if chapters and panel.chapter not in chapters:
            continue
        if panel.chapter != chapter:  # a kernel of the chapter's own: loops loaded only if its panels ask
            chapter, kernels._compiled = panel.chapter, None
            for own in all_panels():
                if own.chapter == chapter:
                    own.draw()
        rows = measure(panel, drawn)
        everything += rows
        worst = max(rows, key=lambda r: r["browser"])
        print(f"{panel.chapter} {panel.name:<30} {spread(r['browser'] for r in rows)}  "
              f"{spread(r['simulate'] for r in rows)} {spread(r['browser'] - r['simulate'] for r in rows)} "
              f"{spread(r['kernel'] for r in rows)}  {spread(r['render'] for r in rows)} "
              f"{spread(r['baseline'] for r in rows)} {spread(r['first'] for r in rows)}  "
              f"slowest: {worst['setting']}; positions <= 50 ms: {within(r['browser'] for r in rows)} "
              f"(kernel draws: {within(r['kernel'] for r in rows)})", flush=True)
    if everything:
        render, baseline = sum(r["render"] for r in everything), sum(r["baseline"] for r in everything)
        for mode, key in (("the browser draws (default)", "browser"), ("the kernel draws", "kernel")):
            singles = [c for r in everything for c in r["singles" if key == "browser" else "kernel singles"]]
            print(f"{mode}: each position {REPEATS} times, cold: its median CPU {spread(r[key] for r in everything)} "
                  f"ms, {within(r[key] for r in everything)} positions <= 50 ms; single updates: "
                  f"{sum(c <= 50 for c in singles) / len(singles):.0%} <= 50 ms")
        first = [r["first"] for r in everything]
        print(f"first visit (another value of the control drawn before, every cache cleared before that; the browser "
              f"draws): CPU {spread(first)} ms, {within(first)} updates <= 50 ms")
        browser = [r["browser"] for r in everything]
        print(f"| one live-panel update, every panel, each control low/mid/high, cold theory | the browser draws: CPU "
              f"median {statistics.median(browser):.0f} ms (max {max(browser):.0f}), {within(browser)} positions "
              f"<= 50 ms; the kernel draws: {within(r['kernel'] for r in everything)}; render "
              f"{render / baseline:.2f}x of the Vega-Lite path's in this run | <= 50 ms at every position |")


if __name__ == "__main__":
    main()
