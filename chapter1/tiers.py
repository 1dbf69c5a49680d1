"""Two models of chapter 02 that the components do not have (yet), kept beside them.

* **Thread-per-request web workers**: a web worker that sends its query and waits, held, until the
  database answers (:func:`thread_per_request`).  The :class:`~chapter1.components.server.WebServer`
  component models an asynchronous worker, free while the database works; a blocking option there
  would make this module's simulation unnecessary.
* **The tandem's percentiles if the tiers' times were independent**: the M/M/c response-time
  distributions of the tiers, convolved numerically (:func:`independent_percentile`).  Exact with one
  worker per tier; an approximation (its size measured in chapter 02 and in the tests) with several.
"""

import numpy as np
import pandas as pd

from . import theory as analytic
from .core import validation as check

ASYNC, THREADS = "asynchronous", "thread per request"  # how a web worker waits for the database


# -- percentiles if the tiers' times were independent -------------------------------------------

def _sojourn_survival(t, arrival_rate, service_rate, workers):
    """P(time at an M/M/c tier > t) for an array of t (s): :func:`chapter1.analytic.response_time_survival`."""
    q = analytic.mmc(arrival_rate, service_rate, workers)
    mu, theta = service_rate, workers * service_rate - arrival_rate
    after_wait = ((1 + mu * t) * np.exp(-mu * t) if abs(theta - mu) < 1e-12 * mu
                  else (theta * np.exp(-mu * t) - mu * np.exp(-theta * t)) / (theta - mu))
    return (1 - q.p_wait) * np.exp(-mu * t) + q.p_wait * after_wait


def independent_percentile(architecture, workload, percent=95, bins=4_096):
    """Latency (ms) below which ``percent`` % of requests finish *if* a request's times at the tiers
    were independent: the tiers' M/M/c response-time distributions convolved (numerically), with the
    DNS lookup paid by the share of requests that miss the browser cache.  inf when a tier is overloaded.

    An approximation: with several workers per tier a request's two times are dependent (see the
    chapter).  With one worker per tier it is exact, as :func:`chapter1.analytic.tandem_response_percentile`.

    >>> from chapter1.architectures import web_and_database
    >>> one = web_and_database(web_workers=1, db_workers=1, web_service_ms=30, db_service_ms=20)
    >>> from chapter1 import Workload
    >>> w = Workload.from_rate(20)
    >>> exact = analytic.predict(one, w)["p95_ms"]
    >>> abs(independent_percentile(one, w) / exact - 1) < 0.002
    True
    """
    check.number("percent", percent, low=0, high=100, low_open=True)
    stations = [tier.station() for tier in architecture.tiers]
    rate = workload.rate
    if any(rate >= mu * c for mu, c in stations):
        return float("inf")
    share, delay_s = (0.0, 0.0) if architecture.dns is None else architecture.dns.entry_delay(workload)
    # The grid reaches where every tier's survival is below 1e-9 (its slowest exponential rate).
    horizon = sum(21 / min(mu, c * mu - rate) for mu, c in stations) + delay_s
    step = horizon / bins
    edges = np.arange(bins + 1) * step
    total = np.zeros(1)
    for mu, c in stations:
        mass = -np.diff(_sojourn_survival(edges, rate, mu, c))  # P(time in each bin), bin k ~ (k + 1/2) step
        total = _convolve(total, mass) if total.size > 1 else mass
    shift = int(round(delay_s / step))
    mixed = np.zeros(total.size + shift)
    mixed[:total.size] += (1 - share) * total
    mixed[shift:] += share * total
    k = int(np.searchsorted(np.cumsum(mixed), percent / 100))
    return (k + len(stations) / 2) * step * 1_000.0


def _convolve(a, b):
    """Full convolution of two non-negative arrays by FFT (tiny negative round-off clipped)."""
    size = a.size + b.size - 1
    length = 1 << (size - 1).bit_length()
    return np.clip(np.fft.irfft(np.fft.rfft(a, length) * np.fft.rfft(b, length), length)[:size], 0, None)


def independence_model(architecture, workload, percents=(95,)):
    """:func:`chapter1.analytic.predict`, with the split design's missing percentiles filled by
    :func:`independent_percentile` (an approximation; a one-tier design keeps its exact figures)."""
    theory = analytic.predict(architecture, workload, percents=percents)
    for q in percents:
        if theory is not None and not np.isfinite(theory.get(f"p{q}_ms", 0)) and np.isnan(theory[f"p{q}_ms"]):
            theory[f"p{q}_ms"] = independent_percentile(architecture, workload, q)
    return theory


# -- thread-per-request: the web worker waits for the database ----------------------------------

def thread_per_request(result):
    """The split design of ``result`` re-run with thread-per-request web workers, on the same arrivals.

    A web worker takes a request, does its web work, sends the query and *waits*, held, until the
    database answers (a blocking call); only then is it free for the next request.  Arrivals, users
    and each request's DNS lookup (the browser caches) are ``result``'s, so the two designs meet the
    same traffic.  Returns a DataFrame: latency_ms, status ("ok" or "rejected"), web_busy_s, db_busy_s.
    The web tier's queue holds at most its servers' ``queue_limit`` requests, as in :func:`chapter1.simulate`.

    >>> from chapter1 import simulate, web_and_database
    >>> from chapter1 import Workload
    >>> run = simulate(web_and_database(), Workload(users=100_000), requests=300)
    >>> held = thread_per_request(run)
    >>> bool((held["web_busy_s"] >= held["db_busy_s"]).all())
    True
    """
    import simpy

    arch = result.architecture
    web, database = arch.tiers
    requests = result.requests
    rng = np.random.default_rng([result.seed, 2])
    n = len(requests)
    web_work = rng.exponential(web.service_time_ms / 1_000.0, n).tolist()
    db_work = rng.exponential(database.service_time_ms / 1_000.0, n).tolist()
    arrival = requests["arrival_s"].to_numpy()
    start = arrival + (requests["dns_ms"].to_numpy() / 1_000.0 if "dns_ms" in requests else 0.0)
    env = simpy.Environment()
    web_pool, db_pool = simpy.Resource(env, web.workers), simpy.Resource(env, database.workers)
    latency, status = np.full(n, np.nan), np.array(["ok"] * n, dtype=object)
    held, querying = np.zeros(n), np.zeros(n)

    def visit(i):
        if len(web_pool.queue) >= web.queue_limit:
            status[i], latency[i] = "rejected", 0.0
            return
        with web_pool.request() as worker:
            yield worker
            got_worker = env.now
            yield env.timeout(web_work[i])
            with db_pool.request() as connection:
                yield connection
                db_start = env.now
                yield env.timeout(db_work[i])
            querying[i] = env.now - db_start
            held[i] = env.now - got_worker
        latency[i] = env.now - arrival[i]

    def arrivals():
        for i in np.argsort(start, kind="stable").tolist():  # in the order requests reach the web server
            yield env.timeout(max(0.0, start[i] - env.now))
            env.process(visit(i))

    env.process(arrivals())
    env.run()
    return pd.DataFrame({"latency_ms": latency * 1_000.0, "status": status, "web_busy_s": held,
                         "db_busy_s": querying})


def thread_summary(result, held=None):
    """The headline figures of :func:`thread_per_request` over ``result``'s window, as ``summary()`` names them."""
    held = thread_per_request(result) if held is None else held
    ok = held[held["status"] == "ok"]
    web, database = result.architecture.tiers
    span = result.duration_s
    return pd.Series({
        "requests": len(held), "simulated_s": span, "offered_rps": result.workload.rate,
        "mean_ms": ok["latency_ms"].mean(), "p50_ms": ok["latency_ms"].quantile(0.5),
        "p95_ms": ok["latency_ms"].quantile(0.95), "p99_ms": ok["latency_ms"].quantile(0.99),
        "error_rate": 0.0, "timeout_rate": 0.0, "rejected_rate": float((held["status"] == "rejected").mean()),
        "web_utilization": min(1.0, held["web_busy_s"].sum() / (web.workers * span)),
        "database_utilization": min(1.0, held["db_busy_s"].sum() / (database.workers * span)),
    }, dtype=object)
