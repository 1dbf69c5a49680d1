"""Wiring an architecture, failing its parts and the run's own bookkeeping, at their edges.

What a learner meets when they build, change or break an architecture by hand: which component a name
finds, the messages that say what would work, when an outage starts and ends, how many clients and users a
run draws, and the defaults ``simulate`` uses.
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from chapter1 import DNS, Architecture, Component, Database, Outage, Server, WebServer, Workload, simulate
from chapter1.architectures import cached, load_balanced, multi_region, replicated, single_server
from chapter1.core.component import DEFAULTS, KINDS, Runtime, flatten, register
from chapter1.core.simulation import MAX_CLIENTS, MAX_USERS, Simulation, client_population, down, sweep

# -- an architecture: its parts, names and copies ------------------------------------------------------


def test_components_come_dns_first_then_each_tier_with_its_parts():
    arch = load_balanced(servers=2)
    assert [c.name for c in arch.components] == ["dns", "load balancer", "web-1", "web-2"]
    assert [c.name for c in Architecture("no dns", (WebServer(),), dns=None).components] == ["web"]
    assert isinstance(Architecture("default", (WebServer(),)).dns, DNS)  # the default resolver


def test_an_unknown_name_lists_every_component():
    with pytest.raises(KeyError, match="no component named 'db'; this architecture has 'dns', 'web', 'cache', "
                                       "'database'"):
        cached()["db"]


def test_an_architecture_needs_a_tier_unique_names_and_a_component_as_resolver():
    with pytest.raises(ValueError) as info:
        Architecture("empty", ())
    assert str(info.value) == "tiers must hold at least one component; got an empty tuple"
    as_list = Architecture("listed", [Server()])
    assert as_list.tiers == (Server(),) and as_list == Architecture("listed", (Server(),))
    assert hash(as_list) == hash(Architecture("listed", (Server(),)))  # a list of tiers is kept as a tuple
    with pytest.raises(ValueError, match="component names must be unique; repeated: a, b$"):
        Architecture("twins", (Server(name="b"), Server(name="a"), Server(name="b"), Server(name="a")))
    with pytest.raises(TypeError, match=r"dns must be a Component \(e.g. DNS\(ttl_s=300\), or None\); got 'dns'"):
        Architecture("odd", (Server(),), dns="dns")
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        Architecture(None, (Server(),))


def test_with_changes_names_the_fields_a_component_has():
    arch = single_server()
    assert arch.with_changes("server", workers=3, service_time_ms=20)["server"].workers == 3
    fields = ", ".join(f.name for f in dataclasses.fields(Server))
    with pytest.raises(ValueError) as info:
        arch.with_changes("server", cores=4, ram=2)
    assert str(info.value) == f"Server 'server' has no field cores, ram; its fields are {fields}"


def test_fail_by_default_never_recovers_and_reaches_the_resolver_and_parts():
    arch = cached().fail("dns", 5).fail("database", 10, 20)
    assert arch.dns.outages == (Outage(5, math.inf),)
    assert arch["database"].outages == (Outage(10, 20),)
    assert arch["web"].outages == () and arch["cache"].outages == ()
    with pytest.raises(KeyError, match="no component named 'disk'"):
        arch.fail("disk", 5)


def test_add_server_needs_exactly_one_pool_or_its_name():
    arch = load_balanced(servers=2).add_server(at_s=30)
    assert [s.name for s in arch["load balancer"].members] == ["web-1", "web-2", "web-3"]
    assert arch["load balancer"].joins[0].at_s == 30
    with pytest.raises(ValueError, match="to must name the pool that gains a server; this architecture has 0 pools"):
        single_server().add_server(at_s=5)
    with pytest.raises(ValueError, match=r"to must name a pool of servers; got 'dns' \(pools: 'load balancer'\)"):
        load_balanced(servers=2).add_server(at_s=5, to="dns")
    with pytest.raises(ValueError, match=r"to must name a pool of servers; got 'server' \(pools: none\)"):
        single_server().add_server(at_s=5, to="server")
    named = load_balanced(servers=2).add_server(at_s=5, to="load balancer")
    assert len(named["load balancer"].members) == 3


def test_an_architecture_draws_itself_as_svg():
    assert single_server()._repr_svg_().lstrip().startswith("<svg")


# -- a component: outages, parts, and what the protocol answers by default -------------------------------

def test_an_outage_covers_its_start_but_not_its_end():
    outage = Outage(30, 45)
    assert [outage.covers(t) for t in (29.999, 30, 44.999, 45)] == [False, True, True, False]
    assert Outage(0).covers(1e12)  # never recovers
    server = Server().fail(30, 45).fail(40, 60)
    assert [server.is_up(t) for t in (29, 30, 50, 60)] == [True, False, False, True]
    np.testing.assert_array_equal(down(server, np.array([29.0, 30.0, 45.0, 59.9, 60.0])),
                                  [False, True, True, True, False])
    assert not down(Server(), np.array([1.0])).any()


def test_an_outage_starts_at_zero_or_later_and_ends_after_it_starts():
    assert Outage(0, 1e-9).end_s == 1e-9
    with pytest.raises(ValueError, match="start_s must be a number >= 0; got -1"):
        Outage(-1)
    with pytest.raises(ValueError, match="end_s must be a number > 5; got 5"):
        Outage(5, 5)
    with pytest.raises(TypeError, match=r"outages must hold Outage objects \(e.g. Outage\(30, 60\)\); got \(1, 2\)"):
        Server(outages=((1, 2),))
    assert Component().fail(3).outages == (Outage(3, math.inf),)


def test_a_plain_component_answers_the_protocol_with_its_defaults():
    box = Component(name="box")
    assert (box.kind, box.parts, box.describe(), box.label()) == ("Component", (), ["Component"], "Component")
    assert box.station() is None and box.entry_delay(Workload()) == (0.0, 0.0) and box.part_note(box) == []
    with pytest.raises(TypeError, match=r"^a Component \('box'\) holds no pool of servers to add one to$"):
        box.add_server(5)
    with pytest.raises(TypeError, match=r"^Component cannot be simulated: it defines no runtime\(\)"):
        box.runtime(None, 0)


def test_a_part_is_swapped_at_any_depth_and_nothing_else_changes():
    arch = cached()
    bigger = arch.with_changes("database", workers=9)
    assert bigger["database"].workers == 9
    assert bigger["cache"].capacity == arch["cache"].capacity and bigger["web"] == arch["web"]
    assert [c.name for c in flatten(bigger["cache"])] == ["cache", "database"]


@dataclasses.dataclass(frozen=True)
class Relay(Component):
    """A test kind: passes each request on to its one part and reports nothing of its own."""

    name: str = "relay"
    inner: Component = Server(name="inner", workers=1, service_time_ms=10)

    @property
    def parts(self):
        return (self.inner,)

    def runtime(self, sim, index):
        return RelayRun(self, sim, index)


class RelayRun(Runtime):
    def serve(self, i):
        return (yield from self.pass_on(self.parts[0], i))


def test_a_holder_that_passes_requests_on_blames_the_part_that_failed():
    arch = Architecture("relay", (Relay(),), dns=None).fail("inner", 0, 1)
    result = simulate(arch, Workload.from_rate(10), requests=60, seed=0)
    frame = result.requests
    early = frame.arrival_s < 1
    assert early.any() and (~early).any()
    assert (frame.failed_at[early] == "inner").all() and (frame.status[early] == "error").all()
    assert (frame.status[~early] == "ok").all()
    relay_row = result.components.set_index("component").loc["relay"]
    assert pd.isna(relay_row.workers) and relay_row.served == 0 and math.isnan(relay_row.mean_wait_ms)
    assert relay_row.error == 0  # the relay itself is not where they failed


def test_a_runtime_without_an_event_free_path_says_so():
    sim = Simulation(Architecture("relay", (Relay(),), dns=None), Workload.from_rate(10), 5, 0)
    runtime = sim.tiers[0]
    assert not runtime.batchable() and not runtime.exact_times() and runtime.busy() is None
    assert runtime.columns() == {} and runtime.figures() == {}
    with pytest.raises(NotImplementedError, match="^Relay offers no event-free path$"):
        runtime.admit(0, 0.0)


def test_register_takes_component_classes_only():
    with pytest.raises(TypeError, match="register\\(\\) decorates Component subclasses; got <class 'int'>"):
        register(example=lambda: None)(int)
    assert "Relay" not in KINDS


# -- a run's own bookkeeping ---------------------------------------------------------------------------

@pytest.mark.parametrize("users, clients", [(0.5, 1), (1, 1), (10, 10), (999.9, 999), (1_000, 1_000),
                                            (1_001, 1_000), (1e9, 1_000)])
def test_the_client_population_is_the_users_up_to_a_thousand(users, clients):
    assert MAX_CLIENTS == 1_000
    workload = Workload(users=users)
    assert client_population(workload) == clients
    drawn = simulate(single_server(), workload, requests=4_000, seed=0).requests.client
    assert drawn.min() >= 0 and drawn.max() == clients - 1


@pytest.mark.parametrize("users, most", [(0.5, 1), (1, 1), (3, 3), (1e15, MAX_USERS)])
def test_each_request_comes_from_one_of_the_users(users, most):
    user = simulate(single_server(), Workload(users=users), requests=3_000, seed=1).requests.user
    assert user.min() >= 0 and user.max() < most
    if most < 10:
        assert user.nunique() == most  # every one of a few users shows up in 3,000 requests
    else:
        assert user.max() > MAX_USERS / 2  # drawn from the whole range, not only the first users


def test_simulate_defaults_to_20_000_requests_and_seed_0():
    arch, workload = single_server(workers=32), Workload.from_rate(50)
    result = simulate(arch, workload)
    assert len(result.requests) == 20_000
    pd.testing.assert_frame_equal(result.requests, simulate(arch, workload, requests=20_000, seed=0).requests)


def test_every_request_gets_a_status_and_an_end_after_it_arrived():
    result = simulate(single_server(workers=1, queue_limit=2, timeout_ms=200), Workload.from_rate(30), requests=500)
    frame = result.requests
    assert frame.status.notna().all() and frame.latency_ms.notna().all() and (frame.latency_ms >= 0).all()
    assert {"ok", "rejected"} <= set(frame.status)  # 30 a second into one worker of 50 ms and a queue of 2
    assert ((frame.failed_at == "server") == (frame.status != "ok")).all()


def test_a_request_stopped_before_the_first_tier_never_reaches_it():
    arch = single_server(workers=4).fail("dns", 0)  # DNS down from the start: every lookup fails
    frame = simulate(arch, Workload(users=100), requests=400, seed=0).requests
    at_dns = frame.failed_at == "dns"
    assert at_dns.sum() > 300 and (frame.status[at_dns] == "error").all()
    assert frame.server_wait_ms[at_dns].isna().all() and frame.server_wait_ms[~at_dns].notna().all()
    assert (frame.status[~at_dns] == "ok").all()  # the others had the address cached


def test_sweep_gives_one_row_per_user_count_and_refuses_a_single_number():
    table = sweep(single_server(), users=[1_000, 50_000], requests=300, seed=2, peak_factor=4.0)
    assert list(table.users) == [1_000, 50_000] and (table.requests == 300).all()
    rates = [Workload(users=u, peak_factor=4.0).rate for u in (1_000, 50_000)]
    assert table.offered_rps.tolist() == pytest.approx(rates)  # the workload options reach every run
    same = simulate(single_server(), Workload(users=50_000, peak_factor=4.0), requests=300, seed=2).summary()
    assert table.iloc[1]["p95_ms"] == same["p95_ms"]
    for users in (1_000, "1000"):
        with pytest.raises(TypeError, match=r"users must be a list of user counts \(e.g. \[1_000, 100_000\]\)"):
            sweep(single_server(), users=users)


def test_sweep_defaults_to_2_000_requests_and_seed_0():
    row = sweep(single_server(), users=[20_000]).iloc[0]
    same = simulate(single_server(), Workload(users=20_000), requests=2_000, seed=0).summary()
    assert row["requests"] == 2_000 and row["p95_ms"] == same["p95_ms"]


@pytest.mark.parametrize("tiers, why", [
    ((Relay(name="r1", inner=Server(name="i1")), WebServer(), Relay(name="r2", inner=Server(name="i2"))),
     "'r1', 'r2' needs events (a kind without an event-free path, or one that runs its own outages)"),
    ((WebServer(distribution="constant"), Server(name="app"), Database(distribution="constant")),
     "'web', 'database' have constant service times, so events can tie"),
])
def test_the_fast_engine_names_the_tiers_that_need_events_and_why(tiers, why):
    arch = Architecture("mixed", tiers)
    with pytest.raises(ValueError) as info:
        simulate(arch, Workload.from_rate(20), requests=50, engine="fast")
    assert str(info.value) == f"engine='fast' needs every tier to run without events; {why}: use engine='auto'"
    assert len(simulate(arch, Workload.from_rate(20), requests=50).requests) == 50  # auto runs it with events


def test_tiers_must_be_components_and_the_message_shows_one():
    with pytest.raises(TypeError) as info:
        Architecture("odd", (Server(), 5))
    assert str(info.value) == "tiers must hold Component objects (e.g. Server()); got 5"


def test_a_given_server_joins_with_its_own_settings_and_a_weight_when_weights_are_explicit():
    big = WebServer(name="big", workers=16)
    arch = load_balanced(servers=2).add_server(at_s=5, server=big)
    assert arch["big"] == big and arch["load balancer"].joins[0].at_s == 5
    weighted = load_balanced(servers=2, policy="weighted", weights=(1, 3)).add_server(at_s=5, weight=2)
    assert weighted["load balancer"].weights == (1, 3, 2)


def test_the_components_table_has_the_documented_columns():
    result = simulate(Architecture("relay", (Relay(),), dns=None), Workload.from_rate(10), requests=20, seed=0)
    assert list(result.components.columns) == ["component", "kind", "workers", "utilization", "served",
                                               "mean_wait_ms", "error", "timeout", "rejected"]


def test_simulate_names_what_to_pass_instead_and_takes_a_single_request():
    with pytest.raises(TypeError) as info:
        simulate("single server", Workload())
    assert str(info.value) == "architecture must be a Architecture (e.g. single_server()); got 'single server'"
    with pytest.raises(TypeError) as info:
        simulate(single_server(), 1_000)
    assert str(info.value) == "workload must be a Workload (e.g. Workload(users=1000)); got 1000"
    assert len(simulate(single_server(), Workload(), requests=1).requests) == 1


def test_with_two_pools_add_server_asks_which_and_lists_both():
    arch = multi_region()
    with pytest.raises(ValueError, match="to must name the pool that gains a server; this architecture has 2 pools"):
        arch.add_server(at_s=5)
    with pytest.raises(ValueError) as info:
        arch.add_server(at_s=5, to="dc-1 web-1")
    assert str(info.value) == "to must name a pool of servers; got 'dc-1 web-1' (pools: 'dc-1 lb', 'dc-2 lb')"
    grown = arch.add_server(at_s=5, to="dc-2 lb")
    assert len(grown["dc-2 lb"].members) == 3 and len(grown["dc-1 lb"].members) == 2


def test_sweep_runs_on_the_engine_it_is_given():
    with pytest.raises(ValueError, match="engine='fast' needs every tier to run without events"):
        sweep(replicated(mode="sync"), users=[1_000], requests=50, engine="fast")  # (sync writes need events)


def test_register_makes_a_kind_the_default_for_its_role():
    @dataclasses.dataclass(frozen=True)
    class Spare(Component):
        name: str = "spare"

    try:
        assert register(example=lambda: None, default_for="spare role")(Spare) is Spare
        assert DEFAULTS["spare role"] is Spare and KINDS["Spare"].cls is Spare
    finally:
        DEFAULTS.pop("spare role", None)
        KINDS.pop("Spare", None)
