"""A message queue without events: a broker and its consumers (fixed, with a burst, or autoscaled) give the simpy
engine's Result bit for bit, with the same backlog, the same workers over time and the same last moment."""

import math
from unittest import mock

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import assert_same as engines_agree

import chapter1 as c
from chapter1.components.autoscaling import Autoscaler
from chapter1.components.queue import Consumers, MessageQueue, QueueRun
from chapter1.components.queue_walk import QueueWalk


@st.composite
def queue_designs(draw):
    scale, workers = None, draw(st.integers(1, 6))
    autoscaled = draw(st.booleans())
    if autoscaled:
        low = draw(st.integers(1, 3))
        high = low + draw(st.integers(0, 8))
        workers = draw(st.integers(low, high))
        check_every_s = draw(st.sampled_from([0.5, 1.0, 2.0]))
        scale = Autoscaler(min_workers=low, max_workers=high,
                           target_backlog_per_worker=draw(st.sampled_from([1, 2, 5])), check_every_s=check_every_s,
                           # start-ups that fall on a later check, between two, or at once
                           provision_s=draw(st.sampled_from([0.0, 0.25, check_every_s, 2 * check_every_s, 1.5])),
                           cooldown_s=draw(st.sampled_from([0.0, 1.0, 5.0])))
    pool = Consumers(name="consumers", workers=workers, service_time_ms=draw(st.sampled_from([50.0, 250.0, 500.0])),
                     distribution="exponential" if autoscaled else draw(st.sampled_from(["exponential", "constant"])),
                     ack_ms=draw(st.sampled_from([0.0, 5.0, 250.0])), idempotent=draw(st.booleans()), autoscale=scale)
    if not autoscaled:  # consumers that die (and come back, or not), with messages in hand
        # (the ends 2.9 and 4.7: a consumer that waits from t comes back at t + (end - t), at times one rounding step
        # after the end, so which consumer waited since when shows)
        for start, end in draw(st.lists(st.sampled_from([(0.0, 0.5), (1.0, 2.0), (2.0, math.inf), (0.05, 2.9),
                                                         (0.7, 2.9), (2.5, 4.7), (1.0, 3.2)]), max_size=2)):
            pool = pool.fail(start, end)
    broker = MessageQueue(name="queue", consumers=pool, durable=draw(st.booleans()),
                          delivery=draw(st.sampled_from(["at-least-once", "at-most-once"])),
                          publish_ms=draw(st.sampled_from([0.0, 2.0])), persist_ms=draw(st.sampled_from([0.0, 3.0])),
                          burst_messages=0 if autoscaled else draw(st.sampled_from([0, 5, 40])),
                          burst_at_s=draw(st.sampled_from([1.0, 2.0, 3.0])))
    tiers = (broker,)
    if draw(st.booleans()):  # a producer tier in front
        tiers = (c.WebServer(name="web", workers=2, service_time_ms=draw(st.sampled_from([5.0, 20.0])),
                             queue_limit=None, timeout_ms=None), broker)
    rate = draw(st.sampled_from([5.0, 20.0, 64.0]))
    workload = c.Workload.from_rate(rate, rate_steps=((draw(st.sampled_from([1.0, 2.0])),
                                                       draw(st.sampled_from([1.0, 3.0]))),))
    return c.Architecture("queued", tiers, dns=None), workload


def traces(result):
    queue = next(r for r in result.runtimes if isinstance(r, QueueRun))
    found = [queue.backlog(), (queue.pool.starts, queue.pool.finishes)]
    if queue.pool.scaling is not None:
        found.append(queue.pool.scaling.workers())
    return found


def assert_same(arch, workload, requests, seed):
    """The engines' Results agree (tests/test_engines.py), and so do the queue's traces."""
    engines_agree(arch, workload, requests, seed)
    slow = c.simulate(arch, workload, requests=requests, seed=seed, engine="simpy")
    fast = c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
    for mine, theirs in zip(traces(fast), traces(slow), strict=True):
        for a, b in zip(mine, theirs, strict=True):
            assert list(a) == list(b)
    return fast


@settings(max_examples=400, deadline=None, derandomize=True)
@given(design=queue_designs(), seed=st.integers(0, 2**20), requests=st.integers(1, 300))
def test_a_queue_without_events_gives_the_simpy_result(design, seed, requests):
    arch, workload = design
    assert_same(arch, workload, requests, seed)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(design=queue_designs(), seed=st.integers(0, 2**20), requests=st.integers(1, 300))
def test_the_walks_inline_moments_are_its_methods_moments(design, seed, requests):
    # the walk works the common moments out inline; with that off, every moment goes through its methods
    arch, workload = design
    fast = c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
    with mock.patch.object(QueueWalk, "inline", False):
        reference = c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
    pd.testing.assert_frame_equal(fast.requests, reference.requests)
    pd.testing.assert_series_equal(fast.summary(), reference.summary())
    for mine, theirs in zip(traces(fast), traces(reference), strict=True):
        for a, b in zip(mine, theirs, strict=True):
            assert list(a) == list(b)
    queues = [next(r for r in result.runtimes if isinstance(r, QueueRun)) for result in (fast, reference)]
    assert queues[0].end_s == queues[1].end_s and queues[0].pool.served == queues[1].pool.served


def test_the_walk_takes_a_delivery_the_consumers_death_cuts_short_to_its_methods():
    # a delivery taken before the consumers die, that would end after: the inline walk hands it over
    arch = c.Architecture("queued", (MessageQueue(consumers=Consumers(workers=2, service_time_ms=400).fail(1.0, 2.0),
                                                  publish_ms=0, persist_ms=0),), dns=None)
    calls = []
    timed = QueueWalk.timed
    with mock.patch.object(QueueWalk, "timed", lambda walk, *args: calls.append(args) or timed(walk, *args)):
        result = c.simulate(arch, c.Workload.from_rate(10), requests=60, seed=3, engine="fast")
    before = [(now, work) for _, now, work in calls if now < 1.0]  # (later ones: taken when the consumers are back)
    assert before and all(now + work + 0.005 > 1.0 for now, work in before)  # only those the death at 1 s cuts
    assert result.summary()["redeliveries"] > 0


@pytest.mark.parametrize("peak, provision_s, max_workers", [(12, 20, 16), (16, 0, 24), (4, 60, 4), (10, 10, 24)])
def test_the_chapters_autoscaled_photo_queue_runs_without_events(peak, provision_s, max_workers):
    from chapter1.sections import autoscaling as sec

    arch = sec.photo_queue(sec.MIN_WORKERS, autoscale=sec.policy(provision_s, max_workers))
    result = assert_same(arch, sec.workload(peak), sec.uploads(peak), 1)
    assert result.summary()["workers_max"] <= max_workers


@pytest.mark.parametrize("rate, workers, burst, outage_s", [(5, 8, 0, 20), (10, 8, 300, 60), (2, 1, 150, 5)])
def test_the_chapters_photo_queue_with_its_workers_down_runs_without_events(rate, workers, burst, outage_s):
    from chapter1.sections import messaging as sec

    arch = sec.photo_queue(workers, burst=burst, outage_s=outage_s)
    result = assert_same(arch, c.Workload.from_rate(rate), rate * 120, 2)
    assert result.summary()["redeliveries"] > 0 or rate * outage_s < workers


@pytest.mark.parametrize("design", [
    lambda: c.queued(crash_probability=0.1),
    lambda: c.queued(workers=2, autoscale=Autoscaler(min_workers=2, max_workers=4)).fail("consumers", 5, 10),
    lambda: c.queued().fail("queue", 5, 10),
    lambda: c.queued(workers=2, burst_messages=10, autoscale=Autoscaler(min_workers=2, max_workers=4)),
])
def test_crashes_deaths_and_an_autoscaled_burst_keep_to_the_event_loop(design):
    with pytest.raises(ValueError, match="'queue' needs events"):
        c.simulate(design(), c.Workload.from_rate(20), requests=100, engine="fast")


def test_constant_work_behind_a_constant_web_tier_keeps_to_the_event_loop():
    arch = c.queued(distribution="constant").with_changes("consumers", distribution="constant")  # web and consumers
    with pytest.raises(ValueError, match="constant service times, so events can tie"):
        c.simulate(arch, c.Workload.from_rate(20), requests=100, engine="fast")


def test_the_last_moment_is_the_event_loops():
    # an autoscaler that ordered workers at the end: the run ends when the last of them has started
    arch = c.queued(workers=1, autoscale=Autoscaler(min_workers=1, max_workers=8, provision_s=30, check_every_s=1,
                                                    target_backlog_per_worker=1))
    fast = assert_same(arch, c.Workload.from_rate(40), 200, 4)
    queue = next(r for r in fast.runtimes if isinstance(r, QueueRun))
    assert queue.end_s > fast.duration_s and math.isfinite(queue.end_s)
