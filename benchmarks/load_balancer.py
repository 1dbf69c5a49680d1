"""Per-request cost of simulate(load_balanced(servers=8)) relative to a bare simpy M/M/1 loop.

Both run in this process, alternately, and the ratio of medians (CPU time) is printed, for each policy.
The bare loop is the one in simulate_vs_simpy.py.  Also prints the time of the live widget's
case: 5,000 requests through load_balanced(servers=8).  Targets: the simpy engine <= 1.4x of bare
simpy for every policy, and the widget's case well under 100 ms.  As in simulate_vs_simpy.py, the ratio
against the same bare loop on the course's worker ``Slots`` is printed too (the bookkeeping alone).
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from simulate_vs_simpy import bare_simpy_mm1  # noqa: E402

from chapter1 import Workload, load_balanced, simulate  # noqa: E402
from chapter1.components.policies import POLICIES  # noqa: E402
from chapter1.components.server import Slots  # noqa: E402

REQUESTS = 50_000
WIDGET_REQUESTS = 5_000
SERVERS, SERVICE_MS = 8, 50.0
LOAD = 0.8
ROUNDS = 5


def course_lb(n, policy="round_robin", seed=0, engine="simpy"):
    arch = load_balanced(servers=SERVERS, policy=policy, workers=1, service_time_ms=SERVICE_MS)
    rate = LOAD * SERVERS * 1_000.0 / SERVICE_MS
    return simulate(arch, Workload.from_rate(rate), requests=n, seed=seed, engine=engine)


def timed(fn, *args, clock=time.perf_counter):
    start = clock()
    fn(*args)
    return clock() - start


def main():
    print(f"requests per run        {REQUESTS:,}, {SERVERS} servers at {LOAD:.0%} load")
    worst, worst_slots = 0.0, 0.0
    for policy in POLICIES:
        bare, slots, course, fast = [], [], [], []
        for _ in range(ROUNDS):
            bare.append(timed(bare_simpy_mm1, REQUESTS, clock=time.process_time))
            slots.append(timed(bare_simpy_mm1, REQUESTS, 0, Slots, clock=time.process_time))
            course.append(timed(course_lb, REQUESTS, policy, clock=time.process_time))
            fast.append(timed(course_lb, REQUESTS, policy, 0, "fast", clock=time.process_time))
        b, b2, c, f = (statistics.median(t) for t in (bare, slots, course, fast))
        worst, worst_slots = max(worst, c / b), max(worst_slots, c / b2)
        print(f"{policy:<18}  bare {b * 1e6 / REQUESTS:5.2f} us/request · simpy engine {c * 1e6 / REQUESTS:5.2f}"
              f" us/request, {c / b:4.2f}x ({c / b2:4.2f}x of the loop on Slots) · fast engine"
              f" {f * 1e6 / REQUESTS:5.2f} us/request, {f / b:4.2f}x")
    print(f"worst ratio, simpy engine {worst:4.2f}x  (target <= 1.4x); {worst_slots:4.2f}x of the bare loop on Slots")
    # CPU time as well as wall time: on a shared machine the wall clock also counts other processes' turns.
    # The widget runs with the default engine ("auto": the event-free one here).
    args = (WIDGET_REQUESTS, "round_robin", 0, "auto")
    wall = statistics.median(timed(course_lb, *args) for _ in range(3 * ROUNDS))
    cpu = statistics.median(timed(course_lb, *args, clock=time.process_time) for _ in range(3 * ROUNDS))
    print(f"widget case             {wall * 1e3:5.1f} ms wall, {cpu * 1e3:5.1f} ms CPU "
          f"for {WIDGET_REQUESTS:,} requests "
          "(target well under 100 ms)")


if __name__ == "__main__":
    main()
