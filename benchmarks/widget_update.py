"""Time one live-panel update (simulate + chart to SVG) at every panel's low, middle and high slider positions.

Loops over every registered panel (:func:`chapter1.present.panels.all_panels`).  For each control it
sets the lowest, the middle and the highest value the control offers (the others at their defaults),
each from a cold start (theory lines and labels computed afresh; chart templates are built
once per kernel, and so are the compiled loops some panels' runs take: their load is timed once,
apart).  Each chapter's panels run as in a kernel of their own: the compiled loops are there only
once one of that chapter's panels, drawn at its defaults, asks for them.  It splits the update's CPU
time into

* **simulate**: the runs (``Simulation.run``),
* **render**: Vega drawing the SVG (``vl_convert``),
* **rest**: everything else: theory curves, tables the chart reads, the headline.

It also times each position as a learner first meets it: every cache cleared, the panel drawn at
another value of the same control (the lowest, or for the lowest the highest), then moved to it; what
the move does not change (the workload's tables, a design's shared theory) is then already there.

Each position is updated cold three times: Vega draws one spec in 21 to 60 ms of CPU from one call to
the next, so a single update says little about a position.  A position's cost is the median of its
three; the share of single updates within the target is printed too (what a learner meets now and then).

It prints the median and the range (min-max) over those settings, per panel and over all panels,
and, as the baseline measured in the same process, the render time of the same charts as they were
drawn before templates were compiled: Vega-Lite from scratch, with ARIA labels on every mark.
Target: median <= 50 ms of CPU per update at every position.  CPU time (``process_time``, every
thread of the process) is the fair figure on a shared machine; wall time is printed too.

    python benchmarks/widget_update.py [chapter ...]
"""

import collections
import statistics
import sys
import time

import vl_convert

from chapter1.core import kernels, simulation
from chapter1.present import charts
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
    charts.vl_convert = type("Renderer", (), {"vega_to_svg": staticmethod(_timed("render", vl_convert.vega_to_svg)),
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


def measure(panel, drawn):
    """[(wall ms, cpu ms, simulate ms, render ms, baseline render ms, setting, first-visit cpu ms, [cpu ms of each
    repeat])] over the panel's positions: the first five figures from the first cold update."""
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
            w0, c0 = time.perf_counter(), time.process_time()
            panel.draw(**setting)
            repeats.append((time.perf_counter() - w0, time.process_time() - c0, SPENT["simulate"], SPENT["render"],
                            list(drawn)))
        wall, cpu, simulated, rendered, charts_drawn = repeats[0]
        c1 = time.process_time()
        for template, datasets in charts_drawn:
            vl_convert.vegalite_to_svg(before(template, datasets))
        baseline = time.process_time() - c1
        cold()
        panel.draw(**elsewhere(panel, setting))
        c2 = time.process_time()
        panel.draw(**setting)
        first = time.process_time() - c2
        rows.append((1e3 * wall, 1e3 * cpu, 1e3 * simulated, 1e3 * rendered, 1e3 * baseline, setting, 1e3 * first,
                     [1e3 * r[1] for r in repeats]))
    return rows


REPEATS = 3  # cold updates per position: a position's cost is their median (Vega's drawing of one spec varies 2x)


def spread(values):
    return f"{statistics.median(values):6.1f} ({min(values):5.1f}-{max(values):6.1f})"


def main():
    chapters = set(sys.argv[1:])
    drawn = instrument()
    load = open("/proc/loadavg").read().split()[:3]
    print(f"CPU ms per update: median (min-max) over each control's low, middle and high value; target median <= 50 "
          f"(load average {' '.join(load)})")
    start = time.process_time()
    loops = kernels.compiled()  # (numba and the compiled loops: once per kernel, at the first run that takes them)
    print(f"loading the compiled loops, once per kernel: {time.process_time() - start:.2f} s CPU")
    kernels._compile = lambda: loops  # from here on a "load" costs nothing: its cost is the line above
    print(f"{'panel':<33} {'update':>20} {'simulate':>20} {'render':>20} {'rest':>20} {'render, before':>20} "
          f"{'first visit':>20}")
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
        rest = [r[1] - r[2] - r[3] for r in rows]
        worst = max(rows, key=lambda r: r[1])
        print(f"{panel.chapter} {panel.name:<30} {spread([r[1] for r in rows])} {spread([r[2] for r in rows])} "
              f"{spread([r[3] for r in rows])} {spread(rest)} {spread([r[4] for r in rows])} "
              f"{spread([r[6] for r in rows])}  "
              f"slowest: {worst[5]}; wall median {statistics.median(r[0] for r in rows):.0f} ms; "
              f"{sum(statistics.median(r[7]) <= 50 for r in rows)} of {len(rows)} positions <= 50 ms", flush=True)
    if everything:
        render, baseline = sum(r[3] for r in everything), sum(r[4] for r in everything)
        cpu = [r[1] for r in everything]
        print(f"all panels, {len(everything)} updates: CPU {spread(cpu)} ms, "
              f"wall {spread([r[0] for r in everything])} ms; render compiled / Vega-Lite = {render / baseline:.2f}x")
        within = sum(c <= 50 for c in cpu) / len(cpu)
        each = [r[7] for r in everything]
        typical = [statistics.median(r) for r in each]
        print(f"each position {REPEATS} times, cold: its median CPU {spread(typical)} ms, "
              f"{sum(t <= 50 for t in typical)} of {len(typical)} positions <= 50 ms; single updates: "
              f"{sum(c <= 50 for r in each for c in r) / sum(len(r) for r in each):.0%} <= 50 ms")
        first = [r[6] for r in everything]
        print(f"first visit (another value of the control drawn before, every cache cleared before that): CPU "
              f"{spread(first)} ms, {sum(c <= 50 for c in first) / len(first):.0%} of updates <= 50 ms")
        print(f"| one live-panel update, every panel, each control low/mid/high, cold theory | CPU median "
              f"{statistics.median(cpu):.0f} ms ({min(cpu):.0f}-{max(cpu):.0f}), {within:.0%} of updates <= 50 ms; "
              f"render {render / baseline:.2f}x of the Vega-Lite path's in this run | median <= 50 ms |")


if __name__ == "__main__":
    main()
