"""The rules of chapter1/components/datacentre.py on hand-placed requests: GeoDNS routing and caching, a site's
failover, replication between sites (stale reads, lost writes, conflicts) and what is reported.

GeoDNS alone (no other DNS) over sites that each hold one web server with one worker and a constant 10 ms of
work; four clients, 0 and 1 in region A (site dc-1), 2 and 3 in region B (dc-2).  Each request's arrival,
client, kind, key and replication lag is set by hand.
"""

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from chapter1 import Workload
from chapter1.components import Database, WebServer
from chapter1.components.datacentre import REGIONS, DataCentre, GeoDNS, site, site_of
from chapter1.core.architecture import Architecture
from chapter1.core.simulation import Simulation


def centre(k, stack=None, down=()):
    name = f"dc-{k + 1}"
    dc = DataCentre(name=name, region=REGIONS[k], stack=stack or (
        WebServer(name=f"{name} web", workers=1, service_time_ms=10, distribution="constant"),))
    for start, end in down:
        dc = dc.fail(at_s=start, recover_s=end)
    return dc


def geo_run(arrivals, clients, writes=None, keys=None, lag=0.1, sites=2, down=None, cached=None, **options):
    """Run hand-placed requests through GeoDNS; ``down``: {site index: [(start, end)]}; ``cached``: each client's
    answer (site index) already held until then, {client: (site, expiry)}.  Returns (run, result)."""
    n, down = len(arrivals), down or {}
    options = {"ttl_s": 60.0, "lookup_ms": 5.0, "health_check_interval_s": 2.0, **options}
    geo = GeoDNS(datacentres=tuple(centre(k, down=down.get(k, ())) for k in range(sites)), **options)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), n, 0)
    run = sim.tiers[0]
    sim.arrival = np.array(arrivals, dtype=float)
    sim.client = np.array(clients)
    writes = writes or [False] * n
    sim.__dict__["write"] = np.array(writes, dtype=bool)
    run.client, run.is_write, run.key = list(clients), list(writes), list(keys or [0] * n)
    run.lag[:] = lag
    run.expiry = [-1.0] * 4
    for c, (answer, until) in (cached or {}).items():
        run.answer[c], run.expiry[c] = answer, until
    return run, sim.run("simpy")


def column(result, name):
    return result.requests[name].tolist()


# -- routing ----------------------------------------------------------------------------------------

def test_active_active_sends_each_client_to_its_regions_site_at_local_delay():
    run, result = geo_run([0.0, 0.1, 0.2, 0.3], [0, 2, 1, 3])
    assert column(result, "site") == ["dc-1", "dc-2", "dc-1", "dc-2"]
    assert column(result, "region") == ["A", "B", "A", "B"]
    assert column(result, "network_ms") == pytest.approx([10.0] * 4)
    assert column(result, "dns_ms") == pytest.approx([5.0] * 4)
    assert column(result, "latency_ms") == pytest.approx([25.0] * 4)
    assert run.row()["served"] == 4 and result.components.set_index("component").loc["dc-1", "served"] == 2


def test_a_client_keeps_its_answer_for_the_ttl_then_asks_again():
    # ttl 2 s from the lookup at 0: cached at 1.999, asked again at exactly 2.0 (the answer's end), cached at 2.5
    _, result = geo_run([0.0, 1.999, 2.0, 2.5], [0, 0, 0, 0], ttl_s=2.0)
    assert column(result, "dns_ms") == pytest.approx([5.0, 0.0, 5.0, 0.0])
    _, result = geo_run([0.0, 0.5], [0, 0], lookup_ms=0)
    assert column(result, "dns_ms") == [0.0, 0.0] and column(result, "latency_ms") == pytest.approx([20.0, 20.0])


def test_a_cached_answer_is_used_even_for_another_regions_site_at_remote_delay():
    _, result = geo_run([0.0, 0.1], [0, 1], cached={0: (1, 10.0)}, remote_ms=70.0)
    assert column(result, "site") == ["dc-2", "dc-1"] and column(result, "network_ms") == pytest.approx([70.0, 10.0])


def test_a_delay_matrix_gives_each_pair_its_round_trip():
    delays = ((5, 50), (60, 7))
    _, result = geo_run([0.0, 0.1, 0.2, 0.3], [0, 2, 1, 3], delays_ms=delays, cached={1: (1, 9.0), 3: (0, 9.0)})
    assert column(result, "network_ms") == pytest.approx([5.0, 7.0, 50.0, 60.0])


def test_active_passive_sends_everyone_to_the_first_site_and_the_standby_idles():
    _, result = geo_run([0.0, 0.1, 0.2], [0, 2, 3], mode="active-passive")
    assert column(result, "site") == ["dc-1"] * 3
    assert column(result, "network_ms") == pytest.approx([10.0, 80.0, 80.0])
    geo = GeoDNS(datacentres=(centre(0), centre(1)), mode="active-passive")
    assert geo.part_note(geo.datacentres[0]) == [] and geo.part_note(geo.datacentres[1]) == ["standby: idle"]
    assert GeoDNS(datacentres=(centre(0), centre(1))).part_note(geo.datacentres[1]) == []


# -- failover ---------------------------------------------------------------------------------------

def test_geodns_moves_clients_off_a_dead_site_at_its_next_health_check():
    # dc-1 dies at 1.0; checks at 0, 2, 4: a lookup at 1.5 still gets dc-1 (and fails), one at 2.0 gets dc-2
    arrivals, clients = [1.5, 2.0, 2.1, 6.1], [0, 1, 0, 0]
    run, result = geo_run(arrivals, clients, ttl_s=0.05, down={0: [(1.0, 5.0)]})
    assert column(result, "site") == ["dc-1", "dc-2", "dc-2", "dc-1"]
    assert column(result, "status") == ["error", "ok", "ok", "ok"]
    assert column(result, "failed_at")[0] == "dc-1" and result.summary()["failover_failed"] == 1
    assert column(result, "network_ms") == pytest.approx([10.0, 80.0, 80.0, 10.0])
    assert run._view(1.99) == (0, 1) and run._view(2.0) == (1,) and run._view(4.0) == (1,) and run._view(6.0) == (0, 1)


def test_with_the_home_site_dead_clients_spread_evenly_over_the_live_ones():
    run, _ = geo_run([0.0], [0], sites=3)
    # homes 0, 0, 1, 2: clients 0 and 1 (site 0 dead) go to the live sites by client number, the others stay home
    assert run.home == [0, 0, 1, 2] and [run._route(c, (1, 2)) for c in range(4)] == [1, 2, 1, 2]
    assert [run._route(c, (0, 1, 2)) for c in range(4)] == [0, 0, 1, 2]
    assert run._route(0, ()) is None
    passive, _ = geo_run([0.0], [0], sites=3, mode="active-passive")
    assert [passive._route(c, (1, 2)) for c in range(4)] == [1, 1, 1, 1]


def test_with_no_site_alive_a_lookup_fails_at_geodns_but_a_cached_answer_is_still_tried():
    down = {0: [(0.0, 9.0)], 1: [(0.0, 9.0)]}
    _, result = geo_run([0.1, 0.2], [0, 1], down=down, cached={1: (0, 5.0)})
    assert column(result, "status") == ["error", "error"]
    assert column(result, "failed_at") == ["geodns", "dc-1"] and column(result, "site") == ["", "dc-1"]


def test_geodns_down_fails_lookups_only():
    n = 2
    dcs = (centre(0), centre(1))
    geo = GeoDNS(datacentres=dcs, ttl_s=60, lookup_ms=5, health_check_interval_s=2).fail(at_s=0.0, recover_s=1.0)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), n, 0)
    run = sim.tiers[0]
    sim.arrival, sim.client = np.array([0.1, 0.2]), np.array([0, 1])
    run.client, run.expiry = [0, 1], [-1.0, 5.0, -1.0, -1.0]
    run.answer[1] = 0
    result = sim.run("simpy")
    assert column(result, "status") == ["error", "ok"] and column(result, "failed_at")[0] == "geodns"


def test_a_site_that_dies_with_a_request_inside_loses_its_answer():
    # the request enters dc-1 at 0.015 and would leave at 0.025; the site dies at 0.02 and is back at 0.5
    run, result = geo_run([0.0, 1.0], [0, 0], down={0: [(0.02, 0.5)]})
    assert column(result, "status") == ["error", "ok"] and column(result, "failed_at")[0] == "dc-1"
    assert result.summary()["failover_failed"] == 1
    assert result.components.set_index("component").loc["dc-1", "served"] == 1


def test_a_site_passes_a_request_through_its_stack_in_order_and_names_the_part_that_failed():
    first = WebServer(name="front", workers=1, service_time_ms=10, distribution="constant")
    second = WebServer(name="back", workers=1, service_time_ms=20, distribution="constant").fail(at_s=0.5)
    dc = DataCentre(name="dc-1", region="A", stack=(first, second))
    geo = GeoDNS(datacentres=(dc,), lookup_ms=0, local_ms=0)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), 2, 0)
    sim.arrival, sim.client = np.array([0.0, 1.0]), np.array([0, 0])
    sim.tiers[0].client = [0, 0]
    result = sim.run("simpy")
    assert column(result, "latency_ms")[0] == pytest.approx(30.0)
    assert column(result, "status") == ["ok", "error"] and column(result, "failed_at") == ["", "back"]


# -- replication between sites ----------------------------------------------------------------------

def test_a_read_at_another_site_is_stale_until_the_write_reaches_it():
    # a write at dc-1 acknowledged at 0.025; it reaches dc-2 at 0.125
    arrivals = [0.0, 0.05, 0.08, 0.06, 0.2]
    clients, writes, keys = [0, 2, 2, 1, 3], [True, False, False, False, False], [4, 4, 9, 4, 4]
    run, result = geo_run(arrivals, clients, writes, keys, lag=0.1)
    # by arrival: write (dc-1), read dc-2 key 4 (stale), read dc-1 key 4 (own site), read dc-2 key 9, read dc-2 later
    table = result.requests.sort_values("arrival_s")
    assert table["site_stale"].tolist() == [False, True, False, False, False]
    assert result.summary()["site_stale_read_ratio"] == pytest.approx(1 / 4)
    assert result.summary()["lost_writes"] == 0 and result.summary()["write_conflicts"] == 0


def test_a_read_ending_just_as_the_write_lands_is_fresh():
    # write acknowledged at 0.025, lands at dc-2 at 0.125; a read arriving there at 0.1 ends at 0.125
    _, result = geo_run([0.0, 0.1], [0, 2], [True, False], lag=0.1, lookup_ms=5.0)
    assert column(result, "site_stale") == [False, False]


def test_a_site_that_dies_before_copying_a_write_loses_it():
    # writes acknowledged by dc-1 at 0.025 (lag 0.05: copied by 0.075) and 0.125 (lag 0.5): dc-1 dies at 0.3
    arrivals, clients = [0.0, 0.1, 0.2], [0, 0, 2]
    run, result = geo_run(arrivals, clients, [True, True, True], [1, 2, 3], lag=[[0, 0.05], [0, 0.5], [0.5, 0]],
                          down={0: [(0.3, 2.0)]}, lookup_ms=5.0)
    assert column(result, "site_lost") == [False, True, False]
    assert result.summary()["lost_writes"] == 1
    # the lost write reaches dc-2 when dc-1 is back: a read there until then is stale
    assert run.fresh[2][1] == 2.0 and run.fresh[1][1] == pytest.approx(0.075)


def test_a_write_copied_before_its_site_dies_is_safe():
    _, result = geo_run([0.0], [0], [True], lag=0.05, down={0: [(0.08, 1.0)]})
    assert column(result, "site_lost") == [False]


def test_two_writes_that_do_not_see_each_other_conflict():
    # writes to key 5 at dc-1 (acknowledged 0.025) and dc-2 (0.035): each before the other arrives (lag 0.1)
    blind = geo_run([0.0, 0.01], [0, 2], [True, True], [5, 5], lag=0.1)[1].summary()["write_conflicts"]
    seen = geo_run([0.0, 0.5], [0, 2], [True, True], [5, 5], lag=0.1)[1].summary()["write_conflicts"]
    other_keys = geo_run([0.0, 0.01], [0, 2], [True, True], [5, 6], lag=0.1)[1].summary()["write_conflicts"]
    one_site = geo_run([0.0, 0.01], [0, 1], [True, True], [5, 5], lag=0.1)[1].summary()["write_conflicts"]
    three = geo_run([0.0, 0.01, 0.02], [0, 2, 1], [True, True, True], [5, 5, 5], lag=0.1)[1].summary()
    assert (blind, seen, other_keys, one_site, three["write_conflicts"]) == (1, 0, 0, 0, 2)


def test_the_outcome_is_worked_out_once():
    run, _ = geo_run([0.0], [0], [True])
    assert run.outcome() is run.outcome()


# -- figures ---------------------------------------------------------------------------------------

def test_each_regions_latency_is_the_mean_of_its_successful_requests():
    _, result = geo_run([0.0, 0.1, 0.2], [0, 1, 0], cached={1: (1, 5.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a region with no request has no mean, and no warning about it
        summary = result.summary()
    assert summary["region_A_ms"] == pytest.approx(np.mean([25.0, 90.0, 20.0]))  # looked up, remote, cached
    assert math.isnan(summary["region_B_ms"])
    _, quiet = geo_run([0.0, 1.0], [0, 2], [True, True])
    assert quiet.summary()["site_stale_read_ratio"] == 0.0


def test_warm_caches_hold_an_answer_as_often_as_a_steady_client_would():
    # 1,000 clients each asking 0.05 times a second, TTL 20 s: r x TTL = 1, so half hold an answer at the start
    geo = GeoDNS(datacentres=(centre(0), centre(1)), ttl_s=20)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=1_000, requests_per_user=2_160), 10, 3)
    assert sim.clients == 1_000
    expiry = np.array(sim.tiers[0].expiry)
    held = expiry > 0
    # 1,000 clients: sd 0.016; bound 0.065
    assert abs(held.mean() - 0.5) < 0.065 and expiry[held].max() <= 20 and (expiry[~held] == -1).all()
    homes = np.array(sim.tiers[0].home)
    assert (homes[:500] == 0).all() and (homes[500:] == 1).all()


def test_region_shares_split_the_clients_in_order():
    geo = GeoDNS(datacentres=(centre(0), centre(1), centre(2)), region_shares=(0.5, 0.25, 0.25))
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=8), 4, 0)
    assert sim.tiers[0].home == [0, 0, 0, 0, 1, 1, 2, 2]


# -- the specs -------------------------------------------------------------------------------------

def test_geodns_is_checked_and_named():
    two = (centre(0), centre(1))
    GeoDNS(datacentres=tuple(centre(k) for k in range(8)), local_ms=10_000, remote_ms=0,
           health_check_interval_s=86_400, replication_lag_ms=3_600_000, ttl_s=86_400)
    checks = [
        ({"datacentres": ()}, ValueError, r"^datacentres must hold 1 to 8 DataCentre objects; got 0$"),
        ({"datacentres": tuple(centre(k % 8) for k in range(9))}, ValueError,
         r"^datacentres must hold 1 to 8 DataCentre objects; got 9$"),
        ({"datacentres": (WebServer(),)}, TypeError, r"datacentres must hold DataCentre objects \(e.g. site\('dc-1'"),
        ({"mode": "both"}, ValueError, "^mode must be one of 'active-passive', 'active-active'"),
        ({"region_shares": (0.5, 0.6)}, ValueError,
         r"^region_shares must give one share per data centre \(2\), summing to 1; got \(0.5, 0.6\)$"),
        ({"region_shares": (1.0,)}, ValueError, r"^region_shares must give one share per data centre \(2\)"),
        ({"region_shares": (1.5, -0.5)}, ValueError, r"^region_shares must be a number in the range \[0, 1\]"),
        ({"local_ms": 10_001}, ValueError, r"^local_ms must be a number in the range \[0, 10,000\]"),
        ({"remote_ms": -1}, ValueError, r"^remote_ms must be a number in the range \[0, 10,000\]"),
        ({"health_check_interval_s": 0}, ValueError, r"^health_check_interval_s must be a number in the range \(0, "),
        ({"health_check_interval_s": 86_401}, ValueError, r"^health_check_interval_s must be a number in the range"),
        ({"replication_lag_ms": 3_600_001}, ValueError, r"^replication_lag_ms must be a number in the range \[0, 3,6"),
        ({"ttl_s": 86_401}, ValueError, r"^ttl_s must be a number in the range \[0, 86,400\]"),
        ({"delays_ms": ((10, 80),)}, ValueError,
         r"^delays_ms must give one row per region \(2 rows of 2 delays\); got 1 rows$"),
        ({"delays_ms": ((10, 80), (80,))}, ValueError,
         r"^delays_ms must give 2 delays in each row \(one per site\); got \(80,\)$"),
        ({"delays_ms": ((10, 80), (80, 10_001))}, ValueError, r"^delays_ms must be a number in the range \[0, 10,0"),
        ({"delays_ms": ((10, 80), 5)}, TypeError, r"^delays_ms must be a sequence"),
    ]
    for options, error, words in checks:
        with pytest.raises(error, match=words):
            GeoDNS(**{"datacentres": two, **options})
    geo = GeoDNS(datacentres=list(two), region_shares=[0.25, 0.75], delays_ms=[[1, 2], [3, 4]])
    assert geo.datacentres == two and geo.region_shares == (0.25, 0.75) and geo.delays_ms == ((1.0, 2.0), (3.0, 4.0))
    assert geo.delay_ms(1, 0) == 3.0 and geo.parts == two


def test_what_geodns_and_a_site_say_on_the_diagram():
    one = GeoDNS(datacentres=(centre(0),), mode="active-passive", ttl_s=30, health_check_interval_s=5,
                 replication_lag_ms=250)
    assert one.describe() == ["active-passive, 1 site", "TTL 30 s, checks every 5 s", "lag 250 ms between sites"]
    assert one.shares() == (1.0,)
    assert GeoDNS(datacentres=(centre(0), centre(1))).describe()[0] == "active-active, 2 sites"
    dc = site("dc-1", "A", servers=3, workers=4, service_time_ms=50)
    assert dc.capacity == 240 and dc.describe() == ["region A", "LoadBalancer", "up to 240 req/s"]
    assert dc.label() == "region A, 240 req/s" and dc.parts == dc.stack
    big = site("dc-9", "B", servers=50, workers=10, service_time_ms=10)
    assert big.label() == "region B, 50,000 req/s"
    assert DataCentre(stack=(GeoDNS(datacentres=(centre(0),)),)).capacity == math.inf


def test_site_builds_a_balancer_and_named_web_servers():
    dc = site("east", "E", servers=2, workers=3, service_time_ms=20, health_check_interval_s=7, queue_limit=4)
    balancer = dc.stack[0]
    assert [s.name for s in balancer.servers] == ["east web-1", "east web-2"] and balancer.name == "east lb"
    assert balancer.health_check_interval_s == 7
    assert all(s.queue_limit == 4 and s.workers == 3 and s.service_time_ms == 20 for s in balancer.servers)
    assert len(site("x", "A", servers=1_000).stack[0].servers) == 1_000
    with pytest.raises(ValueError, match=r"^servers must be a whole number in the range \[1, 1,000\]; got 0$"):
        site("x", "A", servers=0)


def test_a_data_centre_is_checked():
    with pytest.raises(ValueError, match=r"^stack must hold at least one component \(e.g. a LoadBalancer\); got \(\)$"):
        DataCentre(stack=())
    with pytest.raises(TypeError, match=r"stack must hold Component objects \(e.g. LoadBalancer\(servers="):
        DataCentre(stack=(5,))
    with pytest.raises(ValueError, match="^region must be a non-empty string"):
        DataCentre(region="", stack=(WebServer(),))
    assert isinstance(DataCentre(stack=[WebServer()]).stack, tuple)


def test_site_of_finds_a_site_by_name_or_lists_the_names():
    arch = Architecture("geo", (GeoDNS(datacentres=(centre(0), centre(1))),), dns=None)
    assert site_of(arch, "dc-2").region == "B"
    with pytest.raises(KeyError, match="no data centre named 'dc-3'; this architecture has 'dc-1', 'dc-2'"):
        site_of(arch, "dc-3")


def dyadic_site(fail_at):
    """GeoDNS with no lookup or network time over one site whose web server takes 15.625 ms (1/64 s, exact)."""
    web = WebServer(name="dc-1 web", workers=1, service_time_ms=15.625, distribution="constant")
    dc = DataCentre(name="dc-1", region="A", stack=(web,))
    other = centre(1)
    geo = GeoDNS(datacentres=(dc.fail(at_s=fail_at) if fail_at is not None else dc, other), lookup_ms=0, local_ms=0)
    return geo


def test_a_site_that_dies_just_as_a_request_finishes_loses_it():
    # the request enters at 0.5 and is done at 0.515625, the moment the site dies
    geo = dyadic_site(0.515625)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), 1, 0)
    sim.arrival, sim.client = np.array([0.5]), np.array([0])
    sim.tiers[0].client = [0]
    result = sim.run("simpy")
    assert column(result, "status") == ["error"] and column(result, "failed_at") == ["dc-1"]


def test_a_write_whose_copy_is_due_just_as_its_site_dies_is_not_lost():
    # committed at 0.515625; the copy to dc-2 is due 0.484375 later, at 1.0, the moment dc-1 dies
    geo = dyadic_site(1.0)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), 2, 0)
    run = sim.tiers[0]
    sim.arrival, sim.client = np.array([0.5, 0.75]), np.array([0, 0])
    sim.__dict__["write"] = np.array([True, True])
    run.client, run.is_write, run.key = [0, 0], [True, True], [1, 2]
    run.lag[:] = [[0.0, 0.484375], [0.0, 0.5]]
    result = sim.run("simpy")
    assert column(result, "site_lost") == [False, True]


def test_a_request_refused_inside_a_live_site_is_not_a_failover_failure():
    web = WebServer(name="dc-1 web", workers=1, service_time_ms=50, queue_limit=0)
    geo = GeoDNS(datacentres=(DataCentre(name="dc-1", region="A", stack=(web,)),), lookup_ms=0)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), 2, 0)
    sim.arrival, sim.client = np.array([0.0, 0.001]), np.array([0, 1])
    sim.tiers[0].client = [0, 1]
    result = sim.run("simpy")
    assert column(result, "status")[1] != "ok" and column(result, "failed_at")[1] == "dc-1 web"
    assert result.summary()["failover_failed"] == 0


def test_lags_between_sites_are_exponential_with_the_mean_set():
    # 400 requests x 2 sites: the mean of 800 draws has sd 3.5 %; bound 15 %
    geo = GeoDNS(datacentres=(centre(0), centre(1)), replication_lag_ms=250)
    run = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), 400, 2).tiers[0]
    assert run.lag.shape == (400, 2) and run.lag.mean() == pytest.approx(0.25, rel=0.15) and run.lag.min() >= 0
    none = Simulation(Architecture("geo", (replace(geo, replication_lag_ms=0),), dns=None), Workload(users=4), 5, 2)
    assert none.tiers[0].lag.tolist() == [[0.0, 0.0]] * 5


def test_a_site_with_several_tiers_names_them_in_order_and_takes_the_smallest_capacity():
    dc = DataCentre(stack=(WebServer(workers=4, service_time_ms=50), Database(workers=2, service_time_ms=10)))
    assert dc.describe() == ["region A", "WebServer -> Database", "up to 80 req/s"] and dc.capacity == 80


def test_the_documented_example_has_two_sites_in_regions_a_and_b():
    from chapter1.components.datacentre import _example

    arch = _example()
    geo = arch.tiers[0]
    assert arch.dns is None and [(dc.name, dc.region) for dc in geo.datacentres] == [("dc-1", "A"), ("dc-2", "B")]
    assert geo.shares() == (0.5, 0.5) and geo.describe()[:2] == ["active-active, 2 sites", "TTL 5 s, checks every 2 s"]
    assert (geo.delay_ms(0, 0), geo.delay_ms(0, 1)) == (10.0, 80.0) and site_of(arch, "dc-2").region == "B"
    assert _example("active-passive").tiers[0].mode == "active-passive"
