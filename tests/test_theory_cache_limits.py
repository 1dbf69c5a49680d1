"""A cache's theory at the edges of its inputs (chapter 05): a cache of one key, and a skew that is not a number."""

import pytest

from chapter1 import analytic


def test_a_cache_of_one_key_holds_the_most_popular_at_best():
    """LFU (the static top-C bound) keeps the key asked for half the time: 0.5.  LRU keeps the last key asked
    for, which is key i with chance p_i, so it hits sum p_i^2 = 0.38 exactly; Che's approximation is close."""
    popularity = [0.5, 0.3, 0.2]
    assert analytic.hit_ratio_from_popularity(popularity, 1, "lfu") == pytest.approx(0.5, rel=1e-12)
    assert analytic.hit_ratio_from_popularity(popularity, 1, "lru") == pytest.approx(0.38, abs=0.02)


@pytest.mark.parametrize("zipf_s, error", [("1", TypeError), (float("nan"), ValueError), (-0.5, ValueError)])
def test_a_skew_that_is_not_a_number_at_least_zero_is_named_with_its_range(zipf_s, error):
    with pytest.raises(error) as raised:
        analytic.cache_hit_ratio("lru", 10, 100, zipf_s)
    assert str(raised.value) == f"zipf_s must be a number >= 0; got {zipf_s!r}"
