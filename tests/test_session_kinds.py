"""The session kinds as the contract checks and the components table meet them: their example architectures,
and sticky sessions counting what they passed on one request at a time as in a batch."""

import pytest

import chapter1 as c
import chapter1.components.sessions  # noqa: F401  (registers the session kinds)
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
