"""The design review: a learner's capstone design drawn site by site, every pool with its utilisation.

The same boxes and arrows as the course's architecture diagrams (:mod:`chapter1.present.svg`), laid
out as the capstone composes them: clients -> CDN -> GeoDNS -> one row per data centre, each row its
tiers left to right (web servers, session store, jobs, cache nodes, primaries, replicas).  A pool's
box gives its boxes' utilisation at the peak (mean and busiest); the colour says how busy the busiest
is (blue below 60 %, orange to 85 %, red above), and the binding bottleneck is drawn thick and named.

>>> from chapter1.capstone.scoring import score
>>> s = score(dict(web_servers=10, cache_nodes=1, shards=1, replicas=1, consumers=13), requests=3_000,
...           fault_requests=2_000)
>>> "bottleneck" in review(s).data
True
"""

import re

from ..core import validation as check
from . import svg

W, H, GAP, ROW_GAP, MARGIN = 150, 78, 34, 26, 16
CALM, WARM, HOT = "#2c7fb8", "#e6862e", "#d62728"
COLUMNS = (("web", "web servers"), ("session store", "session store"), ("consumers", "jobs: consumers"),
           ("cache", "cache nodes"), ("primary", "primaries"), ("replica", "replicas"))


def _column(name):
    """Which column a box belongs to (None for boxes the review does not draw)."""
    for key, _ in COLUMNS:
        if re.search(rf"\b{key}(-\d+)?$", name):
            return key
    return None


def pools(score):
    """One row per (data centre, column): boxes, mean and busiest utilisation at the peak, busiest box.

    >>> from chapter1.capstone.scoring import score
    >>> table = pools(score(dict(datacentres=1, cache_nodes=2), requests=2_000, fault_requests=1_000))
    >>> list(table["pool"])
    ['web', 'session store', 'consumers', 'primary', 'replica', 'cache']
    """
    import pandas as pd

    rows = []
    for name, value in score.utilization.items():
        site, key = name.split(" ", 1)[0], _column(name)
        if key is not None:
            rows.append((site, key, name, value))
    arch = score.peak.architecture
    for component in arch.components:   # cache nodes have no workers: drawn with the cluster's hit ratio
        if _column(component.name) == "cache" and type(component).__name__ == "CacheNode":
            rows.append((component.name.split(" ", 1)[0], "cache", component.name, float("nan")))
    table = pd.DataFrame(rows, columns=["site", "pool", "box", "utilization"])
    grouped = table.groupby(["site", "pool"], sort=False)
    out = grouped.agg(boxes=("box", "size"), mean=("utilization", "mean"), busiest=("utilization", "max")).reset_index()
    out["busiest_box"] = [g.loc[g["utilization"].idxmax(), "box"] if g["utilization"].notna().any() else ""
                          for _, g in grouped]
    return out


def _colour(value):
    if value != value:  # NaN: no workers
        return "#555"
    return HOT if value >= 0.85 else WARM if value >= 0.6 else CALM


def review(score):
    """The design review picture of a :class:`~chapter1.capstone.scoring.Score` (an SVG Jupyter shows)."""
    from ..capstone.scoring import Score

    check.instance("score", score, Score, "score(Design())")
    table, top = pools(score), score.bottleneck["component"]
    sites = list(dict.fromkeys(table["site"]))
    keys = [k for k, _ in COLUMNS if k in set(table["pool"])]
    left = MARGIN + 3 * (W + GAP)
    width = left + len(keys) * (W + GAP) - GAP + MARGIN
    height = 70 + len(sites) * (H + ROW_GAP) + 40
    mid = 70 + len(sites) * (H + ROW_GAP) / 2 - H / 2
    d = score.design
    hits = {r.spec.name.split(" ", 1)[0]: r.figures()["cache_hit_ratio"] for r in score.peak.runtimes
            if type(r).__name__ == "CacheClusterRun"}
    pieces = [svg.text(MARGIN, MARGIN + 8, "Design review: utilisation at the peak, busiest box in each pool", 14,
                       "bold"),
              svg.box(MARGIN, mid, "clients", [f"{score.peak.workload.rate:,.0f} req/s at peak"], "#555", W, H)]
    x = MARGIN + W + GAP
    edge = [r.figures()["cdn_hit_ratio"] for r in score.peak.runtimes if type(r).__name__ == "CDNRun"]
    cdn = ["edges answer static assets", f"hit ratio {edge[0]:.0%}" if edge else ""]
    pieces.append(svg.box(x, mid, "CDN" if d.cdn else "no CDN", cdn if d.cdn else ["every request to a site"],
                          CALM if d.cdn else "#999", W, H))
    pieces.append(svg.arrow(MARGIN + W, mid + H / 2, x, mid + H / 2))
    pieces.append(svg.box(x + W + GAP, mid, "GeoDNS", [d.mode, f"{d.datacentres} data centre"
                                                               f"{'s' * (d.datacentres > 1)}"], CALM, W, H))
    pieces.append(svg.arrow(x + W, mid + H / 2, x + W + GAP, mid + H / 2))
    for r, site in enumerate(sites):
        y = 70 + r * (H + ROW_GAP)
        pieces.append(svg.text(left - 6, y - 6, site, 12, "bold", anchor="end"))
        pieces.append(svg.arrow(x + 2 * W + GAP, mid + H / 2, left, y + H / 2))
        for c, key in enumerate(keys):
            row = table[(table["site"] == site) & (table["pool"] == key)]
            if row.empty:
                continue
            row = row.iloc[0]
            bx = left + c * (W + GAP)
            hot = row["busiest_box"] == top
            count = int(row["boxes"])
            lines = [f"{count} box{'es' * (count > 1)}"]
            if row["busiest"] == row["busiest"]:
                lines.append(f"mean {row['mean']:.0%} · max {row['busiest']:.0%}")
            elif key == "cache":
                lines.append(f"hit ratio {hits.get(site, float('nan')):.0%}")
            if hot:
                lines.append("bottleneck")
            title = dict(COLUMNS)[key]
            box = svg.box(bx, y, title, lines, HOT if hot else _colour(row["busiest"]), W, H)
            if hot:
                box = box.replace('stroke-width="2"', 'stroke-width="5"', 1)
            pieces.append(box)
            if c:
                pieces.append(svg.arrow(bx - GAP, y + H / 2, bx, y + H / 2))
    b = score.bottleneck
    pieces.append(svg.text(MARGIN, height - 14, f"bottleneck: {b['component']} at {b['utilization']:.0%} "
                           f"(theory: the {b['theory_station']} at {b['theory_utilization']:.0%}); "
                           f"${score.usd_per_month:,.0f} a month", 12))
    return svg.document(width, height, pieces)
