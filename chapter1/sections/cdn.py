"""Chapter 07: a CDN.  Edges near the clients answer static assets; the TTL, the number of edges and the assets'
popularity decide how often; distance decides how fast.

The live panel (:data:`CDN_PANEL`) puts the edges' hit ratio on the theory lines (the TTL formula summed over
the assets, for one edge and for your number of edges) with one dot per run, measured on the edges' own
mechanism (:func:`chapter1.components.cdn.edge_hits`), and draws each region's time on the wire beside it,
through the CDN and from the origin alone.  The rest are the notebook's tables: the regions measured in
full simulations, the CDN going down at real load, the three ways to ship a new version, and costs.

>>> round(theory_hit(60, 4, 1.0), 3)       # 200 static requests a second, TTL 1 minute
0.833
"""

import functools

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..components.cdn import REGIONS, edge_hits, initial_copies
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales

RATE = 200.0               # static requests a second in the panel
ASSETS = 1_000             # the panel's assets
TTL_RANGE = (1, 100_000)   # seconds: one second to a little over a day
SEEDS = (0, 1, 2)
EDGE_MS = analytic.fetch_ms(100, 3)         # a fetch from the nearby edge: 3 round trips over 100 km
TTLS = tuple(float(v) for v in np.geomspace(*TTL_RANGE, 41))
COLORS = {"1 edge": "grey", "your edges": "blue", "measured": "blue", "through the CDN": "blue",
          "origin only": "orange"}
CAPTION = ("<small>Left: the share of static requests the edges answer, against the TTL (log). Lines: theory, "
           "r·T/(1+r·T) per edge and asset, summed over the assets' Zipf popularity, for one edge and for your "
           "number (traffic split evenly). Dots: three runs of the edges' mechanism, 200 static requests a second "
           "over 1,000 assets; the edges start as a random moment finds them, so where the TTL is longer than the run "
           "the dots mostly show that starting state. Right: each region's mean time on the wire for a static asset "
           "(3 round trips; light covers 200 km per ms in fibre): blue through the CDN (a miss adds a round trip from "
           "the edge to the origin), orange from the origin alone.</small>")


def theory_hit(ttl_s, edges, zipf_s, rate=RATE, assets=ASSETS):
    """Theory's edge hit ratio for the panel's traffic split evenly over ``edges`` edges."""
    return analytic.edge_hit_ratio(rate, ttl_s, edges, assets, zipf_s)


@functools.lru_cache(maxsize=64, typed=True)
def _theory_lines(edges, zipf_s):
    names = {"1 edge": 1, "your edges": edges} if edges > 1 else {"1 edge": 1}
    hits = {name: analytic.edge_hit_curve(RATE, TTLS, n, ASSETS, zipf_s) for name, n in names.items()}
    return {"line": [name for name in hits for _ in TTLS], "ttl_s": list(TTLS) * len(hits),
            "hit_ratio": [hit for curve in hits.values() for hit in curve]}  # (columns, as the chart reads them)


def trace(seed, regions, zipf_s, requests, rate=RATE, assets=ASSETS):
    """The panel's static requests for one run: arrival (s), edge, asset (drawn as :func:`chapter1.simulate` does:
    Poisson arrivals, Zipf assets; clients, and so edges, evenly over the regions)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    arrival = np.cumsum(rng.exponential(1.0 / rate, requests))
    edge = rng.integers(0, regions, requests)
    asset = Workload(keys=assets, zipf_s=zipf_s).sample_keys(rng, requests)
    return arrival, edge, asset, rng


def measured_hit(ttl_s, regions, zipf_s, *, requests=20_000, seed=0, rate=RATE, assets=ASSETS):
    """The edges' hit ratio over one run of the panel's traffic (edges start in their steady state).

    >>> abs(measured_hit(60, 4, 1.0, requests=5_000) - theory_hit(60, 4, 1.0)) < 0.03
    True
    """
    check.number("regions", regions, low=1, high=len(REGIONS), integer=True)
    arrival, edge, asset, rng = trace(seed, regions, zipf_s, requests, rate, assets)
    popularity = Workload(keys=assets, zipf_s=zipf_s).key_popularity()
    expires = initial_copies(rng, np.outer(np.full(regions, rate / regions), popularity), ttl_s).ravel()
    return float(edge_hits(arrival, edge * assets + asset, ttl_s, expires).mean())


def wire_ms(hit_ratio, regions):
    """Each region's mean time on the wire for a static asset: through the CDN (a hit costs the edge fetch, a miss
    also one round trip to the origin) and from the origin alone (3 round trips over the whole distance)."""
    return pd.DataFrame([{"region": name, "km": km, "through the CDN": cdn, "origin only": origin}
                         for name, km, cdn, origin in _wire(hit_ratio, regions)])


def _wire(hit_ratio, regions):
    """(region, km, through the CDN ms, origin only ms) for the first ``regions`` regions."""
    rows = []
    for region in REGIONS[:regions]:
        far = analytic.round_trip_ms(region.origin_km)
        rows.append((region.name, region.origin_km, EDGE_MS + (1 - hit_ratio) * far, 3 * far))
    return rows


def wire_bars(hit_ratio, regions):
    """:func:`wire_ms` in long form (region, km, line, ms) as the chart draws it: "origin only" first (behind the
    shorter CDN bars), each line's regions nearest first.

    >>> wire_bars(0.5, 2)["line"].tolist()
    ['origin only', 'origin only', 'through the CDN', 'through the CDN']
    """
    return pd.DataFrame(_wire_columns(hit_ratio, regions))


def _wire_columns(hit_ratio, regions):
    """:func:`wire_bars` as a dict of columns (lists), as the chart and the headline read it."""
    rows = sorted(_wire(hit_ratio, regions), key=lambda row: row[1])  # by distance; a tie keeps the regions' order
    return {"region": [r[0] for r in rows] * 2, "km": [r[1] for r in rows] * 2,
            "line": ["origin only"] * len(rows) + ["through the CDN"] * len(rows),
            "ms": [r[3] for r in rows] + [r[2] for r in rows]}


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    x = scales.log_axis("x", "ttl_s:Q", "TTL (s)", TTL_RANGE, ticks=scales.log_ticks(TTL_RANGE, (1,)))
    y = scales.share_axis("y", "hit_ratio:Q", "hit ratio at the edges", ticks=scales.fifths())
    left = charts.curves(x, y, scales.color("line:N", COLORS), label="line:N", current="ttl_s:Q",
                         tooltip=("line:N", ("ttl_s:Q", ",.0f"), ("hit_ratio:Q", ".1%")),
                         label_style={"align": "left", "dx": 4, "dy": 10, "fontWeight": "bold"})
    ms = scales.log_axis("x", "ms:Q", "time on the wire (ms, log)", (1, 1_000), ticks=[1, 3, 10, 30, 100, 300, 1_000])
    right = charts.bars("wire", ms, charts.nominal("region:N"), scales.color("line:N", COLORS),
                        tooltip=("region:N", "line:N", ("ms:Q", ",.0f")), width=250)
    return charts.Template(charts.beside(left, right), titles=False)


def cdn_view(ttl_s, regions, zipf_s, mode="CDN", *, requests=20_000, seed=0):
    """What the panel shows: (chart as SVG, headline HTML) for a TTL, a number of regions (one edge each), the
    assets' Zipf exponent and "CDN" or "origin only"."""
    check.choice("mode", mode, ("CDN", "origin only"))
    regions, ttl = int(regions), float(ttl_s)
    on = mode == "CDN"
    hits = [measured_hit(ttl, regions, zipf_s, requests=requests, seed=seed + s) for s in SEEDS] if on else []
    dots = {"line": ["measured"] * len(hits), "ttl_s": [ttl] * len(hits), "hit_ratio": hits}
    lines = _theory_lines(regions, float(zipf_s))
    labels = {name: [v for v, t in zip(column, lines["ttl_s"]) if t == TTLS[4]] for name, column in lines.items()}
    theory = theory_hit(ttl, regions, zipf_s)
    wire = _wire_columns(float(np.mean(hits)) if on else 0.0, regions)
    chart = _template().svg({"theory": lines, "labels": labels, "simulated": dots, "current": [{"ttl_s": ttl}],
                             "wire": wire})
    return chart, headline(hits, theory, ttl, regions, zipf_s, wire, requests)


def headline(hits, theory, ttl, regions, zipf_s, wire, requests):
    """The figures under the panel's sliders (``wire``: :func:`wire_bars`, a table or its columns)."""
    wire = {name: list(column) for name, column in wire.items()}
    rows = [dict(zip(wire, row)) for row in zip(*wire.values())]
    far = [row for row in rows if row["line"] == "origin only"][-1]
    near = next(row for row in rows if row["line"] == "through the CDN" and row["region"] == far["region"])
    setting = f"TTL <b>{ttl:,.0f} s</b>, <b>{regions}</b> edge{'s' if regions > 1 else ''}, Zipf <b>{zipf_s:g}</b>"
    if not hits:
        text = (f"{setting} · <b>origin only</b>: the origin sends all {RATE:,.0f} static requests a second, and "
                f"clients in {far['region']} wait <b>{far['ms']:,.0f} ms</b> on the wire for each asset")
        note = "<small>no simulated requests reach an edge: every static request goes to the origin</small>"
        return panels.headline(text, note, caption=CAPTION)
    hit = float(np.mean(hits))
    text = (f"{setting}: the edges answer <b>{hit:.1%}</b> (runs {min(hits):.1%}-{max(hits):.1%}; theory "
            f"<b>{theory:.1%}</b>) · the origin sends <b>{analytic.origin_load(RATE, hit):,.0f}</b> of "
            f"{RATE:,.0f} static requests a second · {far['region']}: <b>{near['ms']:,.0f} ms</b> on the wire "
            f"(origin only: {far['ms']:,.0f} ms)")
    note = (f"<small>{len(hits)} runs x {requests:,} simulated requests, all static ({requests / RATE:,.0f} s of "
            "traffic each)</small>")
    return panels.headline(text, note, caption=CAPTION)


CDN_PANEL = panels.register_panel(panels.Panel(
    "cdn edges", "07", cdn_view, caption=CAPTION, requests=20_000,
    controls={"ttl_s": panels.log_slider(0, 5, "TTL (s)", step=0.25, readout=",.0f"),
              "regions": panels.integer(1, len(REGIONS), "regions (one edge each)"),
              "zipf_s": panels.choice([0.6, 0.8, 1.0, 1.2], "asset popularity (Zipf)", kind="select"),
              "mode": panels.choice(["CDN", "origin only"], "serve from", kind="toggle")},
    defaults={"ttl_s": 60, "regions": 4, "zipf_s": 1.0, "mode": "CDN"},
    examples=({"ttl_s": 1}, {"ttl_s": 100_000}, {"mode": "origin only"})))


def cdn_panel(ttl_s=60, regions=4, zipf_s=1.0, mode="CDN", *, seed=0):
    """Chapter 07's live panel: TTL (log, 1 s to a day), regions (1-6, one edge each), popularity, CDN or origin."""
    return CDN_PANEL.show(ttl_s=ttl_s, regions=regions, zipf_s=zipf_s, mode=mode, seed=seed)


# -- the notebook's tables: regions, the CDN going down, new versions, costs --------------------------------

def region_table(with_cdn, origin_only):
    """Per region, from two simulations of the same traffic: distance, the static requests' median latency through
    the CDN and from the origin alone, and the edges' hit ratio there."""
    rows = []
    for result, label in ((with_cdn, "cdn_p50_ms"), (origin_only, "origin_p50_ms")):
        table = result.requests
        static = table[table["static"] & (table["status"] == "ok")]
        rows.append(static.groupby("region")["latency_ms"].median().rename(label))
    table = with_cdn.requests
    handled = table[table["cdn"].isin(["hit", "miss"])]
    hit = (handled["cdn"] == "hit").groupby(handled["region"]).mean().rename("hit_ratio")
    km = pd.Series({r.name: r.origin_km for r in REGIONS}, name="km")
    out = pd.concat([km, *rows, hit], axis=1, join="inner").sort_values("km")
    return out.rename_axis("region").reset_index()


def over_time(result, bins=30):
    """Per window: the share of requests failing, what reached the origin (req/s) and the CDN's share of
    fallbacks: t_s, failed, origin_rps, fallback."""
    table = result.requests
    edges = np.linspace(0, result.duration_s, bins + 1)
    window = pd.cut(table["arrival_s"], edges, include_lowest=True, labels=(edges[:-1] + edges[1:]) / 2)
    to_origin = table["cdn"].isin(["dynamic", "miss", "fallback", "origin"])
    grouped = pd.DataFrame({"failed": table["status"] != "ok", "origin": to_origin,
                            "fallback": table["cdn"] == "fallback", "t_s": window}).groupby("t_s", observed=False)
    width = edges[1] - edges[0]
    out = pd.DataFrame({"failed": grouped["failed"].mean(), "origin_rps": grouped["origin"].sum() / width,
                        "fallback": grouped["fallback"].mean()}).reset_index()
    out["t_s"] = out["t_s"].astype(float)
    return out


def outage_chart(result, capacity, bins=30):
    """What reaches the origin (req/s) over time (dots and line) against its capacity (red line)."""
    table = over_time(result, bins)
    outages = [o for comp in result.architecture.components for o in comp.outages]
    down = ", ".join(f"{o.start_s:g}-{o.end_s:g} s" for o in outages) or "never"
    measured = table.assign(line="reaching the origin")
    limit = pd.DataFrame({"t_s": [0.0, result.duration_s], "origin_rps": capacity, "line": "origin capacity"})
    return charts.lines_and_dots(
        pd.concat([measured, limit]), measured, scales.linear_axis("x", "t_s:Q", "simulated time (s)"),
        scales.linear_axis("y", "origin_rps:Q", "requests a second"),
        color=scales.color("line:N", {"reaching the origin": "blue", "origin capacity": "red"},
                           legend=charts.legend(orient="bottom")),
        tooltip=("t_s:Q", ("origin_rps:Q", ",.0f"), ("failed:Q", ".1%")),
        heading=charts.title("The CDN goes down: every request goes to the origin",
                             f"down {down} · {charts.budget_note(result)}"))


def deploy_table(ttl_s=120.0, invalidation_s=20.0, deploy_at_s=100.0, *, rate=100.0, regions=4, requests=30_000,
                 seeds=(0, 1, 2)):
    """A new version of every asset at ``deploy_at_s``, shipped three ways, side by side: the requests answered
    with an old copy (measured, mean of ``seeds``, against theory), the mean stale window of the most popular
    asset over the edges (measured: its last old answer after the deploy; theory: :func:`stale_window_s`), and
    the misses in the minute after the deploy."""
    from ..architectures import single_server, with_cdn

    workload = Workload.from_rate(rate, keys=ASSETS, zipf_s=1.0)
    rows = []
    for mode in analytic.ON_DEPLOY:
        arch = with_cdn(single_server(), regions=regions, ttl_s=ttl_s, static_share=1.0, deploys=(deploy_at_s,),
                        on_deploy=mode, invalidation_s=invalidation_s)
        cdn = arch["cdn"]
        rates = (workload.rate * np.outer(cdn.shares(), workload.key_popularity())).ravel()
        stale, windows, misses = [], [], []
        for seed in seeds:
            table = simulate(arch, workload, requests=requests, seed=seed).requests
            old = table[table["cdn_stale"]]
            stale.append(len(old))
            top = old[old.index.isin(_requests_for_asset(arch, workload, requests, seed, 0))]
            last = top.groupby("region")["arrival_s"].max() - deploy_at_s
            windows.append(float(last.reindex([r.name for r in cdn.regions]).fillna(0).mean()))
            after = table[(table["arrival_s"] >= deploy_at_s) & (table["arrival_s"] < deploy_at_s + 60)]
            misses.append(int((after["cdn"] == "miss").sum()))
        rows.append({"on deploy": mode, "old answers": float(np.mean(stale)),
                     "theory": analytic.deploy_stale_requests(rates, ttl_s, mode, invalidation_s),
                     "stale window (s)": float(np.mean(windows)),
                     "theory window (s)": analytic.stale_window_s(mode, ttl_s, invalidation_s),
                     "misses in the next minute": float(np.mean(misses))})
    return pd.DataFrame(rows)


def _requests_for_asset(arch, workload, requests, seed, asset):
    from ..components.cache import workload_keys

    return np.flatnonzero(workload_keys(workload, requests, seed) == asset)


#: A small site's static assets: what each is, how big, how often asked for (change it and rerun cost_table).
SITE_ASSETS = pd.DataFrame([
    {"asset": "app.js", "size_kb": 300, "requests_per_day": 2_000_000},
    {"asset": "style.css", "size_kb": 60, "requests_per_day": 2_000_000},
    {"asset": "logo.png", "size_kb": 20, "requests_per_day": 2_000_000},
    {"asset": "hero-video.mp4", "size_kb": 8_000, "requests_per_day": 50_000},
    {"asset": "product photos (each)", "size_kb": 150, "requests_per_day": 400},
    {"asset": "2019 annual report.pdf", "size_kb": 5_000, "requests_per_day": 2},
])
