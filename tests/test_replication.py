"""Chapter 05's library: a primary and read replicas against theory, faults, synchronous replication, bad input.

Tolerances come from measured noise (12 seeds of the same configuration): the comment above each
check gives the mean and the standard deviation of one run; a check averages a few seeds and
allows about 4 standard deviations of that average.
"""

import math

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from chapter1 import Workload, analytic, replicated, simulate
from chapter1.components import Database, Replica, ReplicaSet, WebServer
from chapter1.core.contract import check_kind


def _mean(arch, workload, figure, seeds, requests=10_000):
    return float(np.mean([simulate(arch, workload, requests=requests, seed=s).summary()[figure] for s in seeds]))


# -- stale reads ---------------------------------------------------------------------------------

def test_stale_reads_follow_the_in_flight_writes_formula():
    # 300 req/s, 10 % writes over 1,000 Zipf(1) keys, lag 200 ms, 3 replicas, 10,000 requests:
    # theory 0.1348; 12 seeds mean 0.1332, sd 0.0077 (runs start with every replica up to date, a
    # slight low bias).  Mean of 4 seeds: sd 0.0039; bound 0.016.
    workload = Workload.from_rate(300, keys=1_000, read_ratio=0.9)
    theory = analytic.stale_reads(workload, 200)
    measured = _mean(replicated(replicas=3, replication_lag_ms=200), workload, "stale_read_ratio", range(4))
    assert abs(measured - theory) < 0.016, (measured, theory)


def test_stale_reads_when_most_reads_are_stale():
    # 100 hot keys, 20 % writes at 200 req/s, lag 500 ms: theory 0.4752; 12 seeds mean 0.4771, sd 0.0093.
    # Mean of 3 seeds: sd 0.0054; bound 0.022.
    workload = Workload.from_rate(200, keys=100, read_ratio=0.8)
    theory = analytic.stale_reads(workload, 500)
    measured = _mean(replicated(replicas=2, replication_lag_ms=500), workload, "stale_read_ratio", range(3))
    assert abs(measured - theory) < 0.022, (measured, theory)


def test_no_replicas_no_lag_or_synchronous_means_no_stale_read():
    workload = Workload.from_rate(200, keys=100, read_ratio=0.8)
    for arch in (replicated(replicas=0), replicated(replicas=2, replication_lag_ms=0),
                 replicated(replicas=2, replication_lag_ms=300, mode="sync")):
        assert simulate(arch, workload, requests=3_000, seed=1).summary()["stale_read_ratio"] == 0.0, arch.name


def test_stale_reads_do_not_depend_on_the_number_of_replicas():
    # Every replica receives every write with its own lag: each has the same share of keys in flight.
    workload = Workload.from_rate(200, keys=100, read_ratio=0.8)
    one, six = (_mean(replicated(replicas=k, replication_lag_ms=300), workload, "stale_read_ratio", range(3))
                for k in (1, 6))
    assert abs(one - six) < 0.03 and one > 0.2


def test_stale_formula_edges():
    assert analytic.stale_read_probability([1.0], write_rate=0, lag_ms=500) == 0.0
    assert analytic.stale_read_probability([1.0], write_rate=10, lag_ms=1_000) == pytest.approx(1 - math.exp(-10))
    with pytest.raises(ValueError, match="key_popularity"):
        analytic.stale_read_probability([0.5, 0.6], write_rate=1, lag_ms=1)


# -- read capacity -------------------------------------------------------------------------------

def test_read_capacity_formulas():
    assert analytic.read_capacity(4, 400, write_rate=100) == 1_200.0
    assert analytic.read_capacity(4, 400, write_rate=500) == 0.0        # replaying alone fills a replica
    assert analytic.max_rate(0, 400, 0.9) == 400.0                       # the primary does everything
    assert analytic.max_rate(4, 400, 1.0) == 1_600.0                      # reads only: k x C
    assert analytic.max_rate(8, 400, 0.5) < 2 * analytic.max_rate(1, 400, 0.5)   # writes eat the gain
    # However many replicas, each replays every write: the write rate stays below one box's capacity.
    assert 3_900 < analytic.max_rate(1_000, 400, 0.9) < 4_000
    assert analytic.max_rate(1_000, 400, 0.9, replay_cost=0) == pytest.approx(4_000)   # the primary's own cap
    assert analytic.sync_write_delay_ms(3, 100) == pytest.approx(100 * (1 + 1 / 2 + 1 / 3))


def test_replica_load_and_read_time_match_mmc():
    # 3 replicas (4 workers x 10 ms), random routing, 700 req/s with 10 % writes: each replica gets
    # 210 reads + 70 replays = 280 a second, 70 % busy; theory 13.57 ms a read.  12 seeds, 10,000
    # requests, first 1,000 dropped: mean 13.48 ms (sd 0.49); utilisation 0.695 (sd 0.012).
    # Mean of 3 seeds: sd 0.29 ms and 0.007; bounds 1.2 ms and 0.03.
    arch, rate = replicated(replicas=3, routing="random", web_workers=64), 700.0
    assert analytic.replica_arrivals(rate, 0.9, 3) == pytest.approx(280)
    times, busy = [], []
    for seed in range(3):
        result = simulate(arch, Workload.from_rate(rate), requests=10_000, seed=seed)
        table = result.requests.iloc[1_000:]
        times.append(table.loc[table["role"] == "replica", "database_ms"].mean())
        busy.append(np.mean([result.utilization(f"replica-{k}") for k in (1, 2, 3)]))
        assert (result.components.set_index("component").loc["replica-1", "replayed"]
                == pytest.approx((result.requests["role"] == "primary").sum(), rel=0.01))
    assert abs(np.mean(times) - analytic.read_time_ms(rate, 0.9, 3, 4, 10)) < 1.2
    assert abs(np.mean(busy) - 0.7) < 0.03


def test_more_replicas_carry_more_reads_but_writes_shrink_the_gain():
    # Above max_rate the replicas saturate; below it they do not.
    for read_ratio in (0.9, 0.6):
        limit = analytic.max_rate(2, 400, read_ratio)
        for factor, saturated in ((0.8, False), (1.25, True)):
            result = simulate(replicated(replicas=2, web_workers=128), Workload.from_rate(factor * limit,
                              read_ratio=read_ratio), requests=6_000, seed=1)
            busiest = max(result.utilization(n) for n in ("primary", "replica-1", "replica-2"))
            assert (busiest > 0.97) == saturated, (read_ratio, factor, busiest)


def test_reads_go_to_replicas_and_writes_to_the_primary():
    result = simulate(replicated(replicas=3), Workload.from_rate(100, read_ratio=0.7), requests=3_000, seed=2)
    table = result.requests
    writes = table["role"] == "primary"
    assert (table.loc[writes, "member"] == "primary").all()
    shares = table.loc[~writes, "member"].value_counts(normalize=True)
    assert set(shares.index) == {"replica-1", "replica-2", "replica-3"}
    assert shares.to_numpy() == pytest.approx([1 / 3] * 3, abs=0.002)           # round robin
    assert writes.mean() == pytest.approx(0.3, abs=0.03)
    assert (simulate(replicated(replicas=0), Workload.from_rate(100), requests=500).requests["member"]
            == "primary").all()


# -- faults --------------------------------------------------------------------------------------

def test_a_dead_replica_fails_its_reads_until_noticed_then_the_others_take_them():
    rate, failover = 300.0, 4.0
    arch = replicated(replicas=3, failover_s=failover).fail("replica-2", at_s=10)
    table = simulate(arch, Workload.from_rate(rate), requests=9_000, seed=3).requests
    failed = table[table["status"] != "ok"]
    assert set(failed["failed_at"]) == {"replica-2"}
    assert failed["arrival_s"].min() >= 9.5 and failed["arrival_s"].max() < 10 + failover + 0.5
    expected = rate * 0.9 / 3 * failover          # its third of the reads, until the set notices: 360
    assert abs(len(failed) - expected) < 4 * math.sqrt(expected) + 10
    later = table[table["arrival_s"] > 10 + failover + 1]
    assert (later["status"] == "ok").all() and not (later["member"] == "replica-2").any()


def test_a_dead_primary_fails_writes_until_a_replica_is_promoted():
    arch = replicated(replicas=2, failover_s=5).fail("primary", at_s=10)
    table = simulate(arch, Workload.from_rate(300, read_ratio=0.5), requests=6_000, seed=1).requests
    failed = table[table["status"] != "ok"]
    assert set(failed["failed_at"]) == {"primary"} and (failed["role"] == "primary").all()
    assert failed["arrival_s"].min() >= 9.5 and failed["arrival_s"].max() < 15.5   # DNS + web take a little time
    after = table[table["arrival_s"] > 16]
    assert (after["status"] == "ok").all()
    assert (after.loc[after["role"] == "primary", "member"] == "replica-1").all()   # promoted
    assert set(after.loc[after["role"] == "replica", "member"]) == {"replica-2"}


def test_lost_writes_are_about_write_rate_times_lag():
    # 150 writes a second, lag 200 ms: 30 in flight to the replica that gets promoted.  40 seeds of
    # 8,000 requests: mean 30.4, sd 6.1 (Poisson: sqrt 30 = 5.5).  Mean of 8 seeds: sd 2.1; bound 8.5.
    arch = replicated(replicas=2, replication_lag_ms=200, failover_s=5).fail("primary", at_s=20)
    workload = Workload.from_rate(300, read_ratio=0.5)
    expected = analytic.expected_lost_writes(150, 200)
    measured = _mean(arch, workload, "lost_writes", range(8), requests=8_000)
    assert abs(measured - expected) < 8.5, (measured, expected)
    table = simulate(arch, workload, requests=8_000, seed=0).requests
    lost = table[table["lost"]]
    assert (lost["status"] == "ok").all() and (lost["arrival_s"] < 20).all()   # acknowledged, then lost


def test_synchronous_replication_trades_write_latency_for_no_loss():
    # A synchronous write waits for the slowest of 3 lags: 50 x (1 + 1/2 + 1/3) = 91.7 ms on average.
    workload = Workload.from_rate(300, read_ratio=0.8)
    sync = replicated(replicas=3, replication_lag_ms=50, failover_s=5, mode="sync")
    table = simulate(sync, workload, requests=10_000, seed=1).requests
    writes = table[table["role"] == "primary"]["database_ms"].mean()
    wait = analytic.sync_write_delay_ms(3, 50)
    assert abs(writes - (10 + wait)) < 0.1 * wait   # 10 ms of work at the primary, plus the wait
    broken = simulate(sync.fail("primary", at_s=15), workload, requests=10_000, seed=1).summary()
    assert broken["lost_writes"] == 0 and broken["stale_read_ratio"] == 0


def test_with_no_replica_a_dead_primary_stops_everything_until_it_is_back():
    arch = replicated(replicas=0, failover_s=2).fail("primary", at_s=5, recover_s=10)
    table = simulate(arch, Workload.from_rate(200), requests=3_000, seed=0).requests
    during = table[(table["arrival_s"] > 5.2) & (table["arrival_s"] < 9.8)]
    assert (during["status"] != "ok").all()
    assert (table.loc[table["arrival_s"] > 10.5, "status"] == "ok").all()


def test_availability_of_writes_and_reads():
    assert analytic.write_availability(0, 4, 30, 3_600) < analytic.write_availability(2, 4, 30, 3_600)
    assert analytic.read_availability(2, 0.99) == pytest.approx(1 - 0.01 ** 3)


# -- the protocol, determinism, bad input ----------------------------------------------------------

def test_both_kinds_pass_the_contract():
    assert check_kind("ReplicaSet") and check_kind("Replica")


def test_same_seed_same_result():
    arch = replicated(replicas=2, replication_lag_ms=150).fail("primary", at_s=3)
    first, second = (simulate(arch, Workload.from_rate(300), requests=2_000, seed=7) for _ in range(2))
    assert_frame_equal(first.requests, second.requests)
    assert first.summary().equals(second.summary())
    other = simulate(arch, Workload.from_rate(300), requests=2_000, seed=8)
    assert not first.requests["stale"].equals(other.requests["stale"])


def test_diagram_names_primary_and_replicas():
    picture = replicated(replicas=2).fail("primary", at_s=5)._repr_svg_()
    assert ">primary<" in picture and ">replica-2<" in picture and "primary: writes" in picture


@pytest.mark.parametrize(("options", "error", "words"), [
    ({"replicas": -1}, ValueError, r"replicas must be a whole number in the range \[0, 32\]; got -1"),
    ({"replicas": 40}, ValueError, r"replicas must be a whole number in the range \[0, 32\]; got 40"),
    ({"replicas": 2.5}, TypeError, "replicas"),
    ({"replicas": "2"}, TypeError, "replicas"),
    ({"replication_lag_ms": -5}, ValueError, r"replication_lag_ms must be a number in the range \[0, "),
    ({"replication_lag_ms": "fast"}, TypeError, "replication_lag_ms"),
    ({"failover_s": -1}, ValueError, "failover_s"),
    ({"mode": "semi"}, ValueError, "mode must be one of 'async', 'sync'"),
    ({"routing": "fastest"}, ValueError, "routing must be one of"),
])
def test_bad_input_is_named(options, error, words):
    with pytest.raises(error, match=words):
        replicated(**options)


def test_a_replica_set_holds_databases():
    with pytest.raises(TypeError, match="replicas must hold Database"):
        ReplicaSet(replicas=(WebServer(),))
    with pytest.raises(TypeError, match="primary must be a Database"):
        ReplicaSet(primary=WebServer())
    copied = ReplicaSet(replicas=(Database(name="copy"),))
    assert isinstance(copied.replicas[0], Replica) and copied.replicas[0].name == "copy"
