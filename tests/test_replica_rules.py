"""The rules of chapter1/components/replicas.py, on hand-placed requests.

A replica set alone (no DNS, no web tier) whose databases have one worker and a constant 10 ms of work:
each request's arrival, kind, key and replication lag is set by hand, so where it goes, when it ends,
whether it is stale and whether it is lost are all known in advance.
"""

import math

import numpy as np
import pytest

from chapter1 import Workload
from chapter1.components import Database, Replica, ReplicaSet, WebServer
from chapter1.components.replicas import _back_up, replica_names, with_replicas
from chapter1.core.architecture import Architecture
from chapter1.core.component import OK
from chapter1.core.simulation import Simulation

WORK = 0.01  # every query takes 10 ms


def box(cls, name, outages=()):
    part = cls(name=name, workers=1, service_time_ms=WORK * 1_000, distribution="constant")
    for start, end in outages:
        part = part.fail(at_s=start, recover_s=end)
    return part


def run_set(arrivals, writes, keys=None, lag=0.1, replicas=2, down=None, replay=WORK, **options):
    """Run hand-placed requests through a replica set; ``lag``: every write's lag to every replica (s), or a
    per-request list of per-replica lags; ``down``: {member name: [(start, end), ...]}.  Returns (run, result)."""
    down, n = down or {}, len(arrivals)
    members = [box(Database, "primary", down.get("primary", ()))]
    members += [box(Replica, name, down.get(name, ())) for name in replica_names(replicas)]
    spec = ReplicaSet(primary=members[0], replicas=tuple(members[1:]), **options)
    sim = Simulation(Architecture("set", (spec,), dns=None), Workload.from_rate(10), n, 0)
    run = sim.tiers[0]
    sim.arrival = np.array(arrivals, dtype=float)
    sim.__dict__["write"] = np.array(writes, dtype=bool)
    run.is_write, run.key = list(writes), list(keys if keys is not None else [0] * n)
    lags = np.zeros((n, replicas)) + (lag if np.isscalar(lag) else np.array(lag, dtype=float))
    run.lag[:, 1:] = lags
    for part in run.parts[1:]:
        part.replay_work = np.full(n, replay)
    return run, sim.run("simpy")


def column(result, name):
    return result.requests[name].tolist()


# -- where requests go ---------------------------------------------------------------------------

def test_writes_go_to_the_primary_and_reads_to_the_replicas_in_turn():
    writes = [True, False, False, True, False, False, False]
    run, result = run_set([0.1 * k for k in range(7)], writes, replicas=3)
    assert column(result, "member") == ["primary", "replica-1", "replica-2", "primary", "replica-3", "replica-1",
                                        "replica-2"]
    assert column(result, "role") == ["primary", "replica", "replica", "primary", "replica", "replica", "replica"]
    assert column(result, "write") == writes
    assert column(result, "database_ms") == pytest.approx([10.0] * 7)
    assert run.row() == {"workers": None, "served": 7, "mean_wait_ms": pytest.approx(math.nan, nan_ok=True)}


def test_with_no_replica_the_primary_serves_reads_too():
    _, result = run_set([0.0, 0.1, 0.2], [False, True, False], replicas=0)
    assert column(result, "member") == ["primary"] * 3 and column(result, "role") == ["primary"] * 3
    assert result.summary()["stale_read_ratio"] == 0.0


def test_random_routing_spreads_reads_evenly_but_not_in_turn():
    # 600 reads over 3 replicas: a share's sd is sqrt(1/3 x 2/3 / 600) = 0.019; bound 0.08 (4 sd)
    n = 600
    _, result = run_set([0.02 * k for k in range(n)], [False] * n, replicas=3, routing="random")
    members = column(result, "member")
    shares = result.requests["member"].value_counts(normalize=True)
    assert sorted(shares.index) == ["replica-1", "replica-2", "replica-3"]
    assert shares.to_numpy() == pytest.approx([1 / 3] * 3, abs=0.08)
    assert members[:9] != ["replica-1", "replica-2", "replica-3"] * 3


# -- stale reads ---------------------------------------------------------------------------------

def test_a_read_is_stale_until_the_write_to_its_key_reaches_its_replica():
    # the write at 0 is committed at 0.01 and reaches each replica at 0.11
    arrivals = [0.0, 0.05, 0.06, 0.07, 0.10, 0.30]
    writes = [True, False, False, False, False, False]
    keys = [7, 7, 7, 3, 7, 7]
    run, result = run_set(arrivals, writes, keys)
    # the read of key 3 is fresh; the read at 0.10 ends at 0.11, just when the write lands: fresh
    assert column(result, "stale") == [False, True, True, False, False, False]
    assert result.summary()["stale_read_ratio"] == pytest.approx(2 / 5)
    assert run.figures() == {"stale_read_ratio": pytest.approx(0.4), "lost_writes": 0}


def test_a_read_is_stale_only_on_the_replica_the_write_has_not_reached():
    lag = [[0.5, 0.02]] * 3
    _, result = run_set([0.0, 0.05, 0.06], [True, False, False], lag=lag)
    assert column(result, "member")[1:] == ["replica-1", "replica-2"]
    assert column(result, "stale") == [False, True, False]


def test_a_later_write_that_arrives_first_does_not_make_a_key_fresh():
    # write A lands at 0.51, write B (committed 0.03) at 0.04: a read at 0.1 still misses A
    lag = [[0.5, 0.5], [0.01, 0.01], [0, 0]]
    _, result = run_set([0.0, 0.02, 0.1], [True, True, False], lag=lag)
    assert column(result, "stale") == [False, False, True]


def test_with_no_successful_read_the_stale_ratio_is_zero():
    run, result = run_set([0.0, 0.1], [True, True])
    assert run.figures()["stale_read_ratio"] == 0.0 and isinstance(run.figures()["lost_writes"], int)


# -- replaying writes ----------------------------------------------------------------------------

@pytest.mark.parametrize(("cost", "wait_ms"), [(1.0, 8.0), (2.0, 18.0)])
def test_a_replica_replays_each_write_on_its_worker_after_the_lag(cost, wait_ms):
    # the write lands on both replicas at 0.01 + 0.005 and holds their one worker for cost x 10 ms;
    # a read there at 0.017 waits for it
    _, result = run_set([0.0, 0.017], [True, False], lag=0.005, replay_cost=cost)
    assert result.requests["replica-1_wait_ms"].iloc[1] == pytest.approx(wait_ms)
    replayed = result.components.set_index("component")["replayed"]
    assert replayed["replica-1"] == replayed["replica-2"] == 1


def test_a_replay_costing_nothing_takes_no_worker():
    run, result = run_set([0.0, 0.012], [True, False], lag=0.0, replay_cost=0)
    assert result.requests["replica-1_wait_ms"].iloc[1] == 0.0
    assert run.parts[1].row()["replayed"] == 0


def test_replays_count_in_a_replicas_busy_time():
    # 20 writes, one every 100 ms: each replica is busy 10 ms per write over 1.91 s
    arrivals = [0.1 * k for k in range(20)]
    run, result = run_set(arrivals, [True] * 20, lag=0.0)
    starts, ends, workers = run.parts[1].busy()
    assert workers == 1 and float(np.sum(ends - starts)) == pytest.approx(20 * WORK)
    assert result.utilization("replica-1") > 0.09


def test_a_replica_that_is_down_replays_what_it_missed_when_it_is_back():
    # replica-1 down from 0.005 to 0.6: the write committed at 0.01 reaches it at 0.6
    run, result = run_set([0.0, 0.7], [True, False], lag=0.0, down={"replica-1": [(0.005, 0.6)]})
    assert run.parts[1].replay_from == [pytest.approx(0.6)]
    assert run.parts[2].replay_from == [pytest.approx(0.01)]


def test_a_write_reaches_a_member_that_is_down_when_its_last_outage_in_a_row_ends():
    member = box(Replica, "r", [(1.0, 2.0), (2.0, 3.0), (5.0, math.inf)])
    assert [_back_up(member, t) for t in (0.5, 1.0, 1.5, 2.5, 3.0, 4.0, 5.0)] == [0.5, 3.0, 3.0, 3.0, 3.0, 4.0,
                                                                                    math.inf]


def test_a_replica_that_never_comes_back_replays_nothing():
    run, _ = run_set([0.0, 0.1], [True, True], lag=0.0, down={"replica-1": [(0.005, math.inf)]})
    assert run.parts[1].replay_from == [] and len(run.parts[2].replay_from) == 2


def test_a_replica_that_dies_while_a_replay_waits_for_its_worker_drops_it():
    # replica-1 is busy with a read from 0.02 to 0.03; the write lands at 0.021 and waits; the replica dies at 0.025
    run, _ = run_set([0.0, 0.001, 0.02, 0.011], [False, False, False, True], lag=0.0,
                     down={"replica-1": [(0.025, 0.2)]})
    assert run.parts[1].replay_from == [] and len(run.parts[2].replay_from) == 1


# -- faults --------------------------------------------------------------------------------------

def test_a_dead_replica_gets_its_turn_until_the_set_notices_then_not_until_it_is_back():
    # replica-1 dies at 1.0 and comes back at 3.0; the set notices at 1.5
    arrivals = [0.9, 1.1, 1.2, 1.3, 1.5, 1.6, 1.7, 3.0, 3.1]
    run, result = run_set(arrivals, [False] * 9, failover_s=0.5, down={"replica-1": [(1.0, 3.0)]})
    # round robin goes on over the replicas the set sends reads to: replica-2 alone from 1.5, both again at 3.0
    assert column(result, "member") == ["replica-1", "replica-2", "replica-1", "replica-2", "replica-2", "replica-2",
                                        "replica-2", "replica-2", "replica-1"]
    assert column(result, "status") == ["ok", "ok", "error", "ok", "ok", "ok", "ok", "ok", "ok"]
    assert result.requests["failed_at"].iloc[2] == "replica-1"
    assert run.readers(1.4999) == [1, 2] and run.readers(1.5) == [2] and run.readers(3.0) == [1, 2]


def test_readers_leave_out_the_primary_and_a_retired_member():
    run, _ = run_set([0.0], [False], replicas=3, down={"replica-3": [(5, 6)]})
    assert run.readers(0.0) == [1, 2, 3]
    run.primary, run.retired = 1, {0}
    assert run.readers(0.0) == [2, 3]


def test_a_dead_primary_fails_writes_until_the_first_live_replica_is_promoted():
    # the primary dies at 1.0, the set notices at 1.5; replica-1 is dead too, so replica-2 takes over
    arrivals = [0.5, 1.1, 1.6, 1.7, 1.8, 2.5]
    writes = [True, True, True, False, False, True]
    down = {"primary": [(1.0, 2.0)], "replica-1": [(0.8, 5.0)]}
    run, result = run_set(arrivals, writes, failover_s=0.5, down=down, replicas=3)
    assert column(result, "status") == ["ok", "error", "ok", "ok", "ok", "ok"]
    assert result.requests["failed_at"].iloc[1] == "primary"
    assert column(result, "member") == ["primary", "primary", "replica-2", "replica-3", "replica-3", "replica-2"]
    assert column(result, "role") == ["primary", "primary", "primary", "replica", "replica", "primary"]
    assert run.primary == 2 and run.retired == {0}
    assert run.readers(2.5) == [3]  # the old primary is back, but not as a member


def test_with_no_live_replica_to_promote_writes_wait_for_the_primary():
    arrivals = [1.1, 1.6, 2.1, 2.2]
    down = {"primary": [(1.0, 2.0)], "replica-1": [(0.5, 3.0)]}
    run, result = run_set(arrivals, [True, True, True, False], failover_s=0.5, replicas=1, down=down)
    assert column(result, "status") == ["error", "error", "ok", "ok"]
    assert column(result, "member") == ["primary"] * 4 and run.primary == 0


def test_acknowledged_writes_not_yet_on_the_promoted_replica_are_lost():
    # primary dies at 1.0: writes committed at 0.51 and 0.91 reach replica-1 at 0.71 and 1.11 (lost);
    # the one to a key reaching replica-2 only late does not matter, replica-1 is promoted
    arrivals = [0.5, 0.9, 0.95, 1.6, 1.7]
    writes = [True, True, True, True, True]
    lag = [[0.2, 5.0], [0.2, 0.01], [0.03, 0.01], [0.5, 0.5], [0.5, 0.5]]
    run, result = run_set(arrivals, writes, lag=lag, failover_s=0.5, down={"primary": [(1.0, math.inf)]})
    assert column(result, "lost") == [False, True, False, False, False]
    assert column(result, "status") == ["ok", "ok", "ok", "ok", "ok"]
    assert result.summary()["lost_writes"] == 1
    assert column(result, "member")[3:] == ["replica-1", "replica-1"]
    # replicated from the new primary to replica-2 only
    assert len(run.parts[2].replay_from) == 5 and len(run.parts[1].replay_from) == 3


def test_a_second_promotion_counts_only_the_writes_of_the_second_primary():
    # primary dies at 1.0 (write at 0.9 lost); replica-1 takes over at 1.5 and dies at 2.0 with the write of 1.9
    # in flight to replica-2, which takes over at 2.5
    arrivals = [0.9, 1.9, 2.6]
    lag = [[0.2, 0.2], [0.5, 0.5], [0.1, 0.1]]
    down = {"primary": [(1.0, math.inf)], "replica-1": [(2.0, math.inf)]}
    run, result = run_set(arrivals, [True] * 3, lag=lag, failover_s=0.5, down=down)
    assert column(result, "lost") == [True, True, False]
    assert column(result, "member") == ["primary", "replica-1", "replica-2"]
    assert run.retired == {0, 1}


def test_a_dead_replica_set_fails_every_request_there():
    spec = ReplicaSet(primary=box(Database, "primary"), replicas=(box(Replica, "replica-1"),)).fail(0.05, 0.15)
    sim = Simulation(Architecture("set", (spec,), dns=None), Workload.from_rate(10), 4, 0)
    sim.arrival = np.array([0.0, 0.06, 0.14, 0.2])
    result = sim.run("simpy")
    assert column(result, "status") == ["ok", "error", "error", "ok"]
    assert column(result, "member")[1:3] == ["", ""] and column(result, "role")[1:3] == ["", ""]
    assert sim.tiers[0].row()["served"] == 2


# -- synchronous replication ------------------------------------------------------------------------

def test_a_synchronous_write_waits_for_the_slowest_live_replica():
    lag = [[0.05, 0.2, 0.3]] * 3
    _, result = run_set([0.0, 0.5, 0.55], [True, False, False], lag=lag, replicas=3, mode="sync",
                        down={"replica-3": [(0.0, 0.001)]})
    # replica-3 was down at the start but is back by the commit at 0.01: the write waits for its 300 ms
    assert result.requests["database_ms"].iloc[0] == pytest.approx(10 + 300)
    assert column(result, "stale") == [False] * 3


def test_a_synchronous_write_does_not_wait_for_a_replica_that_is_down():
    lag = [[0.05, 0.2, 0.3]] * 2
    _, result = run_set([0.0, 0.5], [True, False], lag=lag, replicas=3, mode="sync",
                        down={"replica-3": [(0.0, 0.1)]})
    assert result.requests["database_ms"].iloc[0] == pytest.approx(10 + 200)


def test_a_synchronous_write_with_no_lag_is_acknowledged_at_once():
    _, result = run_set([0.0], [True], lag=0.0, mode="sync")
    assert result.requests["database_ms"].iloc[0] == pytest.approx(10)


def test_a_synchronous_write_fails_when_the_primary_dies_before_the_replicas_confirm():
    # committed at 0.01, confirmed at 0.21; the primary dies at 0.1 (and is back at 0.15: still a failure)
    for down in ([(0.1, math.inf)], [(0.1, 0.15)]):
        _, result = run_set([0.0, 1.0], [True, True], lag=0.2, mode="sync", failover_s=0.5,
                            down={"primary": down})
        assert column(result, "status")[0] == "error" and result.requests["failed_at"].iloc[0] == "primary"
        assert result.summary()["lost_writes"] == 0


# -- the spec ------------------------------------------------------------------------------------

def test_a_plain_database_becomes_a_replica_with_its_settings():
    spec = ReplicaSet(replicas=[Database(name="copy", workers=3, service_time_ms=7)])
    copy = spec.replicas[0]
    assert isinstance(copy, Replica) and (copy.name, copy.workers, copy.service_time_ms) == ("copy", 3, 7)
    assert copy.roles == ("database", "replica") and isinstance(spec.replicas, tuple)
    assert [p.name for p in spec.parts] == ["primary", "copy"]


def test_what_the_diagram_says():
    one = ReplicaSet(replicas=(Replica(name="r1"),), replication_lag_ms=250, failover_s=4)
    assert one.describe() == ["primary + 1 replica", "async, lag 250 ms", "failover 4 s"]
    two = ReplicaSet(replicas=(Replica(name="r1"), Replica(name="r2")), mode="sync")
    assert two.describe() == ["primary + 2 replicas", "sync", "failover 10 s"] and two.label() == "primary + 2 replicas"
    assert two.part_note(two.primary) == ["primary: writes"] and two.part_note(two.replicas[1]) == ["replica: reads"]


def test_bounds_are_inclusive_and_named():
    ReplicaSet(replicas=tuple(Replica(name=n) for n in replica_names(32)), replication_lag_ms=3_600_000,
               failover_s=86_400, replay_cost=100)
    ReplicaSet(replication_lag_ms=0, failover_s=0, replay_cost=0)
    with pytest.raises(ValueError, match=r"^replicas must hold 0 to 32 databases; got 33$"):
        ReplicaSet(replicas=tuple(Replica(name=n) for n in replica_names(33)))
    for name, value, shown in (("replication_lag_ms", 3_600_001, r"\[0, 3,600,000\]"),
                               ("failover_s", 86_401, r"\[0, 86,400\]"), ("replay_cost", 101, r"\[0, 100\]"),
                               ("replay_cost", -0.5, r"\[0, 100\]")):
        with pytest.raises(ValueError, match=rf"^{name} must be a number in the range {shown}; got "):
            ReplicaSet(**{name: value})
    with pytest.raises(ValueError, match="^routing must be one of 'round_robin', 'random'; got 'first'"):
        ReplicaSet(routing="first")
    with pytest.raises(TypeError, match=r"^primary must be a Database \(e.g. Database\(name='primary'\)\)"):
        ReplicaSet(primary=WebServer())
    with pytest.raises(TypeError, match=r"replicas must hold Database objects \(e.g. Replica\(name='replica-1'\)\)"):
        ReplicaSet(replicas=(WebServer(),))


def test_with_replicas_copies_the_first_replica_or_else_the_primary():
    model = Replica(name="fast", workers=6, service_time_ms=3).fail(at_s=5)
    grown = with_replicas(ReplicaSet(replicas=(model,), failover_s=2), 3)
    assert [r.name for r in grown.replicas] == ["replica-1", "replica-2", "replica-3"]
    assert all(r.workers == 6 and r.service_time_ms == 3 and r.outages == () for r in grown.replicas)
    assert grown.failover_s == 2
    bare = with_replicas(ReplicaSet(primary=Database(name="primary", workers=9)), 2)
    assert [(type(r), r.workers) for r in bare.replicas] == [(Replica, 9)] * 2
    assert with_replicas(bare, 0).replicas == () and len(with_replicas(bare, 32).replicas) == 32
    with pytest.raises(ValueError, match=r"^replicas must be a whole number in the range \[0, 32\]; got 33"):
        with_replicas(bare, 33)


def test_every_request_gets_a_status_and_the_set_reports_its_time():
    _, result = run_set([0.0, 0.001, 0.002], [True, False, False])
    assert (result.requests["status"] == "ok").all() and OK == 0
    assert result.requests["database_ms"].tolist() == pytest.approx([10.0, 10.0, 10.0])


def test_the_stale_ratio_counts_successful_reads_wherever_they_were_served():
    # a stale read on replica-1 at 0.05; a read failing on dead replica-1 at 0.25; one on the primary at 0.4
    # (the set noticed at 0.3 that its only replica is down): 1 stale out of 2 successful reads
    arrivals, writes = [0.0, 0.05, 0.25, 0.4], [True, False, False, False]
    run, result = run_set(arrivals, writes, [7, 7, 7, 7], replicas=1, failover_s=0.1, down={"replica-1": [(0.2, 9)]})
    assert column(result, "member") == ["primary", "replica-1", "replica-1", "primary"]
    assert column(result, "status") == ["ok", "ok", "error", "ok"] and column(result, "stale")[1]
    assert result.summary()["stale_read_ratio"] == 0.5 and run.row()["served"] == 4


def test_a_write_that_reaches_the_replica_just_as_the_primary_dies_is_not_lost():
    # times in powers of two, so the sums are exact: committed at 0.515625, lag 0.484375, lands at 1.0, the moment
    # the primary dies; the other write lands 1/64 s later and is lost
    primary = Database(name="primary", workers=1, service_time_ms=15.625, distribution="constant").fail(at_s=1.0)
    copies = tuple(Replica(name=n, workers=1, service_time_ms=15.625, distribution="constant") for n in ("r1", "r2"))
    spec = ReplicaSet(primary=primary, replicas=copies, failover_s=0.5)
    sim = Simulation(Architecture("set", (spec,), dns=None), Workload.from_rate(10), 3, 0)
    run = sim.tiers[0]
    sim.arrival = np.array([0.5, 0.75, 2.0])
    sim.__dict__["write"] = np.ones(3, dtype=bool)
    run.is_write, run.key = [True] * 3, [0, 1, 2]
    run.lag[:, 1:] = [[0.484375, 0.5], [0.25, 0.5], [0.0, 0.0]]
    result = sim.run("simpy")
    assert column(result, "lost") == [False, True, False]


def test_lags_and_replays_are_exponential_draws_of_named_streams():
    """The lags come from the set's own stream (mean ``replication_lag_ms``); a replay costs ``replay_cost`` x a
    draw of the replica's service time from its own stream, so one component's draws never shift another's."""
    arch = Architecture("set", (ReplicaSet(replicas=(Replica(name="r1", service_time_ms=8),), replication_lag_ms=250,
                                           replay_cost=1.5),), dns=None)
    sim = Simulation(arch, Workload.from_rate(100, read_ratio=0.5), 400, 5)
    run = sim.tiers[0]
    assert run.lag.tolist() == sim.stream("database").exponential(0.25, (400, 2)).tolist()
    assert run.lag.mean() == pytest.approx(0.25, rel=0.12)  # 800 draws: sd of the mean 3.5 %
    result = sim.run("simpy")
    replica = run.parts[1]
    took = np.array(replica.replay_to) - np.array(replica.replay_from)
    writes = np.flatnonzero(result.requests["write"].to_numpy())
    draws = sim.stream("r1 replay").exponential(0.008, 400)
    assert len(took) == len(writes) and sorted(took.tolist()) == pytest.approx(sorted((1.5 * draws[writes]).tolist()))
    flat = Simulation(Architecture("set", (ReplicaSet(replication_lag_ms=0),), dns=None), Workload.from_rate(10), 5, 0)
    assert flat.tiers[0].lag.tolist() == [[0.0]] * 5


def test_with_replicas_wants_a_whole_number():
    with pytest.raises(TypeError, match=r"^replicas must be a whole number in the range \[0, 32\]; got 2.5"):
        with_replicas(ReplicaSet(), 2.5)


def test_a_replica_given_is_kept_as_it_is():
    class Tuned(Replica):
        pass

    tuned = Tuned(name="tuned", workers=2)
    assert ReplicaSet(replicas=(tuned,)).replicas[0] is tuned
    with pytest.raises(ValueError, match="^mode must be one of 'async', 'sync'; got 'semi'$"):
        ReplicaSet(mode="semi")


def test_stale_and_lost_are_flags_that_select_their_rows():
    _, result = run_set([0.0, 0.05, 0.3], [True, False, False], [7, 7, 7])
    table = result.requests
    assert table["stale"].dtype == bool and table["lost"].dtype == bool and table["write"].dtype == bool
    assert table[table["stale"]].index.tolist() == [1] and table[table["lost"]].empty


def test_a_read_that_fails_is_not_counted_stale():
    # the write at 0 reaches the replicas only at 5.01; replica-1 dies at 0.2 and its read at 0.25 fails
    _, result = run_set([0.0, 0.05, 0.25], [True, False, False], [7, 7, 7], lag=5.0, replicas=1,
                        down={"replica-1": [(0.2, 9)]})
    assert column(result, "status") == ["ok", "ok", "error"] and column(result, "stale") == [False, True, False]


def test_a_synchronous_write_with_no_live_replica_is_acknowledged_at_once():
    for replicas, down in ((0, None), (1, {"replica-1": [(0.0, 9)]})):
        _, result = run_set([0.0, 0.5], [True, True], lag=0.3, replicas=replicas, mode="sync", down=down)
        assert column(result, "status") == ["ok", "ok"]
        assert column(result, "database_ms") == pytest.approx([10.0, 10.0])


def test_synchronous_writes_that_the_replicas_confirm_succeed():
    _, result = run_set([0.0, 0.5, 0.6], [True, True, False], lag=0.05, mode="sync")
    assert column(result, "status") == ["ok"] * 3
    assert column(result, "database_ms") == pytest.approx([60.0, 60.0, 10.0])
