"""Load balancing: policies against queueing theory, health checks, joins, DNS round robin, bad input.

Theory tolerances come from measured noise: the comments give the spread of the relative error
of one run (sd/run) over 12 seeds, and the mean.  A test averages a few seeds, so its bound is
about 3-4 standard deviations of that average plus the known bias of each comparison.
"""

import math

import numpy as np
import pytest

from chapter1 import (
    Architecture,
    DNSRoundRobin,
    Join,
    LoadBalancer,
    Server,
    WebServer,
    Workload,
    analytic,
    dns_round_robin,
    load_balanced,
    simulate,
    single_server,
)
from chapter1.diagram import draw
from chapter1.loadbalancer import POLICIES
from chapter1.simulation import MAX_CLIENTS, client_population

MU = 20.0  # one worker serves 20 requests/s (50 ms)


def server_response_s(policy, servers, rho, requests, seed, warmup=0.1):
    """Mean time at the servers (latency without the DNS lookup), leaving out the first ``warmup`` share.

    The simulation starts with empty queues; the first 10% of requests are the warm-up.
    """
    arch = load_balanced(servers=servers, policy=policy, workers=1, service_time_ms=1_000 / MU)
    result = simulate(arch, Workload.from_rate(rho * servers * MU), requests=requests, seed=seed)
    table = result.requests
    assert (table["status"] == "ok").all()
    return float((table["latency_ms"] - table["dns_ms"]).to_numpy()[int(warmup * requests):].mean()) / 1_000


def mean_relative_error(policy, servers, rho, requests, seeds):
    theory = analytic.load_balancing(policy, rho * servers * MU, MU, servers).mean_response_s
    return np.mean([server_response_s(policy, servers, rho, requests, s) / theory - 1 for s in seeds])


# -- policies against theory -------------------------------------------------------------------

def test_random_routing_is_n_independent_mm1_queues():
    # 8 servers at 70%, 20k requests: sd/run 3.6%, mean -1.3% over 12 seeds (a slight warm-up bias).
    # The mean of 4 seeds has sd ~1.8%: a 6% bound is > 3 sd.
    assert abs(mean_relative_error("random", 8, 0.7, 20_000, range(4))) < 0.06


def test_round_robin_is_erlang_n_m_1():
    # 8 servers at 70%, 20k requests: sd/run 4.5%, mean -0.9% over 12 seeds; 4-seed mean sd ~2.2%.
    assert abs(mean_relative_error("round_robin", 8, 0.7, 20_000, range(4))) < 0.07


def test_power_of_two_follows_the_supermarket_model():
    # The supermarket model is the n -> infinity limit; at n = 50 and 80%, 30k requests: mean +1.5%,
    # sd/run 2.4% over 12 seeds (at n = 100: +0.2%, the finite-n excess shrinks).  3-seed mean sd ~1.4%:
    # bound -5% .. +7%.
    assert -0.05 < mean_relative_error("power_of_two", 50, 0.8, 30_000, range(3)) < 0.07


def test_least_connections_is_close_to_one_shared_queue_and_beats_random():
    # Join-the-shortest-queue cannot beat M/M/c (one shared queue) and stays close to it:
    # 8 servers at 70%: +9.5% above M/M/c, sd/run 2.4% over 12 seeds.  Bound: 0 .. +20%.
    error = mean_relative_error("least_connections", 8, 0.7, 20_000, range(4))
    assert -0.02 < error < 0.20
    random_s = np.mean([server_response_s("random", 8, 0.7, 20_000, s) for s in range(2)])
    least_s = (1 + error) * analytic.pooled(0.7 * 8 * MU, MU, 8).mean_response_s
    assert least_s < 0.5 * random_s  # theory: 56 ms against 167 ms


def test_theory_orders_the_policies():
    args = (0.8 * 10 * MU, MU, 10)
    pooled, two = analytic.pooled(*args).mean_response_s, analytic.power_of_two(*args).mean_response_s
    robin, random_ = analytic.round_robin(*args).mean_response_s, analytic.random_routing(*args).mean_response_s
    assert pooled < two < robin < random_


def test_theory_reduces_to_mm1_with_one_choice_or_one_server():
    mm1 = analytic.mmc(16, MU).mean_response_s
    assert analytic.power_of_two(16, MU, servers=1, d=1).mean_response_s == pytest.approx(mm1)
    assert analytic.round_robin(16, MU, servers=1).mean_response_s == pytest.approx(mm1)
    assert analytic.random_routing(16 * 5, MU, servers=5).mean_response_s == pytest.approx(mm1)


@pytest.mark.parametrize("theory", [analytic.random_routing, analytic.round_robin, analytic.power_of_two,
                                    analytic.pooled])
def test_theory_is_infinite_when_overloaded(theory):
    assert math.isinf(theory(10 * MU, MU, 10).mean_response_s)


def test_theory_for_ip_hash_is_none_and_unknown_policies_are_refused():
    assert analytic.load_balancing("ip_hash", 10, MU, 2) is None
    with pytest.raises(ValueError, match="policy must be one of 'round_robin'.*'ip_hash'; got 'fastest'"):
        analytic.load_balancing("fastest", 10, MU, 2)


# -- who gets what -------------------------------------------------------------------------------

def mixed_pool():
    """Three servers with the same service time and 2, 4, 8 workers: capacities 1 : 2 : 4."""
    return [WebServer(name=f"web-{w}w", workers=w, service_time_ms=50) for w in (2, 4, 8)]


def test_weighted_gives_load_in_proportion_to_capacity():
    arch = load_balanced(servers=mixed_pool(), policy="weighted")
    result = simulate(arch, Workload.from_rate(0.7 * 14 * MU), requests=7_000, seed=1)
    shares = result.requests["server"].value_counts(normalize=True)
    assert [shares[f"web-{w}w"] for w in (2, 4, 8)] == pytest.approx([1 / 7, 2 / 7, 4 / 7], abs=0.002)
    utilization = result.components.set_index("component")["utilization"]
    assert utilization[["web-2w", "web-4w", "web-8w"]].to_numpy() == pytest.approx(0.7, abs=0.05)


def test_explicit_weights_override_capacity():
    arch = load_balanced(servers=2, policy="weighted", weights=(3, 1))
    result = simulate(arch, Workload.from_rate(50), requests=4_000, seed=0)
    assert result.requests["server"].value_counts(normalize=True)["web-1"] == pytest.approx(0.75, abs=0.001)


def test_round_robin_ignores_speed_and_overloads_the_small_server():
    arch = load_balanced(servers=mixed_pool(), policy="round_robin")
    result = simulate(arch, Workload.from_rate(0.5 * 14 * MU), requests=7_000, seed=1)
    assert result.requests["server"].value_counts(normalize=True).to_numpy() == pytest.approx([1 / 3] * 3, abs=0.001)
    utilization = result.summary()
    assert utilization["web-2w_utilization"] > 0.95 > 0.5 > utilization["web-8w_utilization"]


def test_ip_hash_keeps_each_client_on_one_server():
    result = simulate(load_balanced(servers=4, policy="ip_hash"), Workload(users=200), requests=4_000, seed=2)
    table = result.requests
    assert table["client"].nunique() == 200
    assert (table.groupby("client")["server"].nunique() == 1).all()
    assert table["server"].nunique() == 4


def test_ip_hash_moves_only_the_dead_servers_clients():
    arch = load_balanced(servers=4, policy="ip_hash").fail("web-3", at_s=20)
    result = simulate(arch, Workload(users=300, requests_per_user=2_000), requests=8_000, seed=2)
    table = result.requests[result.requests["status"] == "ok"]
    home = table[table["arrival_s"] < 20].groupby("client")["server"].agg(set)
    later = table[table["arrival_s"] >= 30].groupby("client")["server"].agg(set)  # web-3 noticed dead at 30
    common = home.index.intersection(later.index)
    moved = {c for c in common if later[c] != home[c]}
    assert moved and moved == {c for c in common if home[c] == {"web-3"}}
    assert all(len(later[c]) == 1 for c in common)


def test_clients_come_from_a_capped_population():
    assert client_population(Workload(users=7)) == 7
    assert client_population(Workload(users=10_000_000)) == MAX_CLIENTS
    result = simulate(single_server(), Workload(users=10_000_000), requests=5_000, seed=0)
    clients = result.requests["client"]
    assert clients.min() >= 0 and clients.max() < MAX_CLIENTS and clients.nunique() > 990


# -- faults: health checks, joins, the balancer itself -----------------------------------------------

RATE = 200.0  # requests/s; 4 servers x 8 workers x 20/s = 640/s capacity, 31% busy


def entered_s(table):
    """When each request reached the balancer: its arrival plus its DNS lookup, if it made one."""
    return table["arrival_s"] + table["dns_ms"] / 1_000


def test_dead_server_fails_requests_only_until_the_next_health_check():
    # web-2 dies at 23 s; the balancer checks at 0, 10, 20, 30, ...: it stops sending at 30.
    arch = load_balanced(servers=4, health_check_interval_s=10).fail("web-2", at_s=23)
    result = simulate(arch, Workload.from_rate(RATE), requests=12_000, seed=3)
    table = result.requests
    failed = table[table["status"] != "ok"]
    assert set(failed["failed_at"]) == {"web-2"}
    assert failed["arrival_s"].max() < 30 and failed["arrival_s"].min() > 22  # (a few were inside at 23)
    # Round robin sends web-2 every 4th request: RATE/4 x 7 s = 350, Poisson sd ~9.4; plus those in service at 23.
    assert abs(len(failed) - RATE / 4 * 7) < 40
    sent = table[(table["arrival_s"] >= 23) & (table["server"] == "web-2")]
    assert (sent["status"] != "ok").all() and sent["arrival_s"].max() < 30
    assert result.components.set_index("component").loc["web-2", "error"] == len(failed)


@pytest.mark.parametrize("interval", [2, 5, 20])
def test_failures_scale_with_the_health_check_interval(interval):
    arch = load_balanced(servers=4, health_check_interval_s=interval).fail("web-1", at_s=21)
    result = simulate(arch, Workload.from_rate(RATE), requests=10_000, seed=4)
    detected = math.ceil(21 / interval) * interval
    failed = result.requests[result.requests["status"] != "ok"]
    assert failed["arrival_s"].max() < detected
    assert abs(len(failed) - RATE / 4 * (detected - 21)) < 4 * math.sqrt(RATE / 4 * (detected - 21)) + 10


def test_recovered_server_gets_traffic_again_after_a_check():
    arch = load_balanced(servers=4, health_check_interval_s=10).fail("web-2", at_s=15, recover_s=41)
    table = simulate(arch, Workload.from_rate(RATE), requests=14_000, seed=5).requests
    entered = entered_s(table)
    web2 = entered[table["server"] == "web-2"]
    assert not ((web2 >= 20) & (web2 < 50)).any()  # out from the check at 20 to the check at 50
    assert (web2 >= 50).sum() == pytest.approx((entered >= 50).sum() / 4, abs=2)


def test_a_server_that_joins_takes_load_off_the_others():
    # Two one-worker servers at 90%; a third joins at 30 s (the check at 30 sees it): 60% each after.
    # Theory (round robin, E_n/M/1): mean 379 ms before, 91 ms after, plus ~26 ms of DNS lookups.
    # Measured over seeds 0-5: 260-490 ms before (5-30 s), 110-124 ms after (35 s on).
    arch = load_balanced(servers=2, workers=1, policy="round_robin").add_server(at_s=30)
    result = simulate(arch, Workload.from_rate(0.9 * 2 * MU), requests=3_000, seed=6)
    table = result.requests
    entered = entered_s(table)
    assert table.loc[entered < 30, "server"].isin(["web-1", "web-2"]).all()
    assert (table.loc[entered >= 30, "server"] == "web-3").mean() == pytest.approx(1 / 3, abs=0.01)
    timeline = result.timeline(bins=10)
    before, after = timeline[timeline["t_s"] < 30], timeline[timeline["t_s"] > 40]
    assert before["web-1_utilization"].mean() > 0.8 and after["web-1_utilization"].mean() < 0.75
    latency = table["latency_ms"]
    assert latency[entered > 35].mean() < 0.5 * latency[(entered > 5) & (entered < 30)].mean()


def test_no_healthy_server_means_the_balancer_answers_with_errors():
    arch = load_balanced(servers=1).fail("web-1", at_s=5, recover_s=12)
    table = simulate(arch, Workload.from_rate(50), requests=1_500, seed=0).requests
    at_balancer = entered_s(table)[table["failed_at"] == "load balancer"]
    assert len(at_balancer) and at_balancer.min() >= 10 and at_balancer.max() < 20  # checks at 10 and 20


def test_balancer_failure_is_a_total_outage():
    arch = load_balanced(servers=4).fail("load balancer", at_s=10, recover_s=20)
    result = simulate(arch, Workload.from_rate(RATE), requests=8_000, seed=7)
    table = result.requests
    entered = entered_s(table)
    inside = (entered >= 10) & (entered < 20)
    assert (table.loc[inside, "status"] == "error").all()
    assert (table.loc[inside, "failed_at"] == "load balancer").all()
    failed_outside = table[~inside & (table["status"] != "ok")]
    assert (entered[failed_outside.index] < 10).all() and len(failed_outside) < 20  # answers lost in flight at 10
    assert result.components.set_index("component").loc["load balancer", "error"] == (table["status"] == "error").sum()


# -- DNS round robin ---------------------------------------------------------------------------------

def test_dns_round_robin_failures_last_about_one_ttl_after_dns_notices():
    # web-2 dies at 23 s; DNS checks every 10 s (notices at 30); clients keep the dead address until
    # their cached answer expires, at most TTL = 20 s after DNS last handed it out: all failures by 50 s.
    arch = dns_round_robin(servers=4, ttl_s=20, health_check_interval_s=10).fail("web-2", at_s=23)
    result = simulate(arch, Workload.from_rate(RATE), requests=12_000, seed=3)
    failed = result.requests[result.requests["status"] != "ok"]
    assert set(failed["failed_at"]) == {"web-2"}
    assert 45 < failed["arrival_s"].max() < 50
    lb = simulate(load_balanced(servers=4, health_check_interval_s=10).fail("web-2", at_s=23),
                  Workload.from_rate(RATE), requests=12_000, seed=3)
    assert (lb.requests["status"] != "ok").sum() < 0.6 * len(failed)  # the TTL, not the check, bounds DNS


def test_dns_without_health_checks_keeps_sending_clients_to_the_dead_server():
    arch = dns_round_robin(servers=4, ttl_s=20, health_check_interval_s=None).fail("web-2", at_s=10)
    table = simulate(arch, Workload.from_rate(RATE), requests=12_000, seed=3).requests
    late = table[table["arrival_s"] > 40]
    assert (late["status"] != "ok").mean() == pytest.approx(0.25, abs=0.05)  # one address in four is dead


def test_dns_round_robin_clients_stick_to_an_address_for_the_ttl():
    arch = dns_round_robin(servers=3, ttl_s=30)
    result = simulate(arch, Workload(users=100), requests=3_000, seed=1)
    table = result.requests.sort_values("arrival_s")
    # A client's address changes only at a lookup (dns_ms > 0), and lookups are >= one TTL apart.
    for _, visits in table.groupby("client"):
        lookups = visits.loc[visits["dns_ms"] > 0, "arrival_s"].to_numpy()
        assert np.all(np.diff(lookups) >= 30 - 1e-9)
        changes = visits["server"].to_numpy()[1:] != visits["server"].to_numpy()[:-1]
        assert np.all(visits["dns_ms"].to_numpy()[1:][changes] > 0)
    assert 0 < result.summary()["dns_hit_ratio"] < 1


def test_dns_outage_fails_only_clients_whose_answer_expired():
    arch = dns_round_robin(servers=2, ttl_s=60).fail("dns", at_s=10, recover_s=30)
    table = simulate(arch, Workload.from_rate(RATE), requests=8_000, seed=2).requests
    failed = table[table["status"] != "ok"]
    assert set(failed["failed_at"]) == {"dns"} and failed["arrival_s"].between(10, 30).all()
    assert 0 < len(failed) < 0.5 * table["arrival_s"].between(10, 30).sum()


# -- what the Result shows -----------------------------------------------------------------------

def test_per_server_figures_in_summary_components_and_timeline():
    result = simulate(load_balanced(servers=3), Workload.from_rate(RATE), requests=3_000, seed=0)
    names = ["web-1", "web-2", "web-3"]
    summary = result.summary()
    for name in names:
        assert 0.3 < summary[f"{name}_utilization"] < 0.55
    components = result.components.set_index("component")
    assert list(components.index) == ["dns", "load balancer", *names]
    assert components.loc["load balancer", "served"] == 3_000
    assert components.loc[names, "served"].sum() == 3_000
    assert {f"{n}_utilization" for n in names} <= set(result.timeline(bins=5).columns)
    assert {"client", "server", "web-1_wait_ms"} <= set(result.requests.columns)


def test_same_seed_same_result_for_every_policy():
    for policy in POLICIES:
        arch = load_balanced(servers=3, policy=policy).fail("web-2", at_s=2)
        first, second = (simulate(arch, Workload.from_rate(RATE), requests=1_000, seed=9) for _ in range(2))
        assert first.requests.equals(second.requests), policy
    other = simulate(arch, Workload.from_rate(RATE), requests=1_000, seed=10)
    assert not other.requests.equals(first.requests)


def test_nested_servers_can_be_failed_and_changed_by_name():
    arch = load_balanced(servers=3).fail("web-2", at_s=5).with_changes("web-3", workers=2)
    assert arch["web-2"].outages[0].start_s == 5 and arch["web-3"].workers == 2
    assert [s.name for s in arch["load balancer"].servers] == ["web-1", "web-2", "web-3"]


def test_diagram_fans_the_servers_out():
    svg = draw(load_balanced(servers=3).fail("web-2", at_s=5).add_server(at_s=30)).data
    assert all(name in svg for name in ("load balancer", "web-1", "web-2", "web-3", "web-4", "joins at 30 s"))
    many = draw(load_balanced(servers=40)).data
    assert "+ 35 more servers" in many and "web-40" not in many
    assert "TTL 45 s" in draw(dns_round_robin(ttl_s=45)).data


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: load_balanced(policy="fastest"),
     "policy must be one of 'round_robin', 'random', 'least_connections', 'power_of_two', 'weighted', "
     "'ip_hash'; got 'fastest'"),
    (lambda: load_balanced(servers=0), r"servers must be a whole number in the range \[1, 1,000\]; got 0"),
    (lambda: load_balanced(servers=2.5), "servers must be a whole number .*; got 2.5"),
    (lambda: load_balanced(servers=3, policy="weighted", weights=(1, 2)),
     "weights must give one number per server .3: web-1, web-2, web-3.; got 2"),
    (lambda: load_balanced(servers=2, policy="weighted", weights=(1, -2)), "weights must be a number > 0; got -2"),
    (lambda: load_balanced(servers=2, weights=(1, 2)), "weights are used only by policy 'weighted'"),
    (lambda: load_balanced(health_check_interval_s=0), "health_check_interval_s must be a number in the range"),
    (lambda: LoadBalancer(servers=(Server(),), health_check_interval_s=None), "health_check_interval_s must be"),
    (lambda: LoadBalancer(servers=()), "servers must hold at least one Server"),
    (lambda: LoadBalancer(servers=("web-1",)), "servers must hold Server objects"),
    (lambda: LoadBalancer(servers=Server()), "servers must be a sequence"),
    (lambda: load_balanced(servers=[WebServer(name="a"), WebServer(name="a")]), "unique; repeated: a"),
    (lambda: load_balanced(servers=[WebServer(name="dns")]), "unique; repeated: dns"),
    (lambda: load_balanced(servers=[WebServer()], queue_limit=5), r"server options \(queue_limit\) apply when"),
    (lambda: dns_round_robin(ttl_s=-1), r"ttl_s must be a number in the range \[0, 86,400\]; got -1"),
    (lambda: DNSRoundRobin(servers=(Server(),), lookup_ms=-5), "lookup_ms must be a number >= 0; got -5"),
    (lambda: Join(Server(), at_s=-3), "at_s must be a number >= 0; got -3"),
    (lambda: Join("web-9", at_s=3), "server must be a Server"),
    (lambda: load_balanced(servers=2).add_server(at_s=-1), "at_s must be a number >= 0; got -1"),
    (lambda: load_balanced(servers=2, policy="weighted", weights=(1, 1))["load balancer"].add_server(at_s=5),
     "weight is needed"),
    (lambda: load_balanced(servers=2)["load balancer"].add_server(at_s=5, weight=2), "weight is used only"),
    (lambda: single_server().add_server(at_s=5), "this architecture has 0 pools"),
    (lambda: load_balanced().add_server(at_s=5, to="web-1"), "to must name a pool of servers"),
])
def test_bad_input_names_the_parameter_and_the_valid_choices(make, match):
    wrong_type = ("got 2.5", "must hold Server", "must be a sequence", "must be a Server")
    with pytest.raises(TypeError if any(w in match for w in wrong_type) else ValueError, match=match):
        make()


def test_a_thousand_servers_take_more_than_twenty_thousand_requests():
    # Each server draws the service times it needs in chunks: servers x requests is no longer bounded.
    result = simulate(load_balanced(servers=1_000), Workload(), requests=20_001)
    assert result.summary()["requests"] == 20_001 and result.components["served"].iloc[1] == 20_001


def test_analytic_bad_input():
    with pytest.raises(ValueError, match="d must be a whole number >= 1; got 0"):
        analytic.power_of_two(10, MU, servers=4, d=0)
    with pytest.raises(ValueError, match=r"servers must be a whole number in the range \[1, 10,000,000\]; got 0"):
        analytic.random_routing(10, MU, servers=0)
    # Sampling more servers than there are samples them all: d is capped at the servers.
    assert analytic.power_of_two(10, MU, servers=4, d=5) == analytic.power_of_two(10, MU, servers=4, d=4)


def test_architecture_lists_nested_components_in_order():
    arch = Architecture("two pools", (LoadBalancer(servers=(WebServer(name="w1"),)),
                                      LoadBalancer(name="db balancer", servers=(Server(name="db1"),))))
    assert [c.name for c in arch.components] == ["dns", "load balancer", "w1", "db balancer", "db1"]
    result = simulate(arch.fail("db1", at_s=1), Workload.from_rate(20), requests=300, seed=0)
    table = result.requests
    assert {"load balancer_server", "db balancer_server"} <= set(table.columns)
    failed = table[table["status"] != "ok"]
    # db1 dies at 1 s: its requests fail there until the check at 10; then "db balancer" has no server left.
    assert set(failed["failed_at"]) == {"db1", "db balancer"}
    assert (failed.loc[failed["failed_at"] == "db1", "arrival_s"] < 10).all()


# -- several failed checks, outlier ejection, the least-connections trap --------------------------

def _dies(policy, rate=448.0, requests=22_000, seed=0, **options):
    """4 servers x 8 workers, web-2 dies at 22.5 s, checks every 10 s: failed requests."""
    arch = load_balanced(servers=4, policy=policy, health_check_interval_s=10).fail("web-2", at_s=22.5)
    arch = arch.with_changes("load balancer", **options)
    result = simulate(arch, Workload.from_rate(rate), requests=requests, seed=seed)
    return int((result.requests["status"] != "ok").sum())


def test_a_server_is_marked_down_only_after_fall_failed_checks():
    # fall=3: checks at 30, 40 and 50 s must all fail, so round robin sends web-2 its quarter from 22.5 to 50 s.
    one, three = _dies("round_robin"), _dies("round_robin", fall=3)
    assert one == pytest.approx(448 / 4 * 7.5, rel=0.08)
    assert three == pytest.approx(448 / 4 * 27.5, rel=0.05)
    with pytest.raises(ValueError, match="fall"):
        LoadBalancer(servers=(Server(),), fall=0)


def test_least_connections_sends_most_traffic_to_a_server_that_fails_fast():
    # 70 % load: the dead server holds no connections, so least connections prefers it (measured 87 % of
    # the requests between the death and the check, against a quarter for round robin).
    window = 448 * 7.5
    counts = {p: _dies(p) for p in ("round_robin", "least_connections", "power_of_two")}
    assert counts["round_robin"] / window == pytest.approx(0.25, abs=0.02)
    assert counts["least_connections"] / window > 0.8
    assert 0.4 < counts["power_of_two"] / window < 0.6


def test_outlier_ejection_takes_a_failing_server_out_at_once():
    for policy in ("round_robin", "least_connections", "power_of_two"):
        assert _dies(policy, eject_after=3) <= 3 + 8  # its errors in a row, and the requests inside it
    with pytest.raises(ValueError, match="eject_after"):
        LoadBalancer(servers=(Server(),), eject_after=0)
    assert "ejects after 3 errors" in " ".join(LoadBalancer(servers=(Server(),), eject_after=3).describe())


def test_an_ejected_server_comes_back_at_the_first_check_that_finds_it_up():
    arch = load_balanced(servers=2, policy="round_robin", health_check_interval_s=5).fail("web-2", 12, 18)
    arch = arch.with_changes("load balancer", eject_after=2)
    result = simulate(arch, Workload.from_rate(40), requests=1_600, seed=0)
    table = result.requests
    entered = table["arrival_s"] + table["dns_ms"] / 1_000  # when each request reached the balancer
    to_web2 = entered[table["server"] == "web-2"]
    assert not ((to_web2 > 12.5) & (to_web2 < 20)).any()      # ejected at ~12 s; the check at 15 s finds it down
    assert ((to_web2 > 20) & (to_web2 < 25)).any()            # the check at 20 s finds it up: back
    assert (table["status"] != "ok").sum() <= 2 + 8


def test_ejection_never_leaves_the_balancer_without_servers():
    arch = load_balanced(servers=2, health_check_interval_s=30).fail("web-1", 5).fail("web-2", 5)
    arch = arch.with_changes("load balancer", eject_after=1)
    result = simulate(arch, Workload.from_rate(20), requests=400, seed=0)
    late = result.requests.loc[result.requests["arrival_s"] > 6, "server"]
    assert len(late) > 100 and (late != "").all() and late.nunique() == 1  # one ejected, the last one kept


def test_ejection_changes_nothing_when_no_server_fails():
    for policy in ("least_connections", "round_robin"):
        plain = load_balanced(servers=3, policy=policy, workers=2)
        ejecting = plain.with_changes("load balancer", eject_after=1)
        a, b = (simulate(arch, Workload.from_rate(90), requests=3_000, seed=3) for arch in (plain, ejecting))
        assert a.requests.equals(b.requests)
