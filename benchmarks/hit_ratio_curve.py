"""Time the exact all-sizes LRU curve (stack distances) for 1,000,000 Zipf(0.8) requests over 10,000 keys.

Target: <= 1 s.  If libCacheSim is installed (optional), it runs the same requests through its LRU at a
few sizes, one run per size, and prints the time per size and the time all 10,000 sizes would take.
"""

import statistics
import time

from chapter1 import Workload, hit_ratio_curve
from chapter1.components.cache import workload_keys

REQUESTS, SIZES = 1_000_000, (100, 1_000, 5_000)


def main():
    workload = Workload(keys=10_000, zipf_s=0.8)
    hit_ratio_curve(workload, requests=10_000)  # warm up numpy
    wall, cpu = [], []
    for seed in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        curve = hit_ratio_curve(workload, requests=REQUESTS, seed=seed).set_index("cache_size")["hit_ratio"]
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    print(f"hit_ratio_curve, {REQUESTS:,} requests, every size 1..{workload.keys:,}: "
          f"median {statistics.median(wall):.2f} s wall, {statistics.median(cpu):.2f} s CPU (target <= 1 s); "
          f"LRU at 1,000 keys hits {curve[1_000]:.4f}")
    try:
        import libcachesim as lcs
    except ImportError:
        print("libcachesim is not installed (optional): no comparison")
        return
    keys = workload_keys(workload, REQUESTS, seed=2).tolist()
    per_size = []
    for size in SIZES:
        start, cache, request = time.perf_counter(), lcs.LRU(size), lcs.Request()
        request.obj_size, hits = 1, 0
        for key in keys:
            request.obj_id = key + 1
            hits += cache.get(request)
        per_size.append(time.perf_counter() - start)
        print(f"libCacheSim LRU at {size:>5,} keys: {per_size[-1]:.2f} s, hits {hits / REQUESTS:.4f} "
              f"(curve: {curve[size]:.4f})")
    mean = statistics.mean(per_size)
    print(f"libCacheSim, one run per size: {mean:.2f} s a size, {mean * workload.keys / 3_600:.1f} h for every size; "
          f"the curve is {mean * workload.keys / statistics.median(wall):,.0f}x quicker for the whole curve")


if __name__ == "__main__":
    main()
