"""Theory functions at edges a learner can reach: integer exponents at millions of keys, defaults that mean
"no caching", a TTL under a second, and refusals worded by name."""

import math

import numpy as np
import pytest

from chapter1.theory import availability, caching, cdn, datacentres, sharding

ZETA_3 = 1.2020569031595942  # Apery's constant: H(N, 3) for N = 3,000,000 differs from it by 1 / (2 N^2)


def test_zipf_popularity_with_a_whole_exponent_over_millions_of_keys_stays_a_distribution():
    p = caching.zipf_popularity(3_000_000, 3)  # an int exponent: k^3 passes int64's range beyond 2,097,152 keys
    assert (p >= 0).all() and math.isclose(p.sum(), 1.0, rel_tol=1e-12)
    assert p[0] == pytest.approx(1 / ZETA_3, rel=1e-9)
    assert np.array_equal(p, caching.zipf_popularity(3_000_000, 3.0))


def test_harmonic_number_with_a_whole_exponent_and_its_upper_bound():
    assert sharding.harmonic(3_000_000, 3) == pytest.approx(ZETA_3, abs=1e-9)
    with pytest.raises(ValueError, match=r"keys must be a whole number in the range \[1, 100,000,000\]"):
        sharding.harmonic(sharding.MAX_KEYS + 1)


def test_a_fetch_is_three_round_trips_unless_told_otherwise():
    assert cdn.fetch_ms(11_000) == 3 * cdn.round_trip_ms(11_000) == 330.0


def test_failover_failures_defaults_mean_no_cached_answers():
    detection_only = 20 * 2.5  # 20 req/s until the check at 20 s notices the death at 17.5 s
    assert datacentres.failover_failures(20, fail_at_s=17.5, interval_s=5) == detection_only
    # a hit ratio with no TTL (answers never kept) and a TTL with no hit ratio (no client caches) add nothing
    assert datacentres.failover_failures(20, fail_at_s=17.5, interval_s=5, hit_ratio=0.3) == detection_only
    assert datacentres.failover_failures(20, fail_at_s=17.5, interval_s=5, ttl_s=10) == detection_only


def test_failover_failures_with_a_ttl_under_a_second():
    # every answer cached, TTL 0.5 s: the cached tail fails for half a TTL on average, 0.25 s of traffic
    assert datacentres.failover_failures(20, fail_at_s=17.5, interval_s=5, ttl_s=0.5, hit_ratio=1.0) == 20 * 2.75


def test_refusals_name_the_parameter():
    with pytest.raises(ValueError, match=r"^rate must be"):
        datacentres.geo_hit_ratio(-1, clients=10, ttl_s=5)
    with pytest.raises(ValueError, match=r"^availabilities must list at least one availability, e\.g\. "
                                         r"availability_series\(0\.99, 0\.999\)$"):
        availability.availability_series()
