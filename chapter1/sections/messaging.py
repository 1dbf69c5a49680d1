"""Chapter 10: a message queue between a photo-upload service and the workers that resize the photos.

The live panel (:data:`PANEL`) sends photos at a rate to a durable queue in front of a pool of
consumers (1 s of work per photo), with a burst of uploads at 10 s and an outage of every consumer
from 20 s; it draws the backlog over time for three runs (dots) on the fluid theory (line): nothing
while the consumers keep up, λ a second while they are down, then a drain at c·μ − λ.

>>> round(theory_drain_s(rate=6, workers=8, burst=0, outage_s=30), 1)    # 180 photos / (8 - 6) a second
90.0
"""

import functools
import math

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..components.queue import Consumers, MessageQueue
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

WORK_MS, ACK_MS = 950.0, 50.0          # one photo: 0.95 s of resizing and 0.05 s to acknowledge = 1 s
SERVICE_RATE = 1_000.0 / (WORK_MS + ACK_MS)
BURST_AT_S, OUTAGE_AT_S = 10.0, 20.0
HORIZON_S = 120.0                       # the chart's time axis, and how long uploads arrive
SEEDS = 3
STEP_S = 3.0                            # the backlog is sampled every STEP_S seconds for the dots
SERIES = {"theory (fluid)": "blue", "run 1": "red", "run 2": "orange", "run 3": "brown"}
CAPTION = ("<small>Backlog: photos stored and not yet taken by a worker. Line: the fluid model (λ·t while the "
           "workers are down, a burst as a step, then a drain at c·μ − λ; the few photos a queue holds in normal "
           "running are left out). Dots: three runs (red, orange, brown). The panel leaves out the few "
           "milliseconds a broker takes to store a photo.</small>")


def photo_queue(workers, *, burst=0, outage_s=0.0, durable=True, autoscale=None):
    """The panel's design alone: a queue and ``workers`` consumers, no DNS or web tier (the producer is the
    workload); a ``burst`` of uploads at :data:`BURST_AT_S` and every consumer down for ``outage_s`` from
    :data:`OUTAGE_AT_S`; ``autoscale``: the pool's :class:`~chapter1.components.autoscaling.Autoscaler`.

    >>> [c.name for c in photo_queue(4).components]
    ['queue', 'consumers']
    """
    check.number("workers", workers, low=1, high=1_000, integer=True)
    check.number("burst", burst, low=0, high=100_000, integer=True)
    check.number("outage_s", outage_s, low=0, high=3_600)
    pool = Consumers(workers=workers, service_time_ms=WORK_MS, ack_ms=ACK_MS, autoscale=autoscale)
    if outage_s:
        pool = pool.fail(OUTAGE_AT_S, OUTAGE_AT_S + outage_s)
    broker = MessageQueue(consumers=pool, durable=durable, burst_messages=burst, burst_at_s=BURST_AT_S,
                          publish_ms=0.0, persist_ms=0.0)
    return Architecture("photo queue", (broker,), dns=None)


def theory_curve(rate, workers, burst, outage_s, times=None):
    """The fluid backlog over the chart's time axis (by default at its corners only: it is piecewise linear):
    series, t_s, backlog."""
    return pd.DataFrame(_theory_columns(rate, workers, burst, outage_s, times))


def _theory_columns(rate, workers, burst, outage_s, times=None):
    """:func:`theory_curve` as a dict of columns."""
    if times is None:
        times = _corners(rate, workers, burst, outage_s)
    outage = (OUTAGE_AT_S, OUTAGE_AT_S + outage_s) if outage_s else None
    values = analytic.backlog_curve(times, rate, SERVICE_RATE, workers, outage=outage,
                                    burst=(BURST_AT_S, burst) if burst else None)
    return {"series": np.full(len(values), "theory (fluid)"), "t_s": np.asarray(times), "backlog": values}


def _corners(rate, workers, burst, outage_s):
    marks = [0.0, BURST_AT_S - 1e-6, BURST_AT_S, HORIZON_S]  # the burst is a step at BURST_AT_S
    if outage_s:
        marks += [OUTAGE_AT_S, OUTAGE_AT_S + outage_s]
    start = OUTAGE_AT_S + outage_s if outage_s else BURST_AT_S
    drain = theory_drain_s(rate, workers, burst, outage_s)
    if math.isfinite(drain):
        marks.append(start + drain)
    if burst and outage_s:  # the burst may drain before the outage
        marks.append(BURST_AT_S + analytic.drain_time(burst, rate, SERVICE_RATE, workers))
    return np.array(sorted({min(max(t, 0.0), HORIZON_S) for t in marks if math.isfinite(t)}))


def theory_drain_s(rate, workers, burst, outage_s):
    """Seconds from the consumers' return (or the burst, with no outage) until the fluid backlog is gone."""
    if outage_s:
        start = OUTAGE_AT_S + outage_s
        left = analytic.backlog_curve([start], rate, SERVICE_RATE, workers, outage=(OUTAGE_AT_S, start),
                                      burst=(BURST_AT_S, burst) if burst else None)[0]
    else:
        left = burst
    return float(analytic.drain_time(float(left), rate, SERVICE_RATE, workers))


def _queue_of(result):
    return next(r for r in result.runtimes if r.spec.kind == "MessageQueue")


def backlog_samples(result, times):
    """The simulated backlog at each of ``times`` (s), read from the queue's step function."""
    queue = _queue_of(result)
    at, sizes = queue.backlog()
    return sizes[np.clip(np.searchsorted(at, times, side="right") - 1, 0, len(sizes) - 1)]


def drained_after(result, t):
    """Seconds after ``t`` until the simulated backlog first reaches zero (inf if it never does)."""
    queue = _queue_of(result)
    at, sizes = queue.backlog()
    after = np.nonzero((at > t) & (sizes == 0))[0]
    return float(at[after[0]] - t) if after.size else math.inf


def runs(rate, workers, burst, outage_s, *, seed=0, seeds=SEEDS, horizon_s=HORIZON_S):
    """Simulate ``seeds`` runs covering ``horizon_s`` seconds of uploads; the results, one per seed.  After the
    last upload a run stops, so only drains within ``horizon_s`` are meaningful."""
    check.number("rate", rate, low=0, low_open=True, high=10_000)
    arch = photo_queue(workers, burst=burst, outage_s=outage_s)
    requests = max(10, int(rate * horizon_s))
    return [simulate(arch, Workload.from_rate(rate), requests=requests, seed=s) for s in range(seed, seed + seeds)]


TOPS = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)


def top_of(values):
    """The smallest of :data:`TOPS` at or above the largest value: the y axis's top (fixed ticks draw faster).

    >>> top_of([0, 180, 12])
    200
    """
    peak = max([1.0, *[float(v) for v in values]])
    return next((t for t in TOPS if t >= peak), TOPS[-1])


@functools.lru_cache(maxsize=len(TOPS), typed=True)
def _template(top):
    chart = charts.curves(
        scales.linear_axis("x", "t_s:Q", "simulated time (s)", (0, HORIZON_S), ticks=list(range(0, 121, 20))),
        scales.linear_axis("y", "backlog:Q", "backlog (photos waiting)", (0, top),
                           ticks=[top * k / 5 for k in range(6)]),
        scales.color("series:N", SERIES), line={"strokeWidth": 2.5, "clip": True},
        dots={"filled": True, "size": 14, "opacity": 0.7, "clip": True})
    return charts.Template(chart, titles=False)


def backlog_view(rate, workers, burst, outage_s, *, requests=None, seed=0):
    """What the panel shows: (chart as SVG, headline HTML).  ``requests`` is ignored: the runs cover the
    chart's 120 s, so the rate sets their size (at most 10 x 120 = 1,200 uploads a run)."""
    results = runs(rate, workers, burst, outage_s, seed=seed)
    grid = np.arange(0.0, HORIZON_S + STEP_S / 2, STEP_S)
    dots = {"series": np.repeat([f"run {k + 1}" for k in range(len(results))], len(grid)),
            "t_s": np.tile(grid, len(results)), "backlog": np.concatenate([backlog_samples(r, grid) for r in results])}
    theory = _theory_columns(rate, workers, burst, outage_s)
    top = top_of([*theory["backlog"].tolist(), *dots["backlog"].tolist()])
    chart = _template(top).svg({"theory": theory, "simulated": dots})
    return chart, headline(rate, workers, burst, outage_s, results, seed, peak_theory=float(theory["backlog"].max()))


def headline(rate, workers, burst, outage_s, results, seed=0, peak_theory=None):
    """The figures under the sliders: capacity, the largest backlog and the drain time against theory
    (``peak_theory``: the fluid backlog's peak, when the panel has worked its line out)."""
    capacity = workers * SERVICE_RATE
    start = OUTAGE_AT_S + outage_s if outage_s else BURST_AT_S
    theory = theory_drain_s(rate, workers, burst, outage_s)
    if peak_theory is None:
        peak_theory = float(_theory_columns(rate, workers, burst, outage_s)["backlog"].max())
    summaries = [_queue_of(r).figures() for r in results]  # the queue's own figures (the summary's, less work)
    peaks = [s["backlog_max"] for s in summaries]
    drains = [drained_after(r, start) for r in results]
    lines = [f"<b>{rate:g}</b> photos/s into <b>{workers}</b> workers that finish <b>{capacity:g}</b>/s "
             f"(load {rate / capacity:.0%})" + (" · <b>the workers cannot keep up: the backlog only grows</b>"
                                               if rate >= capacity else "")]
    if burst or outage_s:
        drain_text = "never" if math.isinf(theory) else f"{theory:,.0f} s"
        measured = ", ".join("not yet" if d > HORIZON_S - start else f"{d:,.0f} s" for d in drains)
        lines.append(f"largest backlog <b>{np.mean(peaks):,.0f}</b> photos (theory {peak_theory:,.0f}) · gone "
                     f"{'after the workers return' if outage_s else 'after the burst'} in <b>{measured}</b> "
                     f"(theory {drain_text})")
    done = np.mean([s["done_p95_ms"] for s in summaries]) / 1_000
    lines.append(f"a photo is resized within <b>{done:,.1f} s</b> of its upload (p95; the uploader was answered at "
                 f"once)")
    size = len(results[0].arrival_s)
    note = (f"<small>runs {seed + 1}-{seed + len(results)}: {len(results)} x {size:,} simulated requests (uploads) "
            f"over {HORIZON_S:.0f} s; every worker down from {OUTAGE_AT_S:.0f} s, burst at {BURST_AT_S:.0f} s</small>")
    return panels.headline(*lines, note, caption=CAPTION)


PANEL = panels.register_panel(panels.Panel(
    "message queue backlog", "10", backlog_view, caption=CAPTION, requests=3_000,
    controls={"rate": panels.integer(1, 10, "uploads per second"),
              "workers": panels.integer(1, 16, "workers"),
              "burst": panels.integer(0, 300, "burst (photos at 10 s)", step=50),
              "outage_s": panels.integer(0, 60, "workers down (s, from 20 s)", step=5)},
    defaults={"rate": 5, "workers": 8, "burst": 0, "outage_s": 20},
    examples=({"rate": 10, "workers": 11}, {"burst": 300, "outage_s": 0}, {"rate": 9, "workers": 8})))


def backlog_panel(rate=5, workers=8, burst=0, outage_s=20, *, seed=0):
    """Chapter 10's live panel: upload rate, workers, a burst and a worker outage; backlog against theory."""
    return PANEL.show(rate=rate, workers=workers, burst=burst, outage_s=outage_s, seed=seed)
