"""Which balancers route in the compiled loop: those that read connections (least connections, power of two)
over plain servers, and only in runs of at least ``kernels.MIN_REQUESTS`` requests (a notebook's panel never
loads numba).  Lowered here to a few hundred requests, as in tests/test_kernels.py."""

import pytest

import chapter1 as c
from chapter1.components.server import ServerRun
from chapter1.core import kernels

REQUESTS = 400


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
    monkeypatch.setattr(kernels, "MIN_REQUESTS", REQUESTS)
    arch = c.load_balanced(3, policy, workers=2)
    fast = run(arch)
    assert compiled_routes == [policy]
    assert fast.requests.equals(run(arch, "simpy").requests)


@pytest.mark.parametrize("policy", ["least_connections", "power_of_two", "round_robin", "random"])
def test_a_run_shorter_than_the_threshold_routes_in_python(compiled_routes, monkeypatch, policy):
    monkeypatch.setattr(kernels, "MIN_REQUESTS", REQUESTS + 1)
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

    monkeypatch.setattr(kernels, "MIN_REQUESTS", REQUESTS)
    arch = c.Architecture("paced", (c.LoadBalancer(servers=tuple(PacedServer(name=f"web-{k}") for k in range(3)),
                                                   policy="least_connections"),), dns=None)
    run(arch)
    assert compiled_routes == []
