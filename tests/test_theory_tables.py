"""Tables and curves of the theory modules at their edges: an empty asset table, a month's gigabytes to the
byte, and a fan-out curve given as whole numbers."""

import pandas as pd
import pytest

from chapter1 import analytic

COLUMNS = ["asset", "size_kb", "requests_per_day"]


def test_an_empty_asset_table_still_checks_its_ttl_and_edges():
    empty = pd.DataFrame(columns=COLUMNS)
    assert analytic.cost_table(empty).empty
    with pytest.raises(ValueError, match=r"^ttl_s must be a number >= 0; got -1$"):
        analytic.cost_table(empty, ttl_s=-1)
    with pytest.raises(ValueError, match=r"^edges must be a whole number in the range \[1, 1,000\]; got 0$"):
        analytic.cost_table(empty, edges=0)


def test_a_months_gigabytes_are_kilobytes_times_requests_times_30_over_a_million():
    """1 KB asked a million times a day is 30 GB a month; 250 KB 4,000 times a day, 30 GB too (decimal units)."""
    table = analytic.cost_table([{"asset": "a", "size_kb": 1, "requests_per_day": 1_000_000},
                                 {"asset": "b", "size_kb": 250, "requests_per_day": 4_000}])
    assert table["gb_per_month"].tolist() == pytest.approx([30.0, 30.0], rel=1e-12)
    assert table["size_kb"].dtype == float and table["requests_per_day"].dtype == float


def test_a_fan_out_curve_of_whole_numbers_gives_the_same_floats_as_one_value_at_a_time():
    curve = analytic.fanout_cdf([0, 1, 1], 3)
    single = [analytic.fanout_cdf(v, 3) for v in (0, 1, 1)]
    assert curve.tolist() == single and all(type(v) is float for v in curve.tolist())
    assert all(type(v) is float for v in analytic.fanout_cdf((True, False), 2).tolist())


def test_a_fan_out_curve_outside_0_1_is_refused_with_the_range():
    with pytest.raises(ValueError, match=r"^cdf values must be probabilities in \[0, 1\]$"):
        analytic.fanout_cdf([0.5, 1.5], 2)
