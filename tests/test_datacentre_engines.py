"""Data centres behind GeoDNS run without events, a site's death included: the same Result as simpy, bit for bit.

Random designs (one to three sites, active-active or active-passive, TTLs and health checks short and long,
lookups and network delays or none, lags, timeouts and queue limits in the sites' servers), with sites and
GeoDNS itself dying for a while or for good, reads and writes over few keys (conflicts, stale reads) and many.
"""

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same

import chapter1 as c


@st.composite
def regions(draw):
    sites = draw(st.integers(1, 3))
    arch = c.multi_region(sites, draw(st.sampled_from(["active-active", "active-passive"])),
                          servers=draw(st.integers(1, 3)), workers=draw(st.integers(1, 4)),
                          service_time_ms=draw(st.sampled_from([20.0, 100.0])),
                          ttl_s=draw(st.sampled_from([0.5, 6.0, 60.0])),
                          health_check_interval_s=draw(st.sampled_from([0.5, 3.0, 10.0])),
                          replication_lag_ms=draw(st.sampled_from([0.0, 50.0, 500.0])),
                          lookup_ms=draw(st.sampled_from([0.0, 30.0])), local_ms=draw(st.sampled_from([0.0, 10.0])),
                          timeout_ms=draw(st.sampled_from([None, 300.0, 2_000.0])),
                          queue_limit=draw(st.sampled_from([None, 0, 5])))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from([f"dc-{k + 1}" for k in range(sites)] + ["geodns"]))
        start = draw(st.floats(0.0, 8.0))
        arch = arch.fail(name, at_s=start, recover_s=start + draw(st.sampled_from([0.5, 3.0, math.inf])))
    return arch


@settings(max_examples=200, deadline=None, derandomize=True)
@given(arch=regions(), rate=st.sampled_from([5.0, 20.0, 60.0, 200.0]), reads=st.sampled_from([0.5, 0.9, 1.0]),
       keys=st.sampled_from([5, 1_000]), seed=st.integers(0, 2**20), requests=st.integers(1, 600))
def test_sites_behind_geodns_run_without_events_as_with_them(arch, rate, reads, keys, seed, requests):
    assert_same(arch, c.Workload.from_rate(rate, read_ratio=reads, keys=keys), requests, seed)


def test_chapter_09s_design_runs_without_events_and_loses_what_the_dead_site_held():
    from chapter1.sections.datacentres import panel_sites

    arch = panel_sites(2, "active-active")
    workload = c.Workload.from_rate(28.0, read_ratio=0.9, keys=50)
    assert_same(arch, workload, 800, 4)
    summary = c.simulate(arch, workload, requests=800, seed=4, engine="fast").summary()
    assert summary["failover_failed"] > 0 and summary["lost_writes"] >= 0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(sites=st.integers(1, 3), mode=st.sampled_from(["active-active", "active-passive"]),
       dead=st.lists(st.integers(1, 3), max_size=3), users=st.sampled_from([3, 1_000, 10**6]),
       shares=st.sampled_from([None, (0.7, 0.2, 0.1)]))
def test_every_clients_first_answer_is_routed_as_one_at_a_time(sites, mode, dead, users, shares):
    from chapter1.core.simulation import Simulation

    arch = c.multi_region(sites, mode, region_shares=None if shares is None else shares[:sites - 1]
                          + (1 - sum(shares[:sites - 1]),))
    for k in sorted(set(d for d in dead if d <= sites)):
        arch = arch.fail(f"dc-{k}", at_s=0.0)
    geo = Simulation(arch, c.Workload(users=users), 50, 1).tiers[0]
    view = geo._view(0.0)
    assert geo.answer == [geo._route(client, view) for client in range(len(geo.home))]
