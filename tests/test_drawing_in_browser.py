"""A moved slider sends the chart's Vega spec for the browser to draw; a panel's first chart, and every chart
with ``draw_charts_in("kernel")``, is SVG drawn in the kernel."""

import json

import pytest
import vl_convert

from chapter1.present import charts, panels, templates


@pytest.fixture
def shown(monkeypatch):
    """Every object a panel displays, in order (IPython's display is replaced for the test)."""
    import IPython.display

    objects = []
    monkeypatch.setattr(IPython.display, "display", objects.append)
    monkeypatch.setitem(panels.DRAWING, "where", "browser")
    return objects


DARK = vl_convert.get_themes()["dark"]  # JupyterLab hands it to its Vega renderer in a dark theme


def _leaves(config, path=()):
    """The key paths of a nested config's values."""
    if not isinstance(config, dict):
        return {path}
    return set().union(*(_leaves(v, (*path, k)) for k, v in config.items()))


@pytest.mark.parametrize("panel", panels.all_panels(), ids=lambda p: p.name)
def test_the_browser_gets_the_spec_the_kernel_draws(panel):
    """What a moved slider sends is plain JSON, and Vega draws from it the SVG the kernel draws for that setting."""
    setting = panel.moves(1)[0]
    chart = panel.draw(requests=300, **setting)[0]
    sent = panels.shown(chart, moved=True)
    if not isinstance(chart, charts.Drawing):  # a picture made of several (a chart beside a ring) stays SVG
        assert sent is chart and chart.data.startswith("<svg")
        return
    assert isinstance(sent, charts.BrowserDrawing), "this panel's chart cannot be drawn in the browser"
    data, metadata = sent._repr_mimebundle_()
    text = json.dumps(data, allow_nan=False)  # what jupyter_client's packer accepts
    spec = json.loads(text)[charts.BrowserDrawing.MIME]
    assert spec["$schema"].endswith("/vega/v5.json")
    assert templates.comparable(vl_convert.vega_to_svg(spec)) == templates.comparable(chart.data)  # the kernel's SVG
    assert "<path" in chart.data and chart.data.startswith("<svg")
    assert _leaves(DARK) <= _leaves(spec["config"]) | {("background",), ("view", "stroke")}, "a dark theme recolours it"
    assert spec["background"] == "white"  # what the dark theme's background gives way to; the view's frame is drawn
    assert metadata[charts.BrowserDrawing.MIME]["embed_options"] == {"actions": False, "renderer": "svg"}
    assert "draw_charts_in('kernel')" in data["text/plain"]


def test_all_but_a_composed_picture_are_drawn_in_the_browser():
    composed = [p.name for p in panels.all_panels() if not isinstance(p.draw(requests=300)[0], charts.Drawing)]
    assert composed == ["sharding"]


def test_a_panel_draws_its_first_chart_in_the_kernel_and_sends_specs_after(shown):
    panel = panels.all_panels()[0]
    box = panel.show(requests=300)
    assert len(shown) == 1 and shown[0]._repr_svg_().startswith("<svg")  # a saved notebook shows this one
    slider = box.children[0].children[0]
    slider.value = slider.value * 2
    assert len(shown) == 2 and charts.BrowserDrawing.MIME in shown[1]._repr_mimebundle_()[0]
    button = box.children[0].children[-1]
    button.click()  # a new run is a move too
    assert len(shown) == 3 and charts.BrowserDrawing.MIME in shown[2]._repr_mimebundle_()[0]
    panels.draw_charts_in("kernel")
    slider.value = slider.value / 2
    assert len(shown) == 4 and shown[3]._repr_svg_().startswith("<svg")


def test_a_chart_whose_data_json_cannot_carry_is_drawn_in_the_kernel(shown):
    template = charts.Template(charts.alt.Chart(charts.alt.Data(name="a")).mark_point().encode(x="x:Q", y="y:Q"))
    finite, infinite = (template.svg({"a": [{"x": 1, "y": y}, {"x": 2, "y": 3}]}) for y in (2, float("inf")))
    assert isinstance(panels.shown(finite, moved=True), charts.BrowserDrawing)
    assert panels.shown(infinite, moved=True) is infinite and infinite.data.startswith("<svg")


def test_the_place_is_checked_where_it_is_set(monkeypatch):
    monkeypatch.setitem(panels.DRAWING, "where", "browser")
    with pytest.raises(ValueError, match="where must be one of 'browser', 'kernel', not 'gpu'"):
        panels.draw_charts_in("gpu")
    assert panels.DRAWING["where"] == "browser"
    monkeypatch.setenv("CHAPTER1_DRAW", "Kernel")
    with pytest.raises(ValueError, match="CHAPTER1_DRAW must be one of browser, kernel, not 'Kernel'"):
        panels._from_environment()
    monkeypatch.setenv("CHAPTER1_DRAW", "kernel")
    assert panels._from_environment() == "kernel"
    monkeypatch.delenv("CHAPTER1_DRAW")
    assert panels._from_environment() == "browser"
