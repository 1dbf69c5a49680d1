"""Which balancers route in the compiled loop: those that read connections (least connections, power of two)
over plain servers, and only when at least ``kernels.MIN_ROUTED`` requests reach the balancer (a few thousand: a
panel's runs do, a short example does not load numba).  Set here to a few hundred requests."""

import pytest

import chapter1 as c
from chapter1.components.server import ServerRun
from chapter1.core import kernels

REQUESTS = 400


@pytest.fixture(autouse=True)
def as_a_learners_kernel(monkeypatch):
    """Short runs may take the compiled loops (a graded kernel's CHAPTER1_COMPILED_LOOPS=long would forbid it)."""
    monkeypatch.delenv(kernels.LONG_RUNS_ONLY, raising=False)


@pytest.fixture
def compiled_routes(monkeypatch):
    """The balancer calls the compiled routing: counted (and still run, so the Result is the real one)."""
    assert kernels.compiled() is not None, "numba is a dependency of the course: the compiled loops must load"
    calls, real = [], kernels.route_by_connections

    def counted(*args, **options):
        calls.append(args[0].spec.policy)
        return real(*args, **options)
    monkeypatch.setattr(kernels, "route_by_connections", counted)
    return calls


def run(arch, engine="fast"):
    return c.simulate(arch, c.Workload.from_rate(0.8 * arch["load balancer"].capacity), requests=REQUESTS, seed=3,
                      engine=engine)


@pytest.mark.parametrize("policy", ["least_connections", "power_of_two"])
def test_a_long_run_of_a_balancer_that_reads_connections_routes_in_the_compiled_loop(compiled_routes, monkeypatch,
                                                                                     policy):
    monkeypatch.setattr(kernels, "MIN_ROUTED", REQUESTS)
    arch = c.load_balanced(3, policy, workers=2)
    fast = run(arch)
    assert compiled_routes == [policy]
    assert fast.requests.equals(run(arch, "simpy").requests)


@pytest.mark.parametrize("policy", ["least_connections", "power_of_two", "round_robin", "random"])
def test_a_run_shorter_than_the_threshold_routes_in_python(compiled_routes, monkeypatch, policy):
    monkeypatch.setattr(kernels, "MIN_ROUTED", REQUESTS + 1)
    run(c.load_balanced(3, policy, workers=2))
    assert compiled_routes == []


def test_servers_that_step_their_own_way_route_in_python_however_long_the_run(compiled_routes, monkeypatch):
    class Paced(ServerRun):
        """A server whose event-free step is its own (it starts every request 1 ms later)."""

        def _step(self, t, s):
            return super()._step(t + 0.001, s)

    class PacedServer(c.WebServer):
        def runtime(self, sim, index):
            return Paced(self, sim, index)

    monkeypatch.setattr(kernels, "MIN_ROUTED", REQUESTS)
    arch = c.Architecture("paced", (c.LoadBalancer(servers=tuple(PacedServer(name=f"web-{k}") for k in range(3)),
                                                   policy="least_connections"),), dns=None)
    run(arch)
    assert compiled_routes == []


@pytest.mark.parametrize("policy", ["least_connections", "power_of_two", "round_robin", "random"])
@pytest.mark.parametrize("enough", [True, False])
def test_a_balancer_whose_view_changes_routes_compiled_from_the_threshold_on(monkeypatch, policy, enough):
    calls, real = [], kernels.balance_through_changes
    monkeypatch.setattr(kernels, "balance_through_changes", lambda *args: calls.append(1) or real(*args))
    monkeypatch.setattr(kernels, "MIN_ROUTED", REQUESTS if enough else REQUESTS + 1)
    arch = c.load_balanced(3, policy, workers=2, health_check_interval_s=0.5).fail("web-2", at_s=0.2)
    arch = arch.with_changes("load balancer", eject_after=3)
    fast = run(arch)
    assert calls == ([1] if enough else [])
    assert fast.requests.equals(run(arch, "simpy").requests)


def test_health_checks_far_more_than_requests_keep_the_python_loop(monkeypatch):
    # the compiled loop works out the view of every check first: 3 million checks here, for 3,000 requests
    calls, real = [], kernels.balance_through_changes
    monkeypatch.setattr(kernels, "balance_through_changes", lambda *args: calls.append(1) or real(*args))
    monkeypatch.setattr(kernels, "MIN_ROUTED", REQUESTS)
    arch = c.load_balanced(3, "least_connections", health_check_interval_s=1e-4).fail("web-2", at_s=100.0)
    fast = c.simulate(arch, c.Workload.from_rate(10), requests=3_000, seed=3, engine="fast")
    assert calls == []
    assert fast.requests.equals(c.simulate(arch, c.Workload.from_rate(10), requests=3_000, seed=3,
                                                    engine="simpy").requests)
