"""A bounded queue at the exact moments it changes, and which runs the event-free engine may take.

One worker of constant 125 ms, requests placed by hand (tests/test_server_deaths.py's ``both`` runs them
in both engines and checks they tell the same story), with and without a death long after.
"""

from dataclasses import replace

import pytest
from test_server_deaths import LATER, both, box, periods, row

import chapter1 as c
from chapter1.core.architecture import Architecture


def limited(limit, timeout_ms=None, outages=()):
    server = box(timeout_ms, outages).tiers[0]
    return Architecture("one box", (replace(server, queue_limit=limit),), dns=None)


@pytest.mark.parametrize("outages", LATER.values(), ids=LATER.keys())
def test_an_arrival_the_moment_a_queued_request_starts_finds_the_queue_one_shorter(outages):
    """Queue of one: 0.0625 waits for the worker, 0.09375 finds the queue full; 0.125 arrives as 0.0625 starts,
    so the queue is empty again and it waits its turn."""
    result = both(limited(1, outages=outages), [0, 0.0625, 0.09375, 0.125])
    assert list(result.requests["status"]) == ["ok", "ok", "rejected", "ok"]
    assert list(result.requests["box_wait_ms"].fillna(-1)) == [0.0, 62.5, -1, 125.0]


@pytest.mark.parametrize("outages", LATER.values(), ids=LATER.keys())
def test_with_no_queue_an_arrival_the_moment_the_worker_frees_takes_it(outages):
    """No queue: 0.0625 finds the worker busy and is refused; 0.125 arrives as the first finishes and is served
    at once (the first began its service before 0.0625 came)."""
    result = both(limited(0, outages=outages), [0, 0.0625, 0.125])
    assert list(result.requests["status"]) == ["ok", "rejected", "ok"]
    assert row(result)["rejected"] == 1 and row(result)["served"] == 2


@pytest.mark.parametrize("outages", LATER.values(), ids=LATER.keys())
def test_in_a_bounded_queue_a_client_that_gave_up_frees_the_worker_at_once(outages):
    """Queue of five, time-out 125 ms: the third at 0.25 s leaves the queue at 0.5 s unserved, so 0.5625 starts
    on arrival."""
    result = both(limited(5, 125.0, outages), [0.25, 0.25, 0.25, 0.5625])
    assert list(result.requests["status"]) == ["ok", "timeout", "timeout", "ok"]
    assert periods(result)["box"][3] == (0.0, 0.5625, 0.6875)


def test_constant_times_in_one_tier_run_without_events_and_in_two_need_them():
    def tier(name, distribution):
        return c.Server(name=name, workers=2, service_time_ms=10, distribution=distribution)

    workload = c.Workload.from_rate(50)
    for kind in ("exponential", "constant"):
        one = Architecture("one", (tier("web", kind), tier("database", "exponential")), dns=None)
        assert len(c.simulate(one, workload, requests=50, engine="fast").requests) == 50
    two = Architecture("two", (tier("web", "constant"), tier("database", "constant")), dns=None)
    with pytest.raises(ValueError, match="'web', 'database' have constant service times, so events can tie"):
        c.simulate(two, workload, requests=50, engine="fast")
