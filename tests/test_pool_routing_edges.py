"""A pool's routing at its edges, on requests placed by hand (every moment exact in binary floating point): a
request that leaves a server at the very moment another arrives, and a DNS lookup that costs nothing."""

import numpy as np
import pytest
from pandas.testing import assert_frame_equal
from test_pool_rules import run_dns

import chapter1 as c
from chapter1.components.pool import DNSRoundRobin, LoadBalancer
from chapter1.core.simulation import Simulation


def constant(name, ms, workers=1):
    return c.WebServer(name=name, workers=workers, service_time_ms=ms, distribution="constant")


def balanced(policy, *servers):
    return c.Architecture("lb", (LoadBalancer(servers=servers, policy=policy),), dns=None)


def placed(arch, arrivals, engine):
    """Result.requests of ``arch`` with one request at each of ``arrivals`` (seconds, sorted)."""
    sim = Simulation(arch, c.Workload.from_rate(10), len(arrivals), 0)
    sim.arrival[:] = arrivals
    return sim.run(engine).requests


def test_least_connections_no_longer_counts_a_request_that_left_as_the_next_arrives():
    # web-2 (375 ms) holds the request of 0.875 s until 1.25 s exactly, web-1 (125 ms) the one of 1.0 s until
    # 1.125 s: at 1.25 s both are empty, and the turn (the fourth request: web-2 first) breaks the tie
    arch = balanced("least_connections", constant("web-1", 125), constant("web-2", 375))
    arrivals = [0.25, 0.875, 1.0, 1.25, 1.375]
    fast, reference = placed(arch, arrivals, "fast"), placed(arch, arrivals, "simpy")
    assert fast["server"].tolist() == ["web-1", "web-2", "web-1", "web-2", "web-1"]
    assert_frame_equal(fast, reference)
    assert (fast["latency_ms"] == np.where(fast["server"] == "web-1", 125.0, 375.0)).all()  # nobody waited


def test_a_free_lookup_does_not_let_a_request_that_arrived_with_it_go_first():
    # client 1 holds a cached answer from 0 s; at 1 s client 0 resolves (at no cost) and client 1 does not: both
    # reach the one worker of web-1 at once, in their order of arrival
    dns = DNSRoundRobin(servers=(constant("web-1", 100),), ttl_s=5.0, lookup_ms=0)
    table = run_dns(c.Architecture("dns", (dns,), dns=None), [0.0, 1.0, 1.0], [1, 0, 1]).requests
    assert table["dns_ms"].tolist() == [0.0, 0.0, 0.0]
    assert table["latency_ms"].tolist() == pytest.approx([100.0, 100.0, 200.0])


def test_least_connections_counts_a_request_that_waited_exactly_its_time_out_until_it_is_served():
    # web-1 (375 ms) takes the request of 0.5 s at 0.625 s: it waited exactly its 125 ms time-out, so it is served
    # (a request gives up only after waiting longer) and holds web-1 until 1.0 s; at 0.71875 s web-2 is empty
    servers = (c.WebServer(name="web-1", workers=1, service_time_ms=375, distribution="constant", timeout_ms=125),
               c.WebServer(name="web-2", workers=1, service_time_ms=125, distribution="constant", timeout_ms=125))
    arch = balanced("least_connections", *servers)
    arrivals = [0.25, 0.4375, 0.5, 0.53125, 0.71875]
    fast, reference = placed(arch, arrivals, "fast"), placed(arch, arrivals, "simpy")
    assert fast["server"].tolist() == ["web-1", "web-2", "web-1", "web-2", "web-2"]
    assert fast["status"].tolist() == ["timeout", "ok", "timeout", "timeout", "ok"]
    assert_frame_equal(fast, reference)
