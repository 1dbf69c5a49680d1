"""predict(): theory for a whole architecture, read from its components through the protocol.

Each tier that is a queue in theory says so with ``station()`` (service rate, workers); a
resolver in front says how many requests it delays and by how much with ``entry_delay()``.
One station is an M/M/c queue; several in a row are a tandem.
"""

import math

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.workload import Workload
from .queues import mmc, mmc_curve, response_time_percentile, tandem, tandem_response_percentile

__all__ = ["predict", "predict_curve"]


def predict(architecture, workload, percents=(50, 95, 99)):
    """Theory for exponential tiers (and optional DNS): latency in ms, utilisation.

    Returns a dict with ``mean_ms``, ``p50_ms``, ... and ``utilization``; ``None`` where no closed
    form applies (constant service, a load balancer).  Latencies are inf when a tier is overloaded.
    Several tiers in a row are a tandem (:func:`tandem`): the mean is exact, ``utilization`` is the
    busiest tier's, ``bottleneck`` names it, and ``<tier>_utilization`` gives each; percentiles are
    NaN unless every tier has one worker (:func:`tandem_response_percentile`).

    >>> from chapter1 import Workload, single_server
    >>> round(predict(single_server(workers=1, service_time_ms=100), Workload.from_rate(5))["utilization"], 2)
    0.5
    """
    check.instance("architecture", architecture, Architecture, "single_server()")
    check.instance("workload", workload, Workload, "Workload(users=1000)")
    stations = [tier.station() for tier in architecture.tiers]
    if any(s is None for s in stations):
        return None
    share, delay_s = (0.0, 0.0) if architecture.dns is None else architecture.dns.entry_delay(workload)
    if len(stations) == 1:
        (service_rate, workers), = stations
        args = (workload.rate, service_rate, workers)
        queue = mmc(*args)
        theory = {"utilization": queue.utilization, "mean_ms": (share * delay_s + queue.mean_response_s) * 1_000.0}
        for q in percents:
            theory[f"p{q}_ms"] = response_time_percentile(q, *args, delay_s=delay_s, delay_share=share) * 1_000.0
        return theory
    tiers = architecture.tiers
    chain = tandem(workload.rate, [(rate, workers) for rate, workers in stations])
    theory = {"utilization": chain.utilization, "mean_ms": (share * delay_s + chain.mean_response_s) * 1_000.0,
              "bottleneck": tiers[chain.bottleneck].name,
              **{f"{t.name}_utilization": s.utilization for t, s in zip(tiers, chain.stages)}}
    single_workers = all(workers == 1 for _, workers in stations)
    for q in percents:
        theory[f"p{q}_ms"] = (tandem_response_percentile(q, workload.rate, [rate for rate, _ in stations],
                                                         delay_s=delay_s, delay_share=share) * 1_000.0
                              if single_workers else math.nan)
    return theory


def predict_curve(architecture, users, percents=(95,), **workload_options):
    """:func:`predict` at each of ``users`` (daily active users; other workload settings fixed): a list.

    One M/M/c station (with or without DNS in front) takes one vectorised pass (:func:`mmc_curve`); so do the
    stages of a tandem (exactly :func:`predict`'s figures); anything else is predicted point by point.

    >>> from chapter1 import single_server
    >>> box = single_server(workers=1)
    >>> curve = predict_curve(box, [1_000, 20_000])
    >>> [round(p["mean_ms"], 1) for p in curve], curve[1] == predict(box, Workload(users=20_000), (95,))
    ([77.5, 119.4], True)
    """
    check.instance("architecture", architecture, Architecture, "single_server()")
    users = (check.number_list("users", users, low=0, low_open=True).tolist() if isinstance(users, np.ndarray) else
             [float(check.number("users", u, low=0, low_open=True)) for u in users])
    workloads = [Workload(users=u, **workload_options) for u in users[:1]]
    stations = [tier.station() for tier in architecture.tiers]
    if None in stations or not users:
        return [predict(architecture, Workload(users=u, **workload_options), percents) for u in users]
    share, delay_s = (0.0, 0.0) if architecture.dns is None else architecture.dns.entry_delay(workloads[0])
    if len(stations) > 1:
        return _tandem_curve(architecture, stations, np.array(users) * workloads[0].per_user_rate, percents,
                             delay_s, share)
    curve = mmc_curve(np.array(users) * workloads[0].per_user_rate, *stations[0], percents=percents,
                      delay_s=delay_s, delay_share=share)
    return [{"utilization": float(curve["utilization"][k]), "mean_ms": float(curve["mean_response_s"][k]) * 1_000.0,
             **{f"p{q}_ms": float(curve[f"p{q:g}_s"][k]) * 1_000.0 for q in percents}} for k in range(len(users))]


def _tandem_curve(architecture, stations, rates, percents, delay_s, share):
    """:func:`predict` of a tandem at each of ``rates``: every stage's M/M/c figures in one pass (:func:`mmc_curve`,
    bit for bit :func:`mmc`'s), then each point's dict as :func:`predict` builds it."""
    stages = [mmc_curve(rates, rate, workers) for rate, workers in stations]
    single_workers = all(workers == 1 for _, workers in stations)
    names, service_rates = [tier.name for tier in architecture.tiers], [mu for mu, _ in stations]
    curve = []
    for k, rate in enumerate(rates):
        load = [float(stage["utilization"][k]) for stage in stages]
        mean = sum(float(stage["mean_response_s"][k]) for stage in stages)
        busiest = max(range(len(load)), key=lambda i: (load[i], -i))
        theory = {"utilization": max(load), "mean_ms": (share * delay_s + mean) * 1_000.0, "bottleneck": names[busiest],
                  **{f"{name}_utilization": u for name, u in zip(names, load)}}
        for q in percents:
            theory[f"p{q}_ms"] = (math.nan if not single_workers else 1_000.0 * tandem_response_percentile(
                q, float(rate), service_rates, delay_s=delay_s, delay_share=share))
        curve.append(theory)
    return curve
