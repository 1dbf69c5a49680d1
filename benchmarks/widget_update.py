"""Time one live-panel update (simulate + chart to SVG) at each panel's request budget.

Loops over every registered panel (:func:`chapter1.present.panels.all_panels`): from its defaults
and from each of its examples, it times repeated updates, each moving one control as a learner
would (:meth:`Panel.moves`), and prints the median wall time and CPU time (process_time).
Target: median <= 150 ms.  CPU time is the fairer figure on a shared machine; wall time is what a
learner waits.
"""

import statistics
import time

from chapter1.present.panels import DEFAULT_REQUESTS, all_panels

REPEATS = 15


def measure(panel, start):
    panel.draw(**(start or {}))  # warm up: chart template, vega engine
    wall, cpu = [], []
    for setting in panel.moves(REPEATS, start=start):
        w0, c0 = time.perf_counter(), time.process_time()
        panel.draw(**setting)
        wall.append((time.perf_counter() - w0) * 1_000)
        cpu.append((time.process_time() - c0) * 1_000)
    return statistics.median(wall), statistics.median(cpu), max(wall)


def main():
    print(f"request budget per update: {DEFAULT_REQUESTS:,} (unless a panel sets its own); target: median <= 150 ms")
    for panel in all_panels():
        for start in (None, *panel.examples):
            wall, cpu, worst = measure(panel, start)
            where = ", ".join(f"{k} = {v:,}" for k, v in (start or {}).items()) or "all controls move"
            print(f"{panel.chapter} {panel.name:<26} {where:<28}: median {wall:6.1f} ms wall, {cpu:6.1f} ms CPU, "
                  f"worst {worst:6.1f} ms")


if __name__ == "__main__":
    main()
