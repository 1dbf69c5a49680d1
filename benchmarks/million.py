"""1,000,000 requests through single_server(), load_balanced(8) under each policy, a balancer that loses a server
and thread-per-request web workers, with the event-free engine.

Each configuration runs at 80 % load (the knee: queues form and drain) and in overload (queues full,
requests rejected and timing out); CPU seconds, median of ROUNDS runs.  The baseline, in the same run:
the tightest pure-Python FCFS loop over as many requests (8 workers, a heap of free times, nothing
recorded), the floor of any event-free engine written in Python; runs this long take the compiled loops
(:mod:`chapter1.core.kernels`), loaded once per process before the timing.  Target: <= 0.3 s.

    python benchmarks/million.py                 # every configuration
    python benchmarks/million.py round_robin     # one policy (or "single", "dies", "threads")
"""

import resource
import statistics
import sys
from heapq import heapreplace

import numpy as np

import chapter1 as c
from chapter1.components.policies import POLICIES
from chapter1.core import kernels

REQUESTS = 1_000_000
ROUNDS = 3
TARGET_S = 0.3


def configuration(name, load):
    """single_server() (8 workers x 50 ms), load_balanced(8, policy) with its defaults (8 x 8 workers x 50 ms), or
    ``"dies"``: least connections that ejects after 5 errors, web-2 down from 200 to 400 s, or ``"threads"``: 8
    thread-per-request web workers x 30 ms, each held while a database of 8 x 20 ms answers."""
    if name == "threads":
        web = c.WebServer(workers=8, service_time_ms=30, backend=c.Database(workers=8, service_time_ms=20),
                          blocking=True)
        return c.Architecture("threads", (web,)), c.Workload.from_rate(load * 8 / 0.05)
    arch = c.single_server() if name == "single" else c.load_balanced(8, name if name in POLICIES
                                                                          else "least_connections")
    if name == "dies":
        arch = arch.with_changes("load balancer", eject_after=5).fail("web-2", at_s=200.0, recover_s=400.0)
    capacity = arch["server"].capacity if name == "single" else arch["load balancer"].capacity
    return arch, c.Workload.from_rate(load * capacity)


LABELS = {"single": "single_server()", "dies": "least connections, web-2 dies", "threads": "thread per request"}


def tightest_loop(n=REQUESTS, workers=8):
    """Start times of n M/M/8 requests at 80 % load: a heap of worker-free times, one pass, nothing else."""
    rng = np.random.default_rng(0)
    arrivals = np.cumsum(rng.exponential(0.05 / workers / 0.8, n)).tolist()
    services, free, starts = rng.exponential(0.05, n).tolist(), [0.0] * workers, []
    for t, s in zip(arrivals, services):
        start = free[0] if free[0] > t else t
        heapreplace(free, start + s)
        starts.append(start)
    return starts


def cpu(fn, *args, **options):
    return sum(split(fn, *args, **options))


def split(fn, *args, **options):
    """(user, system) CPU seconds of one call: system time is mostly page faults of fresh memory (a run asks
    for ordinary pages: :func:`chapter1.core.simulation.small_pages`)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    fn(*args, **options)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def main():
    names = sys.argv[1:] or ["single", *POLICIES, "dies", "threads"]
    floor = statistics.median(cpu(tightest_loop) for _ in range(ROUNDS))
    warm = cpu(kernels.compiled)
    print(f"{REQUESTS:,} requests, event-free engine, CPU s (median of {ROUNDS}); the tightest Python FCFS loop "
          f"over as many: {floor:.2f} s; once per process, numba and the compiled loops loaded in {warm:.2f} s")
    medians, users = {}, {}
    for name in names:
        row = []
        for load in (0.8, 1.5):
            arch, workload = configuration(name, load)
            parts = [split(c.simulate, arch, workload, requests=REQUESTS, seed=0, engine="fast")
                     for _ in range(ROUNDS)]
            runs = [user + system for user, system in parts]
            median = medians[name, load] = statistics.median(runs)
            users[name, load] = statistics.median(user for user, _ in parts)
            row.append(f"{load:.0%} load {median:5.2f} s ({min(runs):.2f}-{max(runs):.2f}, user "
                       f"{users[name, load]:.2f}, {median / floor:.1f}x the loop)")
        label = LABELS.get(name, f"load_balanced(8, {name!r})")
        print(f"{label:<40} " + " · ".join(row) + f"  (target <= {TARGET_S} s)", flush=True)
    (name, load), worst = max(medians.items(), key=lambda item: item[1])
    print(f"| {REQUESTS:,} requests, event-free engine, {len(names)} configurations at 80 % and 150 % load | "
          f"CPU median {statistics.median(medians.values()):.2f} s, slowest {worst:.2f} s ({name}, {load:.0%} load); "
          f"user CPU alone median {statistics.median(users.values()):.2f} s, slowest {max(users.values()):.2f} s; "
          f"the Python FCFS loop alone {floor:.2f} s | <= {TARGET_S} s |")


if __name__ == "__main__":
    main()
