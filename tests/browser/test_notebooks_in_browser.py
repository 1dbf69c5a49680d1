"""Every course notebook, as a learner sees it: JupyterLab in Chromium, offline.

For each notebook in ``notebooks/`` and ``solutions/``: open it, Run All,
and check that every cell ran without error, every chart drew, every widget
rendered, no request left the machine, and that moving a slider of every
live panel redraws its chart. The time from keypress to redrawn chart is
printed and written to ``build/browser/timings.json`` (a figure, not an
assertion); a screenshot goes to ``build/browser/<folder>/<notebook>.png``
(first live panel, else first chart, in view).

``BROWSER_PARALLEL`` (default 2): notebooks run at a time.
``BROWSER_FULL_SCREENSHOTS=1``: also ``<notebook>.full.png``, the whole notebook
in one tall image (~1 s more per notebook).
``BROWSER_TRACE=1``: print the kernel messages of every slider move.
"""

from __future__ import annotations

import functools

import pytest
from labdriver import NOTEBOOK_TEST, course_notebooks


def _chapter(path: str) -> str:
    return path.rsplit("/", 1)[-1][:2]


@functools.cache
def kernel_drawn() -> frozenset[str]:
    """Chapters with a panel whose chart is a picture made in the kernel (a chart beside a hash ring)."""
    from chapter1.present import charts, panels

    return frozenset(p.chapter for p in panels.all_panels()
                     if not isinstance(p.draw(requests=300)[0], charts.Drawing))


def findings(report) -> list[str]:
    """Everything wrong with one notebook, as sections of one failure message."""
    together = ""
    if report.ran_with:
        together = (f" (while {', '.join(report.ran_with)} ran too; "
                    "BROWSER_PARALLEL=1 tells them apart)")
    found = []
    if report.failure:
        found.append(f"the browser check could not finish: {report.failure}")
    if report.blocked:
        found.append(f"the page tried to reach the internet{together}; a workshop room may "
                     "have none. Blocked:\n    " + "\n    ".join(report.blocked))
    if report.problems:
        found.append("what the learner sees is broken:\n    " + "\n    ".join(report.problems))
    if report.page_errors:
        found.append(f"uncaught errors in the page{together}:\n    "
                     + "\n    ".join(report.page_errors))
    drawn_here = [m for m in report.moves if m.drawn_by == "kernel"]
    if drawn_here and _chapter(report.path) not in kernel_drawn():
        found.append("a moved slider's chart was drawn in the kernel, not by JupyterLab's Vega renderer: " + "; ".join(
            f"panel in cell {m.cell}, slider {m.slider!r}" for m in drawn_here))
    if report.dead_sliders:
        found.append("moving a slider did not redraw its chart: " + "; ".join(
            f"panel in cell {m.cell}, slider {m.slider!r} ({m.key})" for m in report.dead_sliders))
    return found


@pytest.mark.browser
@pytest.mark.parametrize("path", course_notebooks())
def test_notebook_works_in_the_browser(course, path):
    report = course.report(path)
    print(report.summary())
    found = findings(report)
    if found:
        pytest.fail(f"{path} does not work in JupyterLab:\n  - " + "\n  - ".join(found),
                    pytrace=False)


assert test_notebook_works_in_the_browser.__name__ == NOTEBOOK_TEST
