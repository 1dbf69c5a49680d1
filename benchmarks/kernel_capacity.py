"""One learner's kernel: its memory after every chapter, and the CPU of a slider move.

Starts one Jupyter kernel (``python3``, as JupyterLab would), runs every notebook of the textbook
(notebooks/*.ipynb, in order) in that same kernel, as a learner who works through the whole course
without restarting, and reads the kernel's resident memory (VmRSS) and its peak (VmHWM) from
/proc after each chapter.  Then, in the same kernel, it moves every live panel's controls as a
learner would (``Panel.moves``) and times each redraw's CPU inside the kernel: the view and the chart as
the panel sends it (by default its Vega spec, which the browser draws; ``CHAPTER1_DRAW=kernel``: its SVG).

Prints the figures README's "Serving a room" paragraph quotes, and the arithmetic for a node.

    python benchmarks/kernel_capacity.py [MOVES_PER_PANEL]      # default 6
"""

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
sys.path.insert(0, str(REPO / "tests" / "browser"))

PROBE = """
import os as _os, resource as _resource
print(__import__("json").dumps({
    "rss": int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024,
    "hwm": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024,
    "cpu": sum(_resource.getrusage(_resource.RUSAGE_SELF)[:2])}))
"""
MOVES = """
import json as _json, statistics as _st, time as _time
from IPython.core.formatters import format_display_data as _format
from chapter1.present.panels import all_panels as _all, shown as _shown
_costs = {}
for _p in _all():
    _p.draw()
    _cpu = []
    for _s in _p.moves(%d):  # a move: the view, then the chart as the panel displays it, formatted and serialised
        _t = _time.process_time()
        _json.dumps(_format(_shown(_p.draw(**_s)[0], moved=True)))
        _cpu.append(_time.process_time() - _t)
    _costs[f"{_p.chapter} {_p.name}"] = _cpu
print(_json.dumps(_costs))
"""


def run(client, code, timeout=900):
    """Execute ``code`` in the kernel; returns (its stdout, whether it raised)."""
    out, failed = [], []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content.get("name") == "stdout":
            out.append(content["text"])
        elif kind == "error":
            failed.append(content.get("ename", "error"))

    client.execute_interactive(code, timeout=timeout, output_hook=hook, allow_stdin=False)
    return "".join(out), bool(failed)


def probe(client):
    return json.loads(run(client, PROBE)[0].strip().splitlines()[-1])


def status(pid):
    """(resident, peak resident) bytes of process ``pid``."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM"))


def server_memory():
    """Peak resident bytes of the learner's own JupyterLab server (what JupyterHub starts per learner),
    after it served the page and a chapter; None without the browser tests' driver."""
    try:
        import labdriver
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        root = labdriver.make_scratch_root(REPO, Path(scratch) / "root")
        server = labdriver.LabServer(root, Path(scratch) / "state").start()
        try:
            for path in ("/lab", "/api/contents/notebooks/01_single_server.ipynb", "/lab/api/settings"):
                urllib.request.urlopen(server.url + path, timeout=60).read()
            return status(server.process.pid)[1]
        finally:
            server.stop()


def main():
    moves = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO / "notebooks"))
    try:
        start = probe(client)
        print(f"fresh kernel: {start['rss'] / MB:.0f} MB resident")
        errors, started, chapter_cpu, now = 0, time.perf_counter(), [], start
        for path in notebooks:
            cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
            failed = sum(run(client, source)[1] for source in cells)
            errors += failed
            before, now = now, probe(client)
            chapter_cpu.append(now["cpu"] - before["cpu"])
            print(f"after {path.name:<36} {now['rss'] / MB:6.0f} MB resident, peak {now['hwm'] / MB:6.0f} MB, "
                  f"kernel CPU so far {now['cpu']:6.1f} s" + (f"  ({failed} cells raised)" if failed else ""),
                  flush=True)
        after = probe(client)
        print(f"every chapter ({len(notebooks)} notebooks, {time.perf_counter() - started:.0f} s wall): "
              f"{after['rss'] / MB:.0f} MB resident, peak {after['hwm'] / MB:.0f} MB, {after['cpu']:.1f} s CPU, "
              f"{errors} cells raised")
        costs = json.loads(run(client, MOVES % moves)[0].strip().splitlines()[-1])
        last = probe(client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    every = [c for cpu in costs.values() for c in cpu]
    medians = {name: statistics.median(cpu) for name, cpu in costs.items()}
    print(f"slider moves in that kernel, {moves} per panel, CPU s per move: median {statistics.median(every):.3f}, "
          f"mean {statistics.mean(every):.3f}, per-panel medians {min(medians.values()):.3f}-"
          f"{max(medians.values()):.3f} (slowest: {max(medians, key=medians.get)})")
    print(f"after the moves: {last['rss'] / MB:.0f} MB resident, peak {last['hwm'] / MB:.0f} MB")
    server = server_memory()
    if server is not None:
        print(f"the learner's JupyterLab server: peak {server / MB:.0f} MB resident")
    learner_gb, cpu_move = (last["hwm"] + (server or 0)) / 1024**3, statistics.mean(every)
    print(f"running a chapter top to bottom: {statistics.median(chapter_cpu):.1f} s CPU (median; "
          f"{min(chapter_cpu):.1f}-{max(chapter_cpu):.1f})")
    print(f"one learner: {learner_gb:.2f} GB (kernel peak + server); a node's share, assuming 1 GB kept for the "
          "system and the hub, and a learner moving a slider every 10 s while exploring a panel:")
    for cores, ram_gb in ((2, 8), (4, 16), (8, 32), (16, 64)):
        by_memory = int((ram_gb - 1) / learner_gb)
        by_cpu = int(cores / (cpu_move / 10))
        print(f"  {cores:2d} cores, {ram_gb:3d} GB: memory {ram_gb - 1} / {learner_gb:.2f} = {by_memory} learners; "
              f"CPU {cores} / ({cpu_move:.3f} / 10) = {by_cpu} learners moving sliders; "
              f"serves {min(by_memory, by_cpu)}")

if __name__ == "__main__":
    main()
