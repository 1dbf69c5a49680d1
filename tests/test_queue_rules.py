"""What a message queue and its consumers promise, on messages placed by hand (every time known in advance).

A broker alone (no DNS, no web tier) with constant work of 500 ms and a 250 ms acknowledgement: one consumer is
busy 0.75 s a message, and every moment below is exact in binary floating point.  The statistical checks use a
few hundred messages and bounds of four standard deviations of the count they test.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.autoscaling import Autoscaler
from chapter1.components.queue import Consumers, MessageQueue
from chapter1.core.simulation import Simulation

WORK, ACK = 0.5, 0.25  # seconds


def broker(workers=1, fails=(), broker_fails=(), distribution="constant", consumers_options=None, **options):
    """An architecture of one broker; ``fails`` / ``broker_fails``: (at_s, recover_s) outages of consumers / broker."""
    pool = Consumers(workers=workers, service_time_ms=WORK * 1_000, ack_ms=ACK * 1_000, distribution=distribution,
                     **(consumers_options or {}))
    for at, back in fails:
        pool = pool.fail(at, back)
    options = {"publish_ms": 0, "persist_ms": 0, **options}
    queue = MessageQueue(consumers=pool, **options)
    for at, back in broker_fails:
        queue = queue.fail(at, back)
    return c.Architecture("broker", (queue,), dns=None)


@dataclass(frozen=True)
class Placed(c.Workload):
    """A workload whose requests arrive at the given moments."""

    times: tuple = ()

    def arrival_times(self, rng, n):
        return np.array(self.times, dtype=float)


def run(arrivals, arch=None, seed=0, **options):
    """Publish one message at each of ``arrivals`` (seconds); return (Result, the broker's runtime)."""
    sim = Simulation(arch or broker(**options), Placed(users=1_000, times=tuple(arrivals)), len(arrivals), seed)
    result = sim.run("simpy")
    return result, sim.runtimes[0]


def column(result, name):
    return result.requests[name].to_numpy()


def test_one_consumer_takes_messages_in_the_order_they_were_stored():
    result, _ = run([0.0, 0.1, 0.2, 0.3, 0.4])
    taken = np.arange(5) * (WORK + ACK)          # each waits for the ones before it
    assert column(result, "queue_wait_ms") == pytest.approx((taken - [0.0, 0.1, 0.2, 0.3, 0.4]) * 1_000)
    assert column(result, "done_ms") == pytest.approx((taken + WORK - [0.0, 0.1, 0.2, 0.3, 0.4]) * 1_000)
    assert (column(result, "deliveries") == 1).all() and not column(result, "message_lost").any()


def test_the_producer_is_answered_once_the_message_is_stored_a_durable_broker_writes_to_disk_first():
    arrivals = [0.0, 1.0, 2.0]
    memory, _ = run(arrivals, durable=False, publish_ms=2, persist_ms=3)
    disk, _ = run(arrivals, durable=True, publish_ms=2, persist_ms=3)
    assert column(memory, "latency_ms") == pytest.approx([2.0] * 3)
    assert column(disk, "latency_ms") == pytest.approx([5.0] * 3)
    assert MessageQueue(publish_ms=2, persist_ms=3).store_s == pytest.approx(0.005)
    assert MessageQueue(publish_ms=2, persist_ms=3, durable=False).store_s == pytest.approx(0.002)
    assert column(disk, "done_ms") == pytest.approx([5.0 + WORK * 1_000] * 3)  # work starts once stored


def test_the_broker_never_turns_a_producer_away_however_long_the_backlog():
    """No capacity limit: 300 messages at once on one consumer are all stored, then worked one by one."""
    arrivals = np.arange(300) / 1_024  # 300 messages within 0.3 s
    result, queue = run(arrivals)
    s = result.summary()
    assert (result.requests["status"] == "ok").all() and s["error_rate"] == 0
    assert s["backlog_max"] == 299  # the consumer took the first at once
    assert column(result, "queue_wait_ms") == pytest.approx((np.arange(300) * (WORK + ACK) - arrivals) * 1_000)
    times, sizes = queue.backlog()
    assert times[-1] == pytest.approx(299 * (WORK + ACK)) and sizes[-1] == 0
    assert sizes.tolist() == [0, *range(1, 300), *range(298, -1, -1)]  # one more at each store, one fewer a take


def test_backlog_over_time_steps_at_every_store_and_take_of_hand_placed_messages():
    # two consumers; four messages at 0, one at 0.5, one at 3.0
    result, queue = run([0.0, 0.0, 0.0, 0.0, 0.5, 3.0], workers=2)
    times, sizes = queue.backlog()
    assert times.tolist() == [0.0, 0.5, 0.75, 1.5, 3.0]
    assert sizes.tolist() == [2, 3, 1, 0, 0]  # two taken at once at 0; two taken at 0.75, the last at 1.5
    s = result.summary()
    waits = [0, 0, 750, 750, 1_000, 0]
    assert column(result, "queue_wait_ms") == pytest.approx(waits)
    assert s["backlog_max"] == 3 and s["queue_wait_mean_ms"] == pytest.approx(np.mean(waits))
    done = np.array([500, 500, 1_250, 1_250, 1_500, 500])
    assert s["done_p50_ms"] == pytest.approx(np.percentile(done, 50))
    assert s["done_p95_ms"] == pytest.approx(np.percentile(done, 95))
    # busy 0.75 s a message, five of them before the last arrival at 3 s, over 2 workers x 3 s
    assert s["consumers_utilization"] == pytest.approx(5 * 0.75 / (2 * 3.0))
    rows = result.components.set_index("component")
    assert rows.loc["consumers", "served"] == 6 and rows.loc["consumers", "workers"] == 2
    assert rows.loc["queue", "served"] == 6 and rows.loc["queue", "mean_wait_ms"] == pytest.approx(np.mean(waits))


def test_a_message_held_by_a_consumer_that_dies_before_acknowledging_comes_again_first_in_line():
    """At-least-once: down from 0.6 s (after the work, in the acknowledgement) to 2 s.  The message goes back to
    the front: it is delivered again at 2 s before the two that waited; its work is done twice (a duplicate)."""
    result, queue = run([0.0, 0.1, 0.2], fails=[(0.625, 2.0)])
    assert column(result, "deliveries").tolist() == [2, 1, 1]
    assert column(result, "done_ms")[0] == pytest.approx(WORK * 1_000)  # done the first time
    assert column(result, "queue_wait_ms") == pytest.approx([0.0, (2.75 - 0.1) * 1_000, (3.5 - 0.2) * 1_000])
    s = result.summary()
    assert (s["duplicates"], s["redeliveries"], s["messages_lost"]) == (1, 1, 0)
    assert queue.pool.served == 4  # four deliveries, the one cut short included


def test_an_idempotent_consumer_recognises_the_redelivered_message_and_skips_the_work():
    result, _ = run([0.0, 0.1, 0.2], fails=[(0.625, 2.0)], consumers_options={"idempotent": True})
    s = result.summary()
    assert (s["duplicates"], s["redeliveries"]) == (0, 1)
    # the second delivery takes only the acknowledgement: the next message is taken at 2.25 s
    assert column(result, "queue_wait_ms")[1] == pytest.approx((2.25 - 0.1) * 1_000)


def test_a_consumer_dying_during_the_work_gives_the_message_back_without_a_duplicate():
    result, _ = run([0.0, 0.1], fails=[(0.25, 1.0)])
    s = result.summary()
    assert (s["duplicates"], s["redeliveries"], s["messages_lost"]) == (0, 1, 0)
    assert column(result, "done_ms")[0] == pytest.approx((1.0 + WORK) * 1_000)  # done on the second delivery
    assert column(result, "queue_wait_ms")[0] == 0  # waited only before its first delivery


def test_at_most_once_acknowledges_first_a_death_in_the_work_loses_the_message():
    result, _ = run([0.0, 0.1], fails=[(0.5, 1.0)], delivery="at-most-once")
    assert column(result, "message_lost").tolist() == [True, False]
    assert math.isnan(column(result, "done_ms")[0])
    assert column(result, "done_ms")[1] == pytest.approx((1.0 + ACK + WORK - 0.1) * 1_000)
    s = result.summary()
    assert (s["messages_lost"], s["duplicates"], s["redeliveries"]) == (1, 0, 0)


def test_at_most_once_a_death_before_the_acknowledgement_keeps_the_message():
    result, _ = run([0.0, 4.0], fails=[(0.125, 1.0)], delivery="at-most-once")
    assert column(result, "deliveries").tolist() == [2, 1] and not column(result, "message_lost")[0]
    assert column(result, "done_ms")[0] == pytest.approx((1.0 + ACK + WORK) * 1_000)


@pytest.mark.parametrize("at, redelivered", [(0.75, 0), (0.0, 0), (0.7421875, 1)])
def test_an_outage_from_the_moment_a_delivery_ends_or_before_it_starts_cuts_nothing_short(at, redelivered):
    result, _ = run([0.0, 4.0], fails=[(at, 1.0)])
    assert result.summary()["redeliveries"] == redelivered
    assert column(result, "done_ms")[0] == pytest.approx((WORK + (1.0 if at == 0.0 else 0.0)) * 1_000)


def test_outages_one_after_another_keep_the_consumers_away_until_the_last_ends():
    result, _ = run([0.125, 0.125], fails=[(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)], workers=2)
    assert column(result, "queue_wait_ms") == pytest.approx([(3.0 - 0.125) * 1_000] * 2)


def test_consumers_down_for_good_leave_every_message_waiting():
    result, queue = run([0.0, 0.5, 1.0], fails=[(0.0, math.inf)])
    s = result.summary()
    assert s["backlog_max"] == 3 and (result.requests["status"] == "ok").all()
    assert math.isnan(s["done_p50_ms"]) and math.isnan(s["done_p95_ms"]) and math.isnan(s["queue_wait_mean_ms"])
    assert result.components.set_index("component").loc["queue", "mean_wait_ms"] == 0
    assert queue.finished(10.0)


def test_a_broker_that_is_down_refuses_publishing_and_its_consumers_take_nothing_meanwhile():
    result, _ = run([0.0, 0.0625, 0.25, 1.5], broker_fails=[(0.125, 1.25)])
    assert result.requests["status"].tolist() == ["ok", "ok", "error", "ok"]
    assert result.requests["failed_at"].tolist()[2] == "queue"
    # the consumer would take message 1 at 0.75 s; the broker is down then, so it is taken at 1.25 s
    assert column(result, "queue_wait_ms")[1] == pytest.approx((1.25 - 0.0625) * 1_000)


def test_a_message_being_stored_when_the_broker_dies_is_refused():
    result, _ = run([0.0, 1.0], broker_fails=[(1.0009765625, 2.0)], publish_ms=2)
    assert result.requests["status"].tolist() == ["ok", "error"]


def test_an_in_memory_broker_that_restarts_has_lost_what_waited_and_a_durable_one_has_not():
    arrivals = [0.0, 0.0625, 0.125, 2.0]
    for durable in (False, True):
        result, _ = run(arrivals, broker_fails=[(0.25, 1.0)], durable=durable)
        lost = column(result, "message_lost")
        assert lost.tolist() == ([False, True, True, False] if not durable else [False] * 4), durable
        assert result.summary()["messages_lost"] == lost.sum()
        if durable:  # the waiting ones are taken when the broker is back, the first at 1.0 s
            assert column(result, "queue_wait_ms")[1] == pytest.approx((1.0 - 0.0625) * 1_000)


def test_a_burst_is_published_at_once_and_worked_off_like_any_message():
    result, queue = run([0.0, 10.0], workers=2, burst_messages=6, burst_at_s=1.0)
    times, sizes = queue.backlog()
    assert times.tolist() == [0.0, 1.0, 1.75, 2.5, 10.0]
    assert sizes.tolist() == [0, 4, 2, 0, 0]
    assert len(result.requests) == 2  # burst messages are not requests of the workload
    assert result.summary()["backlog_max"] == 4
    assert result.summary()["queue_wait_mean_ms"] == pytest.approx((0 + 0 + 0 + 0 + 750 * 2 + 1_500 * 2) / 8)


def test_crashes_repeat_deliveries_geometrically_and_duplicate_the_work_a_third_of_the_time():
    """Each delivery dies with chance 1/2 at a moment uniform over its 0.75 s: a message is delivered 2 times on
    average (1 redelivery, variance 2), and a death falls in the 0.25 s acknowledgement a third of the time (a
    duplicate).  At-most-once: of the deliveries that end, the third that died in the acknowledgement come again,
    the two thirds that died in the work are lost: 0.4 of the messages."""
    n, seeds = 300, range(3)
    options = {"consumers_options": {"crash_probability": 0.5}, "workers": 4}
    spread = 4 * math.sqrt(n * 2)  # four standard deviations of the redeliveries of 300 messages
    for seed in seeds:
        s = run(np.arange(n) * 0.5, seed=seed, **options)[0].summary()
        assert abs(s["redeliveries"] - n) < spread, s["redeliveries"]
        assert abs(s["duplicates"] - n / 3) < 4 * math.sqrt(n * 2 / 9 + n / 3 * 2 / 3), s["duplicates"]
        assert s["messages_lost"] == 0
        lost = run(np.arange(n) * 0.5, seed=seed, delivery="at-most-once", **options)[0].summary()["messages_lost"]
        assert abs(lost - 0.4 * n) < 4 * math.sqrt(n * 0.4 * 0.6), lost
    first, again = (run(np.arange(50) * 0.5, seed=1, **options)[0].requests for _ in range(2))
    assert first.equals(again)


def test_exponential_work_is_drawn_once_per_message_and_again_for_a_redelivery():
    result, queue = run([0.0, 0.0], distribution="exponential", fails=[(0.0001, 1.0)], workers=2)
    first = np.asarray(queue.work_s[:2])
    assert np.all(first > 0) and first[0] != first[1]
    assert column(result, "deliveries").tolist() == [2, 2]
    done = column(result, "done_ms") / 1_000
    assert np.all(done > 1.0) and not np.allclose(done - 1.0, first)  # redeliveries draw their work anew


def test_an_autoscaled_pool_reports_its_workers_and_stops_when_the_last_message_is_done():
    scale = Autoscaler(min_workers=1, max_workers=4, target_backlog_per_worker=2, check_every_s=1, provision_s=1,
                       cooldown_s=2)
    result, queue = run(np.arange(40) / 4, consumers_options={"autoscale": scale})
    s = result.summary()
    assert s["workers_max"] == 4 and 1 <= s["workers_end"] <= 4
    assert (column(result, "deliveries") == 1).all()
    assert queue.finished(0.0)
    starts, ends, workers = queue.pool.busy()
    assert len(starts) == 40 and 1 < workers <= 4


def test_consumers_capacity_station_and_what_the_diagram_says():
    pool = Consumers(workers=4, service_time_ms=195, ack_ms=5)
    assert pool.busy_ms() == 200 and pool.capacity == 20 and pool.station() == (5.0, 4)
    assert Consumers(distribution="constant").station() is None
    scaled = Consumers(workers=2, autoscale=Autoscaler(min_workers=2, max_workers=6, provision_s=45))
    assert scaled.station() is None
    assert pool.describe() == ["consumers", "4 workers x 200 ms", "up to 20 msg/s"]
    assert Consumers(idempotent=True).describe()[2] == "up to 80 msg/s · idempotent"
    assert scaled.describe()[1:] == ["2-6 workers x 100 ms", "up to 20 msg/s", "autoscaled, start 45 s"]
    assert MessageQueue().describe() == ["broker, durable (on disk)", "at-least-once · publish 5 ms"]
    assert MessageQueue(durable=False, delivery="at-most-once").describe() == [
        "broker, in memory", "at-most-once · publish 2 ms"]
    assert MessageQueue().label() == "message queue, durable"
    assert MessageQueue(durable=False).label() == "message queue, in memory"
    assert MessageQueue().parts == (MessageQueue().consumers,)


@pytest.mark.parametrize("make, error, words", [
    (lambda: Consumers(ack_ms=-1), ValueError, r"ack_ms must be a number in the range \[0, 3,600,000\]"),
    (lambda: Consumers(ack_ms=3_600_001), ValueError, "ack_ms must be"),
    (lambda: Consumers(crash_probability=-0.1), ValueError, r"crash_probability must be a number in the range \[0, 1"),
    (lambda: Consumers(crash_probability=1.01), ValueError, "crash_probability must be"),
    (lambda: Consumers(idempotent=1), TypeError, "idempotent must be True or False; got 1"),
    (lambda: Consumers(autoscale=5), TypeError, "autoscale must be"),
    (lambda: Consumers(workers=1, autoscale=Autoscaler(min_workers=2)), ValueError, "workers must be between"),
    (lambda: Consumers(service_time_ms=0), ValueError, "service_time_ms must be"),
    (lambda: MessageQueue(consumers=c.Server()), TypeError, "consumers must be"),
    (lambda: MessageQueue(durable="yes"), TypeError, "durable must be True or False; got 'yes'"),
    (lambda: MessageQueue(delivery="exactly-once"), ValueError, "delivery must be one of"),
    (lambda: MessageQueue(publish_ms=-1), ValueError, r"publish_ms must be a number in the range \[0, 60,000\]"),
    (lambda: MessageQueue(publish_ms=60_001), ValueError, "publish_ms must be"),
    (lambda: MessageQueue(persist_ms=-1), ValueError, r"persist_ms must be a number in the range \[0, 60,000\]"),
    (lambda: MessageQueue(persist_ms=60_001), ValueError, "persist_ms must be"),
    (lambda: MessageQueue(burst_messages=1.5), TypeError, r"burst_messages must be a whole number in the range \[0, "),
    (lambda: MessageQueue(burst_messages=1_000_001), ValueError, "burst_messages must be"),
    (lambda: MessageQueue(burst_at_s=-1), ValueError, r"burst_at_s must be a number in the range \[0, 10,000,000\]"),
    (lambda: MessageQueue(burst_at_s=10**7 + 1), ValueError, "burst_at_s must be"),
])
def test_bad_settings_are_refused_naming_the_setting_and_its_range(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_settings_at_the_edges_of_their_range_are_accepted():
    Consumers(ack_ms=0, crash_probability=0)
    Consumers(ack_ms=3_600_000, crash_probability=1)
    Consumers(workers=2, autoscale=Autoscaler(min_workers=2, max_workers=2))
    MessageQueue(publish_ms=0, persist_ms=0, burst_messages=0, burst_at_s=0)
    MessageQueue(publish_ms=60_000, persist_ms=60_000, burst_messages=1_000_000, burst_at_s=10**7)


def test_a_consumer_that_dies_the_moment_its_work_ends_has_done_it_the_message_comes_again():
    result, _ = run([0.0, 4.0], fails=[(WORK, 1.0)])
    s = result.summary()
    assert (s["duplicates"], s["redeliveries"]) == (1, 1)
    assert column(result, "done_ms")[0] == WORK * 1_000


def test_an_outage_cuts_short_the_delivery_in_progress_whenever_it_started():
    # message 1 is taken at 0.75 s (after message 0); the consumers die at 1.0 s, 0.25 s into its work
    result, _ = run([0.0, 0.5, 6.0], fails=[(1.0, 2.0)])
    assert column(result, "deliveries").tolist() == [1, 2, 1]
    assert column(result, "done_ms")[1] == pytest.approx((2.0 + WORK - 0.5) * 1_000)


def test_a_consumer_that_dies_while_acknowledging_gives_the_message_back_at_that_moment():
    """Down from 0.625 s to 0.875 s: the message is back in the queue at 0.625 s and delivered again at 0.875 s,
    so message 1 is taken when that second delivery ends, at 1.625 s."""
    result, _ = run([0.0, 0.125, 6.0], fails=[(0.625, 0.875)])
    assert column(result, "queue_wait_ms")[1] == pytest.approx((1.625 - 0.125) * 1_000)


def test_deliveries_cut_short_count_as_busy_time():
    # busy 0-0.25 s (cut short) and 1.0-1.75 s (again) within the 4 s window of one consumer
    result, _ = run([0.0, 4.0], fails=[(0.25, 1.0)])
    assert result.summary()["consumers_utilization"] == pytest.approx(1.0 / 4.0)
    # died in the acknowledgement at 0.625 s: busy 0-0.625 s, then 1.0-1.75 s
    result, _ = run([0.0, 4.0], fails=[(0.625, 1.0)])
    assert result.summary()["consumers_utilization"] == pytest.approx((0.625 + 0.75) / 4.0)


def test_a_queue_whose_consumers_keep_up_never_holds_a_message():
    result, queue = run([1.0, 2.0, 3.0])
    assert result.summary()["backlog_max"] == 0 and queue.backlog()[1].tolist() == [0, 0, 0, 0]


def test_an_autoscaler_waits_for_a_burst_published_after_the_last_request():
    scale = Autoscaler(min_workers=1, max_workers=4, target_backlog_per_worker=2, check_every_s=1, provision_s=1,
                       cooldown_s=2)
    result, _ = run([0.0, 0.5], consumers_options={"autoscale": scale}, burst_messages=40, burst_at_s=4.0)
    assert result.summary()["workers_max"] == 4


def test_a_redelivery_does_not_shift_the_work_drawn_for_other_messages():
    arrivals = [0.0, 10.0, 20.0]
    calm, _ = run(arrivals, distribution="exponential")
    hit, queue = run(arrivals, distribution="exponential", fails=[(0.0001, 1.0)])
    assert column(hit, "done_ms")[1:] == pytest.approx(column(calm, "done_ms")[1:])
    assert column(hit, "done_ms")[1] == pytest.approx(queue.work_s[1] * 1_000)
    again = column(hit, "done_ms")[0] / 1_000 - 1.0  # the second delivery's work, drawn anew
    assert again > 0 and again != WORK and again != queue.work_s[0]


def test_outages_given_in_any_order_join_up():
    result, _ = run([0.125, 0.125], fails=[(2.0, 3.0), (1.0, 2.0), (0.0, 1.0)], workers=2)
    assert column(result, "queue_wait_ms") == pytest.approx([(3.0 - 0.125) * 1_000] * 2)


def test_an_autoscaler_keeps_watching_through_an_idle_spell_before_the_last_message():
    scale = Autoscaler(min_workers=1, max_workers=4, target_backlog_per_worker=2, check_every_s=1, provision_s=1,
                       cooldown_s=2)
    arrivals = [0.0, *(5.0 + np.arange(40) / 1_024), 9.0]  # one message, four idle seconds, 40 at once, one more
    result, queue = run(arrivals, consumers_options={"autoscale": scale})
    assert result.summary()["workers_max"] == 4
    assert queue.pool.scaling.mean_running(9.0) > queue.pool.scaling.mean_running(5.04) + 0.5
    # an autoscaled pool's utilisation is over its mean running workers in the window
    assert queue.pool.busy()[2] == pytest.approx(queue.pool.scaling.mean_running(arrivals[-1]))


def test_a_pool_down_for_good_reports_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result, _ = run([0.0, 0.5, 1.0], fails=[(0.0, math.inf)])
        result.summary()
        table = result.components
    assert list(table.columns) == ["component", "kind", "workers", "utilization", "served", "mean_wait_ms",
                                   "error", "timeout", "rejected"]
    assert table["workers"].isna().tolist() == [True, False] and table["mean_wait_ms"].isna().tolist() == [False, True]


def test_the_example_is_fifty_messages_a_second_on_a_pool_of_eighty():
    from chapter1.core.component import KINDS

    example = KINDS["MessageQueue"].example()
    assert example.name == "queued work" and example["consumers"].capacity == 80
