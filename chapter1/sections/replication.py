"""Chapter 05: database replication.  Replicas multiply read capacity; their lag makes some reads stale.

The live panel (:func:`replication_panel`) sends a fixed rate to a primary and 0-8 replicas and plots
a read's mean time at the database against the number of replicas: the line is theory (each replica
an M/M/c queue fed by its share of the reads and by every write it replays), the dots are this
setting's runs.  :func:`stale_sweep` and :func:`stale_chart` put simulated stale reads on the line
sum p_k (1 - exp(-w_k L)) over the replication lag.  The model behind both is
:class:`chapter1.components.replicas.ReplicaSet`.

>>> round(theory_read_ms(4, read_share=0.9), 1)       # 180 reads + 80 replays a second per replica
12.5
>>> round(analytic.max_rate(4, CAPACITY, 0.9))       # 4 x 400 / (0.9 + 4 x 0.1)
1231
"""

import dataclasses
import functools
import math

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import replicated
from ..components.replicas import ReplicaSetRun
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

RATE = 800.0            # requests per second in the panel
KEYS = 1_000            # the panel's key space (Zipf 1): a small one, so that writes revisit keys often
DB_WORKERS, DB_SERVICE_MS = 4, 10.0
CAPACITY = DB_WORKERS * 1_000.0 / DB_SERVICE_MS      # 400 queries a second per database
MAX_REPLICAS = 8
LAG_RANGE_MS = (5, 2_000)
READ_MS_RANGE = (5, 1_000)
SEEDS = 3
CAPTION = (
    "<small>A read's mean time at the database as replicas are added, at a fixed rate: the line is theory (missing "
    "where the replicas, or with none the primary, are overloaded), the red dots are three runs of this setting, "
    "the dashed line your number of replicas.</small>")


def workload(read_share, rate=RATE):
    """The panel's traffic: ``rate`` requests a second, a ``read_share`` of them reads, over :data:`KEYS` keys."""
    return Workload.from_rate(rate, read_ratio=read_share, keys=KEYS)


def data_tier(replicas, lag_ms=100.0, **options):
    """A primary and ``replicas`` replicas alone (no DNS, no web tier): the panel measures the database.

    Reads go to a replica at random (the case the theory is exact for); the other options go to
    :func:`chapter1.replicated`.

    >>> [c.name for c in data_tier(2).components]
    ['database', 'primary', 'replica-1', 'replica-2']
    """
    arch = replicated(replicas=replicas, replication_lag_ms=lag_ms, routing="random", db_workers=DB_WORKERS,
                      db_service_ms=DB_SERVICE_MS, **options)
    return dataclasses.replace(arch, tiers=arch.tiers[1:], dns=None)


def theory_read_ms(replicas, read_share, rate=RATE):
    """Theory's mean read time at the database (ms) with ``replicas`` replicas; inf when they are overloaded."""
    return analytic.read_time_ms(rate, read_share, replicas, DB_WORKERS, DB_SERVICE_MS)


def read_ms(result):
    """Mean time (ms) successful reads spent at the database (the replica set) in ``result``.

    Read from the set's own records, not from ``result.requests`` (a table of every column, built for one figure).

    >>> read_ms(simulate(data_tier(2), workload(0.9), requests=500, seed=1)) > DB_SERVICE_MS / 2
    True
    """
    data = _replica_set(result)
    reads = (result.status_code == OK) & (data.member >= 0) & ~data.sim.write
    times = data.time_s[reads] * 1_000.0
    kept = ~np.isnan(times)
    return float(np.where(kept, times, 0.0).sum() / kept.sum()) if kept.any() else math.nan  # as pandas' mean


def _replica_set(result):
    """The replica set's run in ``result`` (its records hold the figures the panel reads)."""
    sets = [r for r in result.runtimes if isinstance(r, ReplicaSetRun)]
    if len(sets) != 1:
        raise ValueError(f"result must come from a design with one replica set (replicated()); got {len(sets)}")
    return sets[0]


@functools.lru_cache(maxsize=128, typed=True)
def _read_line(read_share, rate):
    rows = [{"series": "theory", "replicas": k, "read_ms": theory_read_ms(k, read_share, rate)}
            for k in range(MAX_REPLICAS + 1)]
    return pd.DataFrame([r for r in rows if math.isfinite(r["read_ms"])], columns=["series", "replicas", "read_ms"])


def stale_sweep(lags_ms=(20, 50, 100, 200, 500, 1_000), *, replicas=2, read_share=0.9, rate=300.0, keys=KEYS,
                seeds=(0, 1, 2), requests=10_000, warmup_s=5.0):
    """Simulated stale-read share against the mean replication lag, one row per lag and seed, with theory.

    Reads in the first ``warmup_s`` seconds are left out: a run starts with every replica up to date,
    and the writes in flight build up over a few lags.

    >>> stale_sweep([100], seeds=[0], requests=2_000, warmup_s=1).columns.tolist()
    ['lag_ms', 'seed', 'stale', 'theory']
    """
    w, rows = Workload.from_rate(rate, read_ratio=read_share, keys=keys), []
    for lag in lags_ms:
        arch = data_tier(replicas, lag)
        for seed in seeds:
            table = simulate(arch, w, requests=requests, seed=seed).requests
            reads = table[~table["write"] & (table["status"] == "ok") & (table["arrival_s"] > warmup_s)]
            rows.append({"lag_ms": float(lag), "seed": seed, "stale": float(reads["stale"].mean()),
                         "theory": analytic.stale_reads(w, lag)})
    return pd.DataFrame(rows, columns=["lag_ms", "seed", "stale", "theory"])


def stale_chart(table):
    """Stale reads against the lag: the theory line and one dot per simulated run (a :func:`stale_sweep` table)."""
    grid = np.geomspace(table["lag_ms"].min(), table["lag_ms"].max(), 40)
    line = pd.DataFrame({"lag_ms": grid, "theory": np.interp(np.log(grid), np.log(table["lag_ms"]), table["theory"])})
    return charts.lines_and_dots(
        line, table, scales.log_axis("x", "lag_ms:Q", "mean replication lag (ms)", (grid[0], grid[-1])),
        scales.share_axis("y", "theory:Q", "stale reads", top=float(min(1.0, table[["stale", "theory"]].max().max()
                                                                        * 1.2))),
        dot_y="stale:Q", dots_style={"filled": True, "size": 50, "color": scales.RED, "opacity": 0.7},
        tooltip=(("lag_ms:Q", ",.0f"), ("stale:Q", ".1%"), ("theory:Q", ".1%")),
        heading=charts.title("Stale reads grow with the lag", "line: sum p_k (1 - exp(-w_k L)) · dots: runs"))


def runs(replicas, read_share, lag_ms, *, requests=1_000, seeds=SEEDS, rate=RATE, first_seed=0):
    """One row per seed: mean read time at the database, stale share, the replicas' mean utilisation.

    >>> runs(2, 0.9, 100, requests=300, seeds=1).columns.tolist()
    ['seed', 'read_ms', 'stale', 'busy']
    """
    check.number("replicas", replicas, low=0, high=MAX_REPLICAS, integer=True)
    check.number("read_share", read_share, low=0, high=1)
    check.number("lag_ms", lag_ms, low=0)
    arch, rows = data_tier(replicas, lag_ms), []
    names = ["primary"] if replicas == 0 else [f"replica-{k + 1}" for k in range(replicas)]
    for seed in range(first_seed, first_seed + seeds):
        result = simulate(arch, workload(read_share, rate), requests=requests, seed=seed)
        stale = _replica_set(result).figures()["stale_read_ratio"]  # as summary() has it, without its other figures
        rows.append({"seed": seed, "read_ms": read_ms(result), "stale": stale,
                     "busy": float(np.mean([result.utilization(n) for n in names]))})
    return pd.DataFrame(rows, columns=["seed", "read_ms", "stale", "busy"])


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    left = charts.curves(
        scales.linear_axis("x", "replicas:Q", "read replicas", (0, MAX_REPLICAS), ticks=list(range(9))),
        scales.log_axis("y", "read_ms:Q", "a read's mean time at the database (ms)", READ_MS_RANGE),
        scales.color("series:N", {"theory": "blue", "simulated": "red"}), prefix="read_", current="replicas:Q",
        line={"point": True, "clip": True}, dots={"filled": True, "size": 60, "opacity": 0.8, "clip": True},
        tooltip=("replicas:Q", ("read_ms:Q", ",.1f")))
    return charts.Template(left, titles=False)


def replication_view(replicas, read_percent, lag_ms=100, *, requests=500, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML); :data:`SEEDS` runs.

    ``seed`` is the first of the seeds (a new seed draws other runs).
    """
    check.number("read_percent", read_percent, low=0, high=100)
    share = read_percent / 100
    table = runs(replicas, share, lag_ms, requests=requests, seeds=SEEDS, first_seed=seed)
    dots = table.assign(series="simulated", replicas=replicas)
    datasets = {"read_theory": _read_line(share, RATE), "read_simulated": dots[["series", "replicas", "read_ms"]],
                "current": [{"replicas": replicas}]}
    return _template().svg(datasets), headline(replicas, share, lag_ms, table, requests)


def headline(replicas, read_share, lag_ms, table, requests):
    """The figures under the panel's sliders: capacity, read time, how busy the replicas are, each against theory."""
    limit = analytic.max_rate(replicas, CAPACITY, read_share)
    theory_ms = theory_read_ms(replicas, read_share)
    load = analytic.replica_arrivals(RATE, read_share, replicas) / CAPACITY
    where = "replica" if replicas else "primary (no replicas)"
    against = "overloaded" if math.isinf(theory_ms) else f"{theory_ms:,.1f} ms"
    text = [f"<b>{RATE:,.0f}</b> req/s, <b>{read_share:.0%}</b> reads · <b>{replicas}</b> replicas carry up to "
            f"<b>{limit:,.0f}</b> req/s (theory; the primary alone {CAPACITY:,.0f})",
            f"read at the database <b>{table['read_ms'].mean():,.1f} ms</b> (theory {against}) · each {where} "
            f"<b>{table['busy'].mean():.0%}</b> busy (theory {min(load, 1):.0%})"]
    note = f"{len(table)} runs of {requests:,} simulated requests = {requests / RATE:.1f} s each at {RATE:,.0f} req/s"
    return panels.headline(*text, f"<small>{note}</small>", caption=CAPTION)


def replication_panel(replicas=2, read_percent=90, *, seed=0):
    """Chapter 05's panel: replicas (0-8) and read share; theory on the chart.

    >>> box = replication_panel()  # doctest: +SKIP
    """
    return PANEL.show(replicas=replicas, read_percent=read_percent, seed=seed)


PANEL = panels.register_panel(panels.Panel(
    "read replicas", "05", replication_view, caption=CAPTION, requests=500,
    controls={"replicas": panels.integer(0, MAX_REPLICAS, "replicas"),
              "read_percent": panels.integer(50, 99, "reads (%)")},
    defaults={"replicas": 2, "read_percent": 90},
    examples=({"replicas": 8}, {"read_percent": 70})))
