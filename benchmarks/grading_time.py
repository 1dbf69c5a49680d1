"""Grading a class: N copies of chapter 01's solution, graded with ``python -m chapter1.grade --jobs 2``.

Prints the wall time, the seconds per notebook and the CPU (user + sys of every process the grader
started) per notebook, and splits one notebook's CPU into what any Python start costs (the pytest
runner's imports, paid once a grading since each runner is forked warm by chapter1.grading.warm; a
kernel's start) and what the course adds (``import chapter1``, the chart module,
the notebook's own cells).  Target: 50 notebooks with ``--jobs 2`` in <= 60 s, that is <= 1.2 s a
notebook on two idle cores.

    python benchmarks/grading_time.py [N]      # N defaults to 20
"""

import csv
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "solutions" / "01_single_server.ipynb"
JOBS = 2
BLOCK = "import sys; sys.modules.setdefault('rfc3987_syntax', None)"  # as the grader's runner does
PARTS = {  # one fresh interpreter each: CPU seconds of the imports a graded notebook pays for
    "bare interpreter": "pass",
    "runner's imports (once a grading: runners fork warm)": f"{BLOCK}; import pytest, nbval.plugin, jupyter_client",
    "kernel start (ipykernel)": "import ipykernel.kernelapp",
    "kernel + chapter 01's first cell": ("import ipykernel.kernelapp; import chapter1 as c; "
                                         "from chapter1 import analytic; from chapter1.grading import check"),
}
CELLS = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
for cell in json.load(open(sys.argv[1]))["cells"]:
    if cell["cell_type"] == "code":
        source = "".join(cell["source"])
        start = time.process_time()
        shell.run_cell(source, silent=True)
        print(f"{time.process_time() - start:.3f}", json.dumps(source.splitlines()[0] if source else ""))
"""
ROUNDS = 3


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(statement):
    """CPU seconds (user + sys) of a fresh interpreter running ``statement``."""
    code = f"import resource\n{statement}\nu = resource.getrusage(resource.RUSAGE_SELF)\nprint(u.ru_utime + u.ru_stime)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=REPO).stdout)


def grade_class(count):
    """Grade ``count`` copies of the notebook; returns (wall s, CPU s of the grader and its children, rows)."""
    with tempfile.TemporaryDirectory() as scratch:
        room = Path(scratch) / "class"
        for k in range(count):
            (room / f"student{k:03d}").mkdir(parents=True)
            shutil.copy(NOTEBOOK, room / f"student{k:03d}" / NOTEBOOK.name)
        gradebook = Path(scratch) / "gradebook.csv"
        cpu0, wall0 = children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "chapter1.grade", str(room), "--out", str(gradebook),
                        "--jobs", str(JOBS)], cwd=REPO, check=True, capture_output=True)
        wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
        with open(gradebook, newline="") as f:
            rows = list(csv.DictReader(f))
    return wall, cpu, rows


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"grading {count} copies of {NOTEBOOK.name} with --jobs {JOBS} (load average before: {' '.join(load)})")
    wall, cpu, rows = grade_class(count)
    print(f"  {len(rows)} rows; wall {wall:.1f} s = {wall / count:.2f} s a notebook "
          f"(50 notebooks: {50 * wall / count:.0f} s, target <= 60 s); CPU {cpu / count:.2f} s a notebook")
    idle = 50 * cpu / count / JOBS
    print(f"  on {JOBS} idle cores the CPU alone would take {idle:.0f} s for 50 notebooks")
    print(f"| grading 50 chapter-01 submissions, `--jobs {JOBS}` | {count} graded in {wall:.0f} s: "
          f"{wall / count:.2f} s a notebook, {50 * wall / count:.0f} s for 50 (load {' '.join(load)} before); "
          f"{cpu / count:.2f} s CPU a notebook, so {idle:.0f} s for 50 on {JOBS} idle cores | <= 60 s |")
    print(f"where a notebook's CPU goes (fresh interpreters, median of {ROUNDS}):")
    for label, statement in PARTS.items():
        seconds = statistics.median(cpu_seconds(statement) for _ in range(ROUNDS))
        print(f"  {label:<48} {seconds:5.2f} s CPU")
    print("the notebook's cells run in one interpreter (CPU; cells over 0.05 s):")
    out = subprocess.run([sys.executable, "-c", CELLS, str(NOTEBOOK)], capture_output=True, text=True, check=True,
                         cwd=REPO).stdout
    costs = [(float(line.split(" ", 1)[0]), line.split(" ", 1)[1]) for line in out.splitlines() if line[:1].isdigit()]
    for seconds, first_line in costs:
        if seconds > 0.05:
            print(f"  {seconds:5.2f} s  {first_line}")
    print(f"  {sum(s for s, _ in costs):5.2f} s  all cells")

if __name__ == "__main__":
    main()
