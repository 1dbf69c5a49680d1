"""The presentation kit: panel registry, headline builder, scales and label placement."""


import altair as alt
import pandas as pd
import pytest

from chapter1.present import charts, panels, scales, templates


def test_every_chapter_registers_its_panels():
    names = {(p.chapter, p.name) for p in panels.all_panels()}
    assert {"01", "02", "03", "04", "05"} <= {chapter for chapter, _ in names}
    assert len(names) >= 6


@pytest.mark.parametrize("panel", panels.all_panels(), ids=lambda p: p.name)
def test_every_panel_draws_its_defaults_and_offers_them(panel):
    assert set(panel.defaults) == set(panel.controls)
    for name, control in panel.controls.items():
        assert panel.defaults[name] in control.values() or control.kind == "log", name
    chart, text = panel.draw(requests=300)
    assert isinstance(chart, charts.Picture) and chart.data.startswith("<svg")
    assert text.startswith("<div>") and "simulated requests" in text


@pytest.mark.parametrize("panel", panels.all_panels(), ids=lambda p: p.name)
def test_compiled_templates_draw_the_same_svg_as_vega_lite(panel, monkeypatch):
    """A panel's chart compiled to Vega once, data put in per redraw, is the SVG Vega-Lite draws from scratch."""
    drawn = []
    svg = charts.Template.svg
    monkeypatch.setattr(charts.Template, "svg", lambda self, datasets: drawn.append((self, datasets)) or
                        svg(self, datasets))
    panel.draw(requests=300)
    assert drawn, "the panel drew no chart through a Template"
    for template, datasets in drawn:
        assert any(len(charts.records(datasets.get(name, []))) for name in template.names), "no data to compare"
        fast, reference = svg(template, datasets).data, template.svg_from_vega_lite(datasets).data
        assert templates.comparable(fast) == templates.comparable(reference)
        assert fast.count("<path") == reference.count("<path") > 0


def test_compiled_templates_drop_only_what_the_picture_does_not_show():
    """No tooltips and no label limit on a number axis; a name axis keeps its limit, so a long name is still cut."""
    name = "a component whose name is far too long for the room an axis gives its labels, so it is cut short"
    chart = alt.Chart(alt.Data(name="a")).mark_bar().encode(x="n:Q", y="name:N", tooltip=["n:Q", "name:N"])
    template = charts.Template(chart)
    axes = {}  # the axes that draw labels, by scale
    templates._walk(template._vega, lambda d: axes.update(
        {a["scale"]: a for a in d.get("axes", []) if a.get("labels", 1)}))
    assert axes["x"]["labelLimit"] == 0 and "labelLimit" not in axes["y"], axes
    assert "tooltip" not in str(template._vega) and "tooltip" in str(template.spec)
    for rows in ([{"n": 3, "name": name}, {"n": 1.5, "name": "b"}],
                 [{"n": 3, "name": name}, {"n": float("inf"), "name": "b"}]):  # no JSON text for infinity
        fast, reference = template.svg({"a": rows}).data, template.svg_from_vega_lite({"a": rows}).data
        assert templates.comparable(fast) == templates.comparable(reference)
        assert "…" in fast and name not in fast


def test_moves_change_one_control_at_a_time():
    panel = panels.all_panels()[0]
    settings = [panel.defaults, *panel.moves(6)]
    for before, after in zip(settings, settings[1:]):
        assert sum(before[k] != after[k] for k in before) <= 1


def test_headline_and_outcome():
    summary = {"p95_ms": 80.0, "error_rate": 0.0, "timeout_rate": 0.01, "rejected_rate": 0.0}
    assert panels.outcome(summary) == "p95 <b>80 ms</b> · failed <b>1.0%</b>"
    assert panels.headline("a", caption="c") == "<div>a<br>c</div>"


def test_log_ticks_and_label_spreading():
    assert scales.log_ticks((40, 5_000)) == [50, 100, 200, 500, 1_000, 2_000, 5_000]
    labels = scales.spread_labels(pd.DataFrame({"y": [100.0, 105.0, 1_000.0]}), "y", 0.1, log=True)
    assert labels["y"].iloc[1] == pytest.approx(100 * 10 ** 0.1)
    assert labels["y"].iloc[2] == 1_000.0


def test_cached_tables_are_handed_out_as_copies():
    """Theory curves and labels are computed once and cached; a caller changing its copy changes nothing else."""
    from chapter1 import single_server
    from chapter1.present import charts
    from chapter1.sections import balancing, scaling

    tables = [
        lambda: charts.theory_curve(single_server()),
        lambda: balancing.theory_data(8),
        lambda: balancing.policies_data(8)["labels"],
        lambda: scaling.compare_data(scaling.designs_for(2_000))["catalogue"],
    ]
    for table in tables:
        first = table()
        before = first.copy()
        first.iloc[0, 0] = first.iloc[1, 0]  # any change to the first row
        again = table()
        assert again.equals(before), "a cached table was handed out and changed"


def test_theory_curves_in_one_pass_match_point_by_point():
    """The vectorised M/M/c curve gives what predict() gives at each point (overload, DNS, theta = mu included)."""
    import numpy as np

    from chapter1 import Workload, analytic, single_server, web_and_database
    from chapter1.theory import queues

    for box in (single_server(workers=8, service_time_ms=50), single_server(workers=1, service_time_ms=10)):
        table = charts.theory_curve(box)
        for statistic, key in (("mean", "mean_ms"), ("p95", "p95_ms")):
            rows = table[table["statistic"] == statistic]
            expected = [analytic.predict(box, Workload(users=u), percents=(95,))[key] for u in rows["users"]]
            assert np.allclose(rows["latency_ms"], expected, rtol=1e-12, atol=0)
            assert len(rows) < 80, "the overloaded part of the grid is left out"
    split = web_and_database(web_workers=1, db_workers=2)  # two tiers: each stage in one pass, the same dicts
    users = [1_000.0, 200_000.0, 5_000_000.0]
    assert analytic.predict_curve(split, users) == [analytic.predict(split, Workload(users=u), (95,)) for u in users]
    with pytest.raises(ValueError, match="users"):
        analytic.predict_curve(single_server(), [1_000, -5])
    rates = [0.5, 10.0, 15.0, 20.0, 25.0]  # 2 workers at 10/s: theta = mu at 10/s, overloaded from 20/s
    curve = queues.mmc_curve(rates, 10, 2, percents=(50, 99), delay_s=0.03, delay_share=0.4)
    for k, rate in enumerate(rates):
        point = queues.mmc(rate, 10, 2)
        assert curve["mean_response_s"][k] == pytest.approx(0.4 * 0.03 + point.mean_response_s, rel=1e-12)
        for q in (50, 99):
            assert curve[f"p{q}_s"][k] == pytest.approx(queues.response_time_percentile(q, rate, 10, 2, 0.03, 0.4),
                                                       rel=1e-12)


def test_the_libraries_loaded_before_the_first_chart_stay_out_of_full_collections():
    import gc
    import subprocess
    import sys

    # a fresh interpreter: the objects alive once the chart module is loaded (altair's among them) are frozen
    code = ("import gc, altair, chapter1.present.charts; "
            "print(gc.get_freeze_count(), any(o is altair.Chart for o in gc.get_objects()))")
    frozen, still_swept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                         check=True).stdout.split()
    assert int(frozen) > 50_000 and still_swept == "False"
    assert gc.isenabled()  # collections still run, for what panels create afterwards


@pytest.mark.parametrize("requests, users, seed", [(777, 123_456, 4), (5_000, 10, 0), (1, 10_000_000, 9)])
def test_the_budget_note_quotes_the_runs_summary(requests, users, seed):
    import chapter1 as c

    run = c.simulate(c.load_balanced(3), c.Workload(users=users), requests=requests, seed=seed)
    s = run.summary()
    assert charts.budget_note(run) == (f"{s['requests']:,} simulated requests = {s['simulated_s']:,.1f} s of peak "
                                       f"traffic at {s['offered_rps']:,.0f} req/s (run {seed + 1})")
