"""Chapter 06: a cache tier in front of the database: hit ratio against cache size, policy, popularity, faults.

The live panel (:data:`HIT_RATIO`) puts one policy at one cache size on the theory lines of LRU
(Che's approximation), FIFO/random and the top-C bound, for the chosen Zipf exponent, with one dot
per seed measured on real cache state.  The rest are the notebook's tables and charts: the whole
exact LRU curve (:func:`chapter1.hit_ratio_curve`) against Che, what writes and expiry do, and the
cache dying under real load.

>>> round(theory_hit("lru", 1_000, 0.8), 3)
0.437
"""

import functools

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import cached
from ..components.cache import workload_keys
from ..components.eviction import EVICTION, run_policy
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

KEYS = 10_000
LABELS = {"lru": "LRU", "lfu": "LFU", "fifo": "FIFO", "random": "random", "sieve": "SIEVE", "s3fifo": "S3-FIFO"}
THEORY = {"LRU (Che)": "lru", "FIFO / random": "fifo", "top-C bound (LFU)": "lfu"}
COLORS = {"LRU (Che)": "blue", "FIFO / random": "orange", "top-C bound (LFU)": "green", "LRU": "blue",
          "LFU": "green", "FIFO": "orange", "random": "brown", "SIEVE": "purple", "S3-FIFO": "red"}
SIZES = tuple(sorted({int(round(v)) for v in np.geomspace(1, KEYS, 33)}))
SEEDS = (0, 1, 2)


def theory_hit(policy, cache_size, zipf_s, keys=KEYS, write_share=0.0):
    """Theory's hit ratio for ``policy`` (None for SIEVE and S3-FIFO, which have no closed form here).

    Random eviction shares FIFO's approximation.
    """
    if policy in ("sieve", "s3fifo"):
        return None
    return analytic.cache_hit_ratio(policy, int(cache_size), keys, zipf_s, write_share)


@functools.lru_cache(maxsize=64, typed=True)
def _theory_lines(zipf_s, write_share=0.0, keys=KEYS):
    """:func:`theory_lines` as columns (line, cache_size, hit_ratio; lists), as the chart reads them."""
    sizes = [size for size in SIZES if size <= keys]
    return {"line": [label for label in THEORY for _ in sizes], "cache_size": sizes * len(THEORY),
            "hit_ratio": [analytic.cache_hit_ratio(policy, size, keys, zipf_s, write_share)
                          for policy in THEORY.values() for size in sizes]}


def theory_lines(zipf_s, write_share=0.0, keys=KEYS):
    """Theory's hit ratio against cache size for LRU (Che), FIFO/random and the top-C bound: line, cache_size,
    hit_ratio (writes, a ``write_share`` of the requests, invalidate their key).

    >>> sorted(theory_lines(1.0)["line"].unique())
    ['FIFO / random', 'LRU (Che)', 'top-C bound (LFU)']
    """
    check.number("zipf_s", zipf_s, low=0, high=3)
    return pd.DataFrame(_theory_lines(float(zipf_s), float(write_share), keys))


def warm_keys(workload, cache_size, rng, limit=50_000):
    """Keys that fill a cache as a long stream of requests would leave an LRU cache: draw requests backwards
    in time until ``cache_size`` distinct keys are seen, oldest first (exactly LRU's steady state; beyond
    ``limit`` draws, the most popular keys not yet seen fill the rest, as the oldest).

    >>> warm_keys(Workload(keys=5, zipf_s=0.0), 5, np.random.default_rng(0)).size
    5
    """
    draws = workload.sample_keys(rng, min(limit, max(4 * cache_size, 1_000)))
    seen = pd.unique(draws)  # each key once, in the order first drawn: most recent first
    if len(seen) < cache_size and len(draws) < limit:  # more draws: their new keys follow, in the order first drawn
        more = pd.unique(workload.sample_keys(rng, limit - len(draws)))
        seen = np.concatenate([seen, more[~np.isin(more, seen)]])
    recent = seen[:cache_size]
    if len(recent) < cache_size:
        free = np.ones(workload.keys, dtype=bool)
        free[recent] = False
        missing = np.flatnonzero(free)[:cache_size - len(recent)]  # the most popular keys not seen
        recent = np.concatenate([recent, missing])
    return recent[::-1]


def measured_hit(policy, cache_size, zipf_s, *, requests=4_000, seed=0, keys=KEYS, write_share=0.0):
    """Hit ratio of real cache state: a warm cache (:func:`warm_keys`) of ``policy`` over ``requests`` requests
    drawn as :func:`chapter1.simulate` draws them (writes, a ``write_share``, drop their key).

    >>> 0.3 < measured_hit("lru", 1_000, 0.8, requests=2_000) < 0.55
    True
    """
    return measured_hits((policy,), cache_size, zipf_s, requests=requests, seed=seed, keys=keys,
                         write_share=write_share)[0]


def measured_hits(policies, cache_size, zipf_s, *, requests=4_000, seed=0, keys=KEYS, write_share=0.0):
    """:func:`measured_hit` of each of ``policies``, on the same warm keys and requests (drawn once).

    >>> lru, fifo = measured_hits(("lru", "fifo"), 1_000, 0.8, requests=2_000)
    >>> 0.3 < fifo < lru < 0.55
    True
    """
    check.number("cache_size", cache_size, low=1, high=keys, integer=True)
    workload = Workload(keys=keys, zipf_s=zipf_s, read_ratio=1 - write_share)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(6,)))
    warm = warm_keys(workload, cache_size, rng).tolist()
    trace, writes = workload_keys(workload, requests, seed), workload.sample_writes(rng, requests)
    return [run_policy(policy, cache_size, trace, writes, seed=seed, warm=warm) for policy in policies]


def exact_curve(zipf_s, requests=1_000_000, seed=0, keys=KEYS, points=SIZES):
    """The exact LRU hit ratio at log-spaced sizes (one pass, :func:`chapter1.hit_ratio_curve`) beside Che's.

    The first fifth of the requests warms the cache.  Columns: cache_size, simulated, che, error (relative).
    """
    workload = Workload(keys=keys, zipf_s=zipf_s)
    from ..components.cache import hit_ratio_curve

    curve = hit_ratio_curve(workload, requests=requests, seed=seed, warmup=requests // 5).set_index("cache_size")
    rows = [{"cache_size": s, "simulated": float(curve.loc[s, "hit_ratio"]),
             "che": analytic.cache_hit_ratio("lru", s, keys, zipf_s)} for s in points if s <= keys]
    table = pd.DataFrame(rows)
    return table.assign(error=table["simulated"] / table["che"] - 1)


@functools.lru_cache(maxsize=4, typed=True)
def _hit_chart(title, subtitle):
    return charts.curves(
        scales.log_axis("x", "cache_size:Q", "cache size (keys, of 10,000)", (1, KEYS),
                        ticks=scales.log_ticks((1, KEYS), (1,))),
        scales.share_axis("y", "hit_ratio:Q", "hit ratio (reads answered by the cache)", ticks=scales.fifths()),
        scales.color("line:N", COLORS), label="line:N", current="cache_size:Q",
        label_style={"align": "right", "dx": -4, "dy": -8, "fontWeight": "bold", "fontSize": 11},
        tooltip=("line:N", ("cache_size:Q", ",.0f"), ("hit_ratio:Q", ".1%")),
        dots={"filled": True, "size": 60, "opacity": 0.8}, heading=charts.title(title, subtitle))


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    return charts.Template(_hit_chart("Hit ratio against cache size", "lines: theory · dots: seeds"), titles=False)


def hit_chart(zipf_s, simulated=None, current=None):
    """Theory lines for ``zipf_s`` with simulated dots (a table: line, cache_size, hit_ratio) on top."""
    data = {"theory": theory_lines(zipf_s), "labels": _labels(float(zipf_s)),
            "simulated": simulated if simulated is not None else [],
            "current": [{"cache_size": current}] if current is not None else []}
    return charts.with_data(_hit_chart(f"Hit ratio against cache size, Zipf {zipf_s:g}",
                                       "lines: theory · dots: simulation"), data)


@functools.lru_cache(maxsize=64, typed=True)
def _labels(zipf_s, write_share=0.0):
    """Each line's label at its middle size (as the table's groupby nth), heights spread apart (as spread_labels)."""
    lines, middle = _theory_lines(zipf_s, write_share, KEYS), len(SIZES) // 2
    names = lines["line"]
    starts = [k for k in range(len(names)) if k == 0 or names[k] != names[k - 1]]  # each line's rows in a run
    rows = [start + middle for start, end in zip(starts, starts[1:] + [len(names)]) if start + middle < end]
    rows.sort(key=lambda k: lines["hit_ratio"][k])  # by height; a stable sort, as the table's for three rows
    heights = [lines["hit_ratio"][k] for k in rows]
    return {"line": [lines["line"][k] for k in rows], "cache_size": [lines["cache_size"][k] for k in rows],
            "hit_ratio": scales.spread(heights, 0.07)}


CAPTION = ("<small>Lines: theory for 10,000 keys of Zipf popularity (Che's approximation for LRU, its cousin for "
           "FIFO and random, the top-C popularity that a perfect LFU reaches). Dots: your policy and size on real "
           "cache state, one per seed, warm cache; blue dots: LRU on the same requests. Dashed: your size. With "
           "writes, the lines count each write as dropping its key.</small>")


def hit_view(cache_size, policy, zipf_s, write_percent=0, *, requests=4_000, seed=0, rate=1_000):
    """What the panel shows: (chart as SVG, headline HTML); the policy and LRU measured over three seeds."""
    check.choice("policy", policy, tuple(EVICTION))
    size, write_share = int(round(cache_size)), write_percent / 100
    seeds = tuple(seed + s for s in SEEDS)
    policies = tuple(dict.fromkeys((policy, "lru")))
    hits = [measured_hits(policies, size, zipf_s, requests=requests, seed=s, write_share=write_share) for s in seeds]
    dots = {"line": [LABELS[p] for p in policies for _ in seeds], "cache_size": [size] * len(policies) * len(seeds),
            "hit_ratio": [hits[k][j] for j in range(len(policies)) for k in range(len(seeds))]}  # (as columns)
    check.number("zipf_s", zipf_s, low=0, high=3)
    lines, labels = _theory_lines(float(zipf_s), float(write_share), KEYS), _labels(float(zipf_s), float(write_share))
    chart = _template().svg({"theory": lines, "labels": labels, "simulated": dots,
                             "current": [{"cache_size": size}]})
    return chart, hit_headline(dots, policy, size, zipf_s, write_share, rate, requests)


def hit_headline(dots, policy, size, zipf_s, write_share, rate, requests=4_000):
    """The figures under the panel's sliders (``dots``: line, cache_size, hit_ratio, as a table or its columns)."""
    mine = np.array([hit for line, hit in zip(dots["line"], dots["hit_ratio"]) if line == LABELS[policy]], dtype=float)
    theory = theory_hit(policy, size, zipf_s, write_share=write_share)
    against = (" (no closed form)" if theory is None else
               f" (theory{' bound' if policy == 'lfu' else ''}: <b>{theory:.1%}</b>)")
    hit = float(mine.mean())
    db = analytic.database_load(rate, hit, write_share)
    text = (f"<b>{LABELS[policy]}</b>, <b>{size:,}</b> of {KEYS:,} keys, Zipf <b>{zipf_s:g}</b>"
            f"{f', {write_share:.0%} writes' if write_share else ''}: hit ratio <b>{hit:.1%}</b> "
            f"(seeds {mine.min():.1%}-{mine.max():.1%}){against} · at {rate:,} req/s the database gets "
            f"<b>{db:,.0f} req/s</b>")
    note = f"<small>{len(mine)} seeds x {requests:,} simulated requests, each on a warm cache</small>"
    return panels.headline(text, note, caption=CAPTION)


HIT_RATIO = panels.register_panel(panels.Panel(
    "cache hit ratio", "06", hit_view, caption=CAPTION, requests=4_000,
    controls={"cache_size": panels.log_slider(0, 4, "cache size (keys)", step=0.125, readout=",.0f"),
              "policy": panels.choice([(label, p) for p, label in LABELS.items()], "policy"),
              "zipf_s": panels.choice([0.6, 0.8, 1.0, 1.2], "Zipf exponent", kind="select"),
              "write_percent": panels.integer(0, 50, "writes (%)", step=10)},
    defaults={"cache_size": 1_000, "policy": "lru", "zipf_s": 0.8, "write_percent": 0},
    examples=({"cache_size": 10_000}, {"cache_size": 1}, {"policy": "s3fifo"})))


def hit_panel(cache_size=1_000, policy="lru", zipf_s=0.8, write_percent=0, *, seed=0):
    """Chapter 06's live panel: cache size (log, 1 to 10,000 keys), policy, Zipf exponent, write share."""
    return HIT_RATIO.show(cache_size=cache_size, policy=policy, zipf_s=zipf_s, write_percent=write_percent,
                          seed=seed)


# -- policies side by side, writes, expiry, faults ------------------------------------------------------

def policy_table(sizes=(10, 100, 1_000), zipf_s=0.8, *, requests=20_000, seeds=SEEDS):
    """Every policy at each size: measured hit ratio (mean of seeds, warm) and theory where there is one."""
    rows = []
    for policy in EVICTION:
        for size in sizes:
            hits = [measured_hit(policy, size, zipf_s, requests=requests, seed=s) for s in seeds]
            rows.append({"policy": LABELS[policy], "cache_size": size, "hit_ratio": float(np.mean(hits)),
                         "spread": float(np.ptp(hits) / 2), "theory": theory_hit(policy, size, zipf_s)})
    return pd.DataFrame(rows)


def hit_over_time(result, bins=30):
    """Per window of simulated time: the cache's hit ratio, the share of requests that failed, and what
    reached the database (req/s): t_s, hit_ratio, failed, database_rps."""
    table = result.requests
    edges = np.linspace(0, result.duration_s, bins + 1)
    window = pd.cut(table["arrival_s"], edges, include_lowest=True, labels=(edges[:-1] + edges[1:]) / 2)
    reads = table["cache"].isin(["hit", "miss"])
    to_db = table["cache"].isin(["miss", "bypass", ""])
    grouped = pd.DataFrame({"hit": table["cache_hit"].where(reads), "failed": table["status"] != "ok",
                            "db": to_db, "t_s": window}).groupby("t_s", observed=False)
    width = edges[1] - edges[0]
    out = pd.DataFrame({"hit_ratio": grouped["hit"].mean(), "failed": grouped["failed"].mean(),
                        "database_rps": grouped["db"].sum() / width}).reset_index()
    out["t_s"] = out["t_s"].astype(float)
    return out


def death_chart(result, bins=30):
    """The cache's hit ratio and the share of failed requests over simulated time (the outage shaded)."""
    table = hit_over_time(result, bins).melt("t_s", ["hit_ratio", "failed"], var_name="line", value_name="share")
    table["line"] = table["line"].map({"hit_ratio": "cache hit ratio", "failed": "failed requests"})
    return charts.lines_and_dots(
        table, table, scales.linear_axis("x", "t_s:Q", "simulated time (s)"),
        scales.share_axis("y", "share:Q", "share", ticks=scales.fifths()),
        color=scales.color("line:N", {"cache hit ratio": "blue", "failed requests": "red"},
                           legend=charts.legend(orient="right")),
        dots_style={"filled": True, "size": 20}, tooltip=("t_s:Q", "line:N", ("share:Q", ".1%")),
        heading=charts.title("The cache dies, then comes back empty",
                             f"down {_outage(result)} · {charts.budget_note(result)}"))


def _outage(result):
    outages = [o for comp in result.architecture.components for o in comp.outages]
    return ", ".join(f"{o.start_s:g}-{o.end_s:g} s" for o in outages) or "never"


def ttl_table(ttls=(1, 5, 20, 60, 300), *, rate=100, keys=1_000, zipf_s=1.0, write_share=0.05, requests=20_000,
              seed=0):
    """Expiry too short or too long: for each TTL, with writes the cache is not told about (``on_write="ignore"``),
    the measured hit ratio and stale share of reads against theory (per key r*T/(1+r*T) and the stale formula,
    summed over Zipf popularity; the cache holds every key)."""
    workload = Workload.from_rate(rate, keys=keys, zipf_s=zipf_s, read_ratio=1 - write_share)
    p = workload.key_popularity()
    rows = []
    for ttl in ttls:
        s = simulate(cached(keys, ttl_s=ttl, on_write="ignore"), workload, requests=requests, seed=seed).summary()
        hit = sum(pk * analytic.ttl_hit_ratio(rate * (1 - write_share) * pk, ttl) for pk in p)
        stale = sum(pk * analytic.ttl_stale_ratio(rate * (1 - write_share) * pk, rate * write_share * pk, ttl)
                    for pk in p)
        rows.append({"ttl_s": ttl, "hit_ratio": s["cache_hit_ratio"], "theory_hit": hit,
                     "stale_reads": s["stale_read_share"], "theory_stale": stale})
    return pd.DataFrame(rows)
