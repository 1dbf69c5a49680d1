"""The balancer's loop through changes steps plain servers and least connections itself: it gives exactly what the
loop that asks each server's ``admit`` and the policy's chooser gives (kept here as the reference).

tests/test_engines.py compares whole Results with simpy's; here the loop is compared with the reference on the
runtimes themselves (records, connections, ejections, turns), also with service times read one at a time, with
arrival times slightly out of order, and with a server kind that admits its own way.
"""

import math
from heapq import heappop, heappush

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_engines import outages, servers

import chapter1 as c
from chapter1.components import downtime
from chapter1.components.policies import POLICIES
from chapter1.core import kernels
from chapter1.core.component import ERROR, OK
from chapter1.core.simulation import Simulation


def reference_loop(run, requests, times):
    """The loop before it stepped servers itself: every member's ``admit``, every policy's chooser."""
    spec, parts, connections, routed = run.spec, run.parts, run.connections, run.routed
    choose, failed_at, interval = run.choose, run.sim.failed_at, run.interval
    ejects, own = spec.eject_after is not None, downtime.Downtime(spec.outages) if spec.outages else None
    inside, statuses, leaves = [], [], []
    for i, t in zip(requests.tolist(), times.tolist()):
        while inside and inside[0][0] <= t:
            back, k, status = heappop(inside)
            connections[k] -= 1
            if ejects:
                run._count_error(k, status, back)
        if own is not None and not own.up(t):
            statuses.append(ERROR)
            leaves.append(t)
            continue
        if math.floor(t / interval) != run.view_key:
            run._view(t)
        if not run.healthy:
            statuses.append(ERROR)
            leaves.append(t)
            continue
        k = routed[i] = choose(run, run.healthy, i)
        status, leave = parts[k].admit(i, t)
        if leave > t:
            connections[k] += 1
            heappush(inside, (leave, k, status))
        elif ejects:
            run._count_error(k, status, t)
        if status != OK:
            failed_at[i] = parts[k].index
        elif own is not None and own.next_death(t)[1] <= leave:
            failed_at[i], status = run.index, ERROR
        statuses.append(status)
        leaves.append(leave)
    return statuses, leaves


class Picky(c.Server):
    """A server kind whose runtime admits its own way (here: as a plain server does, through another method)."""

    def runtime(self, sim, index):
        run = super().runtime(sim, index)
        run.admit = lambda i, t, admit=run.admit: admit(i, t)
        return run


@st.composite
def pools(draw):
    members = [draw(servers(f"web-{k + 1}")) for k in range(draw(st.integers(1, 5)))]
    if draw(st.integers(0, 4)) == 0:  # now and then a kind the loop does not step itself
        members[0] = Picky(name="web-1", workers=2, outages=members[0].outages)
    joins = tuple(c.Join(draw(servers(f"web-{len(members) + k + 1}")), draw(st.floats(0.0, 6.0)))
                  for k in range(draw(st.integers(0, 1))))
    return c.LoadBalancer(servers=tuple(members), policy=draw(st.sampled_from(sorted(POLICIES))), joins=joins,
                          health_check_interval_s=draw(st.sampled_from([0.5, 2.0, 10.0])),
                          fall=draw(st.integers(1, 3)), eject_after=draw(st.sampled_from([None, 1, 3])),
                          outages=draw(outages()))


def state(sim, run, answer):
    # (each worker heap as a sorted list: a heap's layout may differ where its values do not)
    parts = [(p.records(), p.served, sorted(p.free), list(p.waiting)) for p in run.parts]
    return ([list(a) for a in answer], parts, run.routes().tolist(), run.connections, run.turn, run.errors_in_row,
            run.ejected, run.healthy, sim.failed_at.tolist(), sim.end.tolist())


def same(one, other):
    """Equal, NaN equal to NaN (records hold NaN starts), element by element."""
    if isinstance(one, np.ndarray):
        return np.array_equal(one, other, equal_nan=one.dtype.kind == "f")
    if isinstance(one, (list, tuple)):
        return len(one) == len(other) and all(same(a, b) for a, b in zip(one, other))
    if isinstance(one, float):
        return one == other or (math.isnan(one) and math.isnan(other))
    return one == other


@settings(max_examples=300, deadline=None, derandomize=True)
@example(pool=c.LoadBalancer(servers=(Picky(name="web-1", workers=2),), policy="ip_hash", health_check_interval_s=0.5),
         rate=5.0, n=23, seed=1, drawn=False, shuffled=True)  # requests left inside, counted without the heap
@given(pool=pools(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), n=st.integers(1, 400),
       seed=st.integers(0, 2**20), drawn=st.booleans(), shuffled=st.booleans())
def test_the_loop_gives_what_each_member_and_policy_give_one_request_at_a_time(pool, rate, n, seed, drawn, shuffled):
    arch = c.Architecture("pool", (pool,), dns=None)
    times = Simulation(arch, c.Workload.from_rate(rate), n, seed).arrival.copy()
    if shuffled:  # a few neighbours swapped: the view is then asked at every request
        times[1::7], times[::7][:len(times[1::7])] = times[::7][:len(times[1::7])].copy(), times[1::7].copy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(downtime, "DRAWN", downtime.DRAWN if drawn else 0)  # else service times read one at a time
        assert same(*states(arch, rate, n, seed, (reference_loop, downtime.balance_through_changes), times))


def prepared(arch, rate, n, seed):
    """A fresh run of ``n`` requests, every runtime prepared: as the engine has it before its first tier admits."""
    sim = Simulation(arch, c.Workload.from_rate(rate), n, seed)
    for runtime in sim.runtimes:
        runtime.prepare()
    return sim


def in_calls(admit, times, cuts=()):
    """``admit(requests, times)`` for requests 0, 1, ... at ``times``, in one call per piece between ``cuts``; the
    answers of the calls joined."""
    bounds = [0, *cuts, len(times)]
    answers = [admit(np.arange(low, high), times[low:high]) for low, high in zip(bounds, bounds[1:])]
    return [np.concatenate(part) for part in zip(*answers)]


def states(arch, rate, n, seed, loops, times=None):
    """What each loop leaves in a fresh run's balancer (its first tier), given every request at ``times`` (by
    default their arrivals)."""
    found = []
    for loop in loops:
        sim = prepared(arch, rate, n, seed)
        run = sim.tiers[0]
        found.append(state(sim, run, loop(run, np.arange(n), sim.arrival.copy() if times is None else times)))
    return found


@settings(max_examples=300, deadline=None, derandomize=True)
@example(pool=c.LoadBalancer(servers=tuple(c.WebServer(name=f"web-{k}", workers=2) for k in (1, 2)),
                             outages=(c.Outage(1.0, 1.5),)), rate=150.0, n=400, seed=0)  # answers lost inside it
@given(pool=pools(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), n=st.integers(1, 400),
       seed=st.integers(0, 2**20))
def test_every_path_of_a_balancer_gives_what_the_loop_one_request_at_a_time_gives(pool, rate, n, seed):
    """However ``admit_batch`` routes (the whole run at once, each health check's stretch at once, one request at a
    time), it leaves the runtimes as the reference loop does."""
    arch = c.Architecture("pool", (pool,), dns=None)
    batch = lambda run, requests, times: run.admit_batch(requests, times)  # noqa: E731
    assert same(*states(arch, rate, n, seed, (reference_loop, batch)))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(pool=pools(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), n=st.integers(1, 400),
       seed=st.integers(0, 2**20), block=st.sampled_from([7, 1 << 14]))
def test_the_compiled_loop_leaves_the_runtimes_as_the_reference_loop_does(pool, rate, n, seed, block):
    """Plain servers under the four policies it knows run compiled, however few the requests (here), in blocks."""
    assert kernels.compiled() is not None, "numba is a dependency of the course: the compiled loops must load"
    arch = c.Architecture("pool", (pool,), dns=None)
    compiled, balance = [], kernels.balance_through_changes

    def spy(run, requests, times):
        compiled.append(len(requests))
        return balance(run, requests, times, block=block)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "MIN_ROUTED", 0)
        patch.delenv(kernels.LONG_RUNS_ONLY, raising=False)  # (as a graded kernel's would set it)
        patch.setattr(kernels, "balance_through_changes", spy)
        assert same(*states(arch, rate, n, seed, (reference_loop, downtime.balance_through_changes)))
    plain = all(type(m) is c.Server for m in pool.members) and pool.policy in kernels.POLICY_CODES
    assert bool(compiled) == plain
