"""What a death does to the requests inside, on the event-free path (chapter1/components/downtime.py).

tests/test_engines.py checks that this path gives simpy's Result on random outages; here each rule is
stated on requests placed by hand, with constant 100 ms service so every time is known.
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import servers

import chapter1 as c
from chapter1.components.downtime import Downtime
from chapter1.core.component import ERROR, OK, REJECTED, TIMEOUT
from chapter1.core.simulation import Simulation


def server_run(workers=1, timeout_ms=None, queue_limit=None, outages=((1.0, 2.0),)):
    """A server of ``workers`` x 100 ms (constant) that dies at 1 s and is back at 2 s, at run time."""
    server = c.Server(name="box", workers=workers, service_time_ms=100.0, distribution="constant",
                      timeout_ms=timeout_ms, queue_limit=queue_limit, outages=tuple(c.Outage(*o) for o in outages))
    sim = Simulation(c.Architecture("one box", (server,), dns=None), c.Workload.from_rate(10), 10, 0)
    return sim, sim.tiers[0]


def test_in_service_and_queued_requests_fail_at_the_death_and_the_box_comes_back_empty():
    sim, box = server_run()
    assert box.admit(0, 0.95) == (ERROR, 1.0)  # in service (0.95 to 1.05) when it died
    assert box.admit(1, 0.97) == (ERROR, 1.0)  # queued behind it: gets the freed worker at 1.0, fails then
    assert box.admit(2, 1.5) == (ERROR, 1.5)  # down: refused at once
    assert box.admit(3, 2.5) == pytest.approx((OK, 2.6))  # back, and nobody is inside any more
    assert box.served == 1
    requests, waits, starts, finishes = box.records()
    assert requests.tolist() == [0, 1, 3]  # the refused one was never admitted
    assert waits.tolist() == pytest.approx([0.0, 0.03, 0.0])
    assert finishes[0] == 1.0 and math.isnan(starts[1]) and finishes[2] == pytest.approx(2.6)


def test_a_request_the_death_ends_after_its_client_stopped_waiting_is_a_time_out():
    sim, box = server_run(timeout_ms=20.0)
    assert box.admit(0, 0.95)[0] == TIMEOUT  # 50 ms inside when it died: its client left at 0.97
    assert sim.end[0] == pytest.approx(0.97)
    assert box.admit(1, 0.99)[0] == ERROR  # 10 ms in the queue: still waiting, so it sees the error


def test_a_full_queue_still_refuses_before_the_death_and_is_empty_after():
    sim, box = server_run(queue_limit=1)
    assert box.admit(0, 0.5)[0] == OK
    assert box.admit(1, 0.51)[0] == OK  # waits for request 0 (the one place in the queue)
    assert box.admit(2, 0.52) == (REJECTED, 0.52)
    assert [box.admit(k, 2.0 + k / 1_000)[0] for k in (3, 4)] == [OK, OK]  # after the outage: empty queue


def test_overlapping_outages_are_down_until_the_last_one_ends():
    down = Downtime(c.Server().fail(10, 20).fail(15, 30).fail(40, 50).outages)
    assert [down.up(t) for t in (9.9, 10, 19.9, 25, 30, 45, 50)] == [True, False, False, False, True, False, True]
    assert down.next_death(12) == (1, 15) and down.next_death(50) == (3, math.inf)


def run(arch, rate=120.0, requests=3_000, seed=2):
    return c.simulate(arch, c.Workload.from_rate(rate), requests=requests, seed=seed, engine="fast")


def test_ejection_stops_traffic_to_a_dead_server_before_the_health_check():
    base = c.load_balanced(2, health_check_interval_s=100.0).fail("web-2", at_s=5.0)
    blind = run(base).requests
    ejecting = run(base.with_changes("load balancer", eject_after=3)).requests
    failed = ejecting[ejecting["status"] != "ok"]
    assert len(failed) >= 3 and set(failed["server"]) == {"web-2"}  # the errors that eject it: in service at 5 s
    ejected_at = (failed["arrival_s"] + failed["latency_ms"] / 1_000).max()  # the third error came back
    assert ejected_at == pytest.approx(5.0, abs=0.06)  # ... or the first requests sent to it after
    assert (ejecting.loc[ejecting["arrival_s"] > ejected_at, "server"] == "web-1").all()
    assert (blind.loc[blind["arrival_s"] > 5.0, "status"] != "ok").sum() > 100  # round robin alone keeps sending


def test_a_balancer_that_dies_loses_the_answers_inside_and_refuses_until_it_is_back():
    table = run(c.load_balanced(2).fail("load balancer", 5.0, 6.0), requests=1_500).requests
    entered = table["arrival_s"] + table["dns_ms"] / 1_000
    lost = table[(entered < 5.0) & (table["status"] != "ok")]
    assert len(lost) > 0 and set(lost["failed_at"]) == {"load balancer"}
    assert (lost["arrival_s"] + lost["latency_ms"] / 1_000 >= 5.0).all()  # they were inside at 5 s
    during = table[(entered >= 5.0) & (entered < 6.0)]
    assert len(during) > 50 and (during["status"] == "error").all() and (during["server"] == "").all()
    assert (table.loc[entered >= 6.0, "status"] == "ok").mean() > 0.99


def test_the_fault_panels_now_take_the_event_free_path():
    from chapter1.sections.n_plus_one import n_plus_one_pool
    from chapter1.sections.trap import trap_pool

    for arch in (n_plus_one_pool(3, 20.0), trap_pool("least_connections", eject_after=3)):
        slow = c.simulate(arch, c.Workload.from_rate(300), requests=4_000, seed=1, engine="simpy")
        pd.testing.assert_frame_equal(slow.requests, run(arch, 300, 4_000, 1).requests)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(server=servers("box"), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), n=st.integers(1, 500),
       seed=st.integers(0, 2**20), split=st.integers(0, 500))
def test_a_share_at_once_leaves_the_server_as_one_request_at_a_time_does(server, rate, n, seed, split):
    """admit_batch through outages (each stretch between deaths at once) against AdmitThroughOutages one request at
    a time: statuses, leave times, client ends, records, served count, workers, queue and deaths seen; the share
    comes in two calls (``split``) as a balancer's stretches do."""
    if not server.outages:
        server = dataclasses.replace(server, outages=(c.Outage(1.0, 2.5),))
    found = []
    for batch in (False, True):
        sim = Simulation(c.Architecture("one box", (server,), dns=None), c.Workload.from_rate(rate), n, seed)
        run, times, requests = sim.tiers[0], sim.arrival.copy(), np.arange(n)
        if batch:
            cut = min(split, n)
            answers = [np.concatenate(a) for a in zip(run.admit_batch(requests[:cut], times[:cut]),
                                                       run.admit_batch(requests[cut:], times[cut:]))]
        else:
            answers = [np.array(a) for a in zip(*(run.admit(i, t) for i, t in zip(requests.tolist(), times.tolist())))]
        found.append((answers, sim.end.copy(), run.records(), run.served, sorted(run.free), list(run.waiting),
                      run.admit.reset))
    (one, end1, rec1, *rest1), (other, end2, rec2, *rest2) = found
    assert all(np.array_equal(a, b) for a, b in zip(one, other))
    assert np.array_equal(end1, end2, equal_nan=True)
    assert all(np.array_equal(a, b, equal_nan=a.dtype.kind == "f") for a, b in zip(rec1, rec2))
    assert rest1 == rest2
