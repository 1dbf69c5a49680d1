"""The session kinds as the contract checks and the result tables meet them: their example architectures,
sticky sessions counting what they passed on one request at a time as in a batch, and the sessions the
servers keep while the balancer in front of them is down."""

import pytest

import chapter1 as c
import chapter1.components.sessions  # noqa: F401  (registers the session kinds)
from chapter1.core.architecture import Architecture
from chapter1.core.component import KINDS, OK
from chapter1.core.simulation import Simulation


@pytest.mark.parametrize("kind, policy", [("StickySessions", "ip_hash"), ("SessionStore", "round_robin")])
def test_the_session_kinds_examples_put_three_two_worker_web_servers_behind_a_balancer(kind, policy):
    arch = KINDS[kind].example()
    balancer = arch["load balancer"]
    assert [(s.name, s.workers) for s in balancer.members] == [("web-1", 2), ("web-2", 2), ("web-3", 2)]
    assert balancer.policy == policy


def test_sticky_sessions_count_each_request_admitted_one_at_a_time():
    sim = Simulation(c.load_balanced(2, sessions="sticky", workers=2), c.Workload.from_rate(10), 10, 0)
    run = sim.build(sim.architecture["sessions"])
    assert [run.admit(i, 0.5 * i) for i in range(3)] == [(OK, 0.0), (OK, 0.5), (OK, 1.0)]
    assert run.row()["served"] == 3
    run.admit_all([3, 4], [2.0, 2.5])
    assert run.row()["served"] == 5


@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_a_balancer_outage_refuses_requests_but_the_servers_keep_every_session(engine):
    arch = Architecture("sticky", c.load_balanced(2, sessions="sticky", workers=2).fail("load balancer", 2, 3).tiers,
                        dns=None)
    result = c.simulate(arch, c.Workload(users=20, requests_per_user=43_200), requests=200, seed=4, engine=engine)
    requests, summary = result.requests, result.summary()
    refused = requests["server"] == ""
    assert refused.sum() > 10 and (requests.loc[refused, "status"] == "error").all()
    assert not requests["session_lost"].any()
    assert (summary["sessions"], summary["sessions_lost"]) == (requests.loc[~refused, "client"].nunique(), 0)
