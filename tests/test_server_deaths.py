"""One request's way through a server that may die, without events, told as the simpy engine tells it.

The event-free engine settles each request through a server with outages (or behind a balancer whose view
changes) in one step: when it starts, whether its client gave up in the queue, whether the death caught it
queued or in service.  Here requests are placed by hand on a one-worker server of constant 125 ms (every time
is a binary fraction, so the ties below are exact) and each case states what the learner sees (status,
latency, wait, the served count, busy time) and that the simpy engine, the reference, tells the same story:
the same requests table, components table, summary, timeline and per-request service periods.
"""

import math

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1.core.architecture import Architecture


def both(arch, times):
    """The event-free run of requests arriving at ``times`` (no DNS), checked against the simpy run."""

    class Placed(c.Workload):
        def arrival_times(self, rng, n):
            return np.asarray(times, dtype=float)

    slow, fast = (c.simulate(arch, Placed.from_rate(1), requests=len(times), seed=0, engine=engine)
                  for engine in ("simpy", "fast"))
    pd.testing.assert_frame_equal(slow.requests, fast.requests)
    pd.testing.assert_frame_equal(slow.components, fast.components)
    pd.testing.assert_series_equal(slow.summary(), fast.summary())
    pd.testing.assert_frame_equal(slow.timeline(bins=4), fast.timeline(bins=4))
    assert periods(slow) == periods(fast), "each request's service period, as utilisation reads it"
    return fast


def periods(result):
    """{server: {request: (wait, start, finish)}} with NaN as None, from each server's records."""
    out = {}
    for runtime in result.runtimes:
        if hasattr(runtime, "records"):
            requests, waits, starts, finishes = runtime.records()
            out[runtime.spec.name] = {
                int(i): tuple(None if math.isnan(x) else float(x) for x in row)
                for i, *row in zip(requests, waits, starts, finishes)}
    return out


def box(timeout_ms=None, outages=((1.0, 1.5),)):
    """One worker, 125 ms a request, down from 1.0 s to 1.5 s by default."""
    return Architecture("one box", (c.Server(
        name="box", workers=1, service_time_ms=125.0, distribution="constant", timeout_ms=timeout_ms,
        queue_limit=None, outages=tuple(c.Outage(*o) for o in outages)),), dns=None)


def table(result):
    """(statuses, latencies in ms, waits at the box in ms) of every request, in order of arrival."""
    requests = result.requests
    return list(requests["status"]), pytest.approx(list(requests["latency_ms"])), pytest.approx(
        list(requests["box_wait_ms"]))


def row(result, name="box"):
    return result.components.set_index("component").loc[name]


def test_queued_and_in_service_requests_fail_at_the_death_with_their_service_periods_cut_there():
    """0.8125 in service till 0.9375; 0.84375 waits 93.75 ms, is in service at the death (1.0) and fails then;
    0.96875 is still queued at the death and fails without a service period; after the outage all is fresh."""
    result = both(box(), [0.8125, 0.84375, 0.96875, 1.75])
    assert table(result) == (["ok", "error", "error", "ok"], [125.0, 156.25, 31.25, 125.0], [0.0, 93.75, 31.25, 0.0])
    assert periods(result)["box"] == {
        0: (0.0, 0.8125, 0.9375), 1: (0.09375, 0.9375, 1.0), 2: (0.03125, None, None), 3: (0.0, 1.75, 1.875)}
    assert row(result)["served"] == 2
    busy = 0.125 + 0.0625  # worker-seconds in service within the 1.75 s the arrivals span (the last ends after)
    assert row(result)["utilization"] == pytest.approx(busy / 1.75)
    assert row(result)["mean_wait_ms"] == pytest.approx((93.75 + 31.25) / 4)


def test_work_due_to_end_at_the_very_moment_of_the_death_fails_and_the_one_starting_then_never_starts():
    """0.75 ends at 0.875; 0.8125 would end at 1.0, the death: it fails; 0.84375 would start at 1.0: it has no
    service period at all (a queued request the death reaches is never in service)."""
    result = both(box(), [0.75, 0.8125, 0.84375, 2.0])
    assert list(result.requests["status"]) == ["ok", "error", "error", "ok"]
    assert periods(result)["box"][1] == (0.0625, 0.875, 1.0)
    assert periods(result)["box"][2] == (0.15625, None, None)
    assert row(result)["served"] == 2


@pytest.mark.parametrize("timeout_ms, status", [(62.5, "error"), (60.0, "timeout")])
def test_a_death_exactly_a_time_out_after_arrival_is_still_an_error(timeout_ms, status):
    """In service (0.9375) or queued (0.9375 behind 0.90625) when the box dies 62.5 ms later: a client whose
    time-out is exactly 62.5 ms is still waiting and sees the error; one that gives up a little sooner left."""
    in_service = both(box(timeout_ms), [0.9375, 1.75])
    assert in_service.requests["status"][0] == status
    assert in_service.requests["latency_ms"][0] == pytest.approx(min(62.5, timeout_ms))
    queued = both(box(timeout_ms), [0.90625, 0.9375, 1.75])
    assert list(queued.requests["status"][:2]) == ["timeout", status]
    assert queued.requests["latency_ms"][1] == pytest.approx(min(62.5, timeout_ms))


def test_a_patient_client_sees_the_death_as_an_error_however_long_it_waited():
    """A 1.5 s time-out: 93.75 ms in service and 62.5 ms queued when the box dies are both errors."""
    result = both(box(1_500.0), [0.90625, 0.9375, 2.0])
    assert list(result.requests["status"]) == ["error", "error", "ok"]
    assert list(result.requests["failed_at"][:2]) == ["box", "box"]


# a death long after: one request at a time through the outages; none: the whole share in one batch
LATER = {"one at a time": ((5.0, 6.0),), "in one batch": ()}


@pytest.mark.parametrize("outages", LATER.values(), ids=LATER.keys())
def test_a_client_waits_exactly_its_time_out_in_the_queue_and_is_served_late(outages):
    """Three at 0.25 s, time-out 125 ms: the second waits exactly 125 ms (not past it), so it is served,
    answered too late; the third waits 250 ms and leaves the queue when its turn comes (0.5 s), unserved, so
    the worker is free at once for the one arriving at 0.5625 s."""
    result = both(box(125.0, outages=outages), [0.25, 0.25, 0.25, 0.5625, 2.0])
    assert table(result) == (["ok", "timeout", "timeout", "ok", "ok"], [125.0] * 5, [0.0, 125.0, 250.0, 0.0, 0.0])
    assert periods(result)["box"] == {0: (0.0, 0.25, 0.375), 1: (0.125, 0.375, 0.5), 2: (0.25, None, None),
                                      3: (0.0, 0.5625, 0.6875), 4: (0.0, 2.0, 2.125)}
    assert row(result)["served"] == 4
    assert row(result)["timeout"] == 2


@pytest.mark.parametrize("outages", LATER.values(), ids=LATER.keys())
def test_an_answer_exactly_a_time_out_after_arrival_is_on_time_and_a_later_one_is_not(outages):
    """Time-out 200 ms: served at once in 125 ms is ok; 100 ms in the queue and 125 ms of work is 225 ms: the
    client left at 200 ms, though the box served it; with a 125 ms time-out an answer at 125 ms is on time."""
    late = both(box(200.0, outages=outages), [0.5, 0.525, 2.0])
    assert table(late) == (["ok", "timeout", "ok"], [125.0, 200.0, 125.0], [0.0, 100.0, 0.0])
    assert row(late)["served"] == 3
    edge = both(box(125.0, outages=outages), [0.25, 1.0])
    assert list(edge.requests["status"]) == ["ok", "ok"]


# -- behind a balancer whose view changes (each request settled one at a time) -------------------------------


def web(name, service_ms=125.0, outages=(), timeout_ms=None):
    return c.Server(name=name, workers=1, service_time_ms=service_ms, distribution="constant",
                    timeout_ms=timeout_ms, queue_limit=None, outages=tuple(c.Outage(*o) for o in outages))


def balanced(members, policy="round_robin", **options):
    return Architecture("balanced", (c.LoadBalancer(name="lb", servers=tuple(members), policy=policy, **options),),
                        dns=None)


def test_behind_a_balancer_a_client_that_gave_up_in_the_queue_is_not_served():
    """Six at 0.5 s over two boxes (one dies much later, so the view can change): each box serves its first
    two, the second of them late; the third waits 250 ms and leaves unserved."""
    result = both(balanced([web("a", timeout_ms=125.0), web("b", outages=((50.0, 60.0),), timeout_ms=125.0)]),
                  [0.5] * 6 + [1.0])
    assert list(result.requests["server"]) == ["a", "b"] * 3 + ["a"]
    assert list(result.requests["status"]) == ["ok", "ok"] + ["timeout"] * 4 + ["ok"]
    assert list(result.components.set_index("component").loc[["a", "b"], "served"]) == [3, 2]
    assert periods(result)["a"][4] == (0.25, None, None)


def test_one_error_from_a_request_in_service_ejects_the_dead_box_until_the_check_after_its_return():
    """b dies at 1.0 s with a request inside: that error ejects it at once (eject_after=1), so nothing sent
    before the next health check (1.5 s) goes to b, and a queues the lot; the check finds b back and takes it in."""
    result = both(balanced([web("a"), web("b", outages=((1.0, 1.5),))], eject_after=1, health_check_interval_s=0.75),
                  [0.5, 0.9375, 1.0625, 1.125, 1.25, 1.375, 1.75, 2.0, 2.25, 2.5])
    requests = result.requests
    assert list(requests["server"]) == ["a", "b", "a", "a", "a", "a", "a", "b", "a", "b"]
    assert list(requests["status"]) == ["ok", "error"] + ["ok"] * 8
    assert list(requests["latency_ms"][:6]) == [125.0, 62.5, 125.0, 187.5, 187.5, 187.5]


def test_an_answer_that_comes_back_as_a_request_arrives_frees_its_connection_first():
    """Least connections over boxes of 250, 250, 125 and 250 ms: at 0.625 s the third box's answer comes back
    just as a request arrives, so that box has no connection left and takes it (the others hold one each)."""
    result = both(balanced([web("a", 250.0), web("b", 250.0), web("c", 125.0, outages=((50.0, 60.0),)),
                            web("d", 250.0)], "least_connections"), [0.5, 0.5, 0.5, 0.5625, 0.625])
    assert list(result.requests["server"]) == ["a", "b", "c", "d", "c"]
    assert list(result.requests["latency_ms"]) == [250.0, 250.0, 125.0, 250.0, 125.0]


def test_a_balancer_that_dies_as_an_answer_leaves_loses_it():
    """The answer of 0.875 s leaves its box at 1.0 s, the moment the balancer dies: it is lost there."""
    arch = Architecture("balanced", (c.LoadBalancer(name="lb", servers=(web("a"), web("b")),
                                                    outages=(c.Outage(1.0, 1.5),)),), dns=None)
    result = both(arch, [0.5, 0.875, 1.75])
    assert list(result.requests["status"]) == ["ok", "error", "ok"]
    assert list(result.requests["failed_at"]) == ["", "lb", ""]
