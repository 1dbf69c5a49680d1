"""What a learner waits for: arrow key on a slider -> redrawn chart, in JupyterLab in Chromium.

For every live panel of the textbook (notebooks/), press an arrow key on its first slider
several times and time, in the page, the keydown to the moment the new chart has loaded.
Prints the median per notebook, the kernel's share of it (busy to idle on the callback: the view and the
chart it sends; the browser starts drawing before the kernel is idle, so on a small machine they share cores),
and the ratio of the two: what the browser path (websocket, widget sync, rendering) adds.
Compare widget_update.py, which times the callback alone.  Target: median <= 150 ms (issue 9;
a chart that follows the hand), ratio near 1.

    python benchmarks/browser_slider.py [NOTEBOOK-NAME-PART ...]      # e.g. 01 02; default: every notebook

Needs Debian's chromium and the playwright package (the browser tests' setup); without
them it says so and exits 0.  Runs on a scratch copy of the repository, so nothing changes.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import labdriver  # noqa: E402

MOVES = 7


def main():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: the playwright package is not installed")
        return
    if labdriver.find_chromium() is None:
        print("skipped: chromium is not installed (apt-get install chromium)")
        return
    notebooks = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("*.ipynb")
                       if not sys.argv[1:] or any(part in p.name for part in sys.argv[1:]))
    if not notebooks:
        print("skipped: no notebooks")
        return
    with tempfile.TemporaryDirectory() as scratch:
        root = labdriver.make_scratch_root(REPO, Path(scratch) / "root")
        server = labdriver.LabServer(root, Path(scratch) / "state").start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=labdriver.find_chromium(),
                                                     args=labdriver.CHROMIUM_ARGS, headless=True)
                context = browser.new_context(viewport=labdriver.VIEWPORT, service_workers="block")
                lab = labdriver.LabPage(context, server, labdriver.NetworkGuard().install(context)).boot()
                started = time.perf_counter()
                # One at a time: nothing else runs while a slider is timed.
                reports = lab.check_notebooks(notebooks, parallel=1, moves_per_panel=MOVES,
                                              screenshots=None)
                elapsed = time.perf_counter() - started
                browser.close()
        finally:
            server.stop()

    print(f"{MOVES} arrow-key moves per live panel; times in the page, keydown -> chart loaded")
    everything = []
    for path, report in reports.items():
        moves = [m for m in report.moves if m.changed and m.ms is not None]
        if report.failure or report.dead_sliders:
            print(f"{path}: FAILED ({report.failure or 'a slider did not redraw'})")
            continue
        if not moves:
            print(f"{path}: no live panel")
            continue
        total = statistics.median(m.ms for m in moves)
        kernel = statistics.median(m.kernel_ms for m in moves if m.kernel_ms is not None)
        everything += moves
        print(f"{path}: median {total:6.0f} ms, worst {max(m.ms for m in moves):6.0f} ms; "
              f"kernel {kernel:6.0f} ms; redraw/kernel = {total / kernel:4.2f}x  "
              f"(target median <= 150 ms)")
    if everything:
        total = statistics.median(m.ms for m in everything)
        kernel = statistics.median(m.kernel_ms for m in everything if m.kernel_ms is not None)
        print(f"all panels: median {total:.0f} ms, kernel {kernel:.0f} ms, "
              f"redraw/kernel = {total / kernel:.2f}x over {len(everything)} moves "
              f"({len(notebooks)} notebooks checked in {elapsed:.0f} s)")
        times = [m.ms for m in everything]
        print(f"| browser: key press on a slider -> redrawn chart | median {total:.0f} ms ({min(times):.0f}-"
              f"{max(times):.0f}) over {len(times)} moves, {len(notebooks)} notebooks; the kernel's part "
              f"{kernel:.0f} ms | <= 150 ms |")


if __name__ == "__main__":
    main()
