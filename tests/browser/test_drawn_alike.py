"""A chart the browser draws after a slider moves is the picture the kernel draws, pixel for pixel.

For every live panel of chapters 01-04: move its slider, so that JupyterLab's Vega draws the chart, and
take a picture of it; then switch the notebook's kernel to drawing SVG itself, move the slider away and
back to the same value (the same setting and seed, so the same runs) and take another: the two must be
the same pixels.  The first panel's browser chart is drawn in JupyterLab's dark theme, whose colours the
chart's spec overrides.

The kernel lays text out with Liberation Sans (Arial's widths), so this browser's sans-serif is Liberation
Sans too (Debian's fonts-liberation, named by a fontconfig file): with a wider sans-serif (DejaVu Sans) a
moved chart's plot area sits a few pixels to the right, the one difference a learner can see.
"""

from __future__ import annotations

import os
import subprocess

import labdriver
import pytest
from conftest import in_ci
from labdriver import ARTIFACTS

NOTEBOOKS = ["notebooks/01_single_server.ipynb", "notebooks/02_database_tier.ipynb",
             "notebooks/03_vertical_vs_horizontal.ipynb", "notebooks/04_load_balancer.ipynb"]
FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="strong"><family>sans-serif</family><prefer><family>Liberation Sans</family></prefer></alias>
</fontconfig>
"""
DARK = "document.body.dataset.jpThemeLight = 'false'"
LIGHT = "document.body.dataset.jpThemeLight = 'true'"


def _liberation_sans(config):
    """Whether fontconfig, given ``config``, answers Liberation Sans for sans-serif."""
    try:
        found = subprocess.run(["fc-match", "sans-serif"], capture_output=True, text=True, timeout=30,
                               env={**os.environ, "FONTCONFIG_FILE": str(config)}).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Liberation Sans" in found


@pytest.fixture(scope="module")
def arial_widths_lab(lab, lab_server, tmp_path_factory):
    """A second Chromium whose sans-serif is Liberation Sans, on the same JupyterLab."""
    config = tmp_path_factory.mktemp("fonts") / "fonts.conf"
    config.write_text(FONTS)
    if not _liberation_sans(config):
        reason = "Liberation Sans is not installed (apt-get install fonts-liberation)"
        if in_ci():
            pytest.fail(f"this browser test must run in CI (CI=true), but {reason}", pytrace=False)
        pytest.skip(reason)
    browser = lab.page.context.browser.browser_type.launch(
        executable_path=labdriver.find_chromium(), args=labdriver.CHROMIUM_ARGS, headless=True,
        env={**os.environ, "FONTCONFIG_FILE": str(config)})
    try:
        context = browser.new_context(viewport=labdriver.VIEWPORT, device_scale_factor=1, service_workers="block")
        yield labdriver.LabPage(context, lab_server, labdriver.NetworkGuard().install(context)).boot()
        context.close()
    finally:
        browser.close()


def _picture(page, panel):
    return page.locator(f'[data-browser-panel="{panel["panel"]}"] .widget-output').first.screenshot()


@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS)
def test_a_moved_chart_looks_the_same_drawn_by_the_browser_or_the_kernel(arial_widths_lab, path):
    lab = arial_widths_lab
    lab.open(path)
    lab.start_run(path)
    lab.wait_runs([path])
    panels = lab.find_live_panels(path)
    assert panels, f"{path} has no live panel"
    different = []
    for k, panel in enumerate(panels):
        lab.page.evaluate(DARK if k == 0 else LIGHT)
        there = lab.move_slider(path, panel)
        assert there.changed and there.drawn_by == "browser", there
        drawn_by_browser = _picture(lab.page, panel)
        lab.page.evaluate(LIGHT)
        lab.execute(path, "from chapter1 import widgets; widgets.draw_charts_in('kernel')")
        back = "ArrowLeft" if there.key == "ArrowRight" else "ArrowRight"
        assert lab.move_slider(path, panel, key=back).changed
        again = lab.move_slider(path, panel, key=there.key)
        assert again.changed and again.drawn_by == "kernel", again
        drawn_by_kernel = _picture(lab.page, panel)
        lab.execute(path, "from chapter1 import widgets; widgets.draw_charts_in('browser')")
        if drawn_by_browser != drawn_by_kernel:
            name = f"{path.rsplit('/', 1)[-1][:2]}-panel{k}"
            (ARTIFACTS / "drawn-alike").mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "drawn-alike" / f"{name}-browser.png").write_bytes(drawn_by_browser)
            (ARTIFACTS / "drawn-alike" / f"{name}-kernel.png").write_bytes(drawn_by_kernel)
            different.append(f"panel in cell {panel['cell']} ({panel['slider']!r}): "
                             f"see build/browser/drawn-alike/{name}-*.png")
    lab.close(path)
    assert not different, f"{path}: the browser's chart differs from the kernel's: " + "; ".join(different)
