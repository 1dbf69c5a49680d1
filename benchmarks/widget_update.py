"""Time one live-panel update (simulate + chart to SVG) of chapter 01 at the default request budget.

Prints the median over repeated updates for 1,000 and 10,000,000 users.  Target: <= 150 ms.
Chapter 02's panel (web and database tiers, two charts) is timed the same way, each update
with a new database size so that no theory curve comes from the cache.
"""

import statistics
import time

from chapter1.database_tier import tiers_view
from chapter1.widgets import DEFAULT_REQUESTS, single_server_view

REPEATS = 15


def median_ms(users):
    single_server_view(users, 8, 50)  # warm up: chart template, vega engine
    times = []
    for k in range(REPEATS):
        start = time.perf_counter()
        single_server_view(users, 8 + k % 2, 50)  # alternate the setting, as a slider would
        times.append((time.perf_counter() - start) * 1_000)
    return statistics.median(times), max(times)


def tiers_median_ms(users):
    tiers_view(users, 8, 4, 30, 20)  # warm up
    times = []
    for k in range(REPEATS):
        start = time.perf_counter()
        tiers_view(users, 8, 2 + k, 30, 20)  # a new database size each time, as a slider would
        times.append((time.perf_counter() - start) * 1_000)
    return statistics.median(times), max(times)


def main():
    print(f"request budget per update: {DEFAULT_REQUESTS:,}")
    for users in (1_000, 10_000_000):
        median, worst = median_ms(users)
        print(f"users = {users:>10,}: median {median:6.1f} ms, worst {worst:6.1f} ms  (target median <= 150 ms)")
    print("chapter 02 panel (web + database tiers):")
    for users in (100_000, 10_000_000):
        median, worst = tiers_median_ms(users)
        print(f"users = {users:>10,}: median {median:6.1f} ms, worst {worst:6.1f} ms  (target median <= 150 ms)")


if __name__ == "__main__":
    main()
