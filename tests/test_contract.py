"""The component contract: every registered kind simulates, reports, draws, fails and recovers alike.

A new kind gets these tests by being registered (``@register(example=...)``); nothing here names one.
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import chapter1.components  # noqa: F401  (registers the course's kinds)
from chapter1 import Workload, simulate
from chapter1.core.component import KINDS, Component, Runtime
from chapter1.present.diagram import draw

RATE = 50.0                     # requests per second: 2,000 requests cover about 40 s
AT_S, RECOVER_S = 10.0, 20.0    # the outage every kind goes through
REQUESTS = 2_000


def example(kind):
    """The kind's example architecture and the name of its (first) component of that kind."""
    arch = KINDS[kind].example()
    names = [c.name for c in arch.components if type(c) is KINDS[kind].cls]
    assert names, f"{kind}'s example architecture holds no {kind}"
    return arch, names[0]


def run(arch, seed=1):
    return simulate(arch, Workload.from_rate(RATE), requests=REQUESTS, seed=seed)


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


def test_the_course_registers_its_kinds():
    assert {"DNS", "Server", "WebServer", "Database", "LoadBalancer", "DNSRoundRobin"} <= set(KINDS)


def test_spec_is_a_frozen_component_with_runtime(kind):
    arch, name = example(kind)
    component = arch[name]
    assert isinstance(component, Component)
    with pytest.raises(dataclasses.FrozenInstanceError):
        component.name = "renamed"
    assert arch.with_changes(name) == arch
    sim_runtime = type(component).runtime is not Component.runtime
    assert sim_runtime, f"{kind} must define runtime()"


def test_simulates_and_reports_through_result(kind):
    arch, name = example(kind)
    result = run(arch)
    requests = result.requests
    assert len(requests) == REQUESTS
    assert {"arrival_s", "latency_ms", "status", "failed_at", "client"} <= set(requests.columns)
    assert (requests["status"] == "ok").mean() > 0.95, "at moderate load nearly every request succeeds"
    assert (requests["latency_ms"][requests["status"] == "ok"] > 0).all()
    table = result.components
    assert list(table["component"]) == [c.name for c in arch.components]
    assert {"kind", "workers", "utilization", "served", "mean_wait_ms", "error", "timeout", "rejected"} <= set(table)
    assert table.set_index("component").loc[name, "kind"] == kind
    summary = result.summary()
    for key in ("requests", "p50_ms", "p95_ms", "p99_ms", "error_rate", "throughput_rps"):
        assert key in summary.index and math.isfinite(summary[key])
    assert len(result.timeline(bins=8)) == 8
    for runtime in result.runtimes:
        assert isinstance(runtime, Runtime)
        for column in runtime.columns().values():
            assert len(column) == REQUESTS


def test_tables_handed_out_are_copies(kind):
    arch, _ = example(kind)
    result = run(arch)
    requests, components, summary = result.requests, result.components, result.summary()
    requests["latency_ms"], components["served"], summary["p95_ms"] = -1.0, -1, -1.0
    assert (result.requests["latency_ms"] != -1.0).any()
    assert (result.components["served"] >= 0).all()
    assert result.summary()["p95_ms"] > 0


def test_same_seed_same_result(kind):
    arch, _ = example(kind)
    first, second = run(arch, seed=4), run(arch, seed=4)
    pd.testing.assert_frame_equal(first.requests, second.requests)
    pd.testing.assert_frame_equal(first.components, second.components)
    assert not first.requests["latency_ms"].equals(run(arch, seed=5).requests["latency_ms"])


def test_draws_itself(kind):
    arch, name = example(kind)
    picture = draw(arch).data
    assert picture.startswith("<svg") and f">{name}<" in picture
    assert "down 10-20 s" in draw(arch.fail(name, AT_S, RECOVER_S)).data


def test_fails_and_recovers(kind):
    arch, name = example(kind)
    broken = arch.fail(name, at_s=AT_S, recover_s=RECOVER_S)
    assert broken[name].outages[-1].start_s == AT_S and arch[name].outages == ()
    requests = run(broken).requests
    before = requests["arrival_s"] < AT_S - 1.0
    during = (requests["arrival_s"] >= AT_S) & (requests["arrival_s"] < RECOVER_S)
    assert (requests.loc[before, "status"] == "ok").all(), "nothing fails before the outage"
    failed = requests.loc[during & (requests["status"] != "ok"), "failed_at"]
    inside = {c.name for c in chapter1.core.component.flatten(broken[name])}
    assert len(failed) > 0, f"a {kind} going down fails some requests"
    assert set(failed) <= inside, f"failures are attributed to the {kind} or its parts: {set(failed)}"
    late = requests["arrival_s"] >= RECOVER_S + 15.0  # after any TTL or health check of the examples
    assert (requests.loc[late, "status"] == "ok").mean() > 0.95, "it recovers"


def test_theory_answers_or_declines(kind):
    arch, name = example(kind)
    component = arch[name]
    station = component.station()
    assert station is None or (station[0] > 0 and station[1] >= 1)
    share, delay = component.entry_delay(Workload.from_rate(RATE))
    assert 0 <= share <= 1 and delay >= 0
    assert all(isinstance(line, str) for line in component.describe())


def test_an_unregistered_component_without_runtime_is_refused_clearly():
    arch = example("Server")[0]
    sketch = dataclasses.replace(arch, tiers=(Component(name="sketch"),))
    with pytest.raises(TypeError, match="Component cannot be simulated.*docs/extending.md"):
        run(sketch)
    assert np.isfinite(run(arch).summary()["p95_ms"])
