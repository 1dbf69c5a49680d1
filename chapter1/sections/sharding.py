"""Chapter 12: sharding.  Keys spread over database shards; resharding moves keys; a celebrity overloads one shard.

The live panel (:func:`sharding_panel`) sends a fixed rate of Zipf-popular keys, plus a celebrity's share,
through a consistent-hash ring to 1-16 shards and draws each shard's share of the requests: the dashed
rules are theory (an even 1/n, and the celebrity's shard at 1/H + (1 - 1/H)/n of the rest), the shard
that turns red is the one past its capacity.  The tables and charts below it are the notebook's:
:func:`resharding` (keys moved against n/(n+1) and 1/(n+1)), :func:`balance` (the spread of the shards'
arcs against sqrt((n - 1)/(n v + 1))), :func:`fanout` (a cross-shard query's time against mean x H(k)).
The model is :class:`chapter1.components.shards.ShardRouter`.

>>> round(celebrity_theory(4, 0.3), 3)       # top key 0.3 + 0.7 / H(10,000); its shard also gets 1/4 of the rest
0.529
"""

import dataclasses
import functools

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import sharded
from ..components.shards import keys_moved, ring_shares, spread
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from ..present.ring import ring_picture, side_by_side

RATE = 800.0                 # requests per second in the panel
KEYS = 10_000                # the course's default key space, Zipf 1
DB_WORKERS, DB_SERVICE_MS = 4, 10.0
CAPACITY = DB_WORKERS * 1_000.0 / DB_SERVICE_MS      # 400 queries a second per shard
MAX_SHARDS = 16
SEEDS = 2
RING_KEYS = (0, 1, 2, 3)     # the keys the ring picture follows clockwise (0 = the most popular)
CAPTION = (
    "<small>Each shard's share of the requests (two runs pooled). Dashed rules: an even share 1/n, the celebrity "
    "shard's theory 1/H + (1 - 1/H)/n, and the share one shard can carry (its capacity / the rate). A red bar is a "
    "shard past its capacity: its queue grows for as long as the load lasts, however many shards there are. A run "
    "here is 2.5 s of traffic, too short for the 2 s timeout to bite (waits reach about a second); kept up for "
    "25 s, a 60 % celebrity over 4 shards makes about 29 % of all requests time out. Right: the router's ring, "
    "each arc coloured by the shard whose virtual node ends it; the most popular keys walk clockwise to their "
    "node.</small>")


def data_tier(shards, vnodes=100, celebrity_share=0.0, scheme="ring", **options):
    """A shard router and its shards alone (no DNS, no web tier): the panel measures the data tier.

    >>> [c.name for c in data_tier(2).components]
    ['shard router', 'shard-1', 'shard-2']
    """
    arch = sharded(shards=shards, scheme=scheme, vnodes=vnodes, celebrity_share=celebrity_share,
                   db_workers=DB_WORKERS, db_service_ms=DB_SERVICE_MS, timeout_ms=2_000, **options)
    return dataclasses.replace(arch, tiers=arch.tiers[1:], dns=None)


def celebrity_theory(shards, celebrity_share, keys=KEYS):
    """Theory's share of all requests reaching the celebrity's shard: top = c + (1 - c)/H, plus (1 - top)/n."""
    top = celebrity_share + (1 - celebrity_share) * analytic.top_key_share(keys)
    return analytic.nat_share(top, shards)


def shard_loads(shards, vnodes, celebrity_share, *, requests=2_000, seeds=SEEDS, first_seed=0, rate=RATE, **options):
    """One row per shard: its share of the requests (pooled over ``seeds`` runs), how busy it is, failures.

    >>> shard_loads(2, 10, 0.0, requests=200, seeds=1).columns.tolist()
    ['shard', 'share', 'busy', 'failed', 'celebrity']
    """
    arch = data_tier(shards, vnodes, celebrity_share, **options)
    names = [part.name for part in arch["shard router"].parts]
    runs = range(first_seed, first_seed + seeds)
    share, busy, failed = (np.zeros((len(runs), len(names))) for _ in range(3))
    celebrity = np.zeros(len(names), dtype=bool)
    for r, seed in enumerate(runs):  # each run's router's arrays, not its table of requests
        result = simulate(arch, Workload.from_rate(rate, keys=KEYS), requests=requests, seed=seed)
        router = next(run for run in result.runtimes if run.spec is arch["shard router"])
        shard = np.where(router.routed, router.shard, -1)  # a request no shard saw (or every shard saw): -1
        hot, routed = shard[router.key == 0][:1], shard >= 0
        seen = np.bincount(shard[routed], minlength=len(names))
        bad = np.bincount(shard[routed], weights=result.status_code[routed] != OK, minlength=len(names))
        share[r], busy[r] = seen / len(shard), [result.utilization(name) for name in names]
        failed[r] = np.where(seen > 0, bad / np.maximum(seen, 1), 0.0)
        celebrity[hot[hot >= 0]] = True  # the shard of the first request for key 0
    return pd.DataFrame({"shard": names, "share": _mean(share), "busy": _mean(busy), "failed": _mean(failed),
                         "celebrity": celebrity})


def _mean(runs):
    """Each column's mean over the runs (rows), the runs added in order: (a + b) / 2 for two.

    >>> _mean(np.array([[0.1, 1.0], [0.2, 3.0]])).tolist()
    [0.15000000000000002, 2.0]
    """
    return functools.reduce(np.add, runs) / len(runs)


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    x = scales.share_axis("x", "share:Q", "share of all requests", top=1.0, ticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
    return charts.Template(charts.bars(
        "loads", x, charts.nominal("shard:N", "shard"), scales.color("state:N", {"even": "blue", "celebrity": "orange",
                                                                               "overloaded": "red"}),
        tooltip=("shard:N", ("share:Q", ".1%"), ("busy:Q", ".0%"), ("failed:Q", ".1%")), rule="at:Q",
        text=("share:Q", ".0%")), titles=False)


def sharding_view(shards, vnodes, celebrity_percent, *, requests=2_000, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML); :data:`SEEDS` runs pooled."""
    check.number("shards", shards, low=1, high=MAX_SHARDS, integer=True)
    check.number("celebrity_percent", celebrity_percent, low=0, high=100)
    share = celebrity_percent / 100
    loads = shard_loads(shards, vnodes, share, requests=requests, first_seed=seed)
    state = np.where(loads["share"] * RATE > CAPACITY, "overloaded", np.where(loads["celebrity"], "celebrity", "even"))
    rules = [{"at": 1 / shards}, {"at": celebrity_theory(shards, share)}, {"at": min(1.0, CAPACITY / RATE)}]
    svg = _template().svg({"loads": loads.assign(state=state), "target": rules})
    ring = ring_picture(data_tier(shards, vnodes)["shard router"], keys=RING_KEYS)
    return side_by_side(svg, ring), headline(shards, vnodes, share, loads, requests)


def headline(shards, vnodes, share, loads, requests):
    """The figures under the sliders: the celebrity shard's share and load against theory, the ring's spread."""
    hot = loads[loads["celebrity"]]
    hot_share = float(hot["share"].iloc[0]) if len(hot) else float("nan")
    theory = celebrity_theory(shards, share)
    arcs = np.sqrt(np.mean([spread(ring_shares(shards, vnodes, s)) ** 2 for s in range(4)])) if shards > 1 else 0.0
    text = [f"<b>{RATE:,.0f}</b> req/s over <b>{shards}</b> shards of {CAPACITY:,.0f} queries/s · celebrity "
            f"<b>{share:.0%}</b>: its shard gets <b>{hot_share:.1%}</b> (theory {theory:.1%}) = "
            f"<b>{hot_share * RATE:,.0f}</b> req/s, <b>{float(hot['busy'].mean()) if len(hot) else 0:.0%}</b> busy"
            + (" · <b>overloaded</b>: its queue grows" if hot_share * RATE > CAPACITY else ""),
            f"{vnodes} vnodes: the shards' arcs of the ring spread <b>{arcs:.1%}</b> (theory "
            f"{analytic.load_spread(vnodes, shards):.1%}); requests per shard spread <b>{spread(loads['share']):.0%}"
            "</b> (hot keys add to it)"]
    note = f"{SEEDS} runs of {requests:,} simulated requests = {requests / RATE:.1f} s each at {RATE:,.0f} req/s"
    return panels.headline(*text, f"<small>{note}</small>", caption=CAPTION)


def sharding_panel(shards=4, vnodes=100, celebrity_percent=0, *, seed=0):
    """Chapter 12's panel: shards (1-16), virtual nodes per shard, the celebrity's share; theory on the chart.

    >>> box = sharding_panel()  # doctest: +SKIP
    """
    return PANEL.show(shards=shards, vnodes=vnodes, celebrity_percent=celebrity_percent, seed=seed)


PANEL = panels.register_panel(panels.Panel(
    "sharding", "12", sharding_view, caption=CAPTION, requests=2_000,
    controls={"shards": panels.integer(1, MAX_SHARDS, "shards"),
              "vnodes": panels.choice((1, 3, 10, 30, 100, 300, 1_000), "vnodes", kind="select"),
              "celebrity_percent": panels.integer(0, 60, "celebrity (%)", step=5)},
    defaults={"shards": 4, "vnodes": 100, "celebrity_percent": 0},
    examples=({"celebrity_percent": 50}, {"vnodes": 1})))


# -- the notebook's tables and charts ----------------------------------------------------------------

def resharding(before=range(1, 13), *, vnodes=100, keys=20_000, seeds=range(3)):
    """Keys moved when one shard joins ``n`` shards, by scheme, one row per n, scheme and seed, with theory.

    >>> resharding([4], seeds=[0], keys=1_000).columns.tolist()
    ['shards', 'scheme', 'seed', 'moved', 'theory']
    """
    rows = [{"shards": n, "scheme": scheme, "seed": s,
             "moved": keys_moved(n, n + 1, scheme, vnodes=vnodes, keys=keys, seed=s),
             "theory": analytic.keys_moved(n, n + 1, scheme)}
            for n in before for scheme in ("modulo", "ring") for s in seeds]
    return pd.DataFrame(rows, columns=["shards", "scheme", "seed", "moved", "theory"])


def balance(vnodes=(1, 3, 10, 30, 100, 300, 1_000), *, shards=8, seeds=range(5)):
    """The spread (std / mean) of the shards' arcs of the ring against virtual nodes, with theory.

    >>> balance([10], seeds=[0]).columns.tolist()
    ['vnodes', 'seed', 'spread', 'theory']
    """
    rows = [{"vnodes": v, "seed": s, "spread": spread(ring_shares(shards, v, s)),
             "theory": analytic.load_spread(v, shards)} for v in vnodes for s in seeds]
    return pd.DataFrame(rows, columns=["vnodes", "seed", "spread", "theory"])


def fanout(ks=(1, 2, 4, 8, 16), *, requests=4_000, seed=1):
    """A cross-shard query's mean and p99 time (ms) against the number of shards it waits for, with theory.

    Shards with 64 workers each (no queueing), exponential 10 ms answers.

    >>> fanout([2], requests=200).columns.tolist()
    ['shards', 'mean_ms', 'p99_ms', 'theory_mean_ms', 'theory_p99_ms']
    """
    rows = []
    for k in ks:
        arch = sharded(shards=k, fanout=1.0, db_workers=64, db_service_ms=DB_SERVICE_MS)
        times = simulate(arch, Workload.from_rate(100, read_ratio=1.0), requests=requests,
                         seed=seed).requests["shard router_ms"]
        rows.append({"shards": k, "mean_ms": float(times.mean()), "p99_ms": float(times.quantile(0.99)),
                     "theory_mean_ms": analytic.fanout_mean_ms(k, DB_SERVICE_MS),
                     "theory_p99_ms": analytic.fanout_quantile_ms(0.99, k, DB_SERVICE_MS)})
    return pd.DataFrame(rows)


def resharding_chart(table):
    """Keys moved against shards before one joins: theory lines and one dot per run, by scheme."""
    color = scales.color("scheme:N", {"modulo": "red", "ring": "blue"})
    return charts.lines_and_dots(
        table, table, scales.linear_axis("x", "shards:Q", "shards before one joins (n)"),
        scales.share_axis("y", "theory:Q", "keys that move"), color=color, dot_y="moved:Q",
        tooltip=("scheme:N", "shards:Q", ("moved:Q", ".1%"), ("theory:Q", ".1%")),
        heading=charts.title("Adding a shard", "lines: n/(n+1) and 1/(n+1) · dots: keys measured on a ring"))


def balance_chart(table):
    """The ring's spread against virtual nodes (log-log): the theory line and one dot per ring."""
    return charts.lines_and_dots(
        table, table, scales.log_axis("x", "vnodes:Q", "virtual nodes per shard", (1, 1_000)),
        scales.log_axis("y", "theory:Q", "spread of the shards' shares (std / mean)", (0.01, 2)),
        dot_y="spread:Q", dots_style={"filled": True, "size": 50, "color": scales.RED, "opacity": 0.7},
        tooltip=("vnodes:Q", ("spread:Q", ".1%"), ("theory:Q", ".1%")),
        heading=charts.title("More virtual nodes, more even shards",
                             "line: sqrt((n-1)/(n v + 1)) ≈ 1/sqrt(v) · dots: rings"))
