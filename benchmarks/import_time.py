"""CPU time of importing the course in a fresh interpreter: the package, the simulation, the charts.

Each line runs in its own process (median of 5) against a bare interpreter in the same run.
Target: a learner's first simulation (import + simulate) <= 0.5 s of CPU.
"""

import statistics
import subprocess
import sys

STEPS = {
    "bare interpreter": "pass",
    "import chapter1": "import chapter1",
    "first simulation": "import chapter1 as c; c.simulate(c.single_server(), c.Workload(), requests=100)",
    "first chart module": "import chapter1 as c; c.charts",
}
ROUNDS = 5


def cpu_seconds(statement):
    usage = "u = resource.getrusage(resource.RUSAGE_SELF)\nprint(u.ru_utime + u.ru_stime)"
    code = f"import resource\n{statement}\n{usage}"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main():
    times = {}
    for label, statement in STEPS.items():
        times[label] = [cpu_seconds(statement) for _ in range(ROUNDS)]
        median = statistics.median(times[label])
        print(f"{label:<20} {median:5.2f} s CPU  (median of {ROUNDS}; {min(times[label]):.2f}-{max(times[label]):.2f})")
    bare, package, charts = (statistics.median(times[k]) for k in ("bare interpreter", "import chapter1",
                                                                   "first chart module"))
    print(f"| `import chapter1` | {package:.2f} s CPU (median of {ROUNDS}; a bare interpreter {bare:.2f} s); "
          f"with the chart module {charts:.2f} s | <= 0.5 s |")


if __name__ == "__main__":
    main()
