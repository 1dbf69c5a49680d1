"""Bad input: every invalid parameter raises an error naming the parameter, its value and the valid range.

A value of the wrong type raises TypeError; a value of the right type out of range, ValueError.
"""

import math

import numpy as np
import pytest

from chapter1 import (
    DNS,
    Architecture,
    Component,
    Database,
    Outage,
    Server,
    WebServer,
    Workload,
    analytic,
    simulate,
    single_server,
)

OK_ARCH = single_server(workers=2)
OK_LOAD = Workload(users=1_000)

# (label, call that must fail, parameter name, bad value, a fragment of the valid range or options)
CASES = [
    # Workload
    ("users=0", lambda: Workload(users=0), "users", 0, "> 0"),
    ("users<0", lambda: Workload(users=-5), "users", -5, "> 0"),
    ("users=inf", lambda: Workload(users=math.inf), "users", math.inf, "> 0"),
    ("users=nan", lambda: Workload(users=math.nan), "users", math.nan, "> 0"),
    ("users=str", lambda: Workload(users="1000"), "users", "1000", "> 0"),
    ("requests_per_user=0", lambda: Workload(requests_per_user=0), "requests_per_user", 0, "> 0"),
    ("peak_factor<1", lambda: Workload(peak_factor=0.5), "peak_factor", 0.5, ">= 1"),
    ("read_ratio>1", lambda: Workload(read_ratio=1.5), "read_ratio", 1.5, "[0, 1]"),
    ("read_ratio<0", lambda: Workload(read_ratio=-0.1), "read_ratio", -0.1, "[0, 1]"),
    ("keys=0", lambda: Workload(keys=0), "keys", 0, ">= 1"),
    ("keys=2.5", lambda: Workload(keys=2.5), "keys", 2.5, "whole number"),
    ("zipf_s<0", lambda: Workload(zipf_s=-1), "zipf_s", -1, ">= 0"),
    ("from_rate=0", lambda: Workload.from_rate(0), "requests_per_s", 0, "> 0"),
    ("from_rate<0", lambda: Workload.from_rate(-3.5), "requests_per_s", -3.5, "> 0"),
    # Server and its kinds
    ("workers=0", lambda: Server(workers=0), "workers", 0, "[1, 10,000]"),
    ("workers too many", lambda: WebServer(workers=10_001), "workers", 10_001, "[1, 10,000]"),
    ("workers=2.5", lambda: Server(workers=2.5), "workers", 2.5, "whole number"),
    ("workers=True", lambda: Server(workers=True), "workers", True, "whole number"),
    ("service_time_ms=0", lambda: Server(service_time_ms=0), "service_time_ms", 0, "(0, 3,600,000]"),
    ("service_time_ms<0", lambda: Database(service_time_ms=-1), "service_time_ms", -1, "(0, 3,600,000]"),
    ("distribution", lambda: Server(distribution="gaussian"), "distribution", "gaussian", "'exponential', 'constant'"),
    ("queue_limit=-1", lambda: Server(queue_limit=-1), "queue_limit", -1, ">= 0"),
    ("queue_limit=1.5", lambda: Server(queue_limit=1.5), "queue_limit", 1.5, "whole number"),
    ("timeout_ms=0", lambda: Server(timeout_ms=0), "timeout_ms", 0, "> 0"),
    ("timeout_ms<0", lambda: Server(timeout_ms=-5), "timeout_ms", -5, "> 0"),
    ("single_server workers", lambda: single_server(workers=0), "workers", 0, "[1, 10,000]"),
    ("single_server service", lambda: single_server(service_time_ms=-2), "service_time_ms", -2, "(0, 3,600,000]"),
    ("fail recover<at", lambda: Server().fail(at_s=30, recover_s=10), "end_s", 10, "> 30"),
    # DNS
    ("lookup_ms<0", lambda: DNS(lookup_ms=-1), "lookup_ms", -1, ">= 0"),
    ("ttl_s<0", lambda: DNS(ttl_s=-60), "ttl_s", -60, ">= 0"),
    ("ttl_s=nan", lambda: DNS(ttl_s=math.nan), "ttl_s", math.nan, ">= 0"),
    # Outage
    ("start_s<0", lambda: Outage(-1, 5), "start_s", -1, ">= 0"),
    ("end before start", lambda: Outage(30, 10), "end_s", 10, "> 30"),
    ("end == start", lambda: Outage(30, 30), "end_s", 30, "> 30"),
    # simulate
    ("requests=0", lambda: simulate(OK_ARCH, OK_LOAD, requests=0), "requests", 0, "[1, 2,000,000]"),
    ("requests too many", lambda: simulate(OK_ARCH, OK_LOAD, requests=2_000_001), "requests", 2_000_001,
     "[1, 2,000,000]"),
    ("requests=1.5", lambda: simulate(OK_ARCH, OK_LOAD, requests=1.5), "requests", 1.5, "whole number"),
    ("requests=str", lambda: simulate(OK_ARCH, OK_LOAD, requests="100"), "requests", "100", "whole number"),
    ("seed=-1", lambda: simulate(OK_ARCH, OK_LOAD, seed=-1), "seed", -1, ">= 0"),
    ("seed=1.5", lambda: simulate(OK_ARCH, OK_LOAD, seed=1.5), "seed", 1.5, "whole number"),
    ("seed=None", lambda: simulate(OK_ARCH, OK_LOAD, seed=None), "seed", None, "whole number"),
    ("architecture", lambda: simulate("single server", OK_LOAD), "architecture", "single server", "Architecture"),
    ("workload", lambda: simulate(OK_ARCH, 1000), "workload", 1000, "Workload"),
    # analytic
    ("erlang_c servers", lambda: analytic.erlang_c(0, 1.0), "servers", 0, "[1, 10,000,000]"),
    ("erlang_c servers float", lambda: analytic.erlang_c(2.5, 1.0), "servers", 2.5, "whole number"),
    ("erlang_c load", lambda: analytic.erlang_c(2, -1.0), "offered_load", -1.0, ">= 0"),
    ("mmc arrival", lambda: analytic.mmc(-1, 10), "arrival_rate", -1, ">= 0"),
    ("mmc service", lambda: analytic.mmc(5, 0), "service_rate", 0, "> 0"),
    ("mmc servers", lambda: analytic.mmc(5, 10, servers=0), "servers", 0, "[1, 10,000,000]"),
    ("percentile=0", lambda: analytic.response_time_percentile(0, 5, 10), "percent", 0, "(0, 100]"),
    ("percentile>100", lambda: analytic.response_time_percentile(101, 5, 10), "percent", 101, "(0, 100]"),
    ("percentile service", lambda: analytic.response_time_percentile(50, 5, -10), "service_rate", -10, "> 0"),
    ("percentile delay_s", lambda: analytic.response_time_percentile(50, 5, 10, delay_s=-0.1, delay_share=0.5),
     "delay_s", -0.1, ">= 0"),
    ("percentile delay_share", lambda: analytic.response_time_percentile(50, 5, 10, delay_s=0.1, delay_share=1.5),
     "delay_share", 1.5, "[0, 1]"),
    ("littles_law rate", lambda: analytic.littles_law(-1, 0.1), "arrival_rate", -1, ">= 0"),
    ("littles_law time", lambda: analytic.littles_law(1, -0.1), "mean_time_s", -0.1, ">= 0"),
    ("series >1", lambda: analytic.availability_series(0.9, 1.5), "availability", 1.5, "[0, 1]"),
    ("parallel <0", lambda: analytic.availability_parallel(-0.1), "availability", -0.1, "[0, 1]"),
    ("downtime", lambda: analytic.downtime_per_year(99.9), "availability", 99.9, "[0, 1]"),
]


# The cases above whose value has the wrong type (TypeError); every other one is out of range (ValueError).
WRONG_TYPE = {"users=str", "keys=2.5", "workers=2.5", "workers=True", "queue_limit=1.5", "requests=1.5",
              "requests=str", "seed=1.5", "seed=None", "architecture", "workload", "erlang_c servers float"}


@pytest.mark.parametrize("call, name, value, valid, error",
                         [(*c[1:], TypeError if c[0] in WRONG_TYPE else ValueError) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_parameter_raises_a_helpful_error(call, name, value, valid, error):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert message.startswith(name) or f" {name} " in message or name in message.split()[0], message
    assert repr(value) in message, f"the bad value {value!r} is not in: {message}"
    assert valid in message, f"the valid range {valid!r} is not in: {message}"


def test_availability_needs_at_least_one_part():
    for f in (analytic.availability_series, analytic.availability_parallel):
        with pytest.raises(ValueError, match="at least one availability"):
            f()


@pytest.mark.parametrize("name, error", [("", ValueError), (None, TypeError), (3, TypeError)])
def test_component_name_must_be_a_non_empty_string(name, error):
    with pytest.raises(error, match="name") as info:
        Server(name=name)
    assert repr(name) in str(info.value)


def test_outages_must_be_outage_objects():
    with pytest.raises(TypeError, match="outages") as info:
        Server(outages=((30, 60),))
    assert "(30, 60)" in str(info.value)


def test_a_component_without_run_time_behaviour_cannot_be_simulated():
    arch = Architecture("odd", (Component(name="sketch"), Server()))
    with pytest.raises(TypeError, match="Component cannot be simulated"):
        simulate(arch, OK_LOAD, requests=10)


@pytest.mark.parametrize("seed", [np.int64(3), 2**40])
def test_numpy_and_large_integer_seeds_are_accepted(seed):
    assert simulate(OK_ARCH, OK_LOAD, requests=10, seed=seed).summary()["requests"] == 10


def test_boundary_values_are_valid():
    Workload(users=1e-3, peak_factor=1, read_ratio=0, zipf_s=0, keys=1)
    Workload(read_ratio=1)
    Server(workers=1, queue_limit=0, service_time_ms=3_600_000)
    Server(workers=10_000, queue_limit=None, timeout_ms=None)
    DNS(lookup_ms=0, ttl_s=0)
    Outage(0)
    simulate(OK_ARCH, OK_LOAD, requests=1, seed=0)
    assert analytic.response_time_percentile(100, 5, 10) == math.inf
