"""Time one live-panel update (simulate + chart to SVG) of chapter 01 at the default request budget.

Prints the median over repeated updates for 1,000 and 10,000,000 users.  Target: <= 150 ms.
"""

import statistics
import time

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


def main():
    print(f"request budget per update: {DEFAULT_REQUESTS:,}")
    for users in (1_000, 10_000_000):
        median, worst = median_ms(users)
        print(f"users = {users:>10,}: median {median:6.1f} ms, worst {worst:6.1f} ms  (target median <= 150 ms)")


if __name__ == "__main__":
    main()
