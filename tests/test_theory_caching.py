"""The LFU bound with writes: a write drops its key, so a read of a cached key hits only when the key's
previous request was a read (1 - w); hits / reads is (1 - w) x the top-C keys' share, whatever the order
in which the popularities are given."""

import numpy as np
import pytest

from chapter1 import analytic


@pytest.mark.parametrize("write_share", [0.1, 0.5])
def test_lfu_with_writes_hits_the_reads_of_the_most_popular_keys(write_share):
    popularity = analytic.zipf_popularity(40, 0.9)
    top_eight = np.sort(popularity)[::-1][:8].sum()
    got = analytic.hit_ratio_from_popularity(popularity[::-1], 8, "lfu", write_share=write_share)
    assert got == pytest.approx((1 - write_share) * top_eight, rel=1e-12)
    assert analytic.cache_hit_ratio("lfu", 8, 40, 0.9, write_share=write_share) == pytest.approx(got, rel=1e-12)
