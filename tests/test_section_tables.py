"""Chapter panels build their tables from a run's arrays instead of its requests table: the same tables."""

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from chapter1 import Workload, simulate
from chapter1.sections import sharding as sh


def old_shard_loads(shards, vnodes, celebrity_share, *, requests, seeds, first_seed=0, **options):
    """Chapter 12's shard loads read from each run's requests table and pooled by pandas (as they were)."""
    arch, rows = sh.data_tier(shards, vnodes, celebrity_share, **options), []
    for seed in range(first_seed, first_seed + seeds):
        result = simulate(arch, Workload.from_rate(sh.RATE, keys=sh.KEYS), requests=requests, seed=seed)
        table = result.requests
        shard, failed = table["shard"].to_numpy(), (table["status"] != "ok").to_numpy()
        hot = shard[table["shard_key"].to_numpy() == 0]
        for name in arch["shard router"].parts:
            mine = shard == name.name
            rows.append({"shard": name.name, "share": float(mine.mean()), "busy": result.utilization(name.name),
                         "failed": float(failed[mine].mean()) if mine.any() else 0.0,
                         "celebrity": bool(len(hot)) and hot[0] == name.name})
    return pd.DataFrame(rows).groupby("shard", sort=False).agg(
        share=("share", "mean"), busy=("busy", "mean"), failed=("failed", "mean"), celebrity=("celebrity", "any")
    ).reset_index()


@pytest.mark.parametrize("shards, vnodes, celebrity, seeds, options", [
    (1, 100, 0.0, 2, {}), (4, 1, 0.3, 2, {}), (16, 100, 0.6, 2, {}),  # one shard; a lopsided ring; a hot shard
    (9, 1_000, 0.05, 1, {}), (5, 10, 0.5, 3, {"split_celebrity": 4}), (3, 30, 0.0, 2, {"scheme": "modulo"}),
    (6, 10, 0.6, 2, {"queue_limit": 1})])  # the hot shard refuses requests
def test_chapter_12_pools_each_shards_figures_as_the_table_and_group_mean_did(shards, vnodes, celebrity, seeds,
                                                                              options):
    for first in (0, 7):
        new = sh.shard_loads(shards, vnodes, celebrity, requests=600, seeds=seeds, first_seed=first, **options)
        old = old_shard_loads(shards, vnodes, celebrity, requests=600, seeds=seeds, first_seed=first, **options)
        assert_frame_equal(new, old, check_exact=seeds < 3, rtol=1e-15)  # Kahan's sum and a plain one: last bit
        assert (new["failed"].max() > 0.1) == ("queue_limit" in options)


def test_the_mean_over_runs_adds_them_in_order():
    runs = np.random.default_rng(3).random((2, 50))
    assert sh._mean(runs).tolist() == ((runs[0] + runs[1]) / 2).tolist()
