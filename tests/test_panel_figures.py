"""The live panels read a few figures straight from a run instead of building its whole tables: the same numbers."""

import math

import numpy as np
import pandas as pd
import pytest

import chapter1 as c
from chapter1.sections import replication as rep
from chapter1.sections.single_server import run_figures


@pytest.mark.parametrize("arch, rate, requests", [
    (c.load_balanced(4, "least_connections", workers=2), 100.0, 2_000),
    (c.load_balanced(2, "least_connections", workers=1, queue_limit=2, timeout_ms=50), 400.0, 1_500),
    (c.single_server(workers=1, queue_limit=0, service_time_ms=5_000), 50.0, 30)])  # almost every request refused
def test_chapter_03_reads_mean_and_p95_as_the_summary_has_them(arch, rate, requests):
    for seed in (0, 1, 2):
        result = c.simulate(arch, c.Workload.from_rate(rate), requests=requests, seed=seed)
        summary, figures = result.summary(), run_figures(result)
        for key in ("mean_ms", "p95_ms"):
            assert figures[key] == summary[key] or (math.isnan(figures[key]) and math.isnan(summary[key]))


def old_read_ms(result):
    """Chapter 05's mean read time from the whole requests table (the way it was read before)."""
    table = result.requests
    reads = (table["status"].to_numpy() == "ok") & (table["member"].to_numpy() != "") & ~table["write"].to_numpy()
    times = table["database_ms"].to_numpy()[reads]
    kept = ~np.isnan(times)
    return float(np.where(kept, times, 0.0).sum() / kept.sum()) if kept.any() else math.nan


@pytest.mark.parametrize("replicas, share", [(0, 0.5), (2, 0.9), (4, 0.75), (8, 0.99)])
def test_chapter_05_reads_a_runs_figures_from_the_replica_set_as_from_its_tables(replicas, share):
    for seed in (0, 1):
        result = c.simulate(rep.data_tier(replicas), rep.workload(share), requests=800, seed=seed)
        assert rep.read_ms(result) == old_read_ms(result)
        assert rep._replica_set(result).figures()["stale_read_ratio"] == result.summary()["stale_read_ratio"]
    full = c.simulate(c.replicated(), c.Workload.from_rate(100), requests=500, seed=1)  # behind a web tier
    assert rep.read_ms(full) == old_read_ms(full)


def test_read_ms_needs_one_replica_set():
    with pytest.raises(ValueError, match="one replica set"):
        rep.read_ms(c.simulate(c.single_server(), c.Workload.from_rate(10), requests=50))


def test_chapter_02_reads_each_tiers_utilisation_as_the_summary_has_it():
    for users, seed in ((100_000, 0), (600_000, 1), (5_000_000, 2)):  # light, near the wall, overloaded
        result = c.simulate(c.web_and_database(), c.Workload(users=users), requests=1_500, seed=seed)
        figures, summary = run_figures(result, ["web", "database"]), result.summary()
        assert figures == {key: summary[key] for key in figures}


@pytest.mark.parametrize("mode, sites, load", [("active-active", 2, 0.4), ("active-active", 3, 0.9),
                                               ("active-passive", 2, 0.9)])
def test_chapter_09_reads_the_failover_figures_as_the_summary_has_them(mode, sites, load):
    from chapter1.sections import datacentres

    for run in datacentres.runs(mode, sites, load, seeds=2):
        figures, summary = datacentres.outcome(run), run.summary()
        assert figures == {key: summary[key] for key in figures}
    with pytest.raises(ValueError, match="one GeoDNS"):
        datacentres.outcome(c.simulate(c.single_server(), c.Workload.from_rate(10), requests=50))


def long_utilization(table):
    """Chapter 02's utilisation dots through pandas' long form (the way they were built before)."""
    from chapter1.present import charts

    columns = [c for c in table.columns if c.endswith("_utilization")]
    long = charts.long_form(table, ["users", "design"], columns, "tier", "utilization").dropna()
    long["tier"] = np.where(long["tier"] == "server_utilization", long["design"],
                            long["tier"].str.removesuffix("_utilization"))
    return long[["users", "tier", "utilization"]]


def test_chapter_02s_utilisation_dots_are_the_long_forms():
    from chapter1.sections import database_tier as dbt

    sweep = dbt.sweep_designs({dbt.BOX: dbt.one_box(), dbt.SPLIT: dbt.web_and_database()}, [1_000, 500_000],
                              requests=300, seeds=(0, 1))
    panel = dbt.tiers_view(300_000, 8, 4, 30, 20)  # (drawn once, to be sure the view runs)
    assert panel[0].data.startswith("<svg")
    tables = (sweep, sweep.assign(web_utilization=np.nan), sweep[sweep["design"] == dbt.SPLIT].assign(users=0.5),
              sweep[["users", "design", "mean_ms"]])  # no utilisation at all: no dots
    for table in tables:
        pd.testing.assert_frame_equal(dbt.simulated_utilization(table), long_utilization(table))


def utilization_rows(designs, users_range, points, web_model):
    """Chapter 02's theory of each tier's utilisation, one record at a time (the way it was built before)."""
    from chapter1.sections import database_tier as dbt

    rows, per_user = [], c.Workload().per_user_rate
    for label, arch in designs.items():
        tiers = dbt.capacities(arch)
        if web_model == dbt.THREADS and len(arch.tiers) == 2:
            web, database = arch.tiers
            tiers[web.name] = web.workers * 1_000.0 / (web.service_time_ms + database.service_time_ms)
        for name, capacity in tiers.items():
            tier = label if len(arch.tiers) == 1 else name
            rows += [{"users": u, "tier": tier, "utilization": min(1.0, u * per_user / capacity)}
                     for u in np.geomspace(*users_range, points)]
    return pd.DataFrame(rows, columns=["users", "tier", "utilization"])


@pytest.mark.parametrize("points", [1, 40])
def test_chapter_02s_utilisation_lines_are_the_records(points):
    from chapter1.sections import database_tier as dbt

    for model in (dbt.ASYNC, dbt.THREADS):
        for designs in ({dbt.BOX: dbt.one_box(), dbt.SPLIT: dbt.web_and_database()},
                        {dbt.SPLIT: dbt.web_and_database(web_workers=3, db_workers=64)}, {}):
            pd.testing.assert_frame_equal(dbt.utilization_data(designs, dbt.USERS_RANGE, points, model),
                                          utilization_rows(designs, dbt.USERS_RANGE, points, model))
