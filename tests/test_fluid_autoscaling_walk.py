"""The fluid autoscaling model walks its events with pointers (ready workers, rate steps, new events put in place);
here against the walk it replaced (list scans and a re-sorted event list), float for float, on random inputs; and
chapter 10's panel reads its fluid cost off the line it draws, and the fixed pool's cost at the floor off its first
run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.sections import autoscaling as sec
from chapter1.theory.autoscaling import ScalingRule, autoscaled_backlog


def reference(times, rates, service_rate, workers, rule, *, check_every_s, provision_s):
    """The walk as it was written first (the reference)."""
    times = np.asarray(times, dtype=float)
    end = float(times.max()) if times.size else 0.0
    steps = sorted((float(t), float(r)) for t, r in rates)
    events = {float(t) for t in times} | {t for t, _ in steps if t <= end}
    events |= {k * check_every_s for k in range(1, int(end / check_every_s) + 1)}
    pending, backlog, running, last, rate = [], 0.0, workers, 0.0, steps[0][1]
    out = {}
    queue = sorted(events)
    while queue:
        t = queue.pop(0)
        backlog = max(0.0, backlog + (rate - running * service_rate) * (t - last))
        last = t
        running += sum(1 for r in pending if r <= t)
        pending = [r for r in pending if r > t]
        rate = next((r for s, r in reversed(steps) if s <= t), rate)
        k = t / check_every_s
        if t > 0 and abs(k - round(k)) < 1e-9:
            change = rule.decide(t, backlog, running + len(pending))
            if change > 0:
                ready = t + provision_s
                pending += [ready] * change
                if ready <= end and ready not in queue and ready != t:
                    queue = sorted(set(queue) | {ready})
                elif ready == t:
                    running, pending = running + change, pending[:-change]
            elif change < 0:
                running = max(0, running + change)
        out[t] = (backlog, running + len(pending))
    values = [out[float(t)] for t in times]
    return np.array([v[0] for v in values]), np.array([v[1] for v in values])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(times=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 3.0, 7.0, 10.0, 12.25, 20.0, 33.0, 60.0]), max_size=8)
       | st.sampled_from([list(np.arange(0.0, 181.0, 1.0)), list(np.arange(0.0, 60.0, 0.5))]),
       steps=st.lists(st.tuples(st.sampled_from([1.0, 5.0, 10.0, 30.0, 45.5]), st.sampled_from([0.0, 1.5, 6.0, 13.0])),
                      max_size=3),
       base=st.sampled_from([0.5, 3.0, 8.0]), service_rate=st.sampled_from([0.5, 1.0, 2.0]),
       low=st.integers(1, 4), spread=st.integers(0, 12), target=st.sampled_from([1, 2, 5]),
       cooldown=st.sampled_from([0.0, 10.0, 60.0]), check_every_s=st.sampled_from([0.5, 1.0, 2.5, 10.0]),
       provision_s=st.sampled_from([0.0, 0.5, 2.5, 10.0, 20.0, 45.0]))
def test_the_fluid_walk_is_the_reference_walk(times, steps, base, service_rate, low, spread, target, cooldown,
                                              check_every_s, provision_s):
    rates = ((0.0, base), *steps)
    args = (times, rates, service_rate, low)
    got = autoscaled_backlog(*args, ScalingRule(low, low + spread, target, cooldown), check_every_s=check_every_s,
                             provision_s=provision_s)
    want = reference(*args, ScalingRule(low, low + spread, target, cooldown), check_every_s=check_every_s,
                     provision_s=provision_s)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


@pytest.mark.parametrize("peak", [4, 9, 16])
@pytest.mark.parametrize("provision_s", [0, 5, 20, 35, 60])
@pytest.mark.parametrize("max_workers", [4, 7, 16, 24])
def test_the_fluid_cost_read_each_second_is_the_cost_read_each_half_second(peak, provision_s, max_workers):
    # the fluid model's workers change only at a check (every 10 s): whole seconds see every value half seconds do
    halves = sec.fluid(peak, provision_s, max_workers, np.arange(0.0, sec.HORIZON_S, 0.5))["workers"].sum() * 0.5
    line = sec.fluid(peak, provision_s, max_workers, np.arange(0.0, sec.HORIZON_S + 0.5, 1.0))["workers"]
    assert sec.fluid_cost(peak, provision_s, max_workers) == float(halves)
    assert sec.fluid_cost(peak, provision_s, max_workers, line.to_numpy()) == float(halves)


@pytest.mark.parametrize("peak", [4, 11, 16])
@pytest.mark.parametrize("provision_s", [0, 35])
@pytest.mark.parametrize("seed", [0, 4])
def test_at_the_floor_the_autoscaled_run_is_the_fixed_pools_run(peak, provision_s, seed):
    # max_workers = MIN_WORKERS: the autoscaler never orders or removes one, so the panel reads the fixed pool's
    # cost off its first run
    scaled = sec.runs(peak, provision_s, sec.MIN_WORKERS, seed=seed, seeds=1)[0]
    fixed = sec.runs(peak, provision_s, sec.MIN_WORKERS, seed=seed, seeds=1, autoscale=False)[0]
    assert sec.cost(scaled) == sec.cost(fixed) == sec.fixed_cost(peak, sec.MIN_WORKERS, seed)
    assert scaled.latency_ms.tolist() == fixed.latency_ms.tolist()
    assert scaled.requests["queue_wait_ms"].equals(fixed.requests["queue_wait_ms"])
