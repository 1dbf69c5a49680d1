"""The component contract: what every registered kind must do, as checks anyone can run.

``tests/test_contract.py`` runs every check on every registered kind; a kind written in a
notebook (see ``docs/extending.md``) can run them too:

>>> import chapter1.components
>>> len(check_kind("Server"))  # every check passed
7
"""

import dataclasses
import math

from pandas.testing import assert_frame_equal

from .component import KINDS, Component, Runtime, flatten
from .simulation import simulate
from .workload import Workload

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


def frozen_spec_with_runtime(kind):
    """The spec is a frozen Component with a runtime(); with_changes() of nothing changes nothing."""
    arch, name = example(kind)
    component = arch[name]
    assert isinstance(component, Component), f"{kind} must subclass Component"
    try:
        component.name = "renamed"
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError(f"{kind} must be a frozen dataclass")
    assert arch.with_changes(name) == arch, "with_changes() with no changes gives an equal architecture"
    sim_runtime = type(component).runtime is not Component.runtime
    assert sim_runtime, f"{kind} must define runtime()"


def reports_through_result(kind):
    """It simulates at moderate load; Result's tables and summary hold its rows, columns and figures."""
    arch, name = example(kind)
    result = run(arch)
    requests = result.requests
    assert len(requests) == REQUESTS, "one row per request"
    core_columns = {"arrival_s", "latency_ms", "status", "failed_at", "client"}
    assert core_columns <= set(requests.columns), "the core columns are there"
    assert (requests["status"] == "ok").mean() > 0.95, "at moderate load nearly every request succeeds"
    assert (requests["latency_ms"][requests["status"] == "ok"] >= 0).all(), "no request ends before it starts"
    table = result.components
    in_order = [c.name for c in arch.components]
    assert list(table["component"]) == in_order, "one row per component, in architecture order"
    row_columns = {"kind", "workers", "utilization", "served", "mean_wait_ms", "error", "timeout", "rejected"}
    assert row_columns <= set(table), "the components table has its columns"
    assert table.set_index("component").loc[name, "kind"] == kind, f"the row of {name} names its kind"
    summary = result.summary()
    for key in ("requests", "p50_ms", "p95_ms", "p99_ms", "error_rate", "throughput_rps"):
        assert key in summary.index and math.isfinite(summary[key]), f"summary()[{key!r}] is a finite number"
    assert len(result.timeline(bins=8)) == 8, "timeline(bins) has one row per bin"
    for runtime in result.runtimes:
        assert isinstance(runtime, Runtime), "runtime() returns a Runtime"
        for column in runtime.columns().values():
            assert len(column) == REQUESTS, f"{runtime.spec.name}'s columns hold one value per request"


def hands_out_copies(kind):
    """Changing a table Result handed out changes nothing inside the Result."""
    arch, _ = example(kind)
    result = run(arch)
    requests, components, summary = result.requests, result.components, result.summary()
    requests["latency_ms"], components["served"], summary["p95_ms"] = -1.0, -1, -1.0
    assert (result.requests["latency_ms"] != -1.0).any(), "requests is a copy"
    assert (result.components["served"] >= 0).all(), "components is a copy"
    assert result.summary()["p95_ms"] > 0, "summary() is a copy"


def deterministic(kind):
    """Same seed, same Result; another seed, other draws."""
    arch, _ = example(kind)
    first, second = run(arch, seed=4), run(arch, seed=4)
    assert_frame_equal(first.requests, second.requests)
    assert_frame_equal(first.components, second.components)
    assert not first.requests.equals(run(arch, seed=5).requests), "another seed draws other requests"


def draws_itself(kind):
    """The diagram names it, and marks an outage."""
    from ..present.diagram import draw

    arch, name = example(kind)
    picture = draw(arch).data
    assert picture.startswith("<svg") and f">{name}<" in picture, "the diagram names the component"
    assert "down 10-20 s" in draw(arch.fail(name, AT_S, RECOVER_S)).data, "the diagram marks the outage"


def fails_and_recovers(kind):
    """An outage at real load fails requests there (or in its parts), none before, and it recovers."""
    arch, name = example(kind)
    broken = arch.fail(name, at_s=AT_S, recover_s=RECOVER_S)
    assert broken[name].outages[-1].start_s == AT_S and arch[name].outages == (), "fail() returns a changed copy"
    requests = run(broken).requests
    before = requests["arrival_s"] < AT_S - 1.0
    during = (requests["arrival_s"] >= AT_S) & (requests["arrival_s"] < RECOVER_S)
    assert (requests.loc[before, "status"] == "ok").all(), "nothing fails before the outage"
    failed = requests.loc[during & (requests["status"] != "ok"), "failed_at"]
    inside = {c.name for c in flatten(broken[name])}
    assert len(failed) > 0, f"a {kind} going down fails some requests"
    assert set(failed) <= inside, f"failures are attributed to the {kind} or its parts: {set(failed)}"
    late = requests["arrival_s"] >= RECOVER_S + 15.0  # after any TTL or health check of the examples
    assert (requests.loc[late, "status"] == "ok").mean() > 0.95, "it recovers"


def theory_answers_or_declines(kind):
    """station() and entry_delay() give valid figures or decline; describe() gives lines of text."""
    arch, name = example(kind)
    component = arch[name]
    station = component.station()
    valid = station is None or (station[0] > 0 and station[1] >= 1)
    assert valid, "station() is (service rate > 0, workers >= 1) or None"
    share, delay = component.entry_delay(Workload.from_rate(RATE))
    assert 0 <= share <= 1 and delay >= 0, "entry_delay() is (share in [0, 1], seconds >= 0)"
    assert all(isinstance(line, str) for line in component.describe()), "describe() gives lines of text"


CHECKS = (frozen_spec_with_runtime, reports_through_result, hands_out_copies, deterministic, draws_itself,
          fails_and_recovers, theory_answers_or_declines)


def check_kind(kind):
    """Run every contract check on registered kind ``kind``; raise AssertionError at the first broken one."""
    if kind not in KINDS:
        raise KeyError(f"no registered kind {kind!r}; registered: {', '.join(sorted(KINDS))}")
    for check in CHECKS:
        check(kind)
    return [check.__name__ for check in CHECKS]
