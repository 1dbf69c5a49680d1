"""The exact LRU curve's default run: a million requests, so a warm-up may take all but the last one."""

import pytest

import chapter1 as c
from chapter1.components.cache import hit_ratio_curve


def test_the_curve_reads_a_million_requests_by_default_and_names_the_warm_up_range_it_allows():
    with pytest.raises(ValueError, match=r"warmup must be a whole number in the range \[0, 999,999\]; got 1000000"):
        hit_ratio_curve(c.Workload(keys=100), warmup=1_000_000)
    with pytest.raises(ValueError, match=r"warmup must be a whole number in the range \[0, 9\]; got 10"):
        hit_ratio_curve(c.Workload(keys=100), requests=10, warmup=10)
