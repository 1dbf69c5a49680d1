"""Fixtures for the real-browser tests: one JupyterLab, one Chromium, one tab.

Without chromium or the playwright package the tests are skipped with the
reason; with ``CI=true`` that is a failure instead, since CI must run them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import labdriver  # noqa: E402

# The fixture notebooks are written at test time; nbval must not collect
# anything here.
collect_ignore_glob = ["fixtures/*"]

ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", REPO / "build" / "browser"))
FIXTURE_DIR = "browser-fixtures"  # inside the server's scratch root
COURSE_FOLDERS = ("notebooks", "solutions")


def course_notebooks() -> list[str]:
    """Every notebook a learner opens: the textbook and the worked solutions."""
    found = []
    for folder in COURSE_FOLDERS:
        found += sorted(p.relative_to(REPO).as_posix() for p in (REPO / folder).glob("*.ipynb"))
    return found


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    if labdriver.find_chromium() is None:
        return "chromium is not installed (apt-get install chromium)"
    return None


def _require_browser():
    reason = missing_browser()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"browser tests must run in CI (CI=true), but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """One JupyterLab for the whole session, on a scratch copy of the course."""
    _require_browser()
    sys.path.insert(0, str(HERE / "fixtures"))
    try:
        from make_fixtures import write_fixtures
    finally:
        sys.path.remove(str(HERE / "fixtures"))
    base = tmp_path_factory.mktemp("jupyterlab")
    root = labdriver.make_scratch_root(REPO, base / "root", COURSE_FOLDERS)
    write_fixtures(root / FIXTURE_DIR)
    server = labdriver.LabServer(root, base / "state")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab(lab_server):
    """A JupyterLab tab in Chromium; every request leaving loopback is blocked."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=labdriver.find_chromium(),
            args=labdriver.CHROMIUM_ARGS,
            headless=True,
        )
        try:
            context = browser.new_context(viewport=labdriver.VIEWPORT,
                                          device_scale_factor=1,
                                          service_workers="block")
            guard = labdriver.NetworkGuard().install(context)
            yield labdriver.LabPage(context, lab_server, guard).boot()
            context.close()
        finally:
            browser.close()


NOTEBOOK_TEST = "test_notebook_works_in_the_browser"


class CourseRun:
    """Checks the selected course notebooks in batches, on first demand.

    A test asks for its notebook's report; the first ask of a batch runs the
    whole batch (this notebook and the next selected ones, ``parallel`` in
    all), so ``-k`` selections and single runs still work.
    """

    def __init__(self, lab, selected: list[str], parallel: int, timings: dict):
        self.lab = lab
        self.pending = list(dict.fromkeys(selected))
        self.parallel = parallel
        self.timings = timings
        self.reports: dict[str, labdriver.NotebookReport] = {}

    def report(self, path: str) -> labdriver.NotebookReport:
        if path not in self.reports:
            if path in self.pending:
                self.pending.remove(path)
            batch = [path] + self.pending[: self.parallel - 1]
            del self.pending[: self.parallel - 1]
            done = self.lab.check_notebooks(batch, parallel=self.parallel,
                                            screenshots=ARTIFACTS)
            self.reports.update(done)
            for name, report in done.items():
                self.timings[name] = report.timings()
        return self.reports[path]


@pytest.fixture(scope="session")
def course(request, lab, browser_timings):
    selected = [
        item.callspec.params["path"]
        for item in request.session.items
        if getattr(item, "originalname", None) == NOTEBOOK_TEST and hasattr(item, "callspec")
    ]
    parallel = int(os.environ.get("BROWSER_PARALLEL", "2"))
    browser_timings["_parallel"] = parallel
    return CourseRun(lab, selected, parallel, browser_timings)


@pytest.fixture(scope="session")
def browser_timings():
    """Collects per-notebook figures; written to build/browser/timings.json."""
    started = time.perf_counter()
    figures: dict = {}
    yield figures
    parallel = figures.pop("_parallel", None)
    if figures:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        payload = {
            "browser_session_s": round(time.perf_counter() - started, 1),
            "parallel": parallel,
            "notebooks": figures,
        }
        (ARTIFACTS / "timings.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
