"""Peak memory of 1,000,000 requests through load_balanced(servers) with 8 and 64 servers, each engine path.

Each case runs in a fresh process, which reports its peak resident memory (VmHWM) after importing the
course and after simulate() + summary(); the difference is the run's own peak.  Memory must grow with
the requests, not with servers x requests: 64 servers should cost about what 8 cost.

    python benchmarks/memory.py
"""

import subprocess
import sys

REQUESTS = 1_000_000
CASES = [(8, "round_robin"), (64, "round_robin"), (8, "least_connections"), (64, "least_connections")]

CHILD = """
import sys
import chapter1 as c
from chapter1.core import kernels

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

servers, policy, requests = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
arch = c.load_balanced(servers, policy, workers=1, service_time_ms=50)
workload = c.Workload.from_rate(0.8 * servers * 20)
c.simulate(arch, workload, requests=1_000, seed=0)  # every module the run needs is imported,
kernels.compiled()  # and the compiled loops a long run takes (numba's own memory is not the run's)
before = peak_mb()
c.simulate(arch, workload, requests=requests, seed=0).summary()
print(before, peak_mb())
"""


def peak(servers, policy, requests=REQUESTS):
    """(peak MB after import, peak MB after the run) of one run in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(servers), policy, str(requests)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    print(f"{REQUESTS:,} requests, event-free engine, peak resident memory (VmHWM)")
    for servers, policy in CASES:
        before, after = peak(servers, policy)
        print(f"{servers:>3} servers, {policy:<18} {after:7.0f} MB peak, {after - before:6.0f} MB for the run "
              f"({(after - before) * 2**20 / REQUESTS:.0f} bytes per request)")


if __name__ == "__main__":
    main()
