"""A new message wakes one idle consumer, not all of them: the same Result as waking every idle consumer each time
(those woken in vain only went back to waiting), over random queues with crashes, outages, bursts, broker deaths,
autoscaling and constant times whose events tie exactly."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chapter1 as c
from chapter1.components.autoscaling import Autoscaler
from chapter1.components.queue import Consumers, MessageQueue, QueueRun


class EveryIdleConsumer(QueueRun):
    """The broker as it was: every notice wakes every idle consumer."""

    def _notify(self, messages):
        while self.idle:
            self.idle.popleft().succeed()


@st.composite
def queue_designs(draw):
    scale, workers = None, draw(st.integers(1, 6))
    if draw(st.booleans()):
        low = draw(st.integers(1, 3))
        high = low + draw(st.integers(0, 8))
        workers = draw(st.integers(low, high))
        scale = Autoscaler(min_workers=low, max_workers=high,
                           target_backlog_per_worker=draw(st.sampled_from([1, 2, 5])),
                           check_every_s=draw(st.sampled_from([0.5, 1.0, 2.0])),
                           provision_s=draw(st.sampled_from([0.0, 0.5, 1.0])),
                           cooldown_s=draw(st.sampled_from([0.0, 1.0, 5.0])))
    pool = Consumers(name="consumers", workers=workers, service_time_ms=draw(st.sampled_from([50.0, 250.0, 500.0])),
                     distribution=draw(st.sampled_from(["exponential", "constant"])),
                     ack_ms=draw(st.sampled_from([0.0, 5.0, 250.0])),
                     crash_probability=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5])), idempotent=draw(st.booleans()),
                     autoscale=scale)
    for start in draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 2.5]), max_size=2)):
        pool = pool.fail(start, start + draw(st.sampled_from([0.5, 1.0, 3.0, math.inf])))
    broker = MessageQueue(name="queue", consumers=pool, durable=draw(st.booleans()),
                          delivery=draw(st.sampled_from(["at-least-once", "at-most-once"])),
                          publish_ms=draw(st.sampled_from([0.0, 2.0])), persist_ms=draw(st.sampled_from([0.0, 3.0])),
                          burst_messages=draw(st.sampled_from([0, 0, 5, 40])),
                          burst_at_s=draw(st.sampled_from([1.0, 2.0, 3.0])))
    for start in draw(st.lists(st.sampled_from([1.0, 2.0, 0.75]), max_size=1)):
        broker = broker.fail(start, start + draw(st.sampled_from([0.5, 2.0, math.inf])))
    rate = draw(st.sampled_from([5.0, 20.0, 64.0]))
    workload = c.Workload.from_rate(rate, rate_steps=((draw(st.sampled_from([1.0, 2.0])),
                                                       draw(st.sampled_from([1.0, 3.0]))),))
    return c.Architecture("queued", (broker,), dns=None), workload


def results(arch, workload, requests, seed, runtime):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MessageQueue, "runtime", lambda spec, sim, index: runtime(spec, sim, index))
        result = c.simulate(arch, workload, requests=requests, seed=seed)
    queue = next(r for r in result.runtimes if isinstance(r, QueueRun))
    traces = [queue.backlog(), (sorted(queue.pool.starts), sorted(queue.pool.finishes))]
    if queue.pool.scaling is not None:
        traces.append(queue.pool.scaling.workers())
    return result, traces


@settings(max_examples=150, deadline=None, derandomize=True)
@given(design=queue_designs(), seed=st.integers(0, 2**20), requests=st.integers(1, 300))
def test_waking_one_consumer_a_message_gives_the_result_of_waking_all(design, seed, requests):
    arch, workload = design
    one, one_traces = results(arch, workload, requests, seed, QueueRun)
    every, every_traces = results(arch, workload, requests, seed, EveryIdleConsumer)
    pd.testing.assert_frame_equal(one.requests, every.requests)
    pd.testing.assert_frame_equal(one.components, every.components)
    pd.testing.assert_series_equal(one.summary(), every.summary())
    for mine, theirs in zip(one_traces, every_traces, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            assert list(a) == list(b)


@pytest.mark.parametrize("runtime", [QueueRun, EveryIdleConsumer])
def test_idle_consumers_take_a_burst_together_and_one_message_alone(runtime, monkeypatch):
    # 4 idle consumers, 1 s a message: a burst of 3 at 1 s is taken at once by three of them, a lone message at
    # 1.5 s by the fourth, one at 1.7 s waits for the first to be free at 2 s
    pool = Consumers(workers=4, service_time_ms=1_000.0, distribution="constant", ack_ms=0.0)
    arch = c.Architecture("q", (MessageQueue(consumers=pool, publish_ms=0.0, persist_ms=0.0, burst_messages=3,
                                             burst_at_s=1.0),), dns=None)
    workload = c.Workload.from_rate(10.0)
    with monkeypatch.context() as patch:
        patch.setattr(MessageQueue, "runtime", lambda spec, sim, index: runtime(spec, sim, index))
        patch.setattr(c.Workload, "arrival_times", lambda self, rng, n: pd.Series([1.5, 1.7]).to_numpy())
        result = c.simulate(arch, workload, requests=2, seed=0)
    queue = next(r for r in result.runtimes if isinstance(r, QueueRun))
    assert queue.taken == [1.5, 2.0, 1.0, 1.0, 1.0]
    assert queue.backlog()[1].tolist() == [0, 0, 0, 1, 0]


@pytest.mark.parametrize("runtime", [QueueRun, EveryIdleConsumer])
def test_a_message_during_an_outage_wakes_every_idle_consumer_to_wait_for_its_end(runtime, monkeypatch):
    # consumers down from 0.05 s to 2.9 s; messages at 0.1 s and 0.7 s.  Every idle consumer, woken by the first,
    # waits until 0.1 + (2.9 - 0.1) = 2.9 s, and two of them take both messages then; a consumer woken by the second
    # alone would wait until 0.7 + (2.9 - 0.7), one rounding step later
    pool = Consumers(workers=4, service_time_ms=1_000.0, distribution="constant", ack_ms=0.0).fail(0.05, 2.9)
    arch = c.Architecture("q", (MessageQueue(consumers=pool, publish_ms=0.0, persist_ms=0.0),), dns=None)
    with monkeypatch.context() as patch:
        patch.setattr(MessageQueue, "runtime", lambda spec, sim, index: runtime(spec, sim, index))
        patch.setattr(c.Workload, "arrival_times", lambda self, rng, n: pd.Series([0.1, 0.7]).to_numpy())
        result = c.simulate(arch, c.Workload.from_rate(10.0), requests=2, seed=0)
    queue = next(r for r in result.runtimes if isinstance(r, QueueRun))
    assert 0.7 + (2.9 - 0.7) != 2.9
    assert queue.taken == [2.9, 2.9]
