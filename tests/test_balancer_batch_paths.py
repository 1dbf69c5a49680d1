"""How a load balancer routes without events: which path a run takes, and that every path gives the simpy answer.

A balancer whose view cannot change routes a whole run at once (or one request at a time, when its policy reads
connections); an outage, a join or outlier ejection sends it change by change; a server kind that admits requests
its own way is asked for each one; a policy added to ``POLICIES`` is asked request by request.
"""

import pytest

import chapter1 as c
from chapter1.components import pool as pool_module
from chapter1.components.policies import POLICIES
from chapter1.components.server import ServerRun
from chapter1.core.component import REJECTED


def run(arch, engine="fast", requests=300):
    return c.simulate(arch, c.Workload.from_rate(60), requests=requests, seed=2, engine=engine)


def lb(policy, servers=None, **options):
    servers = servers or tuple(c.WebServer(name=f"web-{k + 1}", workers=2) for k in range(3))
    return c.LoadBalancer(servers=servers, policy=policy, **options)


@pytest.fixture
def change_by_change(monkeypatch):
    """The balancers that route change by change (counted; they still route)."""
    calls, real = [], pool_module.balance_through_changes

    def counted(balancer, *args):
        calls.append(balancer.spec.policy)
        return real(balancer, *args)
    monkeypatch.setattr(pool_module, "balance_through_changes", counted)
    return calls


def test_a_balancer_behind_a_tier_that_is_down_routes_nothing():
    arch = c.Architecture("down in front", (c.WebServer(name="front").fail(0), lb("least_connections")), dns=None)
    fast = run(arch)
    assert (fast.requests["status"] == "error").all() and (fast.requests["server"] == "").all()
    assert fast.components.set_index("component").loc["load balancer", "served"] == 0
    assert fast.requests.equals(run(arch, "simpy").requests)


@pytest.mark.parametrize("policy", ["least_connections", "power_of_two", "round_robin", "ip_hash"])
def test_a_view_that_cannot_change_is_not_routed_change_by_change(change_by_change, policy):
    run(c.Architecture("steady", (lb(policy),), dns=None))
    assert change_by_change == []


@pytest.mark.parametrize("policy, options, one_by_one", [("least_connections", {}, True),
                                                         ("round_robin", {"eject_after": 3}, True),
                                                         ("round_robin", {}, False), ("random", {}, False)])
def test_an_outage_in_the_pool_is_routed_change_by_change_as_simpy_does(change_by_change, policy, options,
                                                                        one_by_one):
    """A policy that reads connections, or ejection, needs requests one at a time; a blind policy without
    ejection routes each health check's stretch at once."""
    servers = (c.WebServer(name="web-1", workers=2).fail(1.0, 2.0), c.WebServer(name="web-2", workers=2))
    arch = c.Architecture("outage", (lb(policy, servers, health_check_interval_s=0.5, **options),), dns=None)
    fast = run(arch)
    assert change_by_change == ([policy] if one_by_one else [])
    assert (fast.requests["status"] == "error").sum() > 0
    assert fast.requests.equals(run(arch, "simpy").requests)


class Refusing(ServerRun):
    """A server kind that admits requests its own way: it refuses every other one (by request number)."""

    def admit(self, i, t):
        return (REJECTED, t) if i % 2 else super().admit(i, t)


class RefusingServer(c.WebServer):
    def runtime(self, sim, index):
        return Refusing(self, sim, index)


def test_a_server_that_admits_its_own_way_is_asked_for_each_request(change_by_change):
    servers = tuple(RefusingServer(name=f"odd-{k}", workers=4) for k in range(2))
    result = run(c.Architecture("own way", (lb("least_connections", servers),), dns=None))
    assert change_by_change == ["least_connections"]
    status = result.requests["status"]
    assert (status.iloc[1::2] == "rejected").all() and (status.iloc[::2] == "ok").all()


def test_a_policy_added_to_the_registry_is_asked_request_by_request(monkeypatch):
    def by_client_from_the_last(run, healthy, i):
        """Sticky: a client's number picks its server, counted from the last one alive."""
        return healthy[-1 - run.client[i] % len(healthy)]
    monkeypatch.setitem(POLICIES, "by_client_from_the_last", by_client_from_the_last)
    arch = c.Architecture("own policy", (lb("by_client_from_the_last"),), dns=None)
    fast = run(arch, requests=60)
    want = [f"web-{3 - client % 3}" for client in fast.requests["client"]]
    assert fast.requests["server"].tolist() == want
    assert fast.requests.equals(run(arch, "simpy", requests=60).requests)
