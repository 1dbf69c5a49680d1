"""The static HTML book in a real Chromium: pages open, charts show, search works, nothing leaves loopback.

The site is ``make book``'s (``build/book/_build/html``), served by a local ``http.server`` on
127.0.0.1 and also opened straight from disk (file://), as a learner without a server would.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

import labdriver
import pytest
from conftest import in_ci, require_browser

SITE = labdriver.REPO / "build" / "book" / "_build" / "html"
PAGES_WITH_PANELS = ("notebooks/01_single_server.html", "notebooks/04_load_balancer.html",
                     "notebooks/12_sharding.html")


@pytest.fixture(scope="module")
def site():
    require_browser()
    if not (SITE / "index.html").is_file():
        if in_ci():
            pytest.fail(f"CI runs make book before the tests, but there is no book at {SITE}", pytrace=False)
        pytest.skip(f"no built book at {SITE}: run make book")
    return SITE


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _OutsideGuard:
    """Abort and remember every http(s) or websocket request that leaves loopback (file:// pages may load)."""

    def __init__(self):
        self.blocked: list[str] = []

    @staticmethod
    def leaves(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") not in labdriver.LOOPBACK_HOSTS

    def install(self, context):
        def on_route(route):
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

        context.route(self.leaves, on_route)
        return self

    def take(self) -> list[str]:
        taken, self.blocked = self.blocked, []
        return taken


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser_page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=labdriver.find_chromium(),
                                             args=labdriver.CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=labdriver.VIEWPORT, service_workers="block")
            guard = _OutsideGuard().install(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, guard, errors
            context.close()
        finally:
            browser.close()


def _charts(page):
    """Charts visible in the article: inline SVG and SVG images that loaded, with their size."""
    return page.evaluate("""() => {
      const main = document.querySelector('main') || document.body;
      const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 100 && r.height > 50; };
      const inline = [...main.querySelectorAll('svg.marks, .chapter1-snapshot svg')].filter(shown).length;
      const images = [...main.querySelectorAll('img[src$=".svg"]')]
        .filter((img) => img.complete && img.naturalWidth > 0 && shown(img)).length;
      return {inline, images};
    }""")


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES_WITH_PANELS)
def test_a_chapter_page_shows_its_charts_and_its_panel_snapshot(served, browser_page, path):
    page, guard, errors = browser_page
    page.goto(f"{served}/{path}", wait_until="load")
    charts = _charts(page)
    assert charts["images"] >= 1, f"{path}: no chart image shown ({charts})"
    assert charts["inline"] >= 1, f"{path}: the live panel's snapshot shows no chart ({charts})"
    assert page.locator(".chapter1-live .admonition-title").first.inner_text() == "Live panel"
    assert page.locator("nav.bd-docs-nav a").count() >= 13, "the table of contents is missing"
    assert guard.take() == [] and errors == []


@pytest.mark.browser
def test_search_finds_a_chapter_offline(served, browser_page):
    page, guard, errors = browser_page
    page.goto(f"{served}/search.html?q=replication", wait_until="load")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=15_000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("05_database_replication" in h for h in hrefs), hrefs
    assert guard.take() == [] and errors == []


@pytest.mark.browser
def test_the_book_opens_from_disk(site, browser_page):
    page, guard, errors = browser_page
    page.goto((site / "index.html").as_uri(), wait_until="load")  # redirects to book/intro.html
    page.wait_for_url("**/book/intro.html")
    page.get_by_role("link", name="the start page").first.click()
    page.wait_for_url("**/notebooks/00_start_here.html")
    assert _charts(page)["inline"] >= 1
    page.goto(Path(site, "book", "glossary.html").as_uri(), wait_until="load")
    assert page.locator("main table tbody tr").count() > 100
    assert guard.take() == []
    assert errors == [], errors



@pytest.mark.browser
def test_the_guard_would_catch_a_page_loading_from_outside(browser_page):
    page, guard, _ = browser_page
    page.set_content('<img src="https://cdn.example.org/x.png"><script src="http://example.org/a.js"></script>')
    page.wait_for_timeout(500)
    assert sorted(guard.take()) == ["http://example.org/a.js", "https://cdn.example.org/x.png"]
