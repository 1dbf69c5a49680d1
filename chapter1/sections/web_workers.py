"""Chapter 02: how a web worker waits for the database, and the split design's percentiles.

* Thread per request: a web worker that calls the database and waits, held, until it answers
  (``WebServer(backend=..., blocking=True)``), against an asynchronous worker that is free as soon as
  the query is sent (the chapter's tiers in a row).
* The split design's p95 *if* its tiers' times were independent (an approximation whose size the
  chapter measures).
"""

from dataclasses import replace

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import web_and_database  # noqa: F401  (doctests)
from ..core.architecture import Architecture
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts

ASYNC, THREADS = "asynchronous", "thread per request"  # how a web worker waits for the database


def threaded(architecture):
    """The split design with thread-per-request web workers: the web server calls the database and its
    worker waits, held, for the answer (``WebServer(backend=..., blocking=True)``).

    >>> [c.name for c in threaded(web_and_database()).components]
    ['dns', 'web', 'database']
    """
    web, database = architecture.tiers
    return Architecture(f"{architecture.name}, thread per request", (replace(web, backend=database, blocking=True),),
                        dns=architecture.dns)


def thread_per_request(result):
    """``result``'s run again (same workload, requests and seed) with thread-per-request web workers."""
    return simulate(threaded(result.architecture), result.workload, requests=len(result.arrival_s), seed=result.seed)


def thread_summary(result):
    """The headline figures of :func:`thread_per_request`."""
    return thread_per_request(result).summary()


def independent_percentile(architecture, workload, percent=95):
    """The split design's latency percentile (ms) *if* its tiers' times were independent
    (:func:`chapter1.analytic.tandem_independent_percentile`, with the DNS lookups); an approximation."""
    stages, delay_s, share = _tandem(architecture, workload)
    return analytic.tandem_independent_percentile(percent, workload.rate, stages, delay_s, share) * 1_000.0


def _tandem(architecture, workload):
    """The tiers' (service rate, workers) and the DNS lookup's (delay in s, share of requests that pay it)."""
    share, delay_s = (0.0, 0.0) if architecture.dns is None else architecture.dns.entry_delay(workload)
    return [tier.station() for tier in architecture.tiers], delay_s, share


def independence_model(architecture, workload, percents=(95,)):
    """:func:`chapter1.analytic.predict` with a split design's missing percentiles filled by
    :func:`independent_percentile` (an approximation; a one-tier design keeps its exact figures)."""
    theory = analytic.predict(architecture, workload, percents=percents)
    for q in percents:
        if theory is not None and np.isnan(theory[f"p{q}_ms"]):
            theory[f"p{q}_ms"] = independent_percentile(architecture, workload, q)
    return theory


def independence_curve(architecture, users_range, points, *, ceiling=None, near=()):
    """:func:`chapter1.charts.theory_curve` of :func:`independence_model` (the same figures, bit for bit), computed
    a curve at a time: a one-tier design's p95 in one vectorised pass, the split design's (if it has no exact one)
    in batches of convolutions.

    >>> independence_curve(web_and_database(), (10_000, 100_000), 3)["statistic"].tolist()
    ['mean', 'p95', 'mean', 'p95', 'mean', 'p95']
    """
    stations = [tier.station() for tier in architecture.tiers]
    if None in stations or (len(stations) > 1 and all(workers == 1 for _, workers in stations)):
        curve = charts.theory_curve(architecture, users_range, points, ceiling=ceiling, near=near)
        if len(architecture.tiers) > 1 and (curve["statistic"] == "p95").any():
            return curve  # a chain of single workers: predict's exact percentiles
        mean = curve[curve["statistic"] == "mean"]
        users, mean_ms = mean["users"].to_numpy(), mean["latency_ms"].to_numpy()
    else:  # theory_curve's means, without its p95s (replaced below)
        users, mean_ms = _means(architecture, users_range, points, ceiling, near)
    workload = Workload()
    stages, delay_s, share = _tandem(architecture, workload)
    rates = users * workload.per_user_rate  # as Workload(users=u).rate
    p95 = (analytic.response_time_percentiles(95, rates, *stages[0], delay_s, share) if len(stages) == 1 else
           analytic.tandem_independent_percentiles(95, rates, stages, delay_s, share))
    latency = np.column_stack([mean_ms, p95 * 1_000.0])
    rows = pd.DataFrame({"users": np.repeat(users, 2), "statistic": np.tile(["mean", "p95"], len(users)),
                         "latency_ms": latency.ravel()})
    return rows[np.isfinite(rows["latency_ms"])].reset_index(drop=True)


def _means(architecture, users_range, points, ceiling, near):
    """The users and mean latencies (ms) of :func:`chapter1.charts.theory_curve`'s finite means, on its grid."""
    grid = np.geomspace(*users_range, points)
    if ceiling is not None and near:
        extra = ceiling(architecture) * np.array(near)
        grid = np.sort(np.concatenate([grid, extra[(extra > users_range[0]) & (extra < users_range[1])]]))
    mean_ms = np.array([p["mean_ms"] for p in analytic.predict_curve(architecture, grid, ())])
    finite = np.isfinite(mean_ms)
    return grid[finite], mean_ms[finite]


def thread_capacity(architecture):
    """Requests per second the split design completes with thread-per-request web workers, at most.

    A web worker is held for its own work and the database's, so the web tier can finish at most
    web workers / (web work + database work) requests a second (more waiting at the database lowers
    it further); the database tier's own capacity still applies.

    >>> from chapter1.architectures import web_and_database
    >>> thread_capacity(web_and_database(web_workers=8, db_workers=4, web_service_ms=30, db_service_ms=20))
    160.0
    """
    web, database = architecture.tiers
    return min(web.workers * 1_000.0 / (web.service_time_ms + database.service_time_ms), database.capacity)


def thread_saturation_users(architecture, **workload_options):
    """Daily active users at :func:`thread_capacity` (the wall with thread-per-request web workers).

    >>> from chapter1.architectures import web_and_database
    >>> round(thread_saturation_users(web_and_database()))
    345600
    """
    return thread_capacity(architecture) / Workload(**workload_options).per_user_rate
