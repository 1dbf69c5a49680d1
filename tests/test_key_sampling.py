"""Key draws by guide table: the same integers as a binary search of the whole CDF, draw for draw."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.core.workload import Workload, _invert_cdf


def _searched(cdf, u):
    return np.searchsorted(cdf, u, side="right")


@settings(max_examples=60, deadline=None)
@given(keys=st.integers(1, 40_000), s=st.floats(0, 3), n=st.integers(4_096, 30_000), seed=st.integers(0, 2 ** 32))
def test_guide_table_gives_the_searched_keys_for_zipf(keys, s, n, seed):
    cdf = np.cumsum(Workload(keys=keys, zipf_s=s).key_popularity())
    u = np.random.default_rng(seed).random(n)
    np.testing.assert_array_equal(_invert_cdf(cdf, u), _searched(cdf, u))


@settings(max_examples=40, deadline=None)
@given(keys=st.integers(1, 3_000), zeros=st.floats(0, 0.9), seed=st.integers(0, 2 ** 32))
def test_guide_table_at_ties_flat_runs_and_a_total_off_one(keys, zeros, seed):
    """Draws exactly at a cumulative probability or a slot edge, keys of probability 0, a total above or below 1."""
    rng = np.random.default_rng(seed)
    p = rng.exponential(size=keys) * (rng.random(keys) >= zeros)
    p[rng.integers(keys)] += 1e-3
    cdf = np.cumsum(p / p.sum()) * (1 + rng.choice([-1, 0, 1]) * 2.0 ** -52)
    m = 1 << (keys.bit_length() + 1)
    exact = np.concatenate([cdf[cdf < 1], np.arange(m) / m, np.nextafter(cdf[cdf < 1], 0), [0.0, np.nextafter(1, 0)]])
    u = np.concatenate([exact, rng.random(max(4_096, 4 * keys))])
    rng.shuffle(u)
    np.testing.assert_array_equal(_invert_cdf(cdf, u), _searched(cdf, u))


@pytest.mark.parametrize("keys, s, n", [(200_000, 1.0, 200_000), (200_000, 1.0, 2_000), (10_000, 0.0, 100_000),
                                        (5, 2.0, 50_000)])
def test_sample_keys_draws_what_the_search_drew(keys, s, n):
    """Every chapter's Results rest on these draws: the same generator state gives the same keys as before."""
    w = Workload(keys=keys, zipf_s=s)
    cdf = np.cumsum(w.key_popularity())
    before = np.minimum(_searched(cdf, np.random.default_rng(11).random(n)), keys - 1)
    np.testing.assert_array_equal(w.sample_keys(np.random.default_rng(11), n), before)


@pytest.mark.parametrize("kept", [1, 1 << 18])
def test_a_key_space_too_large_to_keep_draws_the_same_keys(kept, monkeypatch):
    """Above KEPT_KEYS the CDF and its guide table are built for each draw, not kept: the keys stay the same."""
    from chapter1.core import workload

    monkeypatch.setattr(workload, "KEPT_KEYS", kept)
    w = Workload(keys=50_000, zipf_s=0.9)
    u = np.random.default_rng(5).random(30_000)
    cdf = np.cumsum(w.key_popularity())
    np.testing.assert_array_equal(w.keys_at(u), np.minimum(_searched(cdf, u), w.keys - 1))


def test_a_caller_changing_its_popularities_changes_no_one_elses():
    w = Workload(keys=1_000, zipf_s=1.2)
    first = w.key_popularity()
    first[:] = 0.0
    weights = 1.0 / np.arange(1, 1_001, dtype=float) ** 1.2
    np.testing.assert_array_equal(w.key_popularity(), weights / weights.sum())
    assert w.sample_keys(np.random.default_rng(2), 5_000).max() > 0


@settings(max_examples=60, deadline=None)
@given(keys=st.integers(1, 5_000), zeros=st.floats(0, 0.9), seed=st.integers(0, 2 ** 32))
def test_guide_table_counts_the_values_at_or_below_each_slot(keys, zeros, seed):
    """The table written slot range by slot range holds what counting gives: entry b, the cdf values <= b / m."""
    from chapter1.core.workload import _guide_table

    rng = np.random.default_rng(seed)
    p = rng.exponential(size=keys) ** rng.choice([1, 8]) * (rng.random(keys) >= zeros)
    p[rng.integers(keys)] += 1e-3
    cdf = np.cumsum(p / p.sum()) * (1 + rng.choice([-1, 0, 1]) * 2.0 ** -52)
    m = 1 << (keys.bit_length() + 1)
    counted = np.searchsorted(cdf, np.arange(m + 2) / m, side="right")
    table = _guide_table(cdf)
    assert table.dtype == np.int32
    np.testing.assert_array_equal(table, counted)


@pytest.mark.parametrize("block", [1, 7, 4_096, 1 << 20])
def test_draws_inverted_in_blocks_give_the_keys_of_one_pass(block, monkeypatch):
    """Blocks of any size (ends inside a run of one key, a last short block) give the searched keys."""
    from chapter1.core import workload

    monkeypatch.setattr(workload, "BLOCK", block)
    cdf = np.cumsum(Workload(keys=3_000, zipf_s=1.1).key_popularity())
    u = np.random.default_rng(block).random(9_001)
    np.testing.assert_array_equal(_invert_cdf(cdf, u), _searched(cdf, u))


@pytest.mark.parametrize("copies", [1, 5_000])  # a few draws are searched; many go through the guide table
def test_a_draw_on_a_cumulative_probability_takes_the_next_key(copies):
    # four equally popular keys: cumulative 0.25, 0.5, 0.75, 1; a draw of exactly 0.25 is past key 0's share
    u = np.tile([0.0, 0.25, 0.5, 0.75, 0.9999], copies)
    assert Workload(keys=4, zipf_s=0.0).keys_at(u)[:5].tolist() == [0, 1, 2, 3, 3]
