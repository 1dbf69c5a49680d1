"""Result: what a simulation measured, as tidy pandas DataFrames and a one-line summary.

Everything a component reports reaches the Result through the runtime protocol
(:class:`chapter1.core.component.Runtime`): per-request ``columns()``, headline ``figures()``, its
``row()`` in the components table and its ``busy()`` periods for utilisation.
"""

from functools import cached_property

import numpy as np
import pandas as pd

from . import validation as check
from .component import ERROR, OK, REJECTED, STATUSES, TIMEOUT, Share, flatten  # noqa: F401  (status codes live with the protocol)

PERCENTILES = (50, 95, 99)


class Result:
    """The outcome of :func:`chapter1.simulate`.

    ``requests`` has one row per request; ``components`` one row per component;
    ``timeline()`` per-window latency, errors and utilisation; ``summary()`` the headline figures.
    Parts (a load balancer's servers, a cache's database) count as components of their own.
    """

    def __init__(self, sim):
        self.architecture, self.workload, self.seed = sim.architecture, sim.workload, sim.seed
        self.arrival_s = sim.arrival
        self.latency_ms = (sim.end - sim.arrival) * 1_000.0
        self.status_code = sim.status
        self.failed_at = sim.failed_at
        self.client = sim.client
        self.runtimes = sim.runtimes  # one per component, in architecture.components order
        self.duration_s = float(sim.arrival[-1])
        self._entry_s = sim.entry_s

    def __repr__(self):
        s = self.summary()
        return (f"<Result {self.architecture.name}: {s['requests']:,} requests over {s['simulated_s']:,.1f} s, "
                f"p95 {s['p95_ms']:,.1f} ms, errors {s['error_rate']:.1%}>")

    @cached_property
    def _requests(self):
        names = np.array([""] + [c.name for c in self.architecture.components], dtype=object)
        columns = {
            "arrival_s": self.arrival_s,
            "latency_ms": self.latency_ms,
            "status": pd.Categorical.from_codes(self.status_code, categories=list(STATUSES)),
            "failed_at": names[self.failed_at + 1],
            **self._columns,
            "client": self.client,
        }
        return pd.DataFrame(columns)

    @cached_property
    def _columns(self):
        """What the components recorded per request, as :attr:`requests` names the columns (arrays)."""
        return _merged([(r.spec.name, r.columns()) for r in self.runtimes])

    def column(self, name):
        """One column of :attr:`requests` that a component recorded (``dns_ms``, ``server``, ...), as an array,
        without building the table: a fresh copy each time.

        >>> from chapter1 import Workload, load_balanced, simulate
        >>> result = simulate(load_balanced(2), Workload.from_rate(50), requests=200)
        >>> result.column("server")[:3].tolist() == result.requests["server"][:3].tolist()
        True
        """
        if name not in self._columns:
            raise KeyError(f"no component recorded a column named {name!r}; these did: {', '.join(self._columns)}")
        return np.array(self._columns[name], copy=True)

    @property
    def requests(self):
        """One row per request: arrival, latency, status, where it failed, what each component recorded, client.

        Component columns come from each component (``<server>_wait_ms``, ``dns_ms``, ``server`` for
        the server a balancer chose); a name two components both report gets their names as prefix.
        A fresh copy each time: changing it changes nothing here.
        """
        return self._requests.copy()

    @cached_property
    def _periods(self):
        """Each component with workers (in component order): its service periods ``(starts, ends, workers)``."""
        periods = {r.spec.name: r.busy() for r in self.runtimes}
        return {name: busy for name, busy in periods.items() if busy is not None}

    @cached_property
    def _measured(self):
        """Runtimes that have workers (their service periods give utilisation), in component order."""
        return [r for r in self.runtimes if r.spec.name in self._periods]

    @cached_property
    def _ok_latency(self):
        return self.latency_ms[self.status_code == OK]

    def reached_s(self):
        """When each request reached the first tier (s): its arrival plus the time spent before it (a DNS lookup),
        without building the components' columns.

        >>> from chapter1 import Workload, load_balanced, simulate
        >>> result = simulate(load_balanced(2), Workload.from_rate(50), requests=200)
        >>> bool((result.reached_s() == result.arrival_s + result.column("dns_ms") / 1_000.0).all())
        True
        """
        return self.arrival_s + self._entry_s

    def entry_ms(self):
        """The time each request spent before the first tier (ms): a DNS lookup in front (the ``dns_ms`` that DNS
        records), 0 without one, without building the components' columns.

        >>> from chapter1 import Workload, load_balanced, simulate
        >>> result = simulate(load_balanced(2), Workload.from_rate(50), requests=200)
        >>> bool((result.entry_ms() == result.column("dns_ms")).all())
        True
        """
        return self._entry_s * 1_000.0

    def percentile(self, q):
        """Latency (ms) below which ``q`` percent of successful requests finished; NaN if none succeeded."""
        check.number("q", q, low=0, high=100)
        return float(np.percentile(self._ok_latency, q)) if self._ok_latency.size else float("nan")

    def completed_within_window(self):
        """Successful requests that finished by the last arrival (work drained afterwards is not counted)."""
        done_s = self.arrival_s + self.latency_ms / 1_000.0
        return int(np.sum((self.status_code == OK) & (done_s <= self.duration_s)))

    def utilization(self, name):
        """Share of worker time component ``name`` spent serving, over the simulated window."""
        self._runtime(name)  # a clear error for a name without workers
        starts, ends, workers = self._periods[name]
        return float(_busy_seconds(starts, ends, np.array([0.0, self.duration_s]))[0] / (workers * self.duration_s))

    def summary(self):
        """Headline figures (see :meth:`_summary`); a fresh copy each call."""
        return self._summary.copy()

    def status_rates(self):
        """The share of requests that ended in each failure (``error_rate``, ``timeout_rate``, ``rejected_rate``):
        the summary's figures, without working out the rest of it.

        >>> from chapter1 import Workload, simulate, single_server
        >>> run = simulate(single_server(workers=1, queue_limit=1), Workload(users=2_000_000), requests=400)
        >>> rates = run.status_rates()
        >>> sorted(rates), all(rates[k] == run.summary()[k] for k in rates), rates["rejected_rate"] > 0
        (['error_rate', 'rejected_rate', 'timeout_rate'], True, True)
        """
        counts, n = np.bincount(self.status_code, minlength=len(STATUSES)), len(self.status_code)
        return {f"{name}_rate": float(counts[code] / n) for code, name in enumerate(STATUSES) if code != OK}

    @cached_property
    def _summary(self):
        """Headline figures: latency percentiles (successful requests), throughput, error rates, utilisation.

        >>> from chapter1 import Workload, simulate, single_server
        >>> s = simulate(single_server(), Workload(users=1_000), requests=1_000)._summary
        >>> sorted(s.index)[:3]
        ['dns_hit_ratio', 'error_rate', 'mean_ms']
        """
        n = len(self.status_code)
        figures = {
            "requests": n,
            "simulated_s": self.duration_s,
            "offered_rps": self.workload.rate,
            "throughput_rps": self.completed_within_window() / self.duration_s,
            "mean_ms": float(self._ok_latency.mean()) if self._ok_latency.size else float("nan"),
            **{f"p{q}_ms": self.percentile(q) for q in PERCENTILES},
            **self.status_rates(),
            **_figures(self.runtimes),
            **{f"{r.spec.name}_utilization": self.utilization(r.spec.name) for r in self._measured},
        }
        return pd.Series({k: v if k == "requests" else float(v) for k, v in figures.items()}, dtype=object)

    @cached_property
    def _components(self):
        rows = []
        for runtime in self.runtimes:
            failed = np.bincount(self.status_code[self.failed_at == runtime.index], minlength=len(STATUSES))
            measured = runtime.spec.name in self._periods
            rows.append({
                "component": runtime.spec.name, "kind": runtime.spec.kind, **runtime.row(),
                "utilization": self.utilization(runtime.spec.name) if measured else float("nan"),
                **{name: int(failed[code]) for code, name in enumerate(STATUSES) if code != OK},
            })
        table = pd.DataFrame(rows)
        table = table[["component", "kind", "workers", "utilization", "served", "mean_wait_ms",
                       *[c for c in table.columns if c not in _ROW_ORDER]]]
        table["workers"] = table["workers"].astype("Int64")
        return table

    @property
    def components(self):
        """One row per component: kind, workers, utilisation, requests served and failed there (a fresh copy).

        A component without workers (a DNS, a load balancer) has no utilisation; a balancer counts
        the requests it forwarded as ``served``.
        """
        return self._components.copy()

    def timeline(self, bins=40, utilization=True):
        """Per time window: offered rate, throughput, latency percentiles, error share, utilisation per tier.

        Aggregated (``bins`` rows) so it is small enough to chart and to store in a notebook.  With
        ``utilization=False`` the tiers' busy shares are left out (a chart that does not draw them).
        """
        return pd.DataFrame(self.timeline_columns(bins, utilization))

    def timeline_columns(self, bins=40, utilization=True, latency=True):
        """:meth:`timeline` as a dict of columns (name -> array), without building the table: what a chart reads
        (``latency=False`` leaves out the percentile columns, for a chart that draws none).

        >>> from chapter1 import Workload, simulate, single_server
        >>> result = simulate(single_server(), Workload.from_rate(50), requests=500)
        >>> list(result.timeline_columns(4, utilization=False))[:3]
        ['t_s', 'offered_rps', 'throughput_rps']
        """
        check.number("bins", bins, low=1, high=10_000, integer=True)
        for name, value in (("utilization", utilization), ("latency", latency)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False; got {value!r}")
        edges = np.linspace(0.0, self.duration_s, bins + 1)
        width = np.diff(edges)
        window = np.clip(np.searchsorted(edges, self.arrival_s, side="right") - 1, 0, bins - 1)
        ok = self.status_code == OK
        arrived = np.bincount(window, minlength=bins)
        succeeded = np.bincount(window, weights=ok, minlength=bins)
        columns = {
            "t_s": edges[:-1] + width / 2,
            "offered_rps": arrived / width,
            "throughput_rps": succeeded / width,
            "error_share": np.where(arrived > 0, 1 - succeeded / np.maximum(arrived, 1), np.nan),
        }
        if latency:
            sorted_latency, bounds = _sorted_by_window(window[ok], self.latency_ms[ok], bins)
            for q in PERCENTILES:
                columns[f"p{q}_ms"] = _window_percentile(sorted_latency, bounds, q)
        for runtime in self._measured if utilization else ():
            starts, ends, workers = self._periods[runtime.spec.name]
            columns[f"{runtime.spec.name}_utilization"] = _busy_seconds(starts, ends, edges) / (workers * width)
        return columns

    def _runtime(self, name):
        if name in self._periods:
            return next(r for r in self._measured if r.spec.name == name)
        names = ", ".join(repr(r.spec.name) for r in self._measured)
        raise KeyError(f"no component with workers named {name!r}; these have workers: {names}")


_ROW_ORDER = ("component", "kind", "workers", "utilization", "served", "mean_wait_ms")


def _merged(named_columns):
    """Every runtime's columns in one dict; a name reported by several gets each reporter's name as prefix."""
    counts = {}
    for _, columns in named_columns:
        for key in columns:
            counts[key] = counts.get(key, 0) + 1
    return {(key if counts[key] == 1 else f"{owner}_{key}"): value
            for owner, columns in named_columns for key, value in columns.items()}


def _sorted_by_window(window, values, bins):
    """``values`` sorted within each window (``window`` holds each value's, 0 to bins - 1), and where each window's
    run starts (``bins`` + 1 bounds).  A few windows in order (as arrivals come): each run sorted on its own; else a
    sort on value, then a stable radix sort on the window (lexsort's order)."""
    if bins <= 256 and np.all(window[1:] >= window[:-1]):
        bounds = np.searchsorted(window, np.arange(bins + 1))
        return np.concatenate([np.zeros(0)] + [np.sort(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]), bounds
    by_value = np.argsort(values)
    windows = window[by_value]
    by_window = np.argsort(windows.astype(np.uint16), kind="stable")
    return values[by_value][by_window], np.searchsorted(windows[by_window], np.arange(bins + 1))


def _window_percentile(values, bounds, q):
    """Percentile ``q`` of each window values[bounds[k]:bounds[k+1]] (each sorted), as numpy's 'linear' method."""
    counts = np.diff(bounds)
    position = bounds[:-1] + q / 100 * np.maximum(counts - 1, 0)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, np.maximum(bounds[1:] - 1, 0))
    padded = np.append(values, np.nan)  # an empty window indexes past the end
    low_value, high_value = padded[np.minimum(low, len(values))], padded[np.minimum(high, len(values))]
    return np.where(counts > 0, low_value + (position - low) * (high_value - low_value), np.nan)


def _busy_seconds(starts, ends, edges):
    """Worker-seconds of service inside each window [edges[k], edges[k+1]), given every service period."""
    served = ~np.isnan(starts)
    starts, ends = np.sort(starts[served], kind="stable"), np.sort(ends[served], kind="stable")  # (nearly in order)
    busy = np.diff(_integral(starts, edges) - _integral(ends, edges))
    return np.maximum(busy, 0.0)  # prefix sums leave +-1e-12 where nothing ran


def _integral(times, x):
    """For each x: sum over times t < x of (x - t), using prefix sums of the sorted times."""
    count = np.searchsorted(times, x, side="left")
    prefix = np.concatenate([[0.0], np.cumsum(times)])
    return count * x - prefix[count]


# How a figure several components give adds up to one overall figure (a Share adds its parts and wholes); any other
# figure they share appears only per component.
COMBINED = {
    sum: ("lost_writes", "write_conflicts", "failover_failed", "sessions", "sessions_lost", "messages_lost",
          "duplicates", "redeliveries", "worker_seconds", "workers_end", "origin_rps"),
    max: ("backlog_max", "workers_max"),
}
_HOW = {name: how for how, names in COMBINED.items() for name in names}


def _figures(runtimes):
    """Every component's own figures (``figures()``), each under its name.  A figure that several components give is
    named after each, ``<component>_<figure>``, and under its own name stands their overall figure where there is
    one: side by side (shards, sites), :data:`COMBINED` says how it adds up, and a
    :class:`~chapter1.core.component.Share` adds its parts and wholes; one inside another (a cache behind a cache)
    sees what the other passed on, so none.

    >>> from types import SimpleNamespace as Part
    >>> def site(name, hits, reads, p95):
    ...     return Part(spec=Part(name=name, parts=()), figures=lambda: {"cache_hit_ratio": Share(hits, reads),
    ...                                                                  "p95_ms": p95})
    >>> _figures([site("east", 40, 100, 3.0), site("west", 30, 60, 8.0)])
    {'cache_hit_ratio': 0.4375, 'east_cache_hit_ratio': 0.4, 'west_cache_hit_ratio': 0.5, 'east_p95_ms': 3.0, \
'west_p95_ms': 8.0}
    """
    given = {}
    for r in runtimes:
        for key, value in r.figures().items():
            given.setdefault(key, []).append((r.spec, value))
    figures = {}
    for key, values in given.items():
        if len(values) == 1:
            figures[key] = values[0][1]
            continue
        specs = [spec for spec, _ in values]
        inside = {id(part) for spec in specs for part in list(flatten(spec))[1:]}
        overall = None if any(id(spec) in inside for spec in specs) else _overall(key, [v for _, v in values])
        figures.update({} if overall is None else {key: overall})
        figures.update({f"{spec.name}_{key}": value for spec, value in values})
    return figures


def _overall(key, values):
    """The figure ``key`` for all the ``values`` components gave, or None where it has no overall meaning."""
    if all(isinstance(v, Share) for v in values):
        part, whole = sum(v.part for v in values), sum(v.whole for v in values)
        return Share(part, whole) if whole else values[0]
    return _HOW[key](values) if key in _HOW else None
