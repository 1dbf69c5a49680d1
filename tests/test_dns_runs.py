"""DNS in whole runs: the compiled loop of long runs, the components table, and the answers users held before."""

import math

import numpy as np
import pandas as pd
import pytest
from test_dns_rules import misses_one_by_one, random_run

import chapter1 as c
from chapter1.components.dns import DNS, cache_misses
from chapter1.core import kernels
from chapter1.core.architecture import Architecture

COMPILED = kernels.compiled()  # numba loads while the tests are collected (a second or two), not in a test


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("outages", [(), ((10, 14),)])
def test_the_compiled_loop_of_long_runs_misses_as_each_users_cache_does(monkeypatch, seed, outages):
    assert COMPILED is not None, "numba is a dependency of the course: the compiled loops must load"
    monkeypatch.setattr(kernels, "MIN_REQUESTS", 0)
    run = random_run(seed, n=2_000, users=40, outages=outages)
    assert cache_misses(*run).tolist() == misses_one_by_one(*run).tolist()


def test_dns_has_the_components_tables_columns_and_no_workers_or_wait():
    arch = Architecture("dns", (c.Server(workers=8, service_time_ms=5),), dns=DNS(ttl_s=2))
    result = c.simulate(arch, c.Workload(users=30, requests_per_user=86_400), requests=300, seed=1)
    assert result.components.columns.tolist() == ["component", "kind", "workers", "utilization", "served",
                                                  "mean_wait_ms", "error", "timeout", "rejected"]
    row = result.components.set_index("component").loc["dns"]
    assert row["served"] == (result.requests["dns_ms"] > 0).sum()
    assert math.isnan(row["mean_wait_ms"]) and pd.isna(row["workers"])


def test_an_answer_held_before_the_run_stays_fresh_a_uniform_share_of_the_ttl():
    """Users whose cache held an answer at the start (a share h of them) keep it fresh for a uniformly drawn
    part of the TTL, so a user's first request at time t hits with chance h (1 - t / TTL): it falls steadily.
    Over ten runs the share in each quarter of the TTL (90 to 310 first requests) was within 0.084 of that."""
    ttl = 20.0
    dns = DNS(ttl_s=ttl)
    workload = c.Workload(users=1_000, requests_per_user=86_400 / 30)
    arch = Architecture("dns", (c.Server(workers=64, service_time_ms=1),), dns=dns)
    first = c.simulate(arch, workload, requests=4_000, seed=3).requests.drop_duplicates("user")
    h = dns.hit_ratio(workload.per_user_rate)
    edges = np.linspace(0, ttl, 5)
    for low, high in zip(edges[:-1], edges[1:]):
        now = first[(first["arrival_s"] >= low) & (first["arrival_s"] < high)]
        assert len(now) >= 90
        assert abs((now["dns_ms"] == 0).mean() - h * (1 - (low + high) / 2 / ttl)) < 0.12, (low, high)
