"""The compiled loops load from scratch where numba is installed (it is a dependency of the course), and the loops
they give answer as the Python loops do; where numba fails, :func:`kernels.compiled` says so once and for all."""

import numpy as np

from chapter1.core import kernels


def test_the_compiled_loops_load_from_scratch_and_answer(monkeypatch):
    monkeypatch.setattr(kernels, "_compiled", None)  # as in a fresh kernel: nothing compiled or loaded yet
    loops = kernels.compiled()
    assert loops is not None and kernels.compiled() is loops, "numba is a dependency: the compiled loops must load"
    assert {"fcfs", "dns", "route", "number", "balance", "held"} <= set(vars(loops))
    starts, free, waiting = kernels.fcfs_starts(np.array([0.0, 0.1, 0.2]), np.array([1.0, 1.0, 1.0]), [0.0, 0.0], [],
                                                timeout=np.inf, queue_limit=np.inf)
    assert starts.tolist() == [0.0, 0.1, 1.0] and sorted(free) == [1.1, 2.0] and waiting == []
    assert kernels.use_compiled(kernels.MIN_REQUESTS) and kernels.use_compiled(kernels.MIN_ROUTED)
    assert not kernels.use_compiled(kernels.MIN_ROUTED - 1)
    assert kernels.use_compiled_routes(kernels.MIN_ROUTED) and not kernels.use_compiled_routes(kernels.MIN_ROUTED - 1)


def test_a_short_run_loads_nothing_but_takes_the_loops_once_loaded(monkeypatch):
    loops = kernels.compiled()
    monkeypatch.setattr(kernels, "_compiled", None)  # a fresh kernel
    monkeypatch.setattr(kernels, "_compile", lambda: loops)
    assert not kernels.use_compiled(kernels.MIN_REQUESTS - 1) and kernels._compiled is None, "loaded for a short run"
    assert kernels.use_compiled(kernels.MIN_REQUESTS) and kernels._compiled is loops
    assert kernels.use_compiled(kernels.MIN_ROUTED) and not kernels.use_compiled(kernels.MIN_ROUTED - 1)


def test_where_numba_cannot_compile_the_python_loops_serve(monkeypatch):
    attempts = []

    def broken():
        attempts.append(1)
        raise RuntimeError("no compiler for this machine")
    monkeypatch.setattr(kernels, "_compiled", None)
    monkeypatch.setattr(kernels, "_compile", broken)
    assert kernels.compiled() is None and kernels.compiled() is None and not kernels.use_compiled(10**9)
    assert not kernels.use_compiled_routes(10**9)
    assert attempts == [1]  # tried once: a failed compile is not paid again at every run


def test_without_the_compiled_loops_held_workers_run_with_events_and_balancers_in_python(monkeypatch):
    import chapter1 as c

    monkeypatch.setattr(kernels, "_compiled", False)
    threaded = c.Architecture("threaded", (c.WebServer(backend=c.Database(), blocking=True),))
    failing = c.load_balanced(3, "least_connections").fail("web-2", at_s=1.0)
    workload = c.Workload.from_rate(100)
    assert c.simulate(threaded, workload, requests=3_000, seed=1).requests.equals(
        c.simulate(threaded, workload, requests=3_000, seed=1, engine="simpy").requests)
    assert c.simulate(failing, workload, requests=3_000, seed=1, engine="fast").requests.equals(
        c.simulate(failing, workload, requests=3_000, seed=1, engine="simpy").requests)



def test_a_kernel_whose_numba_cache_is_new_each_time_routes_short_runs_in_python(monkeypatch):
    monkeypatch.setenv(kernels.LONG_RUNS_ONLY, "long")  # as the grader sets it for a submission's kernel
    assert not kernels.use_compiled_routes(kernels.MIN_ROUTED)
    assert not kernels.use_compiled_routes(kernels.MIN_REQUESTS - 1)
    assert kernels.use_compiled_routes(kernels.MIN_REQUESTS)
    monkeypatch.delenv(kernels.LONG_RUNS_ONLY)
    assert kernels.use_compiled_routes(kernels.MIN_ROUTED)


def test_once_loaded_a_run_of_a_few_thousand_requests_takes_them_and_gives_the_simpy_result(monkeypatch):
    import chapter1 as c

    assert kernels.compiled() is not None, "numba is a dependency: the compiled loops must load"
    monkeypatch.delenv(kernels.LONG_RUNS_ONLY, raising=False)
    taken = []

    def spied(name, loop):
        def spy(*args, **kwargs):
            taken.append(name)
            return loop(*args, **kwargs)
        return spy
    for name in ("fcfs_starts", "dns_misses"):
        monkeypatch.setattr(kernels, name, spied(name, getattr(kernels, name)))
    arch = c.single_server(workers=3, queue_limit=5, timeout_ms=400)
    workload = c.Workload.from_rate(1.2 * arch["server"].capacity)
    fast = c.simulate(arch, workload, requests=kernels.MIN_ROUTED, seed=7)
    assert set(taken) == {"fcfs_starts", "dns_misses"}, "a loaded loop left unused"
    assert fast.requests.equals(c.simulate(arch, workload, requests=kernels.MIN_ROUTED, seed=7,
                                           engine="simpy").requests)
    taken.clear()
    c.simulate(arch, workload, requests=kernels.MIN_ROUTED - 1, seed=7)
    assert taken == []
