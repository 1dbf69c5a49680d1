"""Chapter 11: a simulated system that instruments itself, as Prometheus would see it.

A :class:`~chapter1.core.result.Result` holds every request; this module turns it into what a
monitoring system scrapes at a moment of simulated time:

* :func:`exposition` -- the Prometheus text a scrape at ``at_s`` gets, built by the official
  ``prometheus_client`` library from a ``CollectorRegistry`` (counters of finished requests by
  component and status, a latency histogram with buckets, gauges of utilisation, requests in
  flight and active clients);
* :func:`scrapes` -- one row per scrape over the run (rate, errors, duration, utilisation), the
  series a dashboard draws;
* :func:`histogram_quantile` -- a quantile from cumulative buckets, interpolated as PromQL does;
* :func:`alert` -- a threshold rule with a ``for`` duration evaluated at each scrape, and the time
  from a fault to the alert (theory: :func:`theory_delay_s` = interval / 2 + for);
* :func:`logs` -- structured JSON log lines for a sample of requests (errors and slow ones kept);
* :func:`error_budget_min` -- an SLO's error budget in minutes;
* :func:`burn_rate`, :func:`exhaustion_s`, :func:`burn_rates` and :func:`burn_alert` -- how fast an
  incident spends that budget, and the multi-window burn-rate page of the Google SRE workbook
  (1 h and 5 min burn rates both above 14.4 for a 99.9 % SLO).

>>> buckets = [(0.1, 50), (0.25, 90), (0.5, 99), (1.0, 100), (float("inf"), 100)]
>>> round(histogram_quantile(0.5, buckets), 3)       # rank 50 is the top of the first bucket
0.1
>>> round(histogram_quantile(0.95, buckets), 4)      # rank 95: 5 of the 9 in (0.25, 0.5]
0.3889
>>> round(error_budget_min(0.999), 1)                # 99.9 % over an average month
43.8
>>> round(burn_rate(0.0144, 0.999), 1), round(exhaustion_s(14.4) / 86_400, 2)   # days to spend the budget
(14.4, 2.11)
"""

import dataclasses
import functools
import json
import math

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from .core import validation as check
from .core.component import OK, STATUSES
from .core.result import _busy_seconds

#: Upper bounds (seconds) of the latency buckets: prometheus_client's defaults, +Inf included.
DEFAULT_BUCKETS = tuple(Histogram.DEFAULT_BUCKETS)
DAYS_PER_MONTH = 365.25 / 12
PREFIX = "app"


def _bounds(buckets):
    """Sorted upper bounds (seconds) ending with +Inf; ValueError for anything else."""
    try:
        bounds = sorted(float(b) for b in buckets)
    except (TypeError, ValueError):
        raise ValueError(f"buckets must be numbers (upper bounds in seconds), not {buckets!r}") from None
    if not bounds or any(math.isnan(b) or b <= 0 for b in bounds) or len(set(bounds)) != len(bounds):
        raise ValueError(f"buckets must be distinct positive upper bounds in seconds, not {buckets!r}")
    return tuple(bounds if math.isinf(bounds[-1]) else bounds + [math.inf])


class _Frame:
    """A Result's requests as arrays sorted by finishing time, with the component that handled each.

    Read from the Result's own arrays (the per-request table is built only when :attr:`component` is
    asked for: the scrapes a dashboard draws do not need it).
    """

    def __init__(self, result):
        self.result = result
        arrival, latency_ms = result.arrival_s, result.latency_ms
        done = arrival + latency_ms / 1_000.0
        self.order = order = np.argsort(done, kind="stable")
        self.done = done[order]
        self.arrival = arrival[order]
        self.latency_s = latency_ms[order] / 1_000.0
        self.status = result.status_code[order]
        self.client = result.client[order]
        self.arrivals_sorted = np.sort(self.arrival, kind="stable")  # (in order but for ties: a stable sort is quick)

    @functools.cached_property
    def component(self):
        """The component each request is counted under (see :func:`_handlers`), in finishing order."""
        return _handlers(self.result, self.result.requests)[self.order]

    @functools.cached_property
    def names(self):
        return list(dict.fromkeys(self.component))

    def finished(self, times, mask=None):
        """How many requests (of ``mask``) had finished by each time (a counter's value)."""
        done = self.done if mask is None else self.done[mask]
        return np.searchsorted(done, times, side="right")

    def in_flight(self, times):
        return np.searchsorted(self.arrivals_sorted, times, side="right") - self.finished(times)


def _handlers(result, table):
    """The component each request is counted under: where it failed, else the server a balancer chose,
    else the first component with workers."""
    measured = [r.spec.name for r in result.runtimes if r.busy() is not None]
    handler = np.full(len(table), measured[0] if measured else result.architecture.name, dtype=object)
    if "server" in table:
        chosen = table["server"].astype(object).fillna("").astype(str).to_numpy()
        handler = np.where(chosen != "", chosen, handler)
    failed = table["failed_at"].astype(str).to_numpy()
    return np.where(failed != "", failed, handler)


def _at(at_s, result):
    check.number("at_s", at_s, low=0)
    return float(at_s)


class _Snapshot:
    """prometheus_client collector: the metrics of ``frame`` as a scrape at ``at_s`` would see them."""

    def __init__(self, frame, at_s, bounds, window_s):
        self.frame, self.at_s, self.bounds, self.window_s = frame, at_s, bounds, window_s

    def collect(self):
        f, t = self.frame, np.array([self.at_s])
        requests = CounterMetricFamily(f"{PREFIX}_requests", "Requests finished, by component and status",
                                       labels=["component", "status"])
        duration = HistogramMetricFamily(f"{PREFIX}_request_duration_seconds",
                                         "Latency of successful requests", labels=["component"])
        for name in f.names:
            mine = f.component == name
            for code, status in enumerate(STATUSES):
                requests.add_metric([name, status], float(f.finished(t, mine & (f.status == code))[0]))
            ok = mine & (f.status == OK)
            finished = f.done <= self.at_s
            latency = f.latency_s[ok & finished]
            counts = [float(np.sum(latency <= b)) for b in self.bounds]
            duration.add_metric([name], [(_le(b), c) for b, c in zip(self.bounds, counts)],
                                sum_value=float(latency.sum()))
        yield requests
        yield duration
        flight = GaugeMetricFamily(f"{PREFIX}_requests_in_flight", "Requests arrived and not yet finished")
        flight.add_metric([], float(f.in_flight(t)[0]))
        yield flight
        start = max(0.0, self.at_s - self.window_s)
        recent = (f.arrival > start) & (f.arrival <= self.at_s)
        active = GaugeMetricFamily(f"{PREFIX}_active_clients",
                                   f"Distinct clients seen in the last {self.window_s:g} s (a business metric)")
        active.add_metric([], float(len(np.unique(f.client[recent]))))
        yield active
        busy = GaugeMetricFamily(f"{PREFIX}_utilization", f"Share of worker time busy over the last "
                                 f"{self.window_s:g} s", labels=["component"])
        for name, share in _utilization(f.result, np.array([start, self.at_s])).items():
            busy.add_metric([name], float(share[0]))
        yield busy


def _le(bound):
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def _utilization(result, edges):
    """{component: busy share in each window between ``edges``} for components with workers."""
    width = np.diff(edges)
    out = {}
    for runtime in result.runtimes:
        periods = runtime.busy()
        if periods is not None:
            starts, ends, workers = periods
            out[runtime.spec.name] = np.where(width > 0, _busy_seconds(starts, ends, edges)
                                              / (workers * np.maximum(width, 1e-12)), np.nan)
    return out


def exposition(result, at_s, *, buckets=DEFAULT_BUCKETS, window_s=10.0):
    """The Prometheus text format a scrape of ``result``'s system at simulated time ``at_s`` returns.

    Counters count requests finished by ``at_s`` (a request counts when it finishes); the histogram
    holds successful requests' latency in ``buckets`` (upper bounds in seconds; +Inf is added);
    gauges give requests in flight, and utilisation and distinct clients over the last ``window_s``.
    Built by ``prometheus_client`` from a ``CollectorRegistry``.

    >>> import chapter1 as c
    >>> r = c.simulate(c.single_server(), c.Workload.from_rate(50), requests=500, seed=1)
    >>> text = exposition(r, at_s=5)
    >>> [line for line in text.splitlines() if line.startswith("app_requests_total")][0]
    'app_requests_total{component="server",status="ok"} 235.0'
    """
    at_s = _at(at_s, result)
    check.number("window_s", window_s, low=0, low_open=True)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(_Frame(result), at_s, _bounds(buckets), float(window_s)))
    return generate_latest(registry).decode("utf-8")


def histogram_quantile(q, buckets):
    """The ``q``-quantile (0-1) from cumulative histogram ``buckets``, as PromQL's ``histogram_quantile``.

    ``buckets`` is a mapping {upper bound: cumulative count} or pairs (upper bound, count); the
    last bound must be +Inf.  Like Prometheus: buckets are sorted by bound, counts made monotonic,
    the rank q x total is found and interpolated linearly inside its bucket (the first bucket starts
    at 0); a rank in the +Inf bucket returns the largest finite bound; no observations give NaN.
    Unlike Prometheus (which returns NaN or +-Inf) bad input raises ValueError.

    >>> histogram_quantile(0.99, {0.1: 0, 0.2: 10, float("inf"): 10})
    0.199
    >>> histogram_quantile(1.0, {0.1: 5, float("inf"): 10})   # the rank is in the +Inf bucket
    0.1
    """
    q = check.number("q", q, low=0, high=1)
    pairs = list(buckets.items()) if isinstance(buckets, dict) else list(buckets)
    try:
        pairs = sorted((float(le), float(count)) for le, count in pairs)
    except (TypeError, ValueError):
        raise ValueError(f"buckets must be (upper bound, cumulative count) pairs, not {buckets!r}") from None
    if len(pairs) < 2:
        raise ValueError(f"histogram_quantile needs at least two buckets (one of them +Inf), got {len(pairs)}")
    if not math.isinf(pairs[-1][0]) or pairs[-1][0] < 0:
        raise ValueError(f"the last bucket must have the upper bound +Inf, not {pairs[-1][0]!r}")
    if any(math.isnan(le) or math.isnan(c) or c < 0 for le, c in pairs):
        raise ValueError("bucket bounds and counts must be numbers and counts must not be negative")
    bounds = [le for le, _ in pairs]
    if len(set(bounds)) != len(bounds):
        raise ValueError(f"bucket upper bounds must be distinct, got {bounds}")
    counts = np.maximum.accumulate([c for _, c in pairs])   # Prometheus forces the counts monotonic
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    b = int(np.searchsorted(counts[:-1], rank, side="left"))  # the first bucket whose count >= rank
    if b == len(counts) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start, count, rank = bounds[b - 1], count - counts[b - 1], rank - counts[b - 1]
    return float(start + (end - start) * (rank / count)) if count > 0 else float(end)


def scrapes(result, interval_s=15.0, *, offset_s=0.0, buckets=DEFAULT_BUCKETS, quantile=0.99):
    """One row per scrape at ``offset_s + k x interval_s`` over the run: the RED and USE series a dashboard draws.

    Columns: ``t_s``; the counters ``requests`` and ``errors`` (every status but ok) finished so far;
    over the last interval ``rate_rps``, ``error_ratio``, ``p99_ms`` (``quantile`` by
    :func:`histogram_quantile` from the bucket increases, as ``histogram_quantile(0.99,
    rate(..._bucket[interval]))``) and ``exact_p99_ms`` (from the requests themselves); the gauge
    ``in_flight``; and ``<component>_utilization`` for each component with workers.

    >>> import chapter1 as c
    >>> r = c.simulate(c.single_server(), c.Workload.from_rate(50), requests=1_000, seed=1)
    >>> scrapes(r, 5).columns.tolist()[:6]
    ['t_s', 'requests', 'errors', 'rate_rps', 'error_ratio', 'p99_ms']
    """
    check.number("interval_s", interval_s, low=0, low_open=True)
    check.number("offset_s", offset_s, low=0)
    check.number("quantile", quantile, low=0, high=1)
    bounds = _bounds(buckets)
    f = _Frame(result)
    times = np.arange(offset_s + interval_s, result.duration_s + 1e-9, interval_s)
    if len(times) == 0:
        raise ValueError(f"interval_s={interval_s} with offset_s={offset_s} leaves no scrape inside the "
                         f"{result.duration_s:.1f} s run")
    edges = np.concatenate([[max(0.0, times[0] - interval_s)], times])
    requests = f.finished(edges)
    errors = f.finished(edges, f.status != OK)
    ok = f.status == OK
    cumulative = np.array([f.finished(edges, ok & (f.latency_s <= b)) for b in bounds])  # bucket x time
    increase = np.diff(cumulative, axis=1)
    done_req, done_err = np.diff(requests), np.diff(errors)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "t_s": times, "requests": requests[1:], "errors": errors[1:],
            "rate_rps": done_req / interval_s,
            "error_ratio": np.where(done_req > 0, done_err / np.maximum(done_req, 1), np.nan),
            "p99_ms": [1_000.0 * histogram_quantile(quantile, list(zip(bounds, increase[:, k])))
                       for k in range(len(times))],
            "exact_p99_ms": _exact(f, edges, quantile),
            "in_flight": f.in_flight(times),
        })
    for name, share in _utilization(result, edges).items():
        table[f"{name}_utilization"] = share
    return table


def _exact(f, edges, quantile):
    """The exact ``quantile`` (ms) of successful requests finished in each window between ``edges``."""
    ok = f.status == OK
    done, latency = f.done[ok], f.latency_s[ok]
    bounds = np.searchsorted(done, edges, side="right")
    return [1_000.0 * float(np.quantile(latency[a:b], quantile)) if b > a else math.nan
            for a, b in zip(bounds[:-1], bounds[1:])]


@dataclasses.dataclass(frozen=True)
class Alert:
    """When a rule on a scrape series went pending and fired, and the delay from the fault to firing."""

    rule: str
    pending_s: float
    firing_s: float
    delay_s: float


def alert(table, column, threshold, for_s=0.0, *, after_s=0.0):
    """Evaluate ``column > threshold`` held for ``for_s`` on a :func:`scrapes` table, as Prometheus rules do.

    The rule is evaluated at each scrape: it goes pending at the first scrape where the condition
    holds (from ``after_s``, the fault, on), resets when it stops holding, and fires at the first
    scrape at least ``for_s`` after it went pending.  ``delay_s`` is firing time - ``after_s``
    (inf when it never fired).

    >>> t = pd.DataFrame({"t_s": [10, 20, 30, 40], "error_ratio": [0, 0.5, 0.6, 0.7]})
    >>> alert(t, "error_ratio", 0.05, for_s=10, after_s=12)
    Alert(rule='error_ratio > 0.05 for 10 s', pending_s=20.0, firing_s=30.0, delay_s=18.0)
    """
    if column not in table:
        raise KeyError(f"no column {column!r} in the scrape table; it has {list(table.columns)}")
    check.number("threshold", threshold)
    check.number("for_s", for_s, low=0)
    check.number("after_s", after_s, low=0)
    rule = f"{column} > {threshold:g} for {for_s:g} s"
    times, values = table["t_s"].to_numpy(float), table[column].to_numpy(float)
    pending = math.nan
    for t, value in zip(times, values):
        if t < after_s or not value > threshold:
            pending = math.nan
            continue
        if math.isnan(pending):
            pending = float(t)
        if t - pending >= for_s - 1e-9:
            return Alert(rule, pending, float(t), float(t) - after_s)
    return Alert(rule, pending, math.inf, math.inf)


def theory_delay_s(interval_s, for_s=0.0):
    """Mean time from a sudden fault to the alert: the next scrape comes interval / 2 later, then ``for``.

    Exact when the fault is at a random moment, ``for_s`` is a whole number of intervals and the
    fault trips the rule at the first scrape after it.

    >>> theory_delay_s(15, 60)
    67.5
    """
    check.number("interval_s", interval_s, low=0, low_open=True)
    check.number("for_s", for_s, low=0)
    return interval_s / 2 + for_s


def error_budget_min(slo, days=DAYS_PER_MONTH):
    """Minutes of full outage an availability ``slo`` (e.g. 0.999) allows over ``days`` (default a mean month)."""
    check.number("slo", slo, low=0, high=1, low_open=True)
    check.number("days", days, low=0, low_open=True)
    return (1 - slo) * days * 24 * 60


def burn_rate(error_ratio, slo):
    """How fast failures spend an SLO's error budget: error_ratio / (1 - slo); 1 spends it exactly in its period.

    >>> round(burn_rate(1.0, 0.999), 6)     # a total outage burns a 99.9 % budget a thousand times too fast
    1000.0
    """
    check.number("slo", slo, low=0, high=1, low_open=True)
    if slo == 1:
        raise ValueError("slo must be below 1 (a 100 % SLO has no error budget to burn); got 1")
    ratio = np.asarray(error_ratio, dtype=float)
    if np.any((ratio < 0) | (ratio > 1)):
        raise ValueError(f"error_ratio must be a share in [0, 1]; got {error_ratio!r}")
    burn = ratio / (1 - slo)
    return float(burn) if np.ndim(error_ratio) == 0 else burn


def exhaustion_s(burn, days=DAYS_PER_MONTH):
    """Seconds until a steady ``burn`` rate spends the whole budget of a ``days``-long SLO period: period / burn.

    >>> round(exhaustion_s(1000) / 60, 1)     # a total outage at 99.9 %: the month's 43.8 min
    43.8
    """
    check.number("burn", burn, low=0, low_open=True, allow_inf=True)
    check.number("days", days, low=0, low_open=True)
    return days * 86_400 / burn


#: The SRE workbook's fast-burn page: 1 h and 5 min windows, burn rate 14.4 (2 % of a 30-day budget in an hour).
BURN_PAGE = {"long_s": 3_600.0, "short_s": 300.0, "factor": 14.4}


def burn_rates(table, slo, window_s, *, history_rps=None):
    """The burn rate over the last ``window_s`` at each scrape of a :func:`scrapes` table (as
    ``increase(errors[w]) / increase(requests[w]) / (1 - slo)``).

    A window reaching back before the run covers a healthy past: requests at ``history_rps``
    (default: the rate of the first scrape) and no errors, as an hour of Prometheus history would show.

    >>> t = pd.DataFrame({"t_s": [60, 120], "requests": [600, 1_200], "errors": [0, 60]})
    >>> burn_rates(t, 0.999, 60).round(1).tolist()    # the last minute: 60 of 600 failed
    [0.0, 100.0]
    """
    check.number("window_s", window_s, low=0, low_open=True)
    times = table["t_s"].to_numpy(float)
    requests, errors = table["requests"].to_numpy(float), table["errors"].to_numpy(float)
    if history_rps is None:
        history_rps = requests[0] / times[0] if times[0] > 0 else 0.0
    check.number("history_rps", history_rps, low=0)
    start = times - window_s
    t0, r0 = np.concatenate([[0.0], times]), np.concatenate([[0.0], requests])
    before = np.where(start < 0, start * history_rps, np.interp(np.maximum(start, 0), t0, r0))
    errors_before = np.interp(np.maximum(start, 0), t0, np.concatenate([[0.0], errors]))
    total, failed = requests - before, errors - errors_before
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(total > 0, failed / np.maximum(total, 1e-12), 0.0)
    return pd.Series(burn_rate(np.clip(ratio, 0, 1), slo), index=table.index, name=f"burn_{window_s:g}s")


def burn_alert(table, slo=0.999, *, long_s=BURN_PAGE["long_s"], short_s=BURN_PAGE["short_s"],
               factor=BURN_PAGE["factor"], after_s=0.0, history_rps=None):
    """The multi-window burn-rate page: fires at the first scrape (from ``after_s``) where the burn rate over
    ``long_s`` and over ``short_s`` both exceed ``factor``; an :class:`Alert` like :func:`alert`'s.

    The long window makes it page only on real budget loss (a blip is diluted in an hour); the short one
    makes it stop soon after the errors do.

    >>> t = pd.DataFrame({"t_s": [60.0, 120.0], "requests": [600, 1_200], "errors": [0, 600]})
    >>> burn_alert(t, after_s=60, history_rps=10).delay_s     # 600 failures in an hour of 36,000 requests
    60.0
    """
    check.number("factor", factor, low=0, low_open=True)
    check.number("after_s", after_s, low=0)
    if not short_s < long_s:
        raise ValueError(f"short_s must be shorter than long_s; got short_s={short_s!r}, long_s={long_s!r}")
    long_burn = burn_rates(table, slo, long_s, history_rps=history_rps)
    short_burn = burn_rates(table, slo, short_s, history_rps=history_rps)
    rule = f"burn({long_s:g} s) > {factor:g} and burn({short_s:g} s) > {factor:g}"
    both = pd.DataFrame({"t_s": table["t_s"], "burn": np.minimum(long_burn, short_burn)})
    found = alert(both, "burn", factor, 0.0, after_s=after_s)
    return dataclasses.replace(found, rule=rule)


def theory_burn_delay_s(error_ratio, slo=0.999, *, long_s=BURN_PAGE["long_s"], factor=BURN_PAGE["factor"],
                        interval_s=0.0):
    """Mean time from a sudden fault failing a share ``error_ratio`` of requests to the burn-rate page.

    The long window's error ratio grows as error_ratio x t / long_s (traffic steady, a healthy past), so it
    crosses factor x (1 - slo) after long_s x factor x (1 - slo) / error_ratio; the next scrape comes on
    average interval / 2 later.  Never (inf) when error_ratio is at most factor x (1 - slo).

    >>> round(theory_burn_delay_s(1.0), 1), theory_burn_delay_s(0.01)
    (51.8, inf)
    """
    burn = burn_rate(error_ratio, slo)
    check.number("interval_s", interval_s, low=0)
    if burn <= factor:
        return math.inf
    return long_s * factor / burn + interval_s / 2


def logs(result, *, sample=0.01, slow_ms=None, seed=0):
    """Structured JSON log lines (one string each) for a sample of requests, in finishing order.

    Every failed request and every request slower than ``slow_ms`` is kept (tail sampling keeps the
    interesting ones); of the rest a random ``sample`` share.  Each line has ``ts`` (simulated
    seconds when it finished), ``level``, ``msg``, ``request_id``, ``client``, ``component``,
    ``status``, ``latency_ms`` and ``arrival_s``.

    >>> import chapter1 as c
    >>> r = c.simulate(c.single_server(), c.Workload.from_rate(50), requests=500, seed=1)
    >>> sorted(json.loads(logs(r, sample=1.0)[0]))[:4]
    ['arrival_s', 'client', 'component', 'latency_ms']
    """
    check.number("sample", sample, low=0, high=1)
    if slow_ms is not None:
        check.number("slow_ms", slow_ms, low=0)
    f = _Frame(result)
    keep = np.random.default_rng(seed).random(len(f.done)) < sample
    keep |= f.status != OK
    if slow_ms is not None:
        keep |= f.latency_s * 1_000.0 > slow_ms
    ids = np.argsort(np.argsort(f.arrival, kind="stable"), kind="stable")  # request id = arrival order
    lines = []
    for k in np.flatnonzero(keep):
        status = STATUSES[f.status[k]]
        slow = slow_ms is not None and f.latency_s[k] * 1_000.0 > slow_ms
        level = "error" if status != "ok" else ("warning" if slow else "info")
        lines.append(json.dumps({
            "ts": round(float(f.done[k]), 6), "level": level, "msg": "request finished",
            "request_id": int(ids[k]), "client": int(f.client[k]), "component": str(f.component[k]),
            "status": status, "latency_ms": round(float(f.latency_s[k] * 1_000.0), 3),
            "arrival_s": round(float(f.arrival[k]), 6)}))
    return lines
