"""Chapter 10, autoscaling: the photo workers grow and shrink with the queue (오토스케일링).

Uploads arrive at :data:`BASE_RATE` a second on :data:`MIN_WORKERS` workers (1 s a photo); for
:data:`PEAK_S` seconds from :data:`PEAK_AT_S` they arrive at the learner's ``peak`` rate.  An
:class:`~chapter1.components.autoscaling.Autoscaler` reads the backlog every :data:`CHECK_S` seconds and
wants backlog / :data:`TARGET` workers (at most ``max_workers``); a new worker starts ``provision_s``
later.  The panel (:data:`PANEL`) draws the backlog and the workers paid for over time, three runs
(dots) on the fluid model of the same rule (line), and prices the run in worker-seconds.

>>> round(help_theory(peak=12, provision_s=20))      # 20 + (12 - 4) x (20 + 10 / 2)
220
"""

import functools

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..components.autoscaling import Autoscaler, worker_seconds
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from .messaging import SERIES, SERVICE_RATE, TOPS, backlog_samples, photo_queue, top_of

BASE_RATE, MIN_WORKERS = 3.0, 4        # 3 uploads/s on 4 workers: 75 % busy before the peak
PEAK_AT_S, PEAK_S = 30.0, 40.0
TARGET, CHECK_S, COOLDOWN_S = 5.0, 10.0, 60.0   # accept ~5 s of waiting; read the queue every 10 s
HORIZON_S, STEP_S, SEEDS = 180.0, 6.0, 3
CAPTION = ("<small>Left: the backlog (photos waiting). Right: workers paid for (running, and starting: a worker "
           "is paid from the moment it is ordered). Line: the fluid model of the same autoscaler (uploads and work "
           "at their mean rates, checks every 10 s). Dots: three runs (red, orange, brown). Before the first new "
           "worker is ready the backlog grows at λ − c·μ; on average it reaches target x c + (λ − c·μ)·(d + "
           "h/2) by then.</small>")


def policy(provision_s, max_workers):
    """The chapter's autoscaler with the learner's start-up delay and ceiling.

    >>> policy(30, 12).describe()
    'autoscale 4-12 on backlog/worker > 5 · check 10 s · start 30 s'
    """
    return Autoscaler(min_workers=MIN_WORKERS, max_workers=max_workers, target_backlog_per_worker=TARGET,
                      check_every_s=CHECK_S, provision_s=provision_s, cooldown_s=COOLDOWN_S)


def rates(peak, at_s=PEAK_AT_S):
    """The upload rate as steps: ((0, base), (at_s, peak), (at_s + PEAK_S, base))."""
    return ((0.0, BASE_RATE), (at_s, float(peak)), (at_s + PEAK_S, BASE_RATE))


def workload(peak, at_s=PEAK_AT_S):
    """Uploads at :data:`BASE_RATE` with ``peak`` a second for :data:`PEAK_S` seconds from ``at_s``."""
    check.number("peak", peak, low=BASE_RATE, high=1_000)
    return Workload.from_rate(BASE_RATE, rate_steps=((at_s, peak / BASE_RATE), (at_s + PEAK_S, 1.0)))


def uploads(peak):
    """How many uploads cover :data:`HORIZON_S` seconds on average (the runs' request budget)."""
    return int(BASE_RATE * HORIZON_S + (peak - BASE_RATE) * PEAK_S)


def runs(peak, provision_s, max_workers, *, seed=0, seeds=SEEDS, at_s=PEAK_AT_S, autoscale=True):
    """``seeds`` runs of the chapter's scenario; ``autoscale=False`` keeps ``max_workers`` all the time."""
    check.number("max_workers", max_workers, low=MIN_WORKERS, high=100, integer=True)
    scaler = policy(provision_s, max_workers) if autoscale else None
    arch = photo_queue(MIN_WORKERS if autoscale else max_workers, autoscale=scaler)
    return [simulate(arch, workload(peak, at_s), requests=uploads(peak), seed=s) for s in range(seed, seed + seeds)]


def fluid(peak, provision_s, max_workers, times, at_s=PEAK_AT_S):
    """The fluid model's backlog and workers paid for at ``times``: a DataFrame t_s, backlog, workers."""
    return pd.DataFrame(_fluid(peak, provision_s, max_workers, times, at_s))


def _fluid(peak, provision_s, max_workers, times, at_s=PEAK_AT_S):
    """:func:`fluid` as a dict of columns."""
    rule = policy(provision_s, max_workers).rule()
    backlog, workers = analytic.autoscaled_backlog(times, rates(peak, at_s), SERVICE_RATE, MIN_WORKERS, rule,
                                                   check_every_s=CHECK_S, provision_s=provision_s)
    return {"t_s": np.asarray(times, dtype=float), "backlog": backlog, "workers": workers}


def help_theory(peak, provision_s, step_at_s=None):
    """The mean backlog when the first new worker is ready: target x c + (λ − c·μ)·(d + h/2), or with the wait
    W for the next check after a step at ``step_at_s`` instead of h/2."""
    return analytic.backlog_when_help_arrives(peak, SERVICE_RATE, MIN_WORKERS, provision_s=provision_s,
                                              check_every_s=CHECK_S, target_backlog_per_worker=TARGET,
                                              step_at_s=step_at_s)


def _pool(result):
    return next(r for r in result.runtimes if r.spec.kind == "Consumers")


def _queue(result):
    return next(r for r in result.runtimes if r.spec.kind == "MessageQueue")


def scaling_of(result):
    """The autoscaler's runtime in a result of :func:`runs` (None for a fixed pool)."""
    return _pool(result).scaling


def help_arrives(result):
    """(time, backlog) when the first ordered worker started taking messages (nan, nan if none was ordered), for
    any autoscaled queue."""
    times, running, _ = scaling_of(result).workers()
    grown = np.nonzero(running > running[0])[0]
    if not grown.size:
        return float("nan"), float("nan")
    t = float(times[grown[0]])
    at, sizes = _queue(result).backlog()
    return t, float(sizes[max(0, np.searchsorted(at, t, side="left") - 1)])  # just before they take photos


def _workers(result, times):
    at, _, paid = scaling_of(result).workers()
    return paid[np.clip(np.searchsorted(at, times, side="right") - 1, 0, len(paid) - 1)]


def cost(result, horizon_s=HORIZON_S):
    """Worker-seconds paid over [0, horizon_s] and the longest wait (s) of a photo in the queue."""
    scaling = scaling_of(result)
    if scaling is None:
        paid = _pool(result).spec.workers * horizon_s
    else:
        times, _, workers = scaling.workers()
        paid = worker_seconds(times, workers, 0.0, horizon_s)
    return float(paid), float(np.nanmax(_queue(result).queue_wait_ms())) / 1_000.0  # the Result's column, alone


@functools.lru_cache(maxsize=64, typed=True)
def fixed_cost(peak, workers, seed=0):
    """:func:`cost` of one run with ``workers`` all the time (kept: a start-up delay does not change it)."""
    return cost(runs(peak, 0, workers, seed=seed, seeds=1, autoscale=False)[0])


def fluid_cost(peak, provision_s, max_workers, workers=None):
    """Worker-seconds the fluid model pays over the horizon: its workers read at every whole second (they change
    only at a check, every 10 s).  ``workers``: the fluid model's workers at 0, 1, ..., :data:`HORIZON_S` s when
    they are already worked out (the panel's line).

    >>> fluid_cost(12, 20, 16)
    1900.0
    """
    if workers is None:
        workers = _fluid(peak, provision_s, max_workers, np.arange(0.0, HORIZON_S + 0.5, 1.0))["workers"]
    return float(np.sum(workers[:int(HORIZON_S)]))


def _axes(top, workers_top):
    """The two y axes, backlog and workers: (domain, ticks) each."""
    return ((0, top), [top * k / 5 for k in range(6)]), ((0, workers_top), list(range(0, workers_top + 1, 4)))


@functools.lru_cache(maxsize=1, typed=True)
def _base_template():
    """The panel's chart compiled once (its y axes at the lowest tops); :func:`_template` sets the axes."""
    (backlog, backlog_ticks), (workers, workers_ticks) = _axes(TOPS[0], MIN_WORKERS)
    x = scales.linear_axis("x", "t_s:Q", "simulated time (s)", (0, HORIZON_S), ticks=list(range(0, 181, 30)))
    color, line = scales.color("series:N", SERIES), {"strokeWidth": 2.5, "clip": True, "interpolate": "step-after"}
    dots = {"filled": True, "size": 14, "opacity": 0.7, "clip": True}
    left = charts.curves(x, scales.linear_axis("y", "backlog:Q", "backlog (photos waiting)", backlog,
                                               ticks=backlog_ticks),
                         color, line={**line, "interpolate": "linear"}, dots=dots, prefix="b_", width=300)
    right = charts.curves(x, scales.linear_axis("y", "workers:Q", "workers paid for", workers, ticks=workers_ticks),
                          color, line=line, dots=dots, prefix="w_", width=240)
    template = charts.Template(charts.beside(left, right), titles=False)
    names = {s["name"] for s in template.vega({})["scales"]}
    if not {"concat_0_y", "concat_1_y"} <= names:  # the names _Axes sets: a new Vega-Lite must not skip them
        raise ValueError(f"the compiled chart has no y scales concat_0_y and concat_1_y; it has {sorted(names)}")
    return template


class _Axes(charts.Template):
    """A compiled template with its two y axes set to ``axes`` (:func:`_axes`): the same chart as compiling it
    afresh for those tops (which costs several redraws), since the axes differ only in domain and ticks."""

    def __init__(self, template, axes):
        self.__dict__.update(template.__dict__)
        self.axes = {f"concat_{k}_y": axis for k, axis in enumerate(axes)}
        self.spec = {**template.spec, "hconcat": [
            {**view, "layer": [{**layer, "encoding": {**layer["encoding"], "y": {
                **layer["encoding"]["y"], "scale": {**layer["encoding"]["y"]["scale"], "domain": list(domain)},
                "axis": {**layer["encoding"]["y"]["axis"], "values": ticks}}}} for layer in view["layer"]]}
            for view, (domain, ticks) in zip(template.spec["hconcat"], axes)]}

    def vega(self, datasets):
        vega, axes = super().vega(datasets), self.axes
        scales = [{**s, "domain": list(axes[s["name"]][0])} if s["name"] in axes else s for s in vega["scales"]]
        marks = [{**m, "axes": [{**a, "values": axes[a["scale"]][1]} if a.get("scale") in axes else a
                                for a in m["axes"]]} if "axes" in m else m for m in vega["marks"]]
        return {**vega, "scales": scales, "marks": marks}


def _template(top, workers_top):
    """The panel's template with the backlog axis up to ``top`` and the workers axis up to ``workers_top``."""
    return _Axes(_base_template(), _axes(top, workers_top))


def scaling_view(peak, provision_s, max_workers, *, requests=None, seed=0):
    """What the panel shows: (chart as SVG, headline HTML).  ``requests`` is ignored: the runs cover 180 s of
    uploads, so the peak sets their size (at most 3 x 180 + 13 x 40 = 1,060 a run)."""
    results = runs(peak, provision_s, max_workers, seed=seed)
    grid = np.arange(0.0, HORIZON_S + STEP_S / 2, STEP_S)
    corners = np.arange(0.0, HORIZON_S + 0.5, 1.0)  # (every whole second: the dots' times among them)
    line = {**_fluid(peak, provision_s, max_workers, corners), "series": np.full(len(corners), "theory (fluid)")}
    dots = {"series": np.repeat([f"run {k + 1}" for k in range(len(results))], len(grid)),
            "t_s": np.tile(grid, len(results)),
            "backlog": np.concatenate([backlog_samples(r, grid) for r in results]),
            "workers": np.concatenate([_workers(r, grid) for r in results])}
    top = top_of([*line["backlog"].tolist(), *dots["backlog"].tolist()])
    workers_top = 4 * -(-max(max_workers, 4) // 4)
    chart = _template(top, workers_top).svg({"b_theory": line, "b_simulated": dots, "w_theory": line,
                                             "w_simulated": dots})
    return chart, headline(peak, provision_s, max_workers, results, seed, fluid_workers=line["workers"])


def headline(peak, provision_s, max_workers, results, seed=0, fluid_workers=None):
    """The figures under the sliders: the backlog when help arrives against theory, the cost and the longest wait
    (``fluid_workers``: :func:`fluid_cost`'s ``workers``, when the panel has them)."""
    capacity = MIN_WORKERS * SERVICE_RATE
    lines = [f"a peak of <b>{peak:g}</b> uploads/s for {PEAK_S:.0f} s on {MIN_WORKERS} workers ({capacity:g}/s), "
             f"up to <b>{max_workers}</b> workers that start <b>{provision_s:g} s</b> after they are ordered"]
    helped = [help_arrives(r) for r in results]
    theory, here = help_theory(peak, provision_s), help_theory(peak, provision_s, PEAK_AT_S)
    late = np.isfinite(here) and PEAK_AT_S + (here - TARGET * MIN_WORKERS) / (peak - capacity) > PEAK_AT_S + PEAK_S
    if late and max_workers > MIN_WORKERS:
        lines.append("the peak is over before a new worker could start: the backlog stops growing by itself")
    elif np.isfinite(theory) and max_workers > MIN_WORKERS:
        measured = ", ".join("none" if np.isnan(b) else f"{b:,.0f} at {t:,.0f} s" for t, b in helped)
        wait = (here - TARGET * MIN_WORKERS) / (peak - capacity) - provision_s
        lines.append(f"backlog when the first new worker starts: <b>{measured}</b> (theory {TARGET * MIN_WORKERS:g} "
                     f"+ ({peak:g} − {capacity:g}) x ({provision_s:g} + W) = <b>{here:,.0f}</b> with W = {wait:.1f} s "
                     f"to this peak's next check; {theory:,.0f} with W = h/2 = {CHECK_S / 2:g} s, the average "
                     f"over where a step falls)")
    costs = [cost(r) for r in results]
    # at the floor the autoscaler never changes the pool: the first run (if it is this seed's) is the fixed pool's
    floor = max_workers == MIN_WORKERS and results[0].seed == seed and results[0].workload == workload(peak)
    fixed = costs[0] if floor else fixed_cost(peak, max_workers, seed)
    peaks = [float(max(_queue(r).trace_n)) for r in results]  # the summary's backlog_max
    paid_fluid = fluid_cost(peak, provision_s, max_workers, fluid_workers)
    lines.append(f"largest backlog <b>{np.mean(peaks):,.0f}</b> photos · longest wait <b>"
                 f"{np.mean([w for _, w in costs]):,.0f} s</b> · paid <b>{np.mean([p for p, _ in costs]):,.0f}</b> "
                 f"worker-seconds over {HORIZON_S:.0f} s (fluid {paid_fluid:,.0f})")
    lines.append(f"{max_workers} workers all the time: {fixed[0]:,.0f} worker-seconds, longest wait {fixed[1]:,.1f} s")
    note = (f"<small>runs {seed + 1}-{seed + len(results)}: {len(results)} x {len(results[0].arrival_s):,} simulated "
            f"requests (uploads) over {HORIZON_S:.0f} s; the autoscaler reads the queue every {CHECK_S:g} s, wants "
            f"backlog / {TARGET:g} workers and removes them only after {COOLDOWN_S:g} s without a higher wish</small>")
    return panels.headline(*lines, note, caption=CAPTION)


PANEL = panels.register_panel(panels.Panel(
    "autoscaling consumers", "10", scaling_view, caption=CAPTION, requests=1_000,
    controls={"peak": panels.integer(4, 16, "peak (uploads/s for 40 s)"),
              "provision_s": panels.integer(0, 60, "start-up delay (s)", step=5),
              "max_workers": panels.integer(4, 24, "max workers")},
    defaults={"peak": 12, "provision_s": 20, "max_workers": 16},
    examples=({"provision_s": 60}, {"max_workers": 8}, {"peak": 16, "max_workers": 24, "provision_s": 0})))


def scaling_panel(peak=12, provision_s=20, max_workers=16, *, seed=0):
    """Chapter 10's autoscaling panel: peak rate, start-up delay and the most workers; backlog and workers."""
    return PANEL.show(peak=peak, provision_s=provision_s, max_workers=max_workers, seed=seed)
