"""Chapter 04's library: policy theory against simulation, failover theory against simulation, panels, bad input.

Tolerances come from measured noise (12 seeds unless said otherwise): the comment above each
check gives the mean and the standard deviation of one run; a check averages a few seeds and
allows about 4 standard deviations of that average, plus any known bias.
"""

import math

import numpy as np
import pytest

from chapter1 import Workload, analytic, simulate, single_server
from chapter1 import balancing as b

# -- policies ------------------------------------------------------------------------------------

def test_theory_matches_the_queueing_formulas():
    assert b.rate_for_load(0.5, servers=4) == 40.0
    assert b.theory_ms("random", 0.8, 8) == pytest.approx(250.0)                  # M/M/1: 50 ms / (1 - 0.8)
    assert b.theory_ms("least_connections", 0.8, 8) == pytest.approx(
        analytic.mmc(128, 20, 8).mean_response_s * 1_000)
    assert b.theory_ms("weighted", 0.8, 8) == b.theory_ms("round_robin", 0.8, 8)  # identical servers
    assert b.theory_ms("ip_hash", 0.8, 8) is None
    table = b.theory_data(8)
    at = table[np.isclose(table["load"], 0.95)].set_index("policy")["mean_ms"]
    assert at["least connections"] < at["power of two"] < at["round robin"] < at["random"]


def test_policy_sweep_lands_on_theory():
    # 8 one-worker servers at 70 %, 10,000 requests, warm-up dropped, 8 seeds: random -0.5 % (sd 4.3 %),
    # round robin +0.7 % (sd 5.6 %).  Mean of 3 seeds: sd ~3.2 %; bound 11 %.
    # Power of two: +5.3 % (sd 1.7 %): the supermarket model is the many-server limit, and 8 servers
    # queue a little more.  Bound: 0 .. +10 %.
    table = b.policy_sweep(["random", "round_robin", "power_of_two"], [0.7], servers=8, requests=10_000,
                           seeds=(0, 1, 2)).set_index("policy")
    error = {p: table.loc[b.LABELS[p], "mean_ms"] / b.theory_ms(p, 0.7, 8) - 1
             for p in ("random", "round_robin", "power_of_two")}
    assert abs(error["random"]) < 0.11 and abs(error["round_robin"]) < 0.11
    assert 0 < error["power_of_two"] < 0.10
    assert (table["spread_ms"] >= 0).all()


def test_server_time_leaves_out_dns_lookups():
    result = simulate(b.policy_pool(servers=2), Workload.from_rate(2), requests=600, seed=1)
    table = result.requests
    assert table["dns_ms"].max() > 0  # some requests looked the name up
    assert b.server_time_ms(result, warmup=0) == pytest.approx((table["latency_ms"] - table["dns_ms"]).mean())


def test_a_slow_server_is_swamped_by_round_robin_but_not_by_weighted():
    rate = b.rate_for_load(0.6, servers=4)  # 48 req/s; web-1 at half speed serves 10/s, and round robin sends it 12/s
    loads = {}
    for policy in ("round_robin", "weighted", "least_connections"):
        result = simulate(b.policy_pool(policy, servers=4, slow=2), Workload.from_rate(rate), requests=4_000, seed=0)
        loads[policy] = b.server_loads(result).set_index("server")
    assert loads["round_robin"]["share"].to_numpy() == pytest.approx([0.25] * 4, abs=0.001)
    assert loads["round_robin"].loc["web-1", "utilization"] > 0.97
    assert loads["weighted"].loc["web-1", "share"] == pytest.approx(1 / 7, abs=0.002)  # speeds 1 : 2 : 2 : 2
    assert loads["weighted"]["utilization"].max() < 0.8
    assert loads["least_connections"].loc["web-1", "share"] < 0.2
    assert loads["weighted"].loc["web-1", "speed"] == 0.5


def test_balancer_view_draws_one_chart_and_states_the_theory():
    svg, text = b.balancer_view("power_of_two", 8, 70, requests=2_000)
    assert "<svg" in svg.data and "busy share of the server" in svg.data and "<b>Right:</b>" in text
    assert "power of two" in text and "theory" in text and "ms" in text
    _, slow = b.balancer_view("round_robin", 4, 50, slow=3, requests=1_000)
    assert "theory assumes identical servers" in slow
    _, sticky = b.balancer_view("ip_hash", 4, 50, requests=1_000)
    assert "no closed form" in sticky


def test_charts_build():
    table = b.policy_sweep(["random"], [0.5], servers=4, requests=500, seeds=[0])
    spec = b.policies_chart(4, table, current=0.5).to_dict()
    assert {"theory", "simulated", "current"} <= set(spec["datasets"])


# -- failover ------------------------------------------------------------------------------------

def test_expected_failures_are_the_integral_of_the_failing_share():
    for kind, ttl, hit in [("load balancer", 0, 0), ("DNS round robin", 40, 0.8), ("DNS round robin", 0, 0)]:
        times = np.linspace(0, 120, 24_001)
        shares = [b.failed_share(t, kind, 4, 22.5, 10, ttl, hit) for t in times]
        integral = np.trapezoid(shares, times) * 100
        assert integral == pytest.approx(b.expected_failed(100, 4, 22.5, 10, kind, ttl, hit), rel=1e-3)
    assert b.detected_at(22.5, 10) == 30 and b.detected_at(30, 10) == 30 and b.detected_at(0.1, 7) == 7


def test_cache_hit_ratio_follows_the_clients_the_simulation_makes():
    # 50 req/s over 1,000 clients, TTL 30 s: r*TTL = 1.5, hit = 0.6; the simulation agrees within noise.
    assert b.cache_hit_ratio(50, 30) == pytest.approx(0.6)
    result = simulate(b.failover_pool("DNS round robin", ttl_s=30), Workload.from_rate(50), requests=5_000, seed=0)
    assert result.summary()["dns_hit_ratio"] == pytest.approx(0.6, abs=0.03)
    assert b.cache_hit_ratio(50, 30, users=100) == pytest.approx(15 / 16)


def failed(kind, ttl_s, seed):
    result = simulate(b.failover_pool(kind, 4, 10, ttl_s), Workload.from_rate(b.FAILOVER_RATE), requests=5_000,
                      seed=seed)
    return int((result.requests["status"] != "ok").sum())


def test_balancer_failures_match_the_expected_count():
    # web-2 dies at 22.5 s, the check at 30 s notices: 12.5 req/s x 7.5 s = 93.75 expected.
    # Measured: mean 93.6, sd 3.9 (round robin sends exactly every 4th request, so less than Poisson).
    # Mean of 4 seeds: sd ~2; bound 10.
    expected = b.expected_failed(b.FAILOVER_RATE, 4, b.FAIL_AT_S, 10)
    assert abs(np.mean([failed("load balancer", 0, s) for s in range(4)]) - expected) < 10


def test_dns_failures_last_a_ttl_longer_and_match_the_expected_count():
    # DNS round robin, TTL 30 s (60 % of requests from a cached answer): 93.75 + 12.5 x 0.6 x 15 = 206.25 expected.
    # Measured: mean 210.5, sd 11.7.  Mean of 4 seeds: sd ~6, plus a +2 % bias; bound 25.
    expected = b.expected_failed(b.FAILOVER_RATE, 4, b.FAIL_AT_S, 10, "DNS round robin", 30, b.cache_hit_ratio(50, 30))
    counts = [failed("DNS round robin", 30, s) for s in range(4)]
    assert abs(np.mean(counts) - expected) < 25
    assert min(counts) > 1.5 * failed("load balancer", 0, 0)


def test_failover_view_and_chart():
    svg, text = b.failover_view("DNS round robin", 4, 10, 30, requests=4_000)  # 80 s
    assert "<svg" in svg.data and "last cached answer expires" in svg.data
    assert "notices at <b>30 s</b>" in text and "expected" in text and "expires at <b>60 s</b>" in text
    _, text = b.failover_view("load balancer", 2, 5, 30, requests=2_000)
    assert "notices at <b>25 s</b>" in text and "from a cached answer" not in text
    result = simulate(b.failover_pool(), Workload.from_rate(50), requests=2_000, seed=0)
    data = b.failover_data(result, "load balancer", 10)
    assert [e["event"] for e in data["events"]] == ["server dies", "check notices"]
    assert data["failover_theory"]["share"].max() == 0.25


def test_detection_sweep_agrees_with_the_expected_means():
    # 4 deaths per interval spread over the interval: mean delay h/2.  Measured error per point: < 10 %
    # (3-8 % for the load balancer at h = 2-5, where a few requests die in flight; < 3 % elsewhere).
    table = b.detection_sweep([5, 20], requests=3_000)
    assert np.allclose(table["failed"], table["expected"], rtol=0.15)
    assert table.loc[table["kind"] == "load balancer", "expected"].tolist() == [31.25, 125.0]
    assert "ttl" in str(b.detection_chart(table).to_dict()["title"]).lower()


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: b.rate_for_load(0, 4), r"load must be a number in the range \(0, 1\]; got 0"),
    (lambda: b.rate_for_load(0.5, 0), r"servers must be a whole number in the range \[1, 1,000\]; got 0"),
    (lambda: b.theory_ms("fastest", 0.5, 4), "policy must be one of 'round_robin'"),
    (lambda: b.policy_pool(slow=0.5), r"slow must be a number in the range \[1, 100\]; got 0.5"),
    (lambda: b.policy_sweep(seeds=()), "seeds must list at least one seed"),
    (lambda: b.failover_pool("anycast"), "kind must be one of 'load balancer', 'DNS round robin'; got 'anycast'"),
    (lambda: b.failover_pool(interval_s=0), r"interval_s must be a number in the range \(0, 86,400\]; got 0"),
    (lambda: b.detected_at(-1, 10), "fail_at_s must be a number >= 0; got -1"),
    (lambda: b.failed_share(30, "load balancer", 4, 22.5, 10, hit_ratio=1.5), r"hit_ratio must be .*\[0, 1\]"),
    (lambda: b.cache_hit_ratio(0, 30), "rate must be a number > 0; got 0"),
    (lambda: b.balancer_view("round_robin", 4, 0), r"load_percent must be a number in the range \(0, 100\]; got 0"),
    (lambda: b.balancer_panel(policy="fastest"), "policy must be one of"),
    (lambda: b.detection_sweep([0]), r"intervals must be a number in the range \(0, 3,600\]; got 0"),
    (lambda: b.server_loads(simulate(single_server(), Workload(), requests=100)),
     "architecture must have exactly one pool of servers; 'single server' has 0"),
])
def test_bad_input_names_the_parameter_and_the_range(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_overloaded_theory_is_infinite_and_left_off_the_curves():
    assert math.isinf(b.theory_ms("random", 1.0, 4))
    assert b.theory_data(4, loads=[0.5, 1.0])["load"].max() == 0.5


# -- health checks that need several failures, the least-connections trap -------------------------

def test_expected_failed_needs_a_ttl_for_dns_and_refuses_one_for_a_balancer():
    assert b.expected_failed(100, 4, 22.5, 10, fall=3) == pytest.approx(25 * 27.5)
    with pytest.raises(ValueError, match="no DNS TTL"):
        b.expected_failed(100, 4, 22.5, 10, ttl_s=60)
    with pytest.raises(ValueError, match="ttl_s is needed"):
        b.expected_failed(100, 4, 22.5, 10, "DNS round robin")
    derived = b.expected_failed(50, 4, 22.5, 10, "DNS round robin", ttl_s=60)  # hit ratio from the rate
    assert derived == pytest.approx(b.expected_failed(50, 4, 22.5, 10, "DNS round robin", ttl_s=60,
                                                      hit_ratio=b.cache_hit_ratio(50, 60)))
    assert b.detected_at(22.5, 10, fall=3) == 50.0


def test_least_connections_loses_most_requests_to_a_dead_server_until_ejection():
    runs = b.trap_runs(["round_robin", "least_connections"], [0], load_percent=70, requests=16_000)
    share = runs.set_index("policy")["share"]
    assert share["round robin"] == pytest.approx(0.25, abs=0.03)
    assert share["least connections"] > 0.8
    fixed = b.trap_runs(["least_connections"], [0], load_percent=70, eject_after=3, requests=16_000)
    assert fixed["failed"].iloc[0] < 20
    svg, text = b.trap_view("least_connections", 70, 0, 1, requests=8_000)
    assert "<svg" in svg.data and "a blind policy would lose" in text


def test_chapter_04_panels_draw_three_runs():
    # Every panel simulates its setting three times (seeds s, s + 1000, s + 2000): one dot or one overlaid set
    # of failure windows per run, and the headline gives the range over the runs.
    _, text = b.balancer_view("round_robin", 4, 70, requests=1_000)
    assert "over 3 runs" in text
    _, text = b.failover_view("load balancer", 4, 10, 30, requests=2_000)
    assert "over 3 runs" in text
    result = simulate(b.failover_pool(), Workload.from_rate(50), requests=1_000, seed=0)
    windows = b.overlaid_runs([b.failover_data(result, "load balancer", 10)] * 3)["windows"]
    assert np.unique(windows["run"]).tolist() == [1, 2, 3]
