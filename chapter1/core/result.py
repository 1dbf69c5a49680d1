"""Result: what a simulation measured, as tidy pandas DataFrames and a one-line summary."""

from functools import cached_property

import numpy as np
import pandas as pd

from ..core import validation as check

OK, ERROR, TIMEOUT, REJECTED = range(4)
STATUSES = ("ok", "error", "timeout", "rejected")
PERCENTILES = (50, 95, 99)


class Result:
    """The outcome of :func:`chapter1.simulate`.

    ``requests`` has one row per request; ``components`` one row per component;
    ``timeline()`` per-component utilisation and per-window latency; ``summary()`` the headline figures.
    Servers inside a load balancer (or DNS round robin) count as components of their own.
    """

    def __init__(self, sim):
        self.architecture, self.workload, self.seed = sim.architecture, sim.workload, sim.seed
        self.arrival_s = sim.arrival
        self.latency_ms = (sim.end - sim.arrival) * 1_000.0
        self.status_code = sim.status
        self.failed_at = sim.failed_at
        self.dns_ms = sim.dns_s * 1_000.0
        self.tiers = sim.tiers
        self.runtimes = getattr(sim, "runtimes", sim.tiers)  # every component's runtime, nested ones too
        self.client = getattr(sim, "client", None)
        self.duration_s = float(sim.arrival[-1])

    def __repr__(self):
        s = self.summary()
        return (f"<Result {self.architecture.name}: {s['requests']:,} requests over {s['simulated_s']:,.1f} s, "
                f"p95 {s['p95_ms']:,.1f} ms, errors {s['error_rate']:.1%}>")

    @cached_property
    def requests(self):
        """One row per request: arrival time, latency, status, where it failed, wait per server, client.

        With a load balancer or DNS round robin, ``server`` names the server each request was sent to
        (with several pools, one ``<pool name>_server`` column each).
        """
        names = np.array([""] + [c.name for c in self.architecture.components], dtype=object)
        columns = {
            "arrival_s": self.arrival_s,
            "latency_ms": self.latency_ms,
            "status": pd.Categorical.from_codes(self.status_code, categories=list(STATUSES)),
            "failed_at": names[self.failed_at + 1],
            "dns_ms": self.dns_ms,
        }
        for tier in self._servers:
            columns[f"{tier.spec.name}_wait_ms"] = tier.wait * 1_000.0
        if self.client is not None:
            columns["client"] = self.client
        pools = [r for r in self.runtimes if hasattr(r, "server_names")]
        for pool in pools:
            columns["server" if len(pools) == 1 else f"{pool.spec.name}_server"] = pool.server_names()
        return pd.DataFrame(columns)

    @property
    def _resolves(self):
        """True when clients look the name up (a DNS, or DNS round robin: anything with a TTL)."""
        return any(hasattr(c, "ttl_s") for c in self.architecture.components)

    @property
    def _servers(self):
        """Runtimes that have workers (servers), nested ones included, in component order."""
        return [r for r in self.runtimes if hasattr(r, "busy_from")]

    @cached_property
    def _ok_latency(self):
        return self.latency_ms[self.status_code == OK]

    def percentile(self, q):
        """Latency (ms) below which ``q`` percent of successful requests finished; NaN if none succeeded."""
        return float(np.percentile(self._ok_latency, q)) if self._ok_latency.size else float("nan")

    def completed_within_window(self):
        """Successful requests that finished by the last arrival (work drained afterwards is not counted)."""
        done_s = self.arrival_s + self.latency_ms / 1_000.0
        return int(np.sum((self.status_code == OK) & (done_s <= self.duration_s)))

    def utilization(self, name):
        """Share of worker time component ``name`` spent serving, over the simulated window."""
        tier = self._tier(name)
        return _busy_seconds(tier, np.array([0.0, self.duration_s]))[0] / (tier.spec.workers * self.duration_s)

    def summary(self):
        """Headline figures (see :meth:`_summary`); a fresh copy each call."""
        return self._summary.copy()

    @cached_property
    def _summary(self):
        """Headline figures: latency percentiles (successful requests), throughput, error rates, utilisation.

        >>> from chapter1 import Workload, simulate, single_server
        >>> s = simulate(single_server(), Workload(users=1_000), requests=1_000)._summary
        >>> sorted(s.index)[:3]
        ['dns_hit_ratio', 'error_rate', 'mean_ms']
        """
        n = len(self.status_code)
        counts = np.bincount(self.status_code, minlength=len(STATUSES))
        figures = {
            "requests": n,
            "simulated_s": self.duration_s,
            "offered_rps": self.workload.rate,
            "throughput_rps": self.completed_within_window() / self.duration_s,
            "mean_ms": float(self._ok_latency.mean()) if self._ok_latency.size else float("nan"),
            **{f"p{q}_ms": self.percentile(q) for q in PERCENTILES},
            **{f"{name}_rate": counts[code] / n for code, name in enumerate(STATUSES) if code != OK},
            "dns_hit_ratio": float(np.mean(self.dns_ms == 0)) if self._resolves else float("nan"),
            **{f"{t.spec.name}_utilization": self.utilization(t.spec.name) for t in self._servers},
        }
        return pd.Series({k: v if k == "requests" else float(v) for k, v in figures.items()}, dtype=object)

    @cached_property
    def components(self):
        """One row per component: kind, workers, utilisation, requests served and requests failed there.

        A load balancer's row counts the requests it forwarded as ``served`` and has no workers.
        """
        rows = []
        for tier in self.runtimes:
            failed = np.bincount(self.status_code[self.failed_at == tier.index], minlength=len(STATUSES))
            if not hasattr(tier, "busy_from"):
                rows.append({
                    "component": tier.spec.name, "kind": tier.spec.kind, "workers": None,
                    "utilization": float("nan"), "served": tier.forwarded(), "mean_wait_ms": float("nan"),
                    **{name: int(failed[code]) for code, name in enumerate(STATUSES) if code != OK},
                })
                continue
            rows.append({
                "component": tier.spec.name, "kind": tier.spec.kind, "workers": tier.spec.workers,
                "utilization": self.utilization(tier.spec.name),
                "served": int(np.sum(~np.isnan(tier.busy_to))),
                "mean_wait_ms": float(np.nanmean(tier.wait) * 1_000.0) if np.any(~np.isnan(tier.wait)) else 0.0,
                **{name: int(failed[code]) for code, name in enumerate(STATUSES) if code != OK},
            })
        table = pd.DataFrame(rows)
        if table["workers"].isna().any():  # a balancer has no workers: keep the servers' counts whole
            table["workers"] = table["workers"].astype("Int64")
        return table

    def timeline(self, bins=40):
        """Per time window: offered rate, throughput, latency percentiles, error share, utilisation per tier.

        Aggregated (``bins`` rows) so it is small enough to chart and to store in a notebook.
        """
        check.number("bins", bins, low=1, high=10_000, integer=True)
        edges = np.linspace(0.0, self.duration_s, bins + 1)
        width = np.diff(edges)
        window = np.clip(np.searchsorted(edges, self.arrival_s, side="right") - 1, 0, bins - 1)
        ok = self.status_code == OK
        arrived = np.bincount(window, minlength=bins)
        succeeded = np.bincount(window, weights=ok, minlength=bins)
        table = pd.DataFrame({
            "t_s": edges[:-1] + width / 2,
            "offered_rps": arrived / width,
            "throughput_rps": succeeded / width,
            "error_share": np.where(arrived > 0, 1 - succeeded / np.maximum(arrived, 1), np.nan),
        })
        ok_window, ok_latency = window[ok], self.latency_ms[ok]
        order = np.lexsort((ok_latency, ok_window))
        bounds = np.searchsorted(ok_window[order], np.arange(bins + 1))
        sorted_latency = ok_latency[order]
        for q in PERCENTILES:
            table[f"p{q}_ms"] = _window_percentile(sorted_latency, bounds, q)
        for tier in self._servers:
            table[f"{tier.spec.name}_utilization"] = _busy_seconds(tier, edges) / (tier.spec.workers * width)
        return table

    def _tier(self, name):
        for tier in self._servers:
            if tier.spec.name == name:
                return tier
        names = ", ".join(repr(t.spec.name) for t in self._servers)
        raise KeyError(f"no simulated tier named {name!r}; tiers: {names}")


def _window_percentile(values, bounds, q):
    """Percentile ``q`` of each window values[bounds[k]:bounds[k+1]] (each sorted), as numpy's 'linear' method."""
    counts = np.diff(bounds)
    position = bounds[:-1] + q / 100 * np.maximum(counts - 1, 0)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, np.maximum(bounds[1:] - 1, 0))
    padded = np.append(values, np.nan)  # an empty window indexes past the end
    low_value, high_value = padded[np.minimum(low, len(values))], padded[np.minimum(high, len(values))]
    return np.where(counts > 0, low_value + (position - low) * (high_value - low_value), np.nan)


def _busy_seconds(tier, edges):
    """Worker-seconds of service inside each window [edges[k], edges[k+1])."""
    served = ~np.isnan(tier.busy_from)
    starts, ends = np.sort(tier.busy_from[served]), np.sort(tier.busy_to[served])
    busy = np.diff(_integral(starts, edges) - _integral(ends, edges))
    return np.maximum(busy, 0.0)  # prefix sums leave +-1e-12 where nothing ran


def _integral(times, x):
    """For each x: sum over times t < x of (x - t), using prefix sums of the sorted times."""
    count = np.searchsorted(times, x, side="left")
    prefix = np.concatenate([[0.0], np.cumsum(times)])
    return count * x - prefix[count]
