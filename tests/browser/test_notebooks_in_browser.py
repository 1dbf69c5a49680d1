"""Every course notebook, as a learner sees it: JupyterLab in Chromium, offline.

For each notebook in ``notebooks/`` and ``solutions/``: open it, Run All,
and check that every cell ran without error, every chart drew, every widget
rendered, no request left the machine, and that moving a slider of every
live panel redraws its chart. The time from keypress to redrawn chart is
printed and written to ``build/browser/timings.json`` (a figure, not an
assertion); screenshots go to ``build/browser/<folder>/<notebook>.png``
(first live panel in view) and ``.full.png`` (the whole notebook).

``BROWSER_PARALLEL`` (default 2) notebooks run at a time.
"""

from __future__ import annotations

import pytest
from labdriver import NOTEBOOK_TEST, course_notebooks


def _together(report) -> str:
    if not report.ran_with:
        return ""
    return (f" (while {', '.join(report.ran_with)} ran too; "
            "BROWSER_PARALLEL=1 tells them apart)")


@pytest.mark.browser
@pytest.mark.parametrize("path", course_notebooks())
def test_notebook_works_in_the_browser(course, path):
    report = course.report(path)
    print(report.summary())

    assert report.failure is None, f"{path}: the browser check could not finish: {report.failure}"
    assert not report.blocked, (
        f"{path}: the page tried to reach the internet{_together(report)}; a workshop "
        "room may have none. Blocked:\n  " + "\n  ".join(report.blocked))
    assert not report.problems, (
        f"{path} does not work in JupyterLab:\n  " + "\n  ".join(report.problems))
    assert not report.page_errors, (
        f"{path}: uncaught errors in the page{_together(report)}:\n  "
        + "\n  ".join(report.page_errors))
    dead = report.dead_sliders
    assert not dead, (
        f"{path}: moving a slider did not redraw its chart: "
        + "; ".join(f"panel in cell {m.cell}, slider {m.slider!r} ({m.key})" for m in dead))


assert test_notebook_works_in_the_browser.__name__ == NOTEBOOK_TEST
