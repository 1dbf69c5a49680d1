"""Data centres at their edges, on hand-placed requests (the helpers of tests/test_datacentre_rules.py: GeoDNS over
sites of one web server with one worker and a constant 10 ms of work; clients 0 and 1 in region A, site dc-1,
2 and 3 in region B, dc-2): conflicts counted over many keys, a write acknowledged just as a copy lands, a write
whose copies all left before its site died, what the components table and the requests table show, the
defaults of a site and the registered example.
"""

import math

import numpy as np
import pytest
import test_datacentre_rules
from test_datacentre_rules import column, geo_run

from chapter1 import Workload
from chapter1.components import WebServer
from chapter1.components.datacentre import GeoDNS, _example, site
from chapter1.core.architecture import Architecture
from chapter1.core.simulation import Simulation


def conflicts(result):
    return result.summary()["write_conflicts"]


def test_conflicts_are_counted_over_every_key():
    # key 0: one write; keys 1, 2 and 3: a write in each region 1 ms apart (each blind to the other, lag 0.1 s)
    arrivals = [0.0, 0.001, 0.5, 0.501, 1.0, 1.001, 1.5]
    run, result = geo_run(arrivals, [0, 2, 0, 2, 0, 2, 1], [True] * 7, [1, 1, 2, 2, 3, 3, 0], lag=0.1)
    assert conflicts(result) == 3 and result.summary()["lost_writes"] == 0


def test_a_write_acknowledged_as_the_other_copy_lands_has_seen_it():
    # no lookup and no network: each write is acknowledged 10 ms after it arrives.  dc-1's write (0.01 s) lands at
    # dc-2 at 1.01 s, the very moment dc-2 acknowledges its own: it saw the first, so no conflict; 1 ms sooner,
    # both are blind
    fast = {"lookup_ms": 0.0, "local_ms": 0.0, "remote_ms": 0.0}
    assert 0.0 + 0.01 + 1.0 == 1.0 + 0.01  # the landing and the acknowledgement are the same number
    assert conflicts(geo_run([0.0, 1.0], [0, 2], [True, True], [5, 5], lag=1.0, **fast)[1]) == 0
    assert conflicts(geo_run([0.0, 0.999], [0, 2], [True, True], [5, 5], lag=1.0, **fast)[1]) == 1
    # two writes acknowledged together: copies reach dc-1 at once (lag 0) and dc-2 after 0.5 s.  dc-2's copy lands
    # at dc-1 as dc-1 acknowledges, so dc-1's write saw it: no conflict (a read at 5 s closes the run)
    together = geo_run([0.0, 0.0, 5.0], [0, 2, 1], [True, True, False], [5, 5, 6], lag=np.array([0.0, 0.5]), **fast)
    assert conflicts(together[1]) == 0


def test_a_write_that_reached_every_other_site_before_its_site_died_is_not_lost():
    # acknowledged by dc-1 at 0.025 s; its copy reaches dc-2 at 0.125 s; dc-1 dies at 0.2 s (down until 2 s).  The
    # lag to its own site (1 s here, within the outage) plays no part: the write is lost only if a copy was still on
    # its way to another site
    run, result = geo_run([0.0], [0], [True], [5], lag=np.array([1.0, 0.1]), down={0: [(0.2, 2.0)]})
    assert column(result, "status") == ["ok"] and column(result, "site_lost") == [False]
    _, late = geo_run([0.0], [0], [True], [5], lag=np.array([1.0, 0.5]), down={0: [(0.2, 2.0)]})
    assert column(late, "site_lost") == [True]  # the copy to dc-2 was still due at 0.525 s


def test_a_run_of_reads_reports_no_conflict_and_nothing_lost():
    run, result = geo_run([0.0, 0.1, 0.2], [0, 2, 1])
    summary = result.summary()
    assert (summary["write_conflicts"], summary["lost_writes"]) == (0, 0)
    lost = result.requests["site_lost"]
    assert lost.dtype == bool and result.requests[lost].empty  # a mask a learner can filter with
    assert result.requests["site_stale"].dtype == bool


def test_the_sites_and_geodns_fill_the_components_table_without_queues():
    run, result = geo_run([0.0, 0.1, 0.2, 0.3], [0, 2, 1, 3])
    for runtime in (run, *run.parts):
        row = runtime.row()
        assert sorted(row) == ["mean_wait_ms", "served", "workers"]
        assert row["workers"] is None and math.isnan(row["mean_wait_ms"])
    table = result.components.set_index("component")
    assert table.loc[["dc-1", "dc-2"], "served"].tolist() == [2, 2]
    assert math.isnan(table.loc["geodns", "mean_wait_ms"])


def test_a_site_by_default_holds_two_web_servers_of_four_workers_checked_every_five_seconds():
    dc = site("dc-1", "A")
    balancer = dc.stack[0]
    assert [(s.workers, s.service_time_ms) for s in balancer.servers] == [(4, 50.0), (4, 50.0)]
    assert balancer.health_check_interval_s == 5.0 and dc.capacity == pytest.approx(160.0)


def test_the_registered_example_is_two_regions_of_two_small_sites():
    arch = _example()
    assert arch.name == "two regions"
    assert [dc.capacity for dc in arch.tiers[0].datacentres] == pytest.approx([80.0, 80.0])  # 2 x 2 workers, 50 ms


def test_geodns_refuses_what_is_not_a_site_a_share_list_or_a_delay_table_by_name():
    sites = (site("dc-1", "A"), site("dc-2", "B"))
    with pytest.raises(TypeError, match=r"^datacentres must hold DataCentre objects \(e.g. site\('dc-1', 'A'\)\); "
                                        r"got 'x'$"):
        GeoDNS(datacentres=("x",))
    for options, name, given in (({"region_shares": 0.5}, "region_shares", "0.5"), ({"delays_ms": 5}, "delays_ms", "5"),
                                 ({"delays_ms": (5, 6)}, "delays_ms", "5")):
        with pytest.raises(TypeError, match=rf"^{name} must be a sequence \(a tuple or list\) .*; got {given}$"):
            GeoDNS(datacentres=sites, **options)


def test_warm_caches_start_as_a_random_moment_finds_them():
    # 1,000 clients at 1/60 req/s each, TTL 60 s: each holds an answer with probability 1/2 (sd of the share 0.016,
    # bound 0.05), its remaining life uniform over [0, 60] s (sd of the mean of ~500 lives 0.8 s, bound 3 s), each
    # client's its own
    geo = GeoDNS(datacentres=(site("dc-1", "A"), site("dc-2", "B")), ttl_s=60.0)
    workload = Workload.from_rate(1_000 / 60)
    sim = Simulation(Architecture("geo", (geo,), dns=None), workload, 100, 3)
    assert sim.clients == 1_000
    expiry = np.array(sim.tiers[0].expiry)
    warm = expiry[expiry >= 0]
    assert len(warm) / 1_000 == pytest.approx(0.5, abs=0.05) and set(expiry[expiry < 0]) == {-1.0}
    assert warm.mean() == pytest.approx(30.0, abs=3.0) and warm.max() <= 60.0 and len(set(warm)) == len(warm)


def test_a_warm_cache_holds_the_answer_geodns_gave_at_the_start():
    # dc-1 fails at 0.5 s and GeoDNS checks every 0.5 s: at 0 it was alive, so region A's clients hold dc-1
    dc1 = site("dc-1", "A").fail(at_s=0.5, recover_s=10.0)
    geo = GeoDNS(datacentres=(dc1, site("dc-2", "B")), health_check_interval_s=0.5)
    sim = Simulation(Architecture("geo", (geo,), dns=None), Workload(users=4), 10, 0)
    assert sim.tiers[0].answer == [0, 0, 1, 1]


@pytest.fixture
def failing_web(monkeypatch):
    """Sites built as in test_datacentre_rules, but dc-1's web server (not the site) is down during the given time."""
    build = test_datacentre_rules.centre

    def failing(start, end):
        def centre(k, stack=None, down=()):
            web = WebServer(name=f"dc-{k + 1} web", workers=1, service_time_ms=10, distribution="constant")
            return build(k, stack=(web.fail(at_s=start, recover_s=end) if k == 0 else web,), down=down)

        monkeypatch.setattr(test_datacentre_rules, "centre", centre)
    return failing


def failed_by_dead_site(result):
    return result.summary()["failover_failed"]


def test_a_request_failed_inside_a_live_site_is_not_blamed_on_the_site(failing_web):
    # dc-1's web server is down for the first second; the site itself dies later (5-6 s), or its outage ended
    # at 0.015 s, the very moment the request entered it (after 5 ms of lookup and 10 ms on the wire)
    failing_web(0.0, 1.0)
    assert 0.0 + 0.005 + 0.01 == 0.015
    for outage in ((5.0, 6.0), (0.001, 0.015)):
        _, result = geo_run([0.0, 0.5], [0, 2], down={0: [outage]})
        assert column(result, "status")[0] != "ok" and column(result, "failed_at")[0] == "dc-1 web"
        assert failed_by_dead_site(result) == 0, outage


def test_a_request_whose_site_dies_as_its_work_ends_is_failed_by_the_dead_site():
    # entered at 0.015 s, done at 0.025 s, when dc-1 dies: its answer is lost with the site
    assert 0.0 + 0.005 + 0.01 + 0.01 == 0.025
    _, result = geo_run([0.0, 2.0], [0, 2], down={0: [(0.025, 1.0)]})
    assert column(result, "status")[0] != "ok" and column(result, "failed_at")[0] == "dc-1"
    assert failed_by_dead_site(result) == 1
