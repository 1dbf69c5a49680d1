"""Chapter 10's message queue: backlog and drain time against theory, lost and kept messages, duplicates."""

import math

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

import chapter1 as c
from chapter1 import analytic
from chapter1.components.queue import Consumers, MessageQueue

RATE = 50.0  # messages a second, on 8 consumers x (95 + 5) ms = 80 a second


def queue_of(result):
    return next(r for r in result.runtimes if r.spec.name == "queue")


def drained_after(result, t):
    """Seconds after ``t`` until the backlog first reaches zero."""
    times, sizes = queue_of(result).backlog()
    after = np.nonzero((times > t) & (sizes == 0))[0]
    return float(times[after[0]] - t)


def test_the_producer_is_answered_when_the_message_is_stored_and_the_work_finishes_later():
    result = c.simulate(c.queued(), c.Workload.from_rate(RATE), requests=3_000, seed=1)
    table, s = result.requests, result.summary()
    assert (table["status"] == "ok").all()
    assert (table["done_ms"] > table["latency_ms"]).all()  # the work ends after the answer
    assert s["done_p50_ms"] > s["p50_ms"]
    assert {"backlog_max", "messages_lost", "duplicates"} <= set(s.index)


def test_queue_wait_follows_erlang_c_over_seeds():
    theory = analytic.mean_queue_wait_s(RATE, 10, 8) * 1_000  # 5.6 ms
    waits = [c.simulate(c.queued(), c.Workload.from_rate(RATE), requests=20_000, seed=s).summary()["queue_wait_mean_ms"]
             for s in range(3)]
    # measured 4.8, 5.8, 5.5 ms on seeds 0-2 (a mean wait at 62 % load moves ~10 % from seed to seed)
    assert abs(np.mean(waits) / theory - 1) < 0.15, (waits, theory)


def test_a_consumer_outage_builds_lambda_t_and_drains_in_backlog_over_spare_capacity():
    arch = c.queued().fail("consumers", at_s=30, recover_s=90)
    backlog = analytic.outage_backlog(RATE, 60)                 # 3,000 messages
    drain = analytic.drain_time(backlog, RATE, 10, 8)           # 3,000 / (80 - 50) = 100 s
    peaks, drains = [], []
    for seed in range(4):
        result = c.simulate(arch, c.Workload.from_rate(RATE), requests=10_000, seed=seed)
        assert result.summary()["error_rate"] == 0  # the producer never noticed
        peaks.append(result.summary()["backlog_max"])
        drains.append(drained_after(result, 90))
    # measured peaks 2,998-3,079 (Poisson: ±55 messages is one standard deviation of 3,000) and drains
    # 98-103 s: both within 5 % on average, each run within 10 %
    assert abs(np.mean(peaks) / backlog - 1) < 0.05 and max(abs(np.array(peaks) / backlog - 1)) < 0.1, peaks
    assert abs(np.mean(drains) / drain - 1) < 0.05 and max(abs(np.array(drains) / drain - 1)) < 0.1, drains


def test_a_burst_drains_in_burst_over_spare_capacity():
    arch = c.queued(burst_messages=1_000, burst_at_s=10)
    drains = [drained_after(c.simulate(arch, c.Workload.from_rate(RATE), requests=4_000, seed=s), 10)
              for s in range(3)]
    theory = analytic.drain_time(1_000, RATE, 10, 8)  # 33.3 s
    assert abs(np.mean(drains) / theory - 1) < 0.1, drains  # measured 31.6, 36.0, 33.5 s


def test_fluid_curve_matches_the_simulated_backlog_during_and_after_an_outage():
    arch = c.queued().fail("consumers", at_s=20, recover_s=50)
    result = c.simulate(arch, c.Workload.from_rate(RATE), requests=6_000, seed=3)
    times, sizes = queue_of(result).backlog()
    probe = np.array([30.0, 50.0, 70.0])
    measured = sizes[np.searchsorted(times, probe, side="right") - 1]
    theory = analytic.backlog_curve(probe, RATE, 10, 8, outage=(20, 50))  # 500, 1,500, 900
    assert np.all(np.abs(measured - theory) < 0.1 * theory + 30), (measured, theory)


def test_an_in_memory_broker_loses_its_backlog_when_it_crashes_and_a_durable_one_keeps_it():
    def run(durable):
        arch = c.queued(durable=durable).fail("consumers", at_s=10, recover_s=40).fail("queue", at_s=30, recover_s=35)
        return c.simulate(arch, c.Workload.from_rate(RATE), requests=3_000, seed=2)

    memory, disk = run(False), run(True)
    # the backlog at 30 s is about 50 x 20 = 1,000 messages (+ the few the consumers held at 10 s)
    assert 850 < memory.summary()["messages_lost"] < 1_150
    assert disk.summary()["messages_lost"] == 0
    ok = disk.requests["status"] == "ok"
    assert disk.requests.loc[ok, "done_ms"].notna().all()  # every stored message was worked off
    lost = memory.requests["message_lost"]
    assert memory.requests.loc[lost, "done_ms"].isna().all()
    for result in (memory, disk):  # publishing fails while the broker is down, in both
        during = result.requests["arrival_s"].between(30.1, 34.9)
        assert (result.requests.loc[during, "status"] == "error").all()
        assert set(result.requests.loc[during, "failed_at"]) == {"queue"}


def test_at_least_once_repeats_unacknowledged_work_unless_the_consumer_is_idempotent():
    def summary(**options):
        arch = c.queued(ack_ms=50, service_time_ms=50, crash_probability=0.1, **options)
        return c.simulate(arch, c.Workload.from_rate(RATE), requests=5_000, seed=4).summary()

    plain, idempotent, at_most = summary(), summary(idempotent=True), summary(delivery="at-most-once")
    # A crash falls in the acknowledgement with chance E[A / (W + A)] = 0.60 for exponential work W of mean
    # 50 ms and A = 50 ms; ~5,570 deliveries (redeliveries included) x 0.1 x 0.60 = 333 duplicates (measured
    # 331); at-most-once loses those that crash in the work: ~5,300 x 0.1 x 0.40 = 212 (measured 205).
    assert 250 < plain["duplicates"] < 420 and plain["messages_lost"] == 0
    assert idempotent["duplicates"] == 0 and idempotent["redeliveries"] > 400
    assert at_most["duplicates"] == 0 and 150 < at_most["messages_lost"] < 280


def test_same_seed_same_result():
    arch = c.queued(crash_probability=0.05).fail("consumers", at_s=5, recover_s=10)
    first, second = (c.simulate(arch, c.Workload.from_rate(RATE), requests=1_000, seed=7) for _ in range(2))
    assert_frame_equal(first.requests, second.requests)
    assert first.summary().equals(second.summary())


def test_theory_figures():
    assert analytic.drain_time(0, 90, 10, 8) == 0.0
    assert math.isinf(analytic.drain_time(10, 80, 10, 8))
    assert analytic.workers_to_drain(3_000, 60, 50, 10) == 10      # (50 + 50) / 10
    assert analytic.drain_time(3_000, 50, 10, analytic.workers_to_drain(3_000, 60, 50, 10)) <= 60
    assert analytic.synchronous_availability(0.99, 0.99) < analytic.decoupled_availability(0.99, 1.0, consumers=0.99)
    assert math.isinf(analytic.mean_backlog(90, 10, 8))


@pytest.mark.parametrize("make, error", [
    (lambda: Consumers(workers=0), ValueError),
    (lambda: Consumers(workers="8"), TypeError),
    (lambda: Consumers(crash_probability=1.5), ValueError),
    (lambda: Consumers(idempotent="yes"), TypeError),
    (lambda: MessageQueue(delivery="exactly-once"), ValueError),
    (lambda: MessageQueue(durable=1), TypeError),
    (lambda: MessageQueue(consumers=c.Server()), TypeError),
    (lambda: MessageQueue(burst_messages=-1), ValueError),
    (lambda: c.queued(workers=0), ValueError),
    (lambda: analytic.drain_time(-1, 50, 10, 8), ValueError),
    (lambda: analytic.drain_time(10, 50, 10, 0), ValueError),
    (lambda: analytic.workers_to_drain(10, 0, 50, 10), ValueError),
    (lambda: analytic.outage_backlog("50", 10), TypeError),
])
def test_bad_input_is_refused_clearly(make, error):
    with pytest.raises(error, match=r"must be"):
        make()
