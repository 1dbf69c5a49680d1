"""The rules a learner reads in the components' docstrings, stated on a balancer or a server at run time.

Each chooser of chapter1/components/policies.py gets the balancer's runtime, the members its health view
holds and the request index; here the view is handed over by hand, so every pick is known in advance.
"""

import math

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.downtime import AdmitThroughOutages, Downtime
from chapter1.components.policies import BATCH_POLICIES, draw_pairs
from chapter1.core.component import ERROR, OK, TIMEOUT
from chapter1.core.simulation import Simulation


def balancer(servers=3, policy="round_robin", requests=50, seed=0, **options):
    """The runtime of a balancer over ``servers`` web servers, before any request."""
    sim = Simulation(c.load_balanced(servers, policy=policy, **options), c.Workload.from_rate(10), requests, seed)
    return sim.tiers[0]


def picks(run, healthy, requests):
    return [run.choose(run, tuple(healthy), i) for i in requests]


def nginx_smooth_weighted(weights, healthy, current, n):
    """nginx's smooth weighted round robin, as its documentation states it: each pick adds every healthy
    member's weight to its current value, takes the largest (the first on a tie) and takes the total off it."""
    out = []
    for _ in range(n):
        for k in healthy:
            current[k] += weights[k]
        best = max(healthy, key=lambda k: (current[k], -k))
        current[best] -= sum(weights[k] for k in healthy)
        out.append(best)
    return out


def test_weighted_5_1_1_gives_nginx_sequence_a_a_b_a_c_a_a_every_seven_requests():
    run = balancer(policy="weighted", weights=(5, 1, 1))
    assert picks(run, (0, 1, 2), range(14)) == [0, 0, 1, 0, 2, 0, 0] * 2


@pytest.mark.parametrize("taken", [0, 1, 3, 6])
def test_weighted_carries_on_from_where_it_was_when_a_member_goes_out(taken):
    """A member leaving the view part-way through the cycle: the next picks follow nginx from the weights
    reached so far, over the members left (server 2 taken out, 5:1 between the other two)."""
    run = balancer(policy="weighted", weights=(5, 1, 1))
    current = [0.0, 0.0, 0.0]
    assert picks(run, (0, 1, 2), range(taken)) == nginx_smooth_weighted([5, 1, 1], (0, 1, 2), current, taken)
    later = picks(run, (0, 1), range(taken, taken + 12))
    assert later == nginx_smooth_weighted([5, 1, 1], (0, 1), current, 12)
    assert later.count(1) == 2  # one in six to the lighter server
    assert picks(run, (0, 1, 2), range(7)) == nginx_smooth_weighted([5, 1, 1], (0, 1, 2), current, 7)


def test_weighted_shares_follow_uneven_weights_that_never_come_round_within_a_cycle():
    """Weights 0.3 : 0.7 (not whole numbers): 3 in 10 and 7 in 10 all the same."""
    run = balancer(2, policy="weighted", weights=(0.3, 0.7))
    chosen = picks(run, (0, 1), range(1_000))
    assert chosen.count(0) == pytest.approx(300, abs=1)


def test_weighted_with_weights_that_never_come_round_follows_nginx_past_a_thousand_requests():
    """Weights 1 : sqrt(2) never bring the current values back to where they started."""
    run = balancer(2, policy="weighted", weights=(1.0, math.sqrt(2)))
    assert picks(run, (0, 1), range(2_500)) == nginx_smooth_weighted([1.0, math.sqrt(2)], (0, 1), [0.0, 0.0], 2_500)


def test_weighted_with_one_member_left_sends_everything_to_it():
    run = balancer(policy="weighted", weights=(5, 1, 1))
    assert picks(run, (1,), range(5)) == [1] * 5


def test_round_robin_sends_to_each_server_in_turn_and_goes_on_from_there_when_one_is_out():
    run = balancer(policy="round_robin")
    assert picks(run, (0, 1, 2), range(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert picks(run, (0, 2), range(4)) == [2, 0, 2, 0]  # the turn counts on: 7th, 8th, ... request


def test_least_connections_takes_ties_in_turn_from_the_next_server():
    """Fewest in flight wins; among equals, the first from the turn's position on, wrapping round."""
    run = balancer(4, policy="least_connections")
    run.connections[:] = [1, 0, 0, 1]
    assert picks(run, range(4), range(4)) == [1, 1, 2, 1]
    run.connections[:] = [0, 0, 0, 0]
    assert picks(run, range(4), range(4)) == [0, 1, 2, 3]


def test_least_connections_over_part_of_the_pool_takes_ties_in_turn_too():
    run = balancer(4, policy="least_connections")
    run.connections[:] = [0, 9, 0, 0]
    assert picks(run, (0, 2, 3), range(6)) == [0, 2, 3, 0, 2, 3]
    run.connections[:] = [3, 9, 1, 2]
    assert picks(run, (0, 2, 3), range(3)) == [2, 2, 2]


def test_power_of_two_keeps_the_first_drawn_on_a_tie_and_never_draws_one_server_twice():
    run = balancer(4, policy="power_of_two", requests=400)
    first, second = run.first, run.second
    assert all(a != b for a, b in zip(first, second))
    assert picks(run, range(4), range(400)) == first  # all equal: the first drawn
    run.connections[:] = [0, 1, 2, 3]
    assert picks(run, range(4), range(400)) == [min(a, b) for a, b in zip(first, second)]


def test_power_of_two_over_part_of_the_pool_draws_two_of_the_members_left():
    run = balancer(4, policy="power_of_two", requests=2_000)
    assert picks(run, (2,), range(5)) == [2] * 5  # one member left: that one
    run.connections[:] = [0, 0, 0, 0]
    chosen = picks(run, (1, 3), range(2_000))
    assert set(chosen) == {1, 3} and chosen.count(1) == pytest.approx(1_000, abs=150)  # sd 22
    run.connections[:] = [0, 5, 0, 1]
    assert set(picks(run, (1, 3), range(200))) == {3}  # both members always compared: the idle one wins
    run.connections[:] = [0, 7, 5, 6]
    chosen = picks(run, (1, 2, 3), range(2_000))
    # the busiest (1) never wins a pair; 2 wins every pair it is in (2 of 3 pairs), 3 the pair (1, 3)
    assert 1 not in chosen and chosen.count(2) == pytest.approx(2_000 * 2 / 3, abs=150)  # sd 21
    run.connections[:] = [0, 5, 6, 7]
    chosen = picks(run, (1, 2, 3), range(2_000))
    assert 3 not in chosen and chosen.count(2) == pytest.approx(2_000 / 3, abs=150)  # only the pair (2, 3)


def test_power_of_two_with_a_single_server_sends_everything_to_it():
    run = balancer(1, policy="power_of_two", requests=20)
    assert picks(run, (0,), range(20)) == [0] * 20


def test_random_over_part_of_the_pool_picks_each_member_left_alike():
    run = balancer(4, policy="random", requests=4_000)
    chosen = picks(run, (0, 3), range(4_000))
    assert set(chosen) == {0, 3} and chosen.count(3) == pytest.approx(2_000, abs=200)  # sd 32
    assert picks(run, range(4), range(4_000)) == run.picks


def test_ip_hash_keeps_a_client_on_its_server_and_moves_it_only_while_that_one_is_out():
    run = balancer(3, policy="ip_hash", requests=300)
    run._view(0.0)
    homes = [run.choose(run, run.healthy, i) for i in range(300)]
    by_client = {}
    for i, home in enumerate(homes):
        by_client.setdefault(run.client[i], set()).add(home)
    assert all(len(servers) == 1 for servers in by_client.values())
    assert set(homes) == {0, 1, 2}
    run.healthy_set = frozenset({0, 2})  # server 1 out
    moved = [run.choose(run, (0, 2), i) for i in range(300)]
    assert all(m == h for m, h in zip(moved, homes) if h != 1)
    assert {m for m, h in zip(moved, homes) if h == 1} == {0, 2}  # its clients spread over the others


def test_touching_outages_are_one_stretch_down_and_two_deaths():
    down = Downtime(c.Server().fail(10, 20).fail(20, 30).outages)
    assert [down.up(t) for t in (19.99, 20, 29.99, 30)] == [False, False, False, True]
    assert down.deaths == [10, 20] and down.next_death(20) == (2, math.inf)


def test_a_server_back_from_an_early_outage_starts_with_every_worker_free():
    """Down from 0.1 s to 0.5 s: a request at 0.6 s is served at once (100 ms), not after any stale work."""
    server = c.Server(name="box", workers=1, service_time_ms=100.0, distribution="constant",
                      outages=(c.Outage(0.1, 0.5),))
    sim = Simulation(c.Architecture("one box", (server,), dns=None), c.Workload.from_rate(10), 10, 0)
    box = sim.tiers[0]
    assert box.admit(0, 0.05) == (ERROR, 0.1)
    assert box.admit(1, 0.6) == pytest.approx((OK, 0.7))
    assert isinstance(box.admit, AdmitThroughOutages)


@pytest.mark.parametrize("policy, options", [("round_robin", {}), ("random", {}), ("ip_hash", {}),
                                             ("weighted", {"weights": (3, 1, 2)}),
                                             ("weighted", {"weights": (0.5, 0.25, 0.125)})])
@pytest.mark.parametrize("healthy", [(0, 1, 2), (0, 2)])
def test_a_whole_run_routed_at_once_gets_the_picks_of_one_request_at_a_time(policy, options, healthy):
    """The event-free path routes a run's requests in two batches (7 then 13): the same servers, in the same
    order, as the chooser asked once per request."""
    one, whole = balancer(policy=policy, requests=20, **options), balancer(policy=policy, requests=20, **options)
    for run in (one, whole):
        run._view(0.0)
        run.healthy_set = frozenset(healthy)
    expected = picks(one, healthy, range(20))
    batch = BATCH_POLICIES[policy]
    got = [*batch(whole, healthy, np.arange(7)), *batch(whole, healthy, np.arange(7, 20))]
    assert [int(k) for k in got] == expected
    assert set(expected) <= set(healthy)


def test_draw_pairs_gives_two_distinct_servers_uniformly():
    u, v = np.random.default_rng(1).random((2, 30_000))
    first, second = draw_pairs(u, v, 3)
    assert (first != second).all() and set(first.tolist()) == {0, 1, 2}
    pairs = np.bincount(first * 3 + second, minlength=9).reshape(3, 3)
    assert pairs.diagonal().tolist() == [0, 0, 0]
    assert np.allclose(pairs[~np.eye(3, dtype=bool)], 5_000, atol=350)  # 6 ordered pairs; sd 65


def box(service_ms=100.0, timeout_ms=None, outages=((1.0, 2.0),)):
    """A one-worker server of constant ``service_ms`` with outages, at run time (10 requests)."""
    server = c.Server(name="box", workers=1, service_time_ms=service_ms, distribution="constant",
                      timeout_ms=timeout_ms, outages=tuple(c.Outage(*o) for o in outages))
    sim = Simulation(c.Architecture("one box", (server,), dns=None), c.Workload.from_rate(10), 10, 0)
    return sim, sim.tiers[0]


def test_a_short_outage_empties_the_server_even_of_work_that_would_have_outlasted_it():
    """Down from 1.00 s to 1.02 s: the two requests inside (until 1.05 and 1.15) fail at 1.00, and one
    arriving at 1.03 is served at once, not after them."""
    sim, server = box(outages=((1.0, 1.02),))
    assert [server.admit(0, 0.95), server.admit(1, 0.96)] == [(ERROR, 1.0), (ERROR, 1.0)]
    assert server.admit(2, 1.03) == pytest.approx((OK, 1.13))
    assert server.admit(3, 1.04) == pytest.approx((OK, 1.23))  # queued behind it as usual
    assert server.served == 2
    requests, waits, starts, finishes = server.records()
    assert starts[0] == 0.95 and math.isnan(starts[1]) and waits[1] == pytest.approx(0.04)


def test_work_that_ends_at_the_very_moment_of_a_death_fails_with_it_and_so_does_the_next_one():
    """0.9 s + 100 ms ends at the death (1.0 s): the death comes first (as in the event loop), so it fails; the
    request queued behind it would start then, and fails at once without starting."""
    sim, server = box()
    assert server.admit(0, 0.9) == (ERROR, 1.0)
    assert server.admit(1, 0.95) == (ERROR, 1.0)
    assert server.served == 0
    requests, waits, starts, finishes = server.records()
    assert (starts[0], finishes[0]) == (0.9, 1.0), "it was busy until the death"
    assert math.isnan(starts[1]) and math.isnan(finishes[1]) and waits[1] == pytest.approx(0.05)


def test_a_client_waits_exactly_its_time_out_then_stops_at_the_edge():
    """Time-out 250 ms, service 250 ms: an answer after exactly 250 ms is on time; 250 ms in the queue is not
    yet giving up (served, answered late); a death exactly 250 ms after arrival is still seen as an error."""
    sim, server = box(service_ms=250.0, timeout_ms=250.0, outages=((10.0, 11.0),))
    assert server.admit(0, 0.5) == (OK, 0.75)
    assert server.admit(1, 0.5) == (TIMEOUT, 1.0)  # queued 250 ms, then served
    assert sim.end[1] == 0.75 and server.served == 2
    sim, server = box(service_ms=500.0, timeout_ms=250.0)
    assert server.admit(0, 0.75) == (ERROR, 1.0)  # 250 ms inside when it died: its client still waits
    sim, server = box(service_ms=500.0, timeout_ms=250.0)
    others = sim.end[1:].copy()
    assert server.admit(0, 0.625) == (TIMEOUT, 1.0)  # 375 ms inside: its client left at 0.875
    assert sim.end[0] == 0.875 and np.array_equal(sim.end[1:], others, equal_nan=True)


def test_a_client_that_gave_up_in_the_queue_leaves_it_when_its_turn_comes():
    sim, server = box(timeout_ms=50.0, outages=((10.0, 11.0),))
    assert server.admit(0, 0.5)[0] == TIMEOUT  # 100 ms service: late
    assert server.admit(1, 0.52) == pytest.approx((TIMEOUT, 0.6))  # 80 ms queued: gone, leaves at 0.6
    assert sim.end[1] == pytest.approx(0.57) and sim.end[0] == pytest.approx(0.55)
    requests, waits, starts, finishes = server.records()
    assert waits.tolist() == pytest.approx([0.0, 0.08]) and math.isnan(starts[1])
    assert server.admit(2, 0.6) == pytest.approx((TIMEOUT, 0.7))  # the worker was free again at 0.6


def test_refusals_of_a_dead_server_eject_it_and_the_check_after_its_return_takes_it_back():
    """web-2 dies at 1 ms (after the check at 0 s found it up) until 10 s, with round robin and ejection after
    3 errors: exactly 3 requests are refused before it is ejected; the first check after 10 s readmits it,
    and it gets half the traffic again."""
    arch = c.load_balanced(2, health_check_interval_s=1.0).fail("web-2", 0.001, 10.0)
    table = run_fast(arch.with_changes("load balancer", eject_after=3))
    failed = table[table["status"] != "ok"]
    assert len(failed) == 3 and set(failed["server"]) == {"web-2"} and failed["arrival_s"].max() < 0.05
    assert (table.loc[table["arrival_s"] > 11.0, "server"] == "web-2").mean() == pytest.approx(0.5, abs=0.01)
    assert (run_fast(arch)["status"] != "ok").sum() > 50  # without ejection: until the check at 1 s


def run_fast(arch):
    return c.simulate(arch, c.Workload.from_rate(120), requests=3_000, seed=2, engine="fast").requests


def test_with_every_server_down_the_balancer_answers_503_at_once_until_the_check_finds_one_back():
    """Both servers down from 1 s to 3 s, checks every 0.5 s: from the check at 1 s to the one at 3 s every
    request is refused by the balancer itself (no server, answered at once); ip_hash keeps each client on
    one server before and after."""
    arch = c.load_balanced(2, policy="ip_hash", health_check_interval_s=0.5).fail("web-1", 1.0, 3.0)
    table = c.simulate(arch.fail("web-2", 1.0, 3.0), c.Workload.from_rate(120), requests=900, seed=3,
                       engine="fast").requests
    entered = table["arrival_s"] + table["dns_ms"] / 1_000
    refused = table[table["server"] == ""]
    assert len(refused) > 200 and (refused["status"] == "error").all()
    assert refused["latency_ms"].to_numpy() == pytest.approx(refused["dns_ms"].to_numpy())
    assert entered[refused.index].min() >= 1.0 and entered[refused.index].max() < 3.0
    assert (table.loc[entered >= 3.0, "status"] == "ok").all() and (entered >= 3.0).sum() > 300
    served = table[table["server"] != ""]
    assert (served.groupby("client")["server"].nunique() == 1).all()


def test_a_balancer_that_is_down_refuses_at_once():
    table = run_fast(c.load_balanced(2).fail("load balancer", 5.0, 6.0))
    entered = table["arrival_s"] + table["dns_ms"] / 1_000
    during = table[(entered >= 5.0) & (entered < 6.0)]
    assert len(during) > 50 and (during["status"] == "error").all()
    assert during["latency_ms"].to_numpy() == pytest.approx(during["dns_ms"].to_numpy())


def test_a_queued_request_the_death_ends_after_its_client_left_is_a_time_out_of_its_own():
    """Time-out 250 ms, service 500 ms, death at 1 s: the request in service (from 0.625 s) and the one queued
    behind it (from 0.6875 s) both outlived their clients' patience; each client left at its own moment."""
    sim, server = box(service_ms=500.0, timeout_ms=250.0)
    others = sim.end[2:].copy()
    assert server.admit(0, 0.625) == (TIMEOUT, 1.0)
    assert server.admit(1, 0.6875) == (TIMEOUT, 1.0)  # queued when it died
    assert sim.end[:2].tolist() == [0.875, 0.9375] and np.array_equal(sim.end[2:], others, equal_nan=True)
