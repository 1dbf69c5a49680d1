"""Chapter 03's live panel: users, a monthly budget and the size of the small boxes; both designs compared.

``chapter1.scaling`` re-exports every name here.
"""

import functools

from .. import theory as analytic
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels
from .scaling import (
    CONTENTION,
    OUT,
    SMALL_BOXES,
    USERS_RANGE,
    _compare_chart,
    _short,
    availability,
    capacity,
    check,
    compare_data,
    designs_for,
    monthly_cost,
    theory,
)

__all__ = ["scaling_panel", "scaling_view", "headline", "PANEL", "PANEL_CAPTION"]


# -- the live panel ------------------------------------------------------------------------------

def scaling_panel(users=1_000_000, budget=2_000, box_cores=8, contention=0.0, *, requests=None, seed=0):
    """Chapter 03's panel: users, a monthly budget, the size of the small boxes and the cores' contention.

    >>> box = scaling_panel()  # doctest: +SKIP
    """
    check.number("users", users, low=USERS_RANGE[0], high=USERS_RANGE[1])
    check.number("budget", budget, low=10 ** 2.5, high=10 ** 4.2)
    check.choice("box_cores", box_cores, SMALL_BOXES)
    check.choice("contention", contention, CONTENTION)
    return PANEL.show(users=users, budget=budget, box_cores=box_cores, contention=contention, requests=requests,
                      seed=seed)


def scaling_view(users, budget, box_cores, contention=0.0, *, requests=panels.DEFAULT_REQUESTS, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML).

    Simulates the scaled-out design (one run of ``requests`` requests); the big box is drawn from its
    M/M/c theory, which chapter 01 checked against simulation.  ``contention`` is Amdahl's serial share
    (0: perfect core scaling).
    """
    designs = designs_for(budget, box_cores, contention=contention)
    result = simulate(designs[OUT], Workload(users=users), requests=requests, seed=seed)
    point = result.summary().to_frame().T.assign(users=users, design=OUT)
    datasets = compare_data(designs, point, current=users)
    return _panel_template().svg(datasets), headline(designs, result, budget, contention)


@functools.lru_cache(maxsize=1)
def _panel_template():
    return charts.Template(_compare_chart(USERS_RANGE), titles=False)  # captioned in HTML: PANEL_CAPTION


PANEL_CAPTION = (
    "<small><b>Left:</b> latency as users grow; solid lines are theory's mean, dashed its p95, dots this run; "
    "purple is the one big box, green the small boxes; a shaded band marks where a design is full, the dashed "
    "grey line your users. <b>Right:</b> the price of a core in each box of an illustrative price table (linear in "
    "the cores up to 64, a premium for large multi-socket boxes); red: no box this big. The big box runs web and "
    "database together; the small boxes run the web tier only, since a database cannot be cloned like a web "
    "server (chapter 05).</small>")


def headline(designs, result, budget, contention=0.0):
    """The figures under the panel's sliders: what the budget buys each way, latency, availability."""
    workload, s = result.workload, result.summary()
    parts = []
    for label, arch in designs.items():
        cost, up = monthly_cost(arch), availability(arch)
        over = " <b style='color:#d62728'>over budget</b>" if cost > budget + 1e-6 else ""
        figures = theory(arch, workload)
        load = figures["utilization"]
        if load >= 1:
            latency = "<b style='color:#d62728'>overloaded</b>: its queue grows for as long as the peak lasts"
        elif label == OUT:
            failed = panels.failed(s)
            latency = f"p95 <b>{s['p95_ms']:,.0f} ms</b> simulated"
            latency += f", failed <b>{failed:.1%}</b>" if failed else ""
        else:
            latency = f"p95 <b>{figures['p95_ms']:,.0f} ms</b> in theory"
        parts.append(f"· <b>{label}</b> ({_short(label, arch)}, ${cost:,.0f}{over}): up to "
                     f"<b>{capacity(arch):,.0f}</b> req/s, load <b>{load:.0%}</b>, {latency}; "
                     f"up <b>{up:.3%}</b> of the time (<b>{analytic.downtime_per_year(up):,.1f} h</b> down a year)")
    scaling = ("cores scale perfectly (an assumption)" if not contention else
               f"contention {contention:.1%}: a box of N cores does N / (1 + {contention:g} (N - 1)) cores' work")
    head = (f"<b>{workload.users:,.0f}</b> users send <b>{workload.rate:,.0f}</b> req/s at peak; "
            f"<b>${budget:,.0f}</b> a month buys ({scaling}):")
    return panels.headline(head, *parts, result=result, note=" (small boxes); the big box is drawn from theory",
                           caption=PANEL_CAPTION)


PANEL = panels.register_panel(panels.Panel(
    "big box or small boxes", "03", scaling_view, caption=PANEL_CAPTION,
    controls={"users": panels.users(5, 7, 1 / 8),
              "budget": panels.log_slider(2.5, 4.2, "budget ($/month)", step=0.05, readout=",.0f"),
              "box_cores": panels.choice(SMALL_BOXES, "small box (cores)", kind="select"),
              "contention": panels.choice([("none", 0.0), ("0.5 %", 0.005), ("1 %", 0.01), ("2 %", 0.02)],
                                          "contention (serial share)")},
    defaults={"users": 1_000_000, "budget": 2_000, "box_cores": 8, "contention": 0.0},
    examples=({"users": 1_000_000}, {"users": 8_000_000})))
