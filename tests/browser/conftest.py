"""Fixtures for the real-browser tests: one JupyterLab, one Chromium, one tab.

Without chromium or the playwright package the tests are skipped with the
reason; with ``CI=true`` that is a failure instead, since CI must run them.
``CHROMIUM`` may name the browser binary (default: ``chromium`` on PATH).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import labdriver  # noqa: E402
from labdriver import ARTIFACTS, FIXTURE_DIR, NOTEBOOK_TEST, REPO  # noqa: E402

# The fixture notebooks are written at test time, into the server's scratch
# folder; nothing here is for nbval to collect.
collect_ignore_glob = ["fixtures/*"]


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


def require_browser() -> None:
    reason = missing_browser()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"browser tests must run in CI (CI=true), but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser_timings():
    """Per-notebook figures, written to build/browser/timings.json at the end."""
    figures: dict = {"notebooks": {}}
    yield figures
    if figures["notebooks"]:
        figures["browser_session_s"] = round(time.perf_counter() - figures.pop("_started"), 1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "timings.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, browser_timings):
    """One JupyterLab for the whole session, on a scratch copy of the course."""
    require_browser()
    browser_timings["_started"] = time.perf_counter()
    sys.path.insert(0, str(HERE / "fixtures"))
    try:
        from make_fixtures import write_fixtures
    finally:
        sys.path.remove(str(HERE / "fixtures"))
    base = tmp_path_factory.mktemp("jupyterlab")
    root = labdriver.make_scratch_root(REPO, base / "root")
    write_fixtures(root / FIXTURE_DIR)
    server = labdriver.LabServer(root, base / "state")
    started = time.perf_counter()
    server.start()
    browser_timings["server_start_s"] = round(time.perf_counter() - started, 2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab(lab_server, browser_timings):
    """A JupyterLab tab in Chromium; every request leaving loopback is blocked."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        started = time.perf_counter()
        browser = playwright.chromium.launch(
            executable_path=labdriver.find_chromium(),
            args=labdriver.CHROMIUM_ARGS,
            headless=True,
        )
        try:
            context = browser.new_context(viewport=labdriver.VIEWPORT, device_scale_factor=1,
                                          service_workers="block")
            guard = labdriver.NetworkGuard().install(context)
            page = labdriver.LabPage(context, lab_server, guard).boot()
            browser_timings["browser_and_lab_boot_s"] = round(time.perf_counter() - started, 2)
            yield page
            context.close()
        finally:
            browser.close()


@pytest.fixture(scope="session")
def course(request, lab, browser_timings):
    """The selected course notebooks, checked in batches on first demand."""
    selected = [
        item.callspec.params["path"]
        for item in request.session.items
        if getattr(item, "originalname", None) == NOTEBOOK_TEST and hasattr(item, "callspec")
    ]
    parallel = max(1, int(os.environ.get("BROWSER_PARALLEL", "2")))
    browser_timings["parallel"] = parallel
    full = os.environ.get("BROWSER_FULL_SCREENSHOTS", "").strip().lower() in ("1", "true", "yes")
    return labdriver.CourseRun(lab, selected, parallel, browser_timings["notebooks"],
                               full_screenshots=full)
