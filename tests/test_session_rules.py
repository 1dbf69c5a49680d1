"""Where sessions live and when one is lost: the rule of chapter1/components/sessions.py, by hand and in short runs.

A request loses its session when its client held one (an earlier served request less than the idle
timeout ago) and that session is no longer where the request is served: another server, or the same one
after it lost its memory.  The runs below use 20 clients, so each comes back many times in 400 requests.
"""

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1.components.sessions import SessionStore, StickySessions, _wiper, track
from chapter1.core.architecture import Architecture

NEVER = _wiper([[], [], []])


# -- the rule, on requests placed by hand ----------------------------------------------------------------


def test_a_session_is_lost_when_its_client_is_served_elsewhere():
    lost, sessions = track([0, 0, 0, 0], [1.0, 2.0, 3.0, 4.0], [0, 0, 1, 1], NEVER, 60)
    assert lost.tolist() == [False, False, True, False] and sessions == 1, "the new server keeps the new session"


def test_sessions_count_the_clients_that_were_served():
    lost, sessions = track([0, 1, 2, 1], [1.0, 2.0, 3.0, 4.0], [0, -1, 2, 1], NEVER, 60)
    assert sessions == 3 and not lost.any(), "client 1's first request was not served: its session starts later"
    assert track([0, 1, 2, 1], [1.0, 2.0, 3.0, 4.0], [0, -1, 2, -1], NEVER, 60)[1] == 2
    assert track([], [], [], NEVER, 60)[1] == 0


def test_an_unserved_request_neither_loses_nor_moves_the_session():
    lost, _ = track([0, 0, 0], [1.0, 2.0, 3.0], [0, -1, 0], NEVER, 60)
    assert lost.tolist() == [False, False, False]


def test_a_session_idle_longer_than_the_timeout_had_ended_anyway():
    lost, _ = track([0, 0, 0, 0], [0.0, 10.0, 20.5, 30.5], [0, 1, 2, 0], NEVER, 10)
    assert lost.tolist() == [False, True, False, True], "exactly the timeout apart still counts; 10.5 s does not"


def test_requests_are_taken_in_order_of_arrival():
    lost, _ = track([0, 0, 0], [3.0, 1.0, 2.0], [1, 0, 0], NEVER, 60)
    assert lost.tolist() == [True, False, False]
    lost, _ = track([0, 0], [1.0, 1.0], [0, 1], NEVER, 60)
    assert lost.tolist() == [False, True], "a tie keeps the order given"


def test_a_server_that_lost_its_memory_in_between_lost_the_session():
    wiped = _wiper([[5.0], [], []])
    lost, _ = track([0, 0, 0, 1, 1], [1.0, 6.0, 7.0, 2.0, 8.0], [0, 0, 0, 1, 1], wiped, 60)
    assert lost.tolist() == [False, True, False, False, False]


def test_a_wipe_counts_in_the_half_open_interval_after_the_last_request():
    wiped = _wiper([[2.0, 9.0], []])
    assert wiped(0, 1.0, 2.0) and not wiped(0, 2.0, 3.0), "a death at the later moment counts; at the earlier not"
    assert wiped(0, 8.0, 20.0) and not wiped(0, 3.0, 8.9) and not wiped(1, 0.0, 100.0)


# -- sticky sessions in a run ------------------------------------------------------------------------------


def few_clients():
    """20 clients, 20 requests a second in all."""
    return c.Workload(users=20, requests_per_user=43_200)


def expected_losses(table, deaths, ttl_s):
    """The rule read straight off the requests table: for each client in order of arrival, a served request
    loses its session when the last served one came at most ``ttl_s`` before from another server, or
    from the same server with a death in between."""
    lost = np.zeros(len(table), dtype=bool)
    last = {}
    for i in table.sort_values("arrival_s", kind="stable").index:
        row = table.loc[i]
        if row["status"] != "ok":
            continue
        before = last.get(row["client"])
        if before is not None and row["arrival_s"] - before[1] <= ttl_s:
            died = any(before[1] < d <= row["arrival_s"] for d in deaths.get(before[0], ()))
            lost[i] = before[0] != row["server"] or died
        last[row["client"]] = (row["server"], row["arrival_s"])
    return lost


def test_sticky_sessions_survive_a_steady_run_and_hash_moves_lose_them():
    steady = c.simulate(c.load_balanced(3, sessions="sticky", workers=2), few_clients(), requests=400, seed=1)
    assert steady.summary()["sessions"] == steady.requests["client"].nunique() == 20
    assert steady.summary()["sessions_lost"] == 0
    spread = c.simulate(c.load_balanced(3, sessions="sticky", policy="round_robin", workers=2), few_clients(),
                        requests=400, seed=1)
    table = spread.requests
    assert table["session_lost"].tolist() == expected_losses(table, {}, 1_800).tolist()
    assert spread.summary()["sessions_lost"] == table["session_lost"].sum() > 100


def test_a_server_death_loses_the_sessions_it_held_even_after_it_comes_back():
    arch = c.load_balanced(3, sessions="sticky", workers=2, health_check_interval_s=1).fail("web-2", 5, 8)
    result = c.simulate(arch, few_clients(), requests=400, seed=2)
    table = result.requests
    assert table["session_lost"].tolist() == expected_losses(table, {"web-2": [5]}, 1_800).tolist()
    assert result.summary()["sessions_lost"] > 0
    short = c.simulate(c.load_balanced(3, sessions="sticky", workers=2, session_ttl_s=0.5, health_check_interval_s=1)
                       .fail("web-2", 5, 8), few_clients(), requests=400, seed=2)
    assert short.requests["session_lost"].tolist() == expected_losses(short.requests, {"web-2": [5]}, 0.5).tolist()


def test_a_deploy_fails_requests_while_it_lasts_and_then_every_session_is_gone():
    arch = c.load_balanced(3, sessions="sticky", workers=2).fail("sessions", 5, 6)
    result = c.simulate(arch, few_clients(), requests=400, seed=3)
    table = result.requests
    during = table["status"] == "error"   # arrivals reach the sessions tier a few ms later (DNS, balancer)
    assert during[table["arrival_s"].between(5.0, 5.95)].all() and table.loc[during, "arrival_s"].between(4.9, 6).all()
    assert set(table.loc[during, "failed_at"]) == {"sessions"}
    deaths = {name: [5] for name in ("web-1", "web-2", "web-3")}
    assert table["session_lost"].tolist() == expected_losses(table, deaths, 1_800).tolist()
    served = table[table["status"] == "ok"]
    before = set(served.loc[served["arrival_s"] < 5, "client"])
    first_back = served[(served["arrival_s"] > 5) & served["client"].isin(before)].groupby("client").head(1)
    assert first_back["session_lost"].all() and len(first_back) > 10, "each client's first request after the deploy"
    row = result.components.set_index("component").loc["sessions"]
    assert row["served"] == (~during).sum() and row["error"] == during.sum()


@pytest.mark.parametrize("engine", ["simpy", "auto"])
def test_sticky_sessions_count_what_they_passed_on(engine):
    arch = Architecture("sticky", c.load_balanced(2, sessions="sticky", workers=2).tiers, dns=None)
    result = c.simulate(arch, few_clients(), requests=200, seed=4, engine=engine)
    row = result.components.set_index("component").loc["sessions"]
    assert row["served"] == (result.requests["status"] == "ok").sum() == 200
    assert np.isnan(row["mean_wait_ms"]) and pd.isna(row["workers"])
    assert result.components.columns.tolist() == ["component", "kind", "workers", "utilization", "served",
                                                  "mean_wait_ms", "error", "timeout", "rejected"]


def test_sticky_sessions_must_follow_a_load_balancer_by_name():
    with pytest.raises(ValueError, match=r"pool must name the load balancer in front of the sessions; no component "
                                         r"is called 'lb' \(components: dns, load balancer, web-1, sessions\)"):
        c.simulate(Architecture("x", (*c.load_balanced(1).tiers, StickySessions(pool="lb"))), few_clients(),
                   requests=10)
    with pytest.raises(TypeError, match=r"pool must name a load balancer \(a Pool of servers\); 'web' is a WebServer"):
        c.simulate(Architecture("x", (c.WebServer(), StickySessions(pool="web"))), few_clients(), requests=10)


def test_sticky_sessions_describe_and_refuse_bad_options():
    assert StickySessions(session_ttl_s=600).describe() == ["in each web server's memory", "lost with its server",
                                                            "idle timeout 600 s"]
    assert StickySessions().label() == "sticky sessions"
    for bad in (0, 30 * 86_400 + 1):
        with pytest.raises(ValueError, match=r"session_ttl_s must be a number in the range \(0, 2,592,000\]"):
            StickySessions(session_ttl_s=bad)
    with pytest.raises(TypeError, match="pool must be"):
        StickySessions(pool=3)
    assert StickySessions(session_ttl_s=30 * 86_400).session_ttl_s == 2_592_000


# -- a shared session store -------------------------------------------------------------------------------


def shared(store, fail=None, requests=400, seed=5):
    arch = c.load_balanced(3, sessions="shared", workers=2, store=store)
    if fail is not None:
        arch = arch.fail("session store", *fail)
    return c.simulate(arch, few_clients(), requests=requests, seed=seed)


def test_a_shared_store_keeps_every_session_whichever_server_answers():
    result = shared(SessionStore())
    assert result.summary()["sessions"] == 20 and result.summary()["sessions_lost"] == 0
    assert result.requests["server"].nunique() == 3


def test_with_a_standby_requests_fail_until_the_failover_and_no_session_is_lost():
    result = shared(SessionStore(failover_s=2.0), fail=(5, 20))
    table = result.requests
    failed = table["status"] != "ok"
    assert table.loc[failed, "arrival_s"].between(4.9, 7.01).all() and failed.sum() > 10
    assert not failed[table["arrival_s"].between(7.05, 20)].any(), "the standby answers from 7 s on"
    assert result.summary()["sessions_lost"] == 0
    back = shared(SessionStore(failover_s=5.0), fail=(5, 6))
    assert not (back.requests["status"] != "ok")[back.requests["arrival_s"] > 6.05].any(), "back sooner by itself"


def test_without_a_standby_the_store_comes_back_empty():
    result = shared(SessionStore(standby=False), fail=(5, 8))
    table = result.requests
    failed = table["status"] != "ok"
    assert table.loc[failed, "arrival_s"].between(4.9, 8.01).all() and failed.sum() > 20
    assert table["session_lost"].tolist() == expected_losses(
        table.assign(server="store"), {"store": [5]}, 1_800).tolist()
    assert result.summary()["sessions_lost"] > 5


def test_session_store_describes_itself_and_refuses_bad_options():
    assert SessionStore().describe() == ["shared sessions (key-value)", "8 workers x 2 ms", "standby: failover 5 s"]
    assert SessionStore(standby=False).describe()[2] == "no standby: back empty"
    assert SessionStore(failover_s=86_400).failover_s == 86_400
    for bad in (-1, 86_401):
        with pytest.raises(ValueError, match=r"failover_s must be a number in the range \[0, 86,400\]"):
            SessionStore(failover_s=bad)
    with pytest.raises(TypeError, match="standby must be True or False; got 1"):
        SessionStore(standby=1)
    with pytest.raises(ValueError, match=r"session_ttl_s must be a number in the range \(0, 2,592,000\]"):
        SessionStore(session_ttl_s=0)


def test_sticky_sessions_event_free_path_answers_at_once_one_request_or_many():
    from chapter1.core.component import OK
    from chapter1.core.simulation import Simulation

    sim = Simulation(c.load_balanced(2, sessions="sticky", workers=2), few_clients(), 10, 0)
    run = sim.build(sim.architecture["sessions"])
    assert run.batchable() and run.admit(0, 1.5) == (OK, 1.5)
    assert run.admit_all([1, 2], [2.0, 3.0]) == ([OK, OK], [2.0, 3.0])
    assert run.row()["served"] == 3
    assert not StickySessions().fail(1, 2).runtime(sim, 5).batchable(), "a deploy needs events"
