"""A balancer at the smallest inputs a learner tries: one request, and a policy that does not exist."""

import pytest

import chapter1 as c


@pytest.mark.parametrize("policy", ["round_robin", "random", "weighted", "ip_hash", "least_connections"])
def test_one_request_through_a_balancer_is_served_by_one_server(policy):
    result = c.simulate(c.load_balanced(3, policy), c.Workload.from_rate(5), requests=1, seed=0)
    assert list(result.requests["status"]) == ["ok"]
    assert result.requests["server"].iloc[0] in {"web-1", "web-2", "web-3"}
    served = result.components.set_index("component").loc[["web-1", "web-2", "web-3"], "served"]
    assert served.sum() == 1


def test_an_unknown_policy_is_refused_with_the_policies_listed():
    with pytest.raises(ValueError, match=r"^policy must be one of 'round_robin', 'random', 'least_connections', "
                                         r"'power_of_two', 'weighted', 'ip_hash'; got 'nope'$"):
        c.LoadBalancer(servers=(c.WebServer(name="a"),), policy="nope")
