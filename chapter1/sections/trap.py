"""Chapter 04, the least-connections trap: a dead server that fails fast holds no connections and attracts
traffic; outlier ejection is the fix.  ``chapter1.balancing`` re-exports every name here.
"""

import functools
import math

import numpy as np
import pandas as pd

from ..architectures import load_balanced
from ..core import validation as check
from ..core.simulation import simulate
from ..core.workload import Workload
from ..present import charts, panels
from .failover import FAIL_AT_S, detected_at, expected_failed, failed_shares, failover_data, failures, overlaid_runs
from .single_server import run_seeds, spread

__all__ = ["TRAP_POLICIES", "POLICY_NAMES", "trap_pool", "trap_runs", "trap_view", "trap_panel", "TRAP",
           "TRAP_CAPTION"]


# -- the least-connections trap: a dead server that fails fast attracts traffic ---------------------

TRAP_POLICIES = ("round_robin", "random", "power_of_two", "least_connections")
TRAP_SERVERS, TRAP_WORKERS, TRAP_INTERVAL_S = 4, 8, 10.0
TRAP_REQUESTS = 30_000
PANEL_INTERVAL_S, PANEL_FAIL_AT_S, PANEL_REQUESTS = 5.0, 12.5, 20_000  # the panel: a shorter run, same story
TRAP_CAPTION = (
    "<small>Share of requests failing after web-2 dies (4 servers x 8 workers, health check every 5 s): bars "
    "are the simulation (2-second windows; three runs drawn over each other, so pale tops are run-to-run "
    "noise), the line is what a policy blind to the servers' state loses (one request in four until the server "
    "is taken out); dashed lines mark the death and the check that takes it out.</small>")


def trap_pool(policy="least_connections", eject_after=None, fall=1, fail_at_s=FAIL_AT_S, interval_s=TRAP_INTERVAL_S):
    """Chapter 04's trap: 4 servers x 8 workers, checks every ``interval_s``, web-2 dies at ``fail_at_s`` and
    then refuses every request at once (a crashed process: the port answers with a reset).

    >>> trap_pool(eject_after=3)["load balancer"].describe()[:3]
    ['least connections', '4 servers', 'ejects after 3 errors in a row']
    """
    check.choice("policy", policy, tuple(POLICY_NAMES))
    arch = load_balanced(servers=TRAP_SERVERS, policy=policy, workers=TRAP_WORKERS,
                         health_check_interval_s=interval_s)
    return arch.with_changes("load balancer", eject_after=eject_after, fall=fall).fail("web-2", at_s=fail_at_s)


POLICY_NAMES = {"round_robin": "round robin", "random": "random", "power_of_two": "power of two",
                "least_connections": "least connections"}


def _trap_rate(load_percent):
    check.number("load_percent", load_percent, low=1, high=99)
    return load_percent / 100 * TRAP_SERVERS * TRAP_WORKERS * 20.0


def trap_runs(policies=TRAP_POLICIES, seeds=(0, 1, 2), *, load_percent=70, eject_after=None, fall=1,
              requests=TRAP_REQUESTS):
    """Failed requests when web-2 dies under each policy, one row per (policy, seed).

    Columns: ``failed``; ``in_window`` (requests that reached the balancer between the death and the
    check that takes web-2 out); ``share`` = failed / in_window; ``blind`` = what round robin is expected
    to lose (:func:`expected_failed`).

    >>> trap_runs(["round_robin"], [0], load_percent=30, requests=4_000).columns.tolist()
    ['policy', 'seed', 'failed', 'in_window', 'share', 'blind']
    """
    rate = _trap_rate(load_percent)
    seen = detected_at(FAIL_AT_S, TRAP_INTERVAL_S, fall)
    rows = []
    for policy in policies:
        for seed in seeds:
            result = simulate(trap_pool(policy, eject_after, fall), Workload.from_rate(rate), requests=requests,
                              seed=seed)
            failed, in_window = failures(result), _in_window(result, FAIL_AT_S, seen)
            rows.append({"policy": POLICY_NAMES[policy], "seed": seed, "failed": failed, "in_window": in_window,
                         "share": failed / in_window if in_window else float("nan"),
                         "blind": expected_failed(rate, TRAP_SERVERS, FAIL_AT_S, TRAP_INTERVAL_S, fall=fall)})
    return pd.DataFrame(rows, columns=["policy", "seed", "failed", "in_window", "share", "blind"])


def trap_view(policy, load_percent, eject_after, fall, *, requests=PANEL_REQUESTS, seed=0):
    """What the trap panel shows for one setting: (chart as SVG, headline HTML); three runs, overlaid.

    ``eject_after`` 0 means no outlier ejection.  The panel checks every 5 s and kills web-2 at 12.5 s;
    each run simulates at most ``requests`` requests, and no more than cover the check that takes web-2
    out and 15 s after it (20,000 requests cover three checks at 90 % load).
    """
    eject, h, dies = eject_after or None, PANEL_INTERVAL_S, PANEL_FAIL_AT_S
    rate = _trap_rate(load_percent)
    arch = trap_pool(policy, eject, fall, dies, h)
    seen = detected_at(dies, h, fall)
    per_run = min(requests, math.ceil(rate * (seen + 15.0)))
    results = [simulate(arch, Workload.from_rate(rate), requests=per_run, seed=s) for s in run_seeds(seed)]
    result = results[0]
    datasets = overlaid_runs([failover_data(r, "load balancer", h, fail_at_s=dies) for r in results])
    times = datasets["failover_theory"]["t_s"]
    datasets["failover_theory"] = {"t_s": times, "share": failed_shares(times, "load balancer", TRAP_SERVERS, dies, h,
                                                                       fall=fall)}
    datasets["events"] = [e for e in ({"t_s": dies, "event": "server dies"},
                                      {"t_s": seen, "event": "check takes it out"}) if e["t_s"] <= result.duration_s]
    failed, shares = [], []
    for run in results:
        in_window = _in_window(run, dies, seen)
        failed.append(failures(run))
        shares.append(100 * failed[-1] / in_window if in_window else float("nan"))
    blind = expected_failed(rate, TRAP_SERVERS, dies, h, fall=fall)
    how = "no ejection" if eject is None else f"ejects a server after {eject} errors in a row"
    text = (f"<b>{rate:,.0f}</b> req/s · <b>{POLICY_NAMES[policy]}</b>, {how} · web-2 dies at <b>{dies:g} s</b>, "
            f"the health check takes it out at <b>{seen:g} s</b> · failed: <b>{spread(failed, ' requests')}</b>"
            + (f" (<b>{spread(shares, ' %', runs=False)}</b> of those that arrived in between)" if in_window else "")
            + f"; a blind policy would lose about <b>{blind:,.0f}</b>")
    return _trap_template().svg(datasets), panels.headline(text, result=result, caption=TRAP_CAPTION)


def _in_window(result, dies, seen):
    """Requests that reached the balancer between the death (``dies``) and the check that takes the server out."""
    entered = result.reached_s()
    return int(np.count_nonzero((entered >= dies) & (entered < seen)))


@functools.lru_cache(maxsize=1, typed=True)
def _trap_template():
    return charts.Template(charts.failures_over_time(1.0, charts.title("Requests failing after web-2 dies"),
                                                     first_event="server dies"), titles=False)


def trap_panel(policy="least_connections", load_percent=70, eject_after=0, fall=1, *, requests=None, seed=0):
    """Chapter 04's trap panel: policy, load, outlier ejection and failed checks needed; web-2 dies at 22.5 s.

    >>> box = trap_panel()  # doctest: +SKIP
    """
    return TRAP.show(policy=policy, load_percent=load_percent, eject_after=eject_after, fall=fall,
                     requests=requests, seed=seed)


TRAP = panels.register_panel(panels.Panel(
    "a server that fails fast", "04", trap_view, caption=TRAP_CAPTION, requests=PANEL_REQUESTS,
    controls={"policy": panels.choice([(POLICY_NAMES[p], p) for p in TRAP_POLICIES], "policy"),
              "load_percent": panels.integer(30, 90, "load (%)", step=10),
              "eject_after": panels.choice([("off", 0), ("1 error", 1), ("3 errors", 3), ("10 errors", 10)],
                                           "eject after"),
              "fall": panels.integer(1, 3, "failed checks to mark down")},
    defaults={"policy": "least_connections", "load_percent": 70, "eject_after": 0, "fall": 1}))
