"""Every figure of the balancing models (not only the mean response), each from its definition:

* random routing: n independent M/M/c queues at lambda / n; the number in system counts all of them;
* round robin: E_n/M/1, sigma the root in (0, 1) of sigma = (lambda / (lambda + mu (1 - sigma)))^n, found here
  by the fixed-point iteration from 0 (which climbs to the smallest root), response 1 / (mu (1 - sigma));
* power of d: T = (1/mu) sum_{i>=1} rho^((d^i - d)/(d - 1)), a request waits with probability rho^d.
"""

import math

import pytest

from chapter1 import analytic

MU = 10.0


def figures(stats):
    return (stats.utilization, stats.p_wait, stats.mean_wait_s, stats.mean_response_s, stats.mean_in_system)


def test_random_routing_is_one_mm1_per_server_and_counts_every_server():
    """10 servers at 8 a second each: rho 0.8, wait 0.8 / (10 - 8) = 0.4 s, response 0.5 s, 80 x 0.5 = 40 in system."""
    assert figures(analytic.random_routing(80, MU, servers=10)) == pytest.approx((0.8, 0.8, 0.4, 0.5, 40), rel=1e-12)


def test_random_routing_with_two_workers_a_server_is_erlang_c():
    """M/M/2 at a = 16 / 10 = 1.6: C = (a^2 / 2)(1 / (1 - 0.8)) / (1 + a + (a^2 / 2) / (1 - 0.8)) = 6.4 / 9."""
    c = 6.4 / 9
    wait = c / (2 * MU - 16)
    expected = (0.8, c, wait, wait + 1 / MU, 160 * (wait + 1 / MU))
    assert figures(analytic.random_routing(160, MU, servers=10, workers=2)) == pytest.approx(expected, rel=1e-9)


def fixed_point_sigma(arrival_rate, servers):
    sigma, before = 0.0, -1.0
    while sigma - before > 1e-16:   # rises monotonically to the root: a few hundred steps at most here
        before, sigma = sigma, (arrival_rate / (arrival_rate + MU * (1 - sigma))) ** servers
    return sigma


@pytest.mark.parametrize("arrival_rate, servers", [(80, 10), (30, 4), (19, 2), (8, 1), (0.5, 3)])
def test_round_robin_figures_follow_sigma(arrival_rate, servers):
    sigma = fixed_point_sigma(arrival_rate, servers)
    response = 1 / (MU * (1 - sigma))
    expected = (arrival_rate / (servers * MU), sigma, response - 1 / MU, response, arrival_rate * response)
    assert figures(analytic.round_robin(arrival_rate, MU, servers)) == pytest.approx(expected, rel=1e-9)


def test_round_robin_with_one_server_is_mm1_and_idle_and_full_edges():
    assert analytic.round_robin(8, MU, servers=1).p_wait == pytest.approx(0.8, rel=1e-12)
    assert figures(analytic.round_robin(0, MU, servers=3)) == (0.0, 0.0, 0.0, 0.1, 0.0)
    assert figures(analytic.round_robin(30, MU, servers=3)) == (1.0, 1.0, math.inf, math.inf, math.inf)
    assert figures(analytic.round_robin(31, MU, servers=3))[:2] == (31 / 30, 1.0)


def supermarket(rho, d, terms=40):
    return sum(rho ** ((d**i - d) // (d - 1)) for i in range(1, terms)) / MU


@pytest.mark.parametrize("rho, d", [(0.8, 2), (0.95, 2), (0.5, 3), (0.99, 4)])
def test_power_of_d_figures(rho, d):
    servers = 8
    rate = rho * servers * MU
    response = supermarket(rho, d)
    expected = (rho, rho**d, response - 1 / MU, response, rate * response)
    assert figures(analytic.power_of_two(rate, MU, servers, d=d)) == pytest.approx(expected, rel=1e-12)


def test_power_of_d_edges():
    """d = 1 is M/M/1 per server; d above the servers samples them all; rho = 1 never settles."""
    assert figures(analytic.power_of_two(40, MU, 5, d=1)) == pytest.approx((0.8, 0.8, 0.4, 0.5, 20), rel=1e-12)
    assert figures(analytic.power_of_two(50, MU, 5)) == (1.0, 1.0, math.inf, math.inf, math.inf)
    assert figures(analytic.power_of_two(0, MU, 5)) == (0.0, 0.0, 0.0, 0.1, 0.0)


@pytest.mark.parametrize("policy, model", [
    ("random", analytic.random_routing), ("round_robin", analytic.round_robin), ("weighted", analytic.round_robin),
    ("power_of_two", analytic.power_of_two), ("least_connections", analytic.pooled)])
def test_each_policy_has_its_model(policy, model):
    assert analytic.load_balancing(policy, 30, MU, 4) == model(30, MU, 4)


def test_pooled_is_mmc_and_ip_hash_has_no_model():
    assert analytic.pooled(30, MU, 4) == analytic.mmc(30, MU, 4)
    assert analytic.load_balancing("ip_hash", 30, MU, 4) is None
    with pytest.raises(ValueError, match=r"^policy must be one of 'round_robin', 'random', 'least_connections', "
                                         r"'power_of_two', 'weighted', 'ip_hash'; got 'fastest'$"):
        analytic.load_balancing("fastest", 30, MU, 4)
    with pytest.raises(ValueError, match=r"^workers must be a whole number in the range \[1, "):
        analytic.random_routing(30, MU, 4, workers=0)
    with pytest.raises(ValueError, match=r"^d must be a whole number >= 1; got 0$"):
        analytic.power_of_two(30, MU, 4, d=0)
