"""Theory inputs a learner gets wrong, named with what would work: a fan-out past the largest cluster, a rate
where a Workload belongs (chapters 08 and 09)."""

import math

import numpy as np
import pytest

from chapter1 import analytic
from chapter1.theory.sharding import MAX_SHARDS

FANOUT = [lambda k: analytic.fanout_cdf(0.99, k), lambda k: analytic.fanout_quantile_ms(0.99, k, 10),
          lambda k: analytic.fanout_mean_ms(k, 10)]


@pytest.mark.parametrize("call", FANOUT, ids=["cdf", "quantile", "mean"])
def test_a_fanout_to_more_shards_than_the_largest_cluster_is_refused_by_name(call):
    with pytest.raises(ValueError) as error:
        call(MAX_SHARDS + 1)
    assert str(error.value) == "k must be a whole number in the range [1, 1,000,000]; got 1000001"


def test_a_fanout_to_the_largest_cluster_answers():
    """A million shards: 0.99^(10^6) underflows to 0; the slowest of 10^6 answers of mean 10 ms takes 10 H(10^6)
    ms on average (H(n) ~ ln n + 0.5772 + 1 / 2n: 144.0 ms)."""
    assert analytic.fanout_cdf(0.99, MAX_SHARDS) == 0.0
    assert analytic.fanout_mean_ms(MAX_SHARDS, 10) == pytest.approx(10 * (math.log(1e6) + 0.5772156649 + 5e-7),
                                                                    rel=1e-9)


def test_stale_reads_of_a_rate_instead_of_a_workload_name_the_workload_wanted():
    with pytest.raises(TypeError) as error:
        analytic.stale_reads(500, lag_ms=100)
    assert str(error.value) == "workload must be a Workload (e.g. Workload(users=1000)); got 500"


def test_stale_reads_of_popularities_that_do_not_sum_to_one_name_key_popularity():
    with pytest.raises(ValueError) as error:
        analytic.stale_read_probability([0.5, 0.6], write_rate=1, lag_ms=100)
    assert str(error.value) == ("key_popularity must be a list of probabilities that sum to 1 "
                                "(e.g. Workload().key_popularity()); got [0.5, 0.6]")


def test_a_curve_has_no_resolver_in_front_by_default():
    """mmc_curve with no delay arguments is the curve with delay_s = 0 and delay_share = 0, to the last bit (a
    percentile search started from another bracket lands a few 1e-15 s away at some of these rates)."""
    rates, percents = np.linspace(0.5, 29.7, 7), (5, 50, 95, 99.99)
    plain = analytic.mmc_curve(rates, 10, servers=3, percents=percents)
    explicit = analytic.mmc_curve(rates, 10, servers=3, percents=percents, delay_s=0.0, delay_share=0.0)
    assert plain.keys() == explicit.keys()
    assert all((plain[key] == explicit[key]).all() for key in plain)


def test_stale_reads_are_a_probability_worked_by_hand_and_never_above_one():
    """Two keys read alike, written 1 a second each (2 in all) with a lag of 1 s: 1 - e^-1 of the reads are stale.
    Twenty keys of 5 % whose shares sum to 1.0000000000000002 in floating point, written far faster than
    the lag: every read is stale, which is 1, not more."""
    assert analytic.stale_read_probability([0.5, 0.5], 2, 1_000) == pytest.approx(1 - math.exp(-1), rel=1e-12)
    assert analytic.stale_read_probability([0.05] * 20, 1e12, 1e9) == 1.0
