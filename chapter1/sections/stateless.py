"""Chapter 08: a stateless web tier.  Where sessions live decides what a server dying or joining costs.

The live panel (:func:`stateless_panel`) runs a pool of web servers at a load you choose, kills one
server (or adds one) in the middle of the run, and plots the share of returning users who lost their
session against the number of servers: the lines are theory (sticky sessions lose 1/n when a server
dies, n/(n+1) when one joins under modulo hashing, 1/(n+1) with a hash ring; a shared store loses
none), the dots are three runs of your setting.  :func:`moved_sweep`, :func:`max_load_sweep` and
:func:`nat_loads` simulate the hashing itself (random addresses, a real ring) for the notebook.

>>> round(theory_lost(4, "dies", "sticky"), 2), theory_lost(4, "joins", "shared")
(0.25, 0.0)
>>> round(rate(4, 0.6))          # 4 servers of 4 workers x 50 ms, each 60 % busy
192
"""

import functools

import numpy as np
import pandas as pd

from .. import theory as analytic
from ..architectures import load_balanced
from ..components.sessions import SessionStore, StickySessions
from ..core import validation as check
from ..core.component import OK
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels, scales
from .single_server import run_outcome

WORKERS, SERVICE_MS = 4, 50.0
CAPACITY = WORKERS * 1_000.0 / SERVICE_MS        # 80 requests a second per web server
CLIENTS = 100                                    # users in the panel: each sends about 5 requests a run
EVENT_AT, CHECKS = 0.4, 20                       # the event at 40 % of the run; 20 health checks a run
MAX_SERVERS = 10
SEEDS = 3
EVENTS = ("dies", "joins")
MODES = ("sticky", "shared")
SERIES = {"sticky sessions": "blue", "sticky, hash ring (ch. 12)": "grey", "shared store": "green", "runs": "red"}
CAPTION = (
    "<small>Share of returning users (a request before the event and one after it) whose session was gone, "
    "against the number of servers. Lines: theory (sticky sessions with the balancer's IP hash; the grey "
    "line is a consistent-hash ring, chapter 12; a shared store loses none). Red dots: three runs of this "
    "setting. Dashed line: your number of servers.</small>")


def rate(servers, load):
    """Requests a second that keep ``servers`` web servers each ``load`` busy."""
    return servers * CAPACITY * load


def workload(servers, load):
    """:data:`CLIENTS` users sending ``rate(servers, load)`` requests a second together."""
    return Workload(users=CLIENTS, peak_factor=1.0, requests_per_user=rate(servers, load) * 86_400 / CLIENTS)


def design(servers, event, sessions, load, requests):
    """The panel's architecture: ``servers`` web servers, sessions ``sessions``, one server dying or joining.

    The event comes at :data:`EVENT_AT` of the run's expected length; the balancer checks its servers
    :data:`CHECKS` times a run.  Returns (architecture, event time in s).

    >>> arch, at = design(4, "joins", "sticky", 0.6, 500)
    >>> [c.name for c in arch.components][-3:], round(at, 2)
    (['web-4', 'web-5', 'sessions'], 1.04)
    """
    check.number("servers", servers, low=2, high=MAX_SERVERS, integer=True)
    check.choice("event", event, EVENTS)
    check.choice("sessions", sessions, MODES)
    check.number("load", load, low=0.05, high=0.95)
    length = requests / rate(servers, load)
    arch = load_balanced(servers=servers, workers=WORKERS, service_time_ms=SERVICE_MS, sessions=sessions,
                         health_check_interval_s=length / CHECKS)
    at = EVENT_AT * length
    if event == "dies":
        return arch.fail(f"web-{servers}", at_s=at), at
    return arch.add_server(at_s=at), at


def theory_lost(servers, event, sessions, scheme="modulo"):
    """Theory's share of returning users who lose their session (see :func:`chapter1.analytic.sessions_lost_share`)."""
    if sessions == "shared":
        return 0.0
    return analytic.sessions_lost_share(servers, "death" if event == "dies" else "join", scheme)


def lost_share(result, at_s):
    """Among users with a successful request before ``at_s`` and one after, the share that lost their session.

    >>> arch, at = design(4, "dies", "sticky", 0.5, 400)
    >>> 0 < lost_share(simulate(arch, workload(4, 0.5), requests=400, seed=1), at) < 0.6
    True
    """
    ok, arrival, client = result.status_code == OK, result.arrival_s, result.client
    late = ok & (arrival >= at_s)
    returning = set(client[ok & (arrival < at_s)].tolist()) & set(client[late].tolist())
    if not returning:
        return float("nan")
    lost = set(client[late & result.column("session_lost")].tolist()) & returning
    return len(lost) / len(returning)


def outcome(result):
    """The figures of ``result.summary()`` a run's row reads: p95 (ms), the failed share (as
    :func:`chapter1.present.panels.failed` adds it), ``sessions_lost`` and the session store's utilisation
    (NaN without one); the same numbers, without the rest of the summary.

    >>> arch, at = design(3, "dies", "shared", 0.5, 300)
    >>> run = simulate(arch, workload(3, 0.5), requests=300, seed=2)
    >>> figures, s = outcome(run), run.summary()
    >>> figures == {"p95_ms": s["p95_ms"], "failed": panels.failed(s), "sessions_lost": s["sessions_lost"],
    ...             "store_busy": s["session store_utilization"]}
    True
    """
    books = [r.figures() for r in result.runtimes if isinstance(r.spec, (StickySessions, SessionStore))]
    if len(books) != 1:
        raise ValueError(f"result must come from a design with one place for sessions (load_balanced(sessions=...)); "
                         f"got {len(books)}")
    figures, store = run_outcome(result), "session store" in [c.name for c in result.architecture.components]
    return {"p95_ms": figures["p95_ms"], "failed": panels.failed(figures), "sessions_lost": books[0]["sessions_lost"],
            "store_busy": result.utilization("session store") if store else float("nan")}


def runs(servers, event, sessions, load, *, requests=500, seeds=SEEDS, first_seed=0):
    """One row per seed: share of returning users who lost their session, p95, failed share, sessions lost.

    >>> runs(3, "dies", "shared", 0.5, requests=300, seeds=1).columns.tolist()
    ['seed', 'lost', 'p95_ms', 'failed', 'sessions_lost', 'store_busy']
    """
    arch, at = design(servers, event, sessions, load, requests)
    rows = []
    for seed in range(first_seed, first_seed + seeds):
        result = simulate(arch, workload(servers, load), requests=requests, seed=seed)
        figures = outcome(result)  # the figures a row reads, not the whole summary
        rows.append({"seed": seed, "lost": lost_share(result, at), "p95_ms": figures["p95_ms"],
                     "failed": figures["failed"], "sessions_lost": int(figures["sessions_lost"]),
                     "store_busy": float(figures["store_busy"])})
    return pd.DataFrame(rows, columns=["seed", "lost", "p95_ms", "failed", "sessions_lost", "store_busy"])


@functools.lru_cache(maxsize=8, typed=True)
def _lines(event):
    """The theory lines (series, servers, lost) and their labels (the lines at 7 servers, raised a little), as columns
    (the chart only reads them)."""
    rows = [(label, n, theory_lost(n, event, mode, scheme))
            for label, mode, scheme in (("sticky sessions", "sticky", "modulo"), ("shared store", "shared", "modulo"),
                                        ("sticky, hash ring (ch. 12)", "sticky", "ring"))
            for n in range(2, MAX_SERVERS + 1) if not (event == "dies" and scheme == "ring")]
    lines = {name: [row[k] for row in rows] for k, name in enumerate(("series", "servers", "lost"))}
    seven = [row for row in rows if row[1] == 7]
    labels = {"series": [row[0] for row in seven], "servers": [row[1] for row in seven],
              "lost": [row[2] + 0.04 for row in seven]}
    return lines, labels


@functools.lru_cache(maxsize=1, typed=True)
def _template():
    chart = charts.curves(
        scales.linear_axis("x", "servers:Q", "web servers before the event", (2, MAX_SERVERS),
                           ticks=list(range(2, MAX_SERVERS + 1))),
        scales.share_axis("y", "lost:Q", "returning users who lost their session", ticks=scales.fifths()),
        scales.color("series:N", SERIES), label="series:N", current="servers:Q",
        line={"point": True}, dots={"filled": True, "size": 60, "opacity": 0.8},
        tooltip=("series:N", "servers:Q", ("lost:Q", ".0%")))
    return charts.Template(chart, titles=False)


def stateless_view(servers, event, sessions, load_percent, *, requests=500, seed=0):
    """What the panel shows for one setting: (chart as SVG, headline HTML); :data:`SEEDS` runs."""
    check.number("load_percent", load_percent, low=5, high=95)
    load = load_percent / 100
    table = runs(servers, event, sessions, load, requests=requests, first_seed=seed)
    lines, labels = _lines(event)
    dots = {"series": ["runs"] * len(table), "servers": [servers] * len(table), "lost": table["lost"].to_numpy()}
    svg = _template().svg({"theory": lines, "labels": labels, "simulated": dots, "current": [{"servers": servers}]})
    return svg, headline(servers, event, sessions, load, table, requests)


def headline(servers, event, sessions, load, table, requests):
    """The figures under the sliders: load before and after the event, sessions lost against theory, latency."""
    after = servers - 1 if event == "dies" else servers + 1
    busy_after = load * servers / after
    what = "one server dies" if event == "dies" else "one server joins"
    over = " (overloaded: queues grow)" if busy_after >= 1 else ""
    where = "in each server's memory (sticky, IP hash)" if sessions == "sticky" else "in a shared store"
    lines = [f"<b>{servers}</b> servers, each <b>{load:.0%}</b> busy ({rate(servers, load):,.0f} req/s); "
             f"{what}: then each is <b>{min(busy_after, 1):.0%}</b> busy{over}",
             f"sessions {where}: <b>{table['lost'].mean():.0%}</b> of returning users lost theirs "
             f"(theory {theory_lost(servers, event, sessions):.0%}) · p95 <b>{table['p95_ms'].mean():,.0f} ms</b> · "
             f"failed <b>{table['failed'].mean():.1%}</b>"]
    if sessions == "shared":
        lines.append(f"every request also visits the session store: it is <b>{table['store_busy'].mean():.0%}</b> "
                     "busy, and it is one more box that can fail")
    length = requests / rate(servers, load)
    note = (f"{len(table)} runs of {requests:,} simulated requests = {length:.1f} s each, from {CLIENTS} users (about "
            f"{requests / CLIENTS:.0f} requests each); the event at {EVENT_AT * length:.1f} s, a health check every "
            f"{length / CHECKS:.2f} s")
    return panels.headline(*lines, f"<small>{note}</small>", caption=CAPTION)


def stateless_panel(servers=4, event="dies", sessions="sticky", load_percent=60, *, seed=0):
    """Chapter 08's panel: servers, what happens, where sessions live, load; theory on the chart.

    >>> box = stateless_panel()  # doctest: +SKIP
    """
    return PANEL.show(servers=servers, event=event, sessions=sessions, load_percent=load_percent, seed=seed)


PANEL = panels.register_panel(panels.Panel(
    "sessions when servers change", "08", stateless_view, caption=CAPTION, requests=500,
    controls={"servers": panels.integer(2, MAX_SERVERS, "servers"),
              "event": panels.choice([("a server dies", "dies"), ("a server joins", "joins")], "event", "toggle"),
              "sessions": panels.choice([("sticky", "sticky"), ("shared store", "shared")], "sessions", "toggle"),
              "load_percent": panels.integer(20, 90, "load (%)", step=5)},
    defaults={"servers": 4, "event": "dies", "sessions": "sticky", "load_percent": 60},
    examples=({"event": "joins"}, {"sessions": "shared"})))


# -- the hashing itself, for the notebook -------------------------------------------------------------

def ring_owners(hashes, servers, vnodes=100, seed=0):
    """Server (0 .. servers-1) of each 32-bit hash on a consistent-hash ring with ``vnodes`` points per server.

    A server's points are placed by hashing its name (here: a stream seeded by its number), so adding a
    server leaves every other server's points where they were.

    >>> ring_owners(np.array([5, 2**31]), 1).tolist()
    [0, 0]
    """
    check.number("servers", servers, low=1, high=10_000, integer=True)
    check.number("vnodes", vnodes, low=1, high=10_000, integer=True)
    points = np.concatenate([np.random.default_rng([seed, k]).integers(0, 2**32, vnodes) for k in range(servers)])
    owner = np.repeat(np.arange(servers), vnodes)
    order = np.argsort(points, kind="stable")
    points, owner = points[order], owner[order]
    return owner[np.searchsorted(points, hashes, side="left") % len(points)]


def moved_sweep(servers=range(1, 11), *, keys=20_000, seeds=(0, 1, 2), vnodes=100):
    """Share of keys that move when one server joins n, simulated with random hashes, against theory.

    >>> moved_sweep([4], keys=2_000, seeds=[0]).columns.tolist()
    ['servers', 'scheme', 'seed', 'moved', 'theory']
    """
    rows = []
    for n in servers:
        for seed in seeds:
            hashes = np.random.default_rng(seed).integers(0, 2**32, keys)
            moved = {"modulo": np.mean(hashes % n != hashes % (n + 1)),
                     "ring": np.mean(ring_owners(hashes, n, vnodes, seed) != ring_owners(hashes, n + 1, vnodes, seed))}
            rows += [{"servers": n, "scheme": scheme, "seed": seed, "moved": float(share),
                      "theory": analytic.keys_moved(n, n + 1, scheme)} for scheme, share in moved.items()]
    return pd.DataFrame(rows, columns=["servers", "scheme", "seed", "moved", "theory"])


def moved_chart(table):
    """Keys moved when one server joins: theory lines for modulo and ring hashing, simulated dots."""
    color = scales.color("scheme:N", {"modulo": "blue", "ring": "grey"}, legend=charts.legend("hashing"))
    return charts.lines_and_dots(
        table, table, scales.linear_axis("x", "servers:Q", "servers before one joins (n)"),
        scales.share_axis("y", "theory:Q", "clients (keys) that move", ticks=scales.fifths()), color=color,
        dot_y="moved:Q", tooltip=("servers:Q", "scheme:N", ("moved:Q", ".1%"), ("theory:Q", ".1%")),
        heading=charts.title("One server joins: who moves", "lines: n/(n+1) and 1/(n+1) · dots: random hashes"))


def max_load_sweep(clients=100, servers=range(2, 11), *, seeds=200):
    """Clients on the busiest server when ``clients`` random addresses are hashed, against balls-into-bins theory.

    >>> max_load_sweep(100, [4], seeds=20).columns.tolist()
    ['servers', 'mean_share', 'busiest', 'theory', 'busiest_sd']
    """
    rows = []
    for n in servers:
        peaks = [np.bincount(np.random.default_rng([seed, n]).integers(0, 2**32, clients) % n, minlength=n).max()
                 for seed in range(seeds)]
        rows.append({"servers": n, "mean_share": clients / n, "busiest": float(np.mean(peaks)),
                     "theory": analytic.max_load(clients, n), "busiest_sd": float(np.std(peaks))})
    return pd.DataFrame(rows, columns=["servers", "mean_share", "busiest", "theory", "busiest_sd"])


def nat_loads(share, servers, *, addresses=1_000, seed=0):
    """Each server's share of the users when a ``share`` of them sit behind one NAT address (IP hashing).

    The other users have addresses of their own, hashed like the NAT's.

    >>> t = nat_loads(0.3, 4, seed=1)
    >>> round(float(t["users"].sum()), 6), round(float(t["theory_hot"].iloc[0]), 3)
    (1.0, 0.475)
    """
    check.number("share", share, low=0, high=1)
    rng = np.random.default_rng(seed)
    others = rng.integers(0, 2**32, addresses) % servers
    nat = int(rng.integers(0, 2**32) % servers)
    users = np.bincount(others, minlength=servers) / addresses * (1 - share)
    users[nat] += share
    return pd.DataFrame({"server": [f"web-{k + 1}" for k in range(servers)], "users": users,
                         "behind_nat": [k == nat for k in range(servers)],
                         "theory_hot": analytic.nat_share(share, servers), "theory_other": (1 - share) / servers})
