"""Per-request cost of simulate(single_server(...)) relative to a bare simpy M/M/1 loop, for each engine.

All run the same number of requests in this process, alternately, and the ratio of medians (CPU time,
so that other processes' turns on a shared machine do not count) is printed.  Targets: the simpy
engine <= 1.15x of bare simpy (it is the same event loop with the course's bookkeeping); the
event-free engine well below 1x.

The course's servers hold their workers in :class:`chapter1.components.server.Slots` (simpy.Resource's
events at the same moments, in fewer calls), so the simpy engine can beat the textbook loop.  A second
baseline runs the textbook loop on those Slots: the ratio against it is the bookkeeping alone.
"""

import statistics
import time

import numpy as np
import simpy

from chapter1 import Workload, simulate, single_server
from chapter1.components.server import Slots

REQUESTS = 50_000
RATE, SERVICE_S = 16.0, 0.05  # 80% load on one worker
ROUNDS = 5


def bare_simpy_mm1(n, seed=0, workers=simpy.Resource):
    """The textbook simpy M/M/1: a source process, one process per customer, a Resource (or the course's
    ``Slots``)."""
    rng = np.random.default_rng(seed)
    gaps, services = rng.exponential(1 / RATE, n).tolist(), rng.exponential(SERVICE_S, n).tolist()
    env = simpy.Environment()
    server = workers(env, capacity=1)
    response = [0.0] * n

    def customer(i):
        arrived = env.now
        slot = server.request()
        yield slot
        yield env.timeout(services[i])
        server.release(slot)
        response[i] = env.now - arrived

    def source():
        for i, gap in enumerate(gaps):
            yield env.timeout(gap)
            env.process(customer(i))

    env.process(source())
    env.run()
    return response


def course_mm1(n, seed=0, engine="simpy"):
    arch = single_server(workers=1, service_time_ms=SERVICE_S * 1000)  # with DNS, queue limit, timeout
    return simulate(arch, Workload.from_rate(RATE), requests=n, seed=seed, engine=engine)


def timed(fn, *args):
    start = time.process_time()
    fn(REQUESTS, *args)
    return time.process_time() - start


def main():
    bare, slots, simpy_engine, fast_engine = [], [], [], []
    for _ in range(ROUNDS):
        bare.append(timed(bare_simpy_mm1))
        slots.append(timed(bare_simpy_mm1, 0, Slots))
        simpy_engine.append(timed(course_mm1, 0, "simpy"))
        fast_engine.append(timed(course_mm1, 0, "fast"))
    b, b2, s, f = (statistics.median(t) for t in (bare, slots, simpy_engine, fast_engine))
    print(f"requests per run        {REQUESTS:,}")
    print(f"bare simpy M/M/1        {b * 1e6 / REQUESTS:6.2f} us/request  (CPU, median of {ROUNDS})")
    print(f"  the same on Slots     {b2 * 1e6 / REQUESTS:6.2f} us/request  ratio {b2 / b:5.2f}x")
    print(f"simulate, simpy engine  {s * 1e6 / REQUESTS:6.2f} us/request  ratio {s / b:5.2f}x  (target <= 1.15x); "
          f"{s / b2:5.2f}x of the loop on Slots")
    print(f"simulate, fast engine   {f * 1e6 / REQUESTS:6.2f} us/request  ratio {f / b:5.2f}x")


if __name__ == "__main__":
    main()
