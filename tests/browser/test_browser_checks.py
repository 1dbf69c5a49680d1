"""The browser checks can fail: they catch a broken notebook, pass a good one.

``good.ipynb`` and ``broken.ipynb`` are built by ``fixtures/make_fixtures.py``
into the server's scratch folder. The checks are run directly on them, so the
suite stays green while showing each detector finding its fault.
"""

from __future__ import annotations

import labdriver
import pytest
from labdriver import FIXTURE_DIR

GOOD = f"{FIXTURE_DIR}/good.ipynb"
BROKEN = f"{FIXTURE_DIR}/broken.ipynb"


@pytest.fixture(scope="module")
def fixture_reports(lab):
    # One at a time, so that each blocked request is known to come from its
    # own notebook; a short slider timeout, since the dead panel never answers.
    return lab.check_notebooks([GOOD, BROKEN], parallel=1, moves_per_panel=2,
                               slider_timeout_ms=2_000, screenshots=None)


@pytest.fixture(scope="module")
def broken_report(fixture_reports):
    report = fixture_reports[BROKEN]
    assert report.failure is None, report.failure
    return report


@pytest.mark.browser
def test_a_working_notebook_passes_every_check(fixture_reports):
    report = fixture_reports[GOOD]
    assert report.failure is None, report.failure
    print(report.summary())
    assert report.run_ok and report.settled
    assert report.problems == []
    assert report.blocked == []
    assert report.page_errors == []
    assert len(report.panels) == 1 and report.panels[0]["sliders"] == 3
    assert report.moves and all(m.changed and m.ms is not None and m.ms > 0
                                for m in report.moves)


@pytest.mark.browser
def test_a_chart_that_needs_the_internet_is_caught(broken_report):
    assert any("cdn.jsdelivr.net" in url for url in broken_report.blocked)
    assert any("HTML (vega-embed) chart did not draw" in p for p in broken_report.problems)
    assert any("Error loading script" in p for p in broken_report.problems)


@pytest.mark.browser
def test_an_output_without_renderer_is_caught(broken_report):
    assert any("no renderer" in p and "vegalite.v6" in p for p in broken_report.problems)


@pytest.mark.browser
def test_a_widget_that_cannot_render_is_caught(broken_report):
    assert any("widget did not render" in p for p in broken_report.problems)
    assert any("Error displaying widget" in p for p in broken_report.problems)


@pytest.mark.browser
def test_a_live_panel_without_chart_is_caught(broken_report):
    assert any("live panel shows no chart" in p and "replicas" in p for p in broken_report.problems)


@pytest.mark.browser
def test_a_missing_picture_is_caught(broken_report):
    assert any("image in the text did not load" in p and "/no-such-diagram.png>" in p
               for p in broken_report.problems)


@pytest.mark.browser
def test_an_error_output_is_caught(broken_report):
    assert not broken_report.run_ok
    assert any("error output RuntimeError: this cell fails on purpose" in p
               for p in broken_report.problems)


@pytest.mark.browser
def test_a_slider_that_does_nothing_is_caught(broken_report):
    assert len(broken_report.panels) == 1
    assert [m.changed for m in broken_report.moves] == [False]
    assert broken_report.dead_sliders[0].slider == "servers"


# -- the pure parts, no browser needed -------------------------------------------


def test_only_loopback_counts_as_local():
    local = labdriver.NetworkGuard.is_local
    assert local("http://127.0.0.1:8888/lab")
    assert local("ws://localhost:8888/api/kernels/x/channels")
    assert local("data:image/svg+xml,%3Csvg%3E")
    assert not local("https://cdn.jsdelivr.net/npm/vega@6")
    assert not local("http://127.0.0.1.example.com/")
    assert not local("wss://example.org/socket")


def _cell(outputs=(), tags=(), **dom):
    base = {"stderr": [], "images": [], "vega": [], "htmlCharts": [], "widgets": [],
            "failureTexts": []}
    base.update(dom)
    return {"index": 3, "tags": list(tags), "executionCount": 1, "source": "x = 1",
            "outputs": list(outputs), "dom": base}


def test_render_problems_names_each_fault():
    error = {"type": "error", "text": "ValueError: users must be >= 0"}
    assert labdriver.render_problems([_cell()]) == []
    assert "error output ValueError" in labdriver.render_problems([_cell([error])])[0]
    assert labdriver.render_problems([_cell([error], tags=["raises-exception"])]) == []
    assert "did not settle" in labdriver.render_problems([_cell()], settled=False)[0]
    undrawn = _cell(images=[{"mime": "image/svg+xml", "drawn": False}])
    assert "image/svg+xml output did not draw" in labdriver.render_problems([undrawn])[0]
    in_widget = _cell(stderr=["Traceback ... KeyError"])
    assert "error shown in a widget" in labdriver.render_problems([in_widget])[0]
    chartless = _cell(widgets=[{"rendered": True, "chartless": True, "text": "users"}])
    assert "live panel shows no chart" in labdriver.render_problems([chartless])[0]
    picture = {"index": 0, "kind": "markdown", "source": "# Title", "brokenImages": ["../docs/x.png"]}
    assert "image in the text did not load: '../docs/x.png'" in labdriver.render_problems([picture])[0]
    unrenderable = {"type": "display_data", "mimetypes": ["application/x-nothing"],
                    "renderer": None}
    assert "no renderer" in labdriver.render_problems([_cell([unrenderable])])[0]
