"""What a pool of servers promises (a load balancer, DNS round robin): joins, naming, health-check delay, what
the diagram says, outlier ejection, and DNS round robin's cached answers on requests placed by hand."""

import math

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

import chapter1 as c
from chapter1.components.pool import MAX_SERVERS, DNSRoundRobin, Join, LoadBalancer, detection_delay_s
from chapter1.core.component import ERROR, OK, TIMEOUT
from chapter1.core.simulation import Simulation
from chapter1.theory.caching import ttl_hit_ratio


def servers(count, **options):
    return tuple(c.WebServer(name=f"web-{k + 1}", **options) for k in range(count))


def test_a_join_names_its_server_and_moment():
    join = Join(c.Server(name="web-5"), at_s=30)
    assert (join.server.name, join.at_s) == ("web-5", 30)
    assert Join(c.Server(), at_s=0).at_s == 0
    with pytest.raises(TypeError, match=r"^server must be a Server \(e\.g\. WebServer\(name='web-5'\)\); got 'web-5'$"):
        Join("web-5", at_s=30)
    with pytest.raises(ValueError, match=r"^at_s must be a number >= 0; got -1"):
        Join(c.Server(), at_s=-1)


def test_detection_delay_is_half_an_interval_plus_the_extra_failed_checks():
    assert detection_delay_s(10) == 5.0 and detection_delay_s(2, fall=3) == 5.0
    assert detection_delay_s(4, fall=2) == 6.0 and detection_delay_s(0.5) == 0.25
    with pytest.raises(ValueError, match=r"^interval_s must be a number > 0; got 0"):
        detection_delay_s(0)
    with pytest.raises(ValueError, match=r"^fall must be a whole number >= 1; got 0"):
        detection_delay_s(10, fall=0)
    with pytest.raises(TypeError, match=r"^fall must be a whole number"):
        detection_delay_s(10, fall=1.5)


def test_a_server_added_by_default_copies_the_last_one_numbered_on_without_its_outages():
    lb = LoadBalancer(servers=(c.Server(name="web-1", workers=3).fail(5, 10),)).add_server(at_s=30)
    new = lb.members[-1]
    assert [s.name for s in lb.members] == ["web-1", "web-2"]
    assert new.workers == 3 and new.outages == ()
    assert lb.joins == (Join(new, 30),) and lb.joins_at() == (0.0, 30.0)
    again = lb.add_server(at_s=40)
    assert [s.name for s in again.members] == ["web-1", "web-2", "web-3"] and again.joins_at() == (0.0, 30.0, 40.0)
    assert [s.name for s in LoadBalancer(servers=(c.Server(name="app"),)).add_server(10).members] == ["app", "app-2"]
    for last, new in (("web-eu-1", "web-eu-2"), ("db-main", "db-main-2")):  # the number after the last dash goes on
        assert LoadBalancer(servers=(c.Server(name=last),)).add_server(10).members[-1].name == new
    named = LoadBalancer(servers=(c.Server(name="web-1"),)).add_server(10, c.Server(name="big", workers=32))
    assert named.members[-1] == c.Server(name="big", workers=32)
    assert LoadBalancer(servers=(c.Server(),)).capacity == named.capacity  # capacity counts the first servers


def test_dns_round_robin_gains_a_server_the_same_way():
    dns = DNSRoundRobin(servers=servers(2), ttl_s=5).add_server(at_s=20)
    assert [s.name for s in dns.members] == ["web-1", "web-2", "web-3"] and dns.joins_at() == (0.0, 0.0, 20.0)
    big = dns.add_server(at_s=40, server=c.WebServer(name="big", workers=16))
    assert big.members[-1] == c.WebServer(name="big", workers=16) and big.joins[0] == dns.joins[0]
    assert big.servers == dns.servers and big.ttl_s == 5


def test_explicit_weights_need_a_weight_for_the_server_that_joins():
    weighted = LoadBalancer(servers=servers(2), policy="weighted", weights=(1, 3))
    assert weighted.add_server(30, weight=4).weights == (1, 3, 4)
    with pytest.raises(ValueError, match=r"^weight is needed: this balancer has explicit weights, one per server"):
        weighted.add_server(30)
    with pytest.raises(ValueError, match=r"^weight is used only when the balancer has explicit weights; got "
                                         r"weight=2 with weights=None \(weights follow capacity\)"):
        LoadBalancer(servers=servers(2)).add_server(30, weight=2)
    assert LoadBalancer(servers=servers(2)).add_server(30).weights is None


def test_weight_shares_follow_capacity_unless_weights_are_given():
    lb = LoadBalancer(servers=(c.Server(name="a", workers=2), c.Server(name="b", workers=6)), policy="weighted")
    assert lb.weight_shares() == pytest.approx((0.25, 0.75))
    assert LoadBalancer(servers=servers(3), policy="weighted", weights=(1, 1, 2)).weight_shares() == (0.25, 0.25, 0.5)


def test_what_the_diagram_says_about_a_pool():
    lb = LoadBalancer(servers=servers(3), policy="least_connections")
    assert lb.describe() == ["least connections", "3 servers", "health check every 10 s"]
    strict = LoadBalancer(servers=servers(2), fall=3, eject_after=5, health_check_interval_s=2)
    assert strict.describe() == ["round robin", "2 servers", "ejects after 5 errors in a row",
                                 "health check every 2 s, down after 3 failed"]
    dns = DNSRoundRobin(servers=servers(2), ttl_s=5, health_check_interval_s=None, fall=2)
    assert dns.describe() == ["round robin over 2 IPs", "TTL 5 s", "no health checks"]
    assert LoadBalancer(servers=servers(2), fall=2).describe()[-1] == "health check every 10 s, down after 2 failed"
    joined = lb.add_server(at_s=30)
    assert joined.part_note(joined.members[-1]) == ["joins at 30 s"] and joined.part_note(joined.members[0]) == []
    soon = lb.add_server(at_s=0.5)
    assert soon.part_note(soon.members[-1]) == ["joins at 0.5 s"]


def test_the_kinds_examples_are_three_small_servers_behind_a_balancer_and_two_behind_dns():
    from chapter1.core.component import KINDS

    lb = KINDS["LoadBalancer"].example()["load balancer"]
    assert [(s.name, s.workers) for s in lb.members] == [("web-1", 2), ("web-2", 2), ("web-3", 2)]
    assert lb.policy == "least_connections"
    dns = KINDS["DNSRoundRobin"].example()["dns"]
    assert [(s.name, s.workers) for s in dns.members] == [("web-1", 2), ("web-2", 2)] and dns.ttl_s == 5


def test_failing_a_member_replaces_it_where_it_is_first_server_or_joined():
    lb = LoadBalancer(servers=servers(2)).add_server(at_s=30)
    down = lb.with_part("web-3", lb.members[2].fail(40))
    assert down.members[2].outages == (c.Outage(40),) and down.joins[0].at_s == 30
    assert down.servers == lb.servers
    first = lb.with_part("web-1", lb.members[0].fail(5, 6))
    assert first.servers[0].outages == (c.Outage(5, 6),) and first.servers[1] == lb.servers[1]
    assert first.joins == lb.joins


@pytest.mark.parametrize("make, error, words", [
    (lambda: LoadBalancer(servers=()), ValueError, r"^servers must hold at least one Server; got \(\)"),
    (lambda: LoadBalancer(servers=servers(MAX_SERVERS + 1)), ValueError,
     r"^a pool holds at most 1,000 servers; got 1,001"),
    (lambda: LoadBalancer(servers=servers(MAX_SERVERS), joins=(Join(c.Server(name="x"), 1),)), ValueError,
     r"^a pool holds at most 1,000 servers; got 1,001"),
    (lambda: LoadBalancer(servers=servers(1), health_check_interval_s=0), ValueError,
     r"^health_check_interval_s must be a number in the range \(0, 86,400\]"),
    (lambda: LoadBalancer(servers=servers(1), health_check_interval_s=86_401), ValueError,
     r"^health_check_interval_s must be"),
    (lambda: LoadBalancer(servers=servers(1), fall=0), ValueError, r"^fall must be a whole number in the range"),
    (lambda: LoadBalancer(servers=servers(1), fall=101), ValueError, r"^fall must be"),
    (lambda: LoadBalancer(servers=servers(1), health_check_interval_s=None), ValueError,
     r"^health_check_interval_s must be a number > 0 for a load balancer; got None"),
    (lambda: LoadBalancer(servers=servers(1), eject_after=0), ValueError, r"^eject_after must be a whole number"),
    (lambda: LoadBalancer(servers=servers(1), eject_after=1_001), ValueError, r"^eject_after must be"),
    (lambda: LoadBalancer(servers=servers(2), weights=(1, 2)), ValueError,
     r"^weights are used only by policy 'weighted'; got policy 'round_robin'"),
    (lambda: LoadBalancer(servers=servers(2), policy="weighted", weights=(1,)), ValueError,
     r"^weights must give one number per server \(2: web-1, web-2\); got 1"),
    (lambda: LoadBalancer(servers=servers(2), policy="weighted", weights=(1, 0)), ValueError, r"^weights must be"),
])
def test_bad_pools_are_refused_naming_the_setting(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_pools_at_the_edges_of_their_range_are_accepted():
    assert len(LoadBalancer(servers=servers(MAX_SERVERS)).members) == MAX_SERVERS
    LoadBalancer(servers=servers(1), health_check_interval_s=86_400, fall=100, eject_after=1_000)
    LoadBalancer(servers=servers(1), fall=1, eject_after=1)
    DNSRoundRobin(servers=servers(1), health_check_interval_s=None)


def test_outlier_ejection_counts_errors_in_a_row_and_an_answer_resets_the_count():
    arch = c.Architecture("lb", (LoadBalancer(servers=servers(3), eject_after=3),), dns=None)
    sim = Simulation(arch, c.Workload.from_rate(10), 10, 0)
    run = sim.tiers[0]
    run._view(0.0)
    for status in (ERROR, ERROR, OK, ERROR, ERROR):
        run._count_error(0, status, 1.0)
    assert run.ejected == {} and run.healthy == (0, 1, 2)
    for status in (ERROR, TIMEOUT, ERROR, ERROR):  # a time-out neither counts nor resets
        run._count_error(1, status, 2.0)
    assert run.ejected == {1: 2.0} and run.healthy == (0, 2)


def dns_pool(count=3, ttl_s=5.0, lookup_ms=30.0, **options):
    return c.Architecture("dns", (DNSRoundRobin(servers=servers(count), ttl_s=ttl_s, lookup_ms=lookup_ms,
                                                **options),), dns=None)


def run_dns(arch, arrivals, clients, users=10):
    """Requests by hand: ``arrivals`` (s) from ``clients``; every client starts with no cached answer."""
    sim = Simulation(arch, c.Workload(users=users), len(arrivals), 0)
    sim.arrival[:] = arrivals
    sim.client[:] = clients
    sim.tiers[0].expiry = [-1.0] * sim.clients
    return sim.run("simpy")


def test_dns_round_robin_hands_out_addresses_in_turn_and_clients_keep_them_until_the_ttl_ends():
    result = run_dns(dns_pool(), [0.0, 0.5, 1.0, 2.0, 5.0, 5.5, 6.0], [0, 1, 0, 2, 0, 1, 3])
    table = result.requests
    assert table["server"].tolist() == ["web-1", "web-2", "web-1", "web-3", "web-1", "web-2", "web-3"]
    # client 0's answer from 0 s expires at 5 s exactly: it resolves again then (the next address in turn)
    assert table["dns_ms"].tolist() == [30.0, 30.0, 0.0, 30.0, 30.0, 30.0, 30.0]
    assert result.summary()["dns_hit_ratio"] == pytest.approx(1 / 7)
    assert table["latency_ms"].iloc[2] < table["latency_ms"].iloc[0]  # a cached answer costs no lookup
    assert table["latency_ms"].iloc[0] > 30.0


def test_a_free_lookup_costs_nothing_and_counts_as_a_hit():
    result = run_dns(dns_pool(lookup_ms=0), [0.0, 1.0], [0, 1])
    assert result.requests["dns_ms"].tolist() == [0.0, 0.0] and result.summary()["dns_hit_ratio"] == 1.0
    assert result.requests["server"].tolist() == ["web-1", "web-2"]


def test_a_client_whose_answer_expired_cannot_reach_the_site_while_dns_is_down():
    arch = c.Architecture("dns", (DNSRoundRobin(servers=servers(2), ttl_s=5.0).fail(4.0, 8.0),), dns=None)
    result = run_dns(arch, [0.0, 4.5, 5.5, 9.0], [0, 0, 0, 0])
    assert result.requests["status"].tolist() == ["ok", "ok", "error", "ok"]
    assert result.requests["server"].tolist() == ["web-1", "web-1", "", "web-2"]


def test_with_health_checks_dns_hands_out_only_servers_it_has_seen_up():
    arch = dns_pool(count=2, health_check_interval_s=1.0).fail("web-1", 0.5)
    result = run_dns(arch, [0.25, 1.5, 2.0], [0, 1, 2])
    assert result.requests["server"].tolist() == ["web-1", "web-2", "web-2"]


def test_caches_start_in_steady_state_half_warm_when_a_client_asks_once_per_ttl():
    """1,000 clients, each asking at r = 1/ttl: a client holds an answer with chance r*ttl / (1 + r*ttl) = 1/2,
    with a lifetime left uniform over [0, ttl]; four standard deviations of 1,000 draws on each."""
    workload = c.Workload(users=1_000)
    ttl = 1_000 / workload.rate
    assert ttl_hit_ratio(workload.rate / 1_000, ttl) == pytest.approx(0.5)
    for seed in range(3):
        run = Simulation(dns_pool(count=2, ttl_s=ttl), workload, 100, seed).tiers[0]
        expiry = np.array(run.expiry)
        warm = expiry[expiry >= 0]
        assert abs(len(warm) - 500) < 4 * math.sqrt(250), len(warm)
        assert abs(warm.mean() / ttl - 0.5) < 4 * math.sqrt(1 / 12 / 500), warm.mean() / ttl
        assert warm.max() <= ttl and set(expiry[expiry < 0]) == {-1.0}
        assert run.address == [k % 2 for k in range(1_000)]


def test_cached_lifetimes_left_at_the_start_spread_from_zero_to_the_ttl():
    """500 requests a second over 1,000 clients with a 2 s TTL: half the clients warm, lifetimes left uniform over
    [0, 2] s (a mean of 1 s within four standard deviations, about 0.1 s; some below 0.1 s)."""
    run = Simulation(dns_pool(count=2, ttl_s=2.0), c.Workload.from_rate(500), 100, 0).tiers[0]
    warm = np.array([e for e in run.expiry if e >= 0])
    assert abs(warm.mean() - 1.0) < 4 * math.sqrt(4 / 12 / len(warm)) and warm.min() < 0.1


def test_the_first_addresses_follow_the_health_view_at_the_start():
    arch = dns_pool(count=2, health_check_interval_s=1.0).fail("web-1", 0.5)
    run = Simulation(arch, c.Workload(users=10), 10, 0).tiers[0]
    assert run.address == [0, 1] * 5  # web-1 is up at 0 s, when the caches were filled


def test_a_dns_pool_starting_with_no_server_up_still_gives_every_client_the_first_address():
    arch = dns_pool(count=2, health_check_interval_s=1.0).fail("web-1", 0).fail("web-2", 0)
    run = Simulation(arch, c.Workload(users=10), 10, 0).tiers[0]
    assert run.address == [0] * 10


@pytest.mark.parametrize("policy", ["least_connections", "power_of_two"])
def test_policies_that_count_connections_route_the_same_without_events(policy):
    """Time-outs and a full queue on small servers: the event-free path counts each request as connected until
    it leaves its server (served, or given up waiting) and gives exactly the simpy Result."""
    arch = c.Architecture("lb", (LoadBalancer(servers=servers(3, workers=1, service_time_ms=80, queue_limit=3,
                                                                timeout_ms=150), policy=policy),), dns=None)
    workload = c.Workload.from_rate(40)
    fast = c.simulate(arch, workload, requests=400, seed=3, engine="fast")
    reference = c.simulate(arch, workload, requests=400, seed=3, engine="simpy")
    s = reference.summary()
    assert s["timeout_rate"] > 0.02 and s["rejected_rate"] > 0.01  # both ways of leaving early happen
    assert_frame_equal(fast.requests, reference.requests)
