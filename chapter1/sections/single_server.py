"""Chapter 01: one server does everything; latency against theory as users grow.

>>> chart, text = single_server_view(1_000, 8, 50, requests=300)
>>> "1,000" in text
True
"""

import functools

from ..architectures import single_server
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels

CAPTION = ("<small><b>Left:</b> latency as users grow; lines are queueing theory, dots the simulation, "
           "grey is overload, the dashed line your setting. <b>Right:</b> latency percentiles over the "
           "simulated time.</small>")
SINGLE_SERVER_CAPTION = CAPTION


def single_server_panel(users=100_000, workers=8, service_time_ms=50, requests=panels.DEFAULT_REQUESTS, seed=0):
    """Chapter 01's panel: users, workers and service time of the one box; latency against theory.

    >>> box = single_server_panel(users=1_000)  # doctest: +SKIP
    """
    return PANEL.show(users=users, workers=workers, service_time_ms=service_time_ms, requests=requests, seed=seed)


def single_server_view(users, workers, service_time_ms, requests=panels.DEFAULT_REQUESTS, seed=0):
    """What the chapter 01 panel shows for one slider setting: (chart as SVG, headline HTML)."""
    arch = single_server(workers=workers, service_time_ms=service_time_ms)
    result = simulate(arch, Workload(users=users), requests=requests, seed=seed)
    point = result.summary().to_frame().T.assign(users=users)
    datasets = {**charts.knee_data(arch, point, current=users), **charts.timeline_data(result, bins=30)}
    return _template().svg(datasets), headline(result, CAPTION)


@functools.lru_cache(maxsize=1)
def _template():
    # Latency over time without the failed-share strip: the headline gives that figure, and each view costs render time.
    return charts.Template(charts.latency_and_knee(), titles=False)


def headline(result, caption=""):
    """The figures a learner reads under the sliders, the sample the charts stand on, and a caption."""
    s = result.summary()
    capacity = sum(getattr(t, "capacity", 0) for t in result.architecture.tiers[:1])
    text = (f"<b>{result.workload.users:,.0f}</b> users send <b>{s['offered_rps']:,.1f}</b> req/s at peak; "
            f"the box serves up to <b>{capacity:,.0f}</b> req/s · utilisation <b>{s['server_utilization']:.0%}</b>"
            if "server_utilization" in s else f"<b>{s['offered_rps']:,.1f}</b> req/s at peak")
    return panels.headline(f"{text} · {panels.outcome(s)}", result=result, caption=caption)


PANEL = panels.register_panel(panels.Panel(
    "single server", "01", single_server_view, caption=CAPTION,
    controls={"users": panels.users(), "workers": panels.integer(1, 64, "workers"),
              "service_time_ms": panels.integer(10, 500, "service time (ms)", step=10)},
    defaults={"users": 100_000, "workers": 8, "service_time_ms": 50},
    examples=({"users": 1_000, "service_time_ms": 50}, {"users": 10_000_000, "service_time_ms": 50})))
