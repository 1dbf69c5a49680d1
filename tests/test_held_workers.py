"""A thread-per-request server (a web worker held until its database answers) runs without events, compiled: the
Result is the one simpy's events give, over random servers, queues, time-outs and loads."""

import dataclasses

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_balance_loop import in_calls, prepared, same
from test_engines import assert_same

import chapter1 as c
from chapter1.core import kernels


@pytest.fixture(scope="module")
def held_calls():
    """Every run long enough to take the compiled loop (here: any), and the calls to it counted."""
    assert kernels.compiled() is not None, "numba is a dependency of the course: the compiled loops must load"
    calls, real = [], kernels.held_batch
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "MIN_ROUTED", 0)
        patch.delenv(kernels.LONG_RUNS_ONLY, raising=False)  # (as a graded kernel's would set it)
        patch.setattr(kernels, "held_batch", lambda *args: calls.append(1) or real(*args))
        yield calls


@st.composite
def servers(draw, kind, name):
    return kind(
        name=name, workers=draw(st.integers(1, 8)), service_time_ms=draw(st.sampled_from([2.0, 10.0, 40.0])),
        distribution=draw(st.sampled_from(["exponential", "exponential", "constant"])),
        queue_limit=draw(st.one_of(st.none(), st.integers(0, 20))),
        timeout_ms=draw(st.one_of(st.none(), st.sampled_from([20.0, 100.0, 1_000.0]))))


@st.composite
def threaded(draw):
    database = draw(servers(c.Database, "database"))
    web = c.WebServer(**{**vars(draw(servers(c.WebServer, "web"))), "backend": database, "blocking": True})
    before = (c.WebServer(name="front", workers=draw(st.integers(1, 4)), service_time_ms=5.0),) \
        if draw(st.integers(0, 3)) == 0 else ()
    return c.Architecture("threaded", before + (web,), dns=draw(st.sampled_from([None, c.DNS()])))


DATABASE = c.Database(workers=3, service_time_ms=60.0, queue_limit=3, timeout_ms=300.0)


@settings(max_examples=300, deadline=None, derandomize=True)
@example(arch=c.Architecture("threaded", (c.WebServer(workers=6, service_time_ms=2.0, queue_limit=50, timeout_ms=50.0,
                                                      backend=DATABASE, blocking=True),)),
         rate=1_000.0, seed=815, requests=4_000)  # the database admits in order of arrival there: its mean wait too
@given(arch=threaded(), rate=st.sampled_from([10.0, 100.0, 400.0, 2_000.0]), seed=st.integers(0, 2**20),
       requests=st.integers(1, 2_000))
def test_held_workers_give_the_simpy_result(held_calls, arch, rate, seed, requests):
    web = arch["web"]
    both_constant = web.distribution == web.backend.distribution == "constant"
    held_calls.clear()
    if both_constant:  # their events can tie exactly: simpy orders them
        with pytest.raises(ValueError, match="needs events"):
            c.simulate(arch, c.Workload.from_rate(rate), requests=requests, seed=seed, engine="fast")
    else:
        assert_same(arch, c.Workload.from_rate(rate), requests, seed)
        assert held_calls


def test_a_held_worker_behind_a_balancer_keeps_the_events():
    web = c.WebServer(name="web-1", backend=c.Database(), blocking=True)
    arch = c.Architecture("pool", (c.LoadBalancer(servers=(web,)),), dns=None)
    with pytest.raises(ValueError, match="needs events"):
        c.simulate(arch, c.Workload.from_rate(50), requests=3_000, engine="fast")


@pytest.mark.parametrize("requests, compiled", [(999, False), (1_000, True)])
def test_runs_from_the_threshold_on_take_the_compiled_loop(monkeypatch, requests, compiled):
    calls, real = [], kernels.held_batch
    monkeypatch.setattr(kernels, "MIN_ROUTED", 1_000)
    monkeypatch.setattr(kernels, "held_batch", lambda *args: calls.append(1) or real(*args))
    arch = c.Architecture("threaded", (c.WebServer(backend=c.Database(), blocking=True),))
    c.simulate(arch, c.Workload.from_rate(50), requests=requests)
    assert bool(calls) == compiled


def held_in_pieces(arch, rate, n, seed, cuts):
    """Statuses and leave times of ``n`` requests admitted in calls split at ``cuts``, and what the web server and its
    database hold after them (records, counts, workers' free times, queues), the run's ends and failures."""
    sim = prepared(arch, rate, n, seed)
    web = sim.tiers[0]
    answers = in_calls(web.admit_batch, sim.arrival, cuts)
    held = [(s.records(), s.served, sorted(s.free), list(s.waiting)) for s in (web, web.parts[0])]
    return answers, held, sim.end, sim.failed_at


@settings(max_examples=150, deadline=None, derandomize=True)
@given(arch=threaded(), rate=st.sampled_from([10.0, 100.0, 400.0, 2_000.0]), seed=st.integers(0, 2**20),
       n=st.integers(2, 600), cuts=st.lists(st.integers(1, 599), min_size=1, max_size=3, unique=True))
def test_admitted_in_pieces_a_held_worker_carries_its_queue_and_its_database_over(arch, rate, seed, n, cuts):
    """With a constant service time at the web server, its requests reach the database in the order they arrived,
    so admitting the run in pieces must give what one call gives: each call starts from the queue, the workers
    and the database the last one left."""
    web = arch["web"]
    database = dataclasses.replace(web.backend, distribution="exponential")  # (two constant tiers can tie)
    arch = c.Architecture("threaded", (dataclasses.replace(web, distribution="constant", backend=database),))
    whole = held_in_pieces(arch, rate, n, seed, ())
    pieces = held_in_pieces(arch, rate, n, seed, tuple(sorted(cut for cut in cuts if cut < n)))
    assert same(pieces, whole)
