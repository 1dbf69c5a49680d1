"""Workload: users -> requests per second, read/write mix, Zipf key popularity."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chapter1 import Workload
from chapter1.workload import SECONDS_PER_DAY

users = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False)
per_user = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)
peaks = st.floats(min_value=1, max_value=100, allow_nan=False, allow_infinity=False)
rates = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


def test_rate_is_users_times_requests_per_day_over_seconds_per_day_times_peak():
    w = Workload(users=1_000_000, requests_per_user=20, peak_factor=2)
    # 1e6 users x 20 requests / 86,400 s x 2 at peak
    assert w.rate == pytest.approx(1_000_000 * 20 / 86_400 * 2)
    assert SECONDS_PER_DAY == 86_400


@given(users, per_user, peaks)
def test_rate_formula_holds_for_any_valid_workload(u, r, p):
    w = Workload(users=u, requests_per_user=r, peak_factor=p)
    assert w.rate == pytest.approx(u * r / 86_400 * p, rel=1e-12)
    assert w.per_user_rate == pytest.approx(r * p / 86_400, rel=1e-12)
    assert w.rate == pytest.approx(u * w.per_user_rate, rel=1e-12)


@given(users, st.floats(min_value=1e-3, max_value=1e3), per_user, peaks)
def test_rate_scales_linearly_with_users(u, k, r, p):
    base = Workload(users=u, requests_per_user=r, peak_factor=p)
    scaled = Workload(users=u * k, requests_per_user=r, peak_factor=p)
    assert scaled.rate == pytest.approx(k * base.rate, rel=1e-9)


@given(users, per_user, peaks)
def test_doubling_requests_per_user_or_peak_doubles_the_rate(u, r, p):
    w = Workload(users=u, requests_per_user=r, peak_factor=p)
    assert Workload(users=u, requests_per_user=2 * r, peak_factor=p).rate == pytest.approx(2 * w.rate)
    assert Workload(users=u, requests_per_user=r, peak_factor=2 * p).rate == pytest.approx(2 * w.rate)


@given(rates, per_user, peaks)
def test_from_rate_round_trips(rate, r, p):
    w = Workload.from_rate(rate, requests_per_user=r, peak_factor=p)
    assert w.rate == pytest.approx(rate, rel=1e-9)
    assert w.requests_per_user == r and w.peak_factor == p
    # and going back through users gives the same workload
    assert Workload(users=w.users, requests_per_user=r, peak_factor=p).rate == pytest.approx(rate, rel=1e-9)


def test_from_rate_keeps_the_other_fields():
    w = Workload.from_rate(50, read_ratio=0.5, keys=123, zipf_s=0.7)
    assert (w.read_ratio, w.keys, w.zipf_s) == (0.5, 123, 0.7)
    assert w.users == pytest.approx(50 / (20 * 2.0 / 86_400))


def test_workload_is_immutable():
    w = Workload(users=10)
    with pytest.raises(AttributeError):
        w.users = 20


@given(st.integers(min_value=1, max_value=2_000), st.floats(min_value=0, max_value=3))
def test_key_popularity_is_a_decreasing_distribution(keys, s):
    p = Workload(keys=keys, zipf_s=s).key_popularity()
    assert p.shape == (keys,)
    assert p.sum() == pytest.approx(1.0)
    assert np.all(p > 0)
    assert np.all(np.diff(p) <= 1e-15)


def test_key_popularity_is_zipf():
    p = Workload(keys=100, zipf_s=1.2).key_popularity()
    k = np.arange(1, 101)
    # key k (0-based) is asked for in proportion to 1 / (k+1)^s
    np.testing.assert_allclose(p / p[0], 1 / k**1.2)
    assert p[0] / p[9] == pytest.approx(10**1.2)


def test_zipf_s_zero_is_uniform():
    np.testing.assert_allclose(Workload(keys=50, zipf_s=0).key_popularity(), np.full(50, 1 / 50))


@pytest.mark.parametrize("keys, s", [(50, 1.0), (20, 0.0), (200, 1.5)])
def test_sampled_key_frequencies_match_key_popularity(keys, s):
    w = Workload(keys=keys, zipf_s=s)
    n = 200_000
    sample = w.sample_keys(np.random.default_rng(7), n)
    assert sample.dtype.kind == "i" and sample.min() >= 0 and sample.max() <= keys - 1
    counts = np.bincount(sample, minlength=keys)
    expected = n * w.key_popularity()
    # Pearson chi-square over cells with >= 5 expected draws (tail cells pooled into one).
    big = expected >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    df = len(exp) - 1
    # chi-square with df degrees of freedom has mean df and sd sqrt(2 df): allow 5 sd.
    assert chi2 < df + 5 * math.sqrt(2 * df), f"chi2={chi2:.1f} with df={df}"
    # and the most popular key is sampled at its probability within 4 binomial sd
    p0 = w.key_popularity()[0]
    assert abs(counts[0] / n - p0) < 4 * math.sqrt(p0 * (1 - p0) / n)


def test_sampling_is_deterministic_given_the_generator():
    w = Workload(keys=1000)
    a = w.sample_keys(np.random.default_rng(3), 1000)
    b = w.sample_keys(np.random.default_rng(3), 1000)
    np.testing.assert_array_equal(a, b)


def test_single_key_space_always_samples_key_zero():
    assert set(Workload(keys=1).sample_keys(np.random.default_rng(0), 100).tolist()) == {0}


@pytest.mark.parametrize("read_ratio", [0.0, 0.3, 0.9, 1.0])
def test_write_share_is_one_minus_read_ratio(read_ratio):
    n = 100_000
    writes = Workload(read_ratio=read_ratio).sample_writes(np.random.default_rng(1), n)
    assert writes.dtype == bool and writes.shape == (n,)
    p = 1 - read_ratio
    # 4 binomial standard deviations (exact at 0 and 1)
    assert abs(writes.mean() - p) <= 4 * math.sqrt(p * (1 - p) / n)
