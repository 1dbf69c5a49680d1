"""Time one live-panel update (simulate + chart to SVG) at the default request budget.

For each chapter's panel, prints the median wall time and CPU time (process_time) over
repeated updates, each with a new setting as a slider would make.  Target: median <= 150 ms.
CPU time is the fairer figure on a shared machine; wall time is what a learner waits.
"""

import statistics
import time

from chapter1.balancing import balancer_view, failover_view
from chapter1.database_tier import tiers_view
from chapter1.scaling import scaling_view
from chapter1.widgets import DEFAULT_REQUESTS, single_server_view

REPEATS = 15

# (panel, users, update(users, k)): each update changes one slider, as a learner would.
PANELS = [
    ("01 single server", 1_000, lambda users, k: single_server_view(users, 8 + k % 2, 50)),
    ("01 single server", 10_000_000, lambda users, k: single_server_view(users, 8 + k % 2, 50)),
    ("02 web + database tiers", 100_000, lambda users, k: tiers_view(users, 8, 2 + k, 30, 20)),
    ("02 web + database tiers", 10_000_000, lambda users, k: tiers_view(users, 8, 2 + k, 30, 20)),
    # chapter 03: a new budget (and small-box size) each time, so the theory curves are not cached
    ("03 big box vs small boxes", 1_000_000,
     lambda users, k: scaling_view(users, 10 ** (2.5 + 0.05 * (7 * k % 34)), (4, 8, 16, 32)[k % 4])),
    ("03 big box vs small boxes", 8_000_000,
     lambda users, k: scaling_view(users, 10 ** (2.5 + 0.05 * (7 * k % 34)), (4, 8, 16, 32)[k % 4])),
]

# Panels with no users slider: (panel, update(None, k)), cycling through settings as a learner would.
_POLICIES = ("round_robin", "power_of_two", "least_connections", "random", "weighted", "ip_hash")
OTHER_PANELS = [
    ("04 policies, 8 servers", lambda _, k: balancer_view(_POLICIES[k % 6], 8, 50 + 5 * (k % 10), 1 + k % 4 // 3)),
    ("04 policies, 16 servers", lambda _, k: balancer_view(_POLICIES[k % 6], 16, 90 - 5 * (k % 3), 1 + k % 3)),
    ("04 failover", lambda _, k: failover_view(("load balancer", "DNS round robin")[k % 2], 2 + k % 7,
                                               1 + 2 * (k % 15), 5 * (k % 13))),
]


def measure(update, users):
    update(users, -1)  # warm up: chart template, vega engine
    wall, cpu = [], []
    for k in range(REPEATS):
        w0, c0 = time.perf_counter(), time.process_time()
        update(users, k)
        wall.append((time.perf_counter() - w0) * 1_000)
        cpu.append((time.process_time() - c0) * 1_000)
    return statistics.median(wall), statistics.median(cpu), max(wall)


def main():
    print(f"request budget per update: {DEFAULT_REQUESTS:,}; target: median <= 150 ms")
    for name, users, update in PANELS:
        wall, cpu, worst = measure(update, users)
        print(f"{name:<26} users = {users:>10,}: median {wall:6.1f} ms wall, {cpu:6.1f} ms CPU, worst {worst:6.1f} ms")
    for name, update in OTHER_PANELS:
        wall, cpu, worst = measure(update, None)
        print(f"{name:<45}: median {wall:6.1f} ms wall, {cpu:6.1f} ms CPU, worst {worst:6.1f} ms")


if __name__ == "__main__":
    main()
