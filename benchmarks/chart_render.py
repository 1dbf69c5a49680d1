"""CPU time of drawing each live panel's chart (Vega to SVG), before and after the compiled spec was lightened.

For every registered panel (:func:`chapter1.present.panels.all_panels`) it draws the defaults and each
control's lowest, middle and highest value, keeps every chart drawn (a compiled template and its
datasets), then draws each one both ways, alternately, in the same process:

* **before**: the compiled Vega spec as Vega-Lite gives it, datasets handed over as Python objects,
* **after**: :meth:`chapter1.present.charts.Template.svg`: no tooltips, no label limit on continuous axes,
  datasets as JSON text.

It prints the CPU milliseconds per render (median over rounds and positions) per panel, the median over
panels, the ratio of the totals, and how many of the SVGs are identical (clip-path ids renumbered).
CPU time (``process_time``, every thread, the renderer's included) is the fair figure on a shared machine.

    python benchmarks/chart_render.py [rounds]
"""

import copy
import statistics
import sys
import time

import vl_convert

from chapter1.present import charts, templates
from chapter1.present.panels import all_panels

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from widget_update import positions  # noqa: E402  (each control low, middle and high)


def drawn_charts(panel):
    """[(template, datasets)] of every chart the panel draws at its defaults and at each position."""
    drawn, svg = [], charts.Template.svg
    charts.Template.svg = lambda template, datasets: drawn.append((template, datasets)) or svg(template, datasets)
    try:
        for setting in [{}, *positions(panel)]:
            panel.draw(**setting)
    finally:
        charts.Template.svg = svg
    return drawn


def as_before(template):
    """The template with its compiled spec as Vega-Lite gives it (tooltips, label limits), drawn as before."""
    before = copy.copy(template)
    before._vega = vl_convert.vegalite_to_vega({**template.spec, "datasets": {name: [] for name in template.names}},
                                               vl_version=templates.VEGA_LITE)
    before.svg = lambda datasets: charts.Picture(vl_convert.vega_to_svg(before.vega(datasets)))
    return before


def cpu_ms(function):
    start = time.process_time()
    function()
    return 1e3 * (time.process_time() - start)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load = open("/proc/loadavg").read().split()[:3]
    print(f"CPU ms per render, median over {rounds} rounds and each panel's positions (load average {' '.join(load)})")
    print(f"{'panel':<36} {'before':>8} {'after':>8} {'after/before':>13} {'same SVG':>9}")
    per_panel, totals, same, count = [], [0.0, 0.0], 0, 0
    for panel in all_panels():
        pairs = [(as_before(template), template, datasets) for template, datasets in drawn_charts(panel)]
        times = [([], []) for _ in pairs]
        for _ in range(rounds):
            for (before, after, datasets), (tb, ta) in zip(pairs, times):
                tb.append(cpu_ms(lambda b=before, d=datasets: b.svg(d)))
                ta.append(cpu_ms(lambda a=after, d=datasets: a.svg(d).data))  # (svg() draws when shown)
        equal = sum(templates.comparable(b.svg(d).data) == templates.comparable(a.svg(d).data) for b, a, d in pairs)
        b = statistics.median(t for tb, _ in times for t in tb)
        a = statistics.median(t for _, ta in times for t in ta)
        totals[0] += sum(t for tb, _ in times for t in tb)
        totals[1] += sum(t for _, ta in times for t in ta)
        same, count = same + equal, count + len(pairs)
        per_panel.append((b, a))
        print(f"{panel.chapter} {panel.name:<33} {b:8.1f} {a:8.1f} {a / b:13.2f} {equal:>4}/{len(pairs)}", flush=True)
    before, after = statistics.median(b for b, _ in per_panel), statistics.median(a for _, a in per_panel)
    print(f"median over {len(per_panel)} panels: before {before:.1f} ms, after {after:.1f} ms; "
          f"total after/before {totals[1] / totals[0]:.2f}; identical SVG {same}/{count}")


if __name__ == "__main__":
    main()
