"""Components and Architecture: immutable building blocks, fault switches, lookup by name."""

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chapter1 import DNS, Architecture, Database, Outage, Server, WebServer, Workload, single_server
from chapter1.core.simulation import Simulation


def test_fail_returns_a_new_component_and_leaves_the_original():
    web = WebServer(workers=4)
    down = web.fail(at_s=30, recover_s=60)
    assert down is not web
    assert web.outages == ()
    assert down.outages == (Outage(30, 60),)
    assert (down.workers, down.name, down.service_time_ms) == (4, "web", web.service_time_ms)


def test_fail_accumulates_outages_and_defaults_to_never_recovering():
    db = Database().fail(10).fail(20, 25)
    assert db.outages == (Outage(10, math.inf), Outage(20, 25))


def test_components_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Server().workers = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        DNS().ttl_s = 1


@pytest.mark.parametrize("t, up", [(0, True), (9.999, True), (10, False), (19.999, False), (20, True), (100, True)])
def test_outage_is_half_open(t, up):
    server = Server().fail(10, 20)
    assert Outage(10, 20).covers(t) is (not up)
    assert server.is_up(t) is up


def test_server_capacity_and_service_rate():
    s = Server(workers=4, service_time_ms=50)
    assert s.service_rate == pytest.approx(20.0)
    assert s.capacity == pytest.approx(80.0)


@given(st.integers(1, 10_000), st.floats(min_value=0.01, max_value=1e5))
def test_capacity_is_workers_times_one_over_service_time(workers, ms):
    assert Server(workers=workers, service_time_ms=ms).capacity == pytest.approx(workers * 1_000 / ms)


def test_kinds_and_default_names():
    assert (Server().name, WebServer().name, Database().name, DNS().name) == ("server", "web", "database", "dns")
    assert (WebServer().kind, Database().kind, DNS().kind) == ("WebServer", "Database", "DNS")


def test_single_server_is_one_exponential_box_behind_dns():
    arch = single_server(workers=3, service_time_ms=20)
    assert [c.name for c in arch.components] == ["dns", "server"]
    box = arch["server"]
    assert (box.workers, box.service_time_ms, box.distribution) == (3, 20, "exponential")
    assert set(box.roles) == {"web", "database", "cache"}
    assert single_server(queue_limit=None)["server"].queue_limit is None


def test_architecture_fail_and_with_changes_return_copies():
    arch = single_server(workers=4)
    down = arch.fail("server", at_s=5, recover_s=9)
    bigger = arch.with_changes("server", workers=16)
    assert arch["server"].outages == () and arch["server"].workers == 4
    assert down["server"].outages == (Outage(5, 9),) and down["server"].workers == 4
    assert bigger["server"].workers == 16 and bigger["server"].outages == ()
    assert down.dns == arch.dns == bigger.dns


def test_dns_can_be_changed_and_failed_by_name():
    arch = single_server()
    slow = arch.with_changes("dns", lookup_ms=120)
    assert slow.dns.lookup_ms == 120 and arch.dns.lookup_ms == DNS().lookup_ms
    assert arch.fail("dns", at_s=1, recover_s=2).dns.outages == (Outage(1, 2),)
    assert arch.dns.outages == ()


def test_with_changes_validates_the_new_value():
    with pytest.raises(ValueError, match="workers"):
        single_server().with_changes("server", workers=0)


def test_multi_tier_changes_touch_only_the_named_tier():
    arch = Architecture("two tiers", (WebServer(), Database()))
    changed = arch.with_changes("database", workers=2)
    assert changed["database"].workers == 2
    assert changed["web"] == arch["web"]
    assert [c.name for c in changed.tiers] == ["web", "database"]


@pytest.mark.parametrize("method", ["getitem", "with_changes", "fail"])
def test_unknown_component_name_lists_the_valid_names(method):
    arch = Architecture("two tiers", (WebServer(), Database()))
    with pytest.raises(KeyError) as info:
        if method == "getitem":
            arch["db"]
        elif method == "with_changes":
            arch.with_changes("db", workers=2)
        else:
            arch.fail("db", at_s=1)
    message = info.value.args[0]
    for name in ("'db'", "'dns'", "'web'", "'database'"):
        assert name in message


@pytest.mark.parametrize("tiers", [
    (WebServer(), WebServer()),
    (WebServer(), Database(name="web")),
    (Server(name="dns"),),  # clashes with the default DNS component
])
def test_duplicate_names_are_rejected(tiers):
    with pytest.raises(ValueError, match="unique") as info:
        Architecture("dup", tiers)
    assert tiers[-1].name in str(info.value)


def test_same_names_are_fine_without_dns():
    Architecture("no dns", (Server(name="dns"),), dns=None)


def test_empty_architecture_is_rejected():
    with pytest.raises(ValueError, match="tiers"):
        Architecture("empty", ())


@pytest.mark.parametrize("tiers", [("web",), (WebServer(), 42)])
def test_tiers_must_be_components(tiers):
    with pytest.raises(TypeError, match="tiers must hold Component objects"):
        Architecture("bad", tiers)


def test_dns_must_be_a_dns_or_none():
    with pytest.raises(TypeError, match="dns"):
        Architecture("bad", (Server(),), dns="8.8.8.8")


def test_dns_hit_ratio_formula():
    # one request per minute per user, answers cached for 5 minutes: 5 hits per lookup
    assert DNS(ttl_s=300).hit_ratio(per_user_rate=1 / 60) == pytest.approx(5 / 6)
    assert DNS(ttl_s=0).hit_ratio(per_user_rate=10) == 0.0


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e3))
def test_dns_hit_ratio_properties(ttl, rate):
    h = DNS(ttl_s=ttl).hit_ratio(rate)
    served = rate * ttl
    assert h == pytest.approx(served / (1 + served))
    assert 0 <= h < 1 or (h == 1 and served > 1e15)
    # a longer TTL never lowers the hit ratio
    assert DNS(ttl_s=2 * ttl).hit_ratio(rate) >= h


def test_the_dns_hit_ratio_keeps_its_hits_and_lookups_for_a_pooled_figure():
    """The figure is a Share: the requests that found the name cached, of all the requests, as the requests' own
    lookup times tell them apart (a lookup costs time, a cached answer none)."""
    sim = Simulation(single_server(), Workload(users=1_000), 3_000, 1)
    looked_up = int((sim.run().requests["dns_ms"] > 0).sum())
    ratio, = [r.figures()["dns_hit_ratio"] for r in sim.runtimes if "dns_hit_ratio" in r.figures()]
    assert (ratio.part, ratio.whole) == (3_000 - looked_up, 3_000) and 0 < looked_up < 3_000
    assert float(ratio) == pytest.approx(ratio.part / ratio.whole, rel=1e-12)
