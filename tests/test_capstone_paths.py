"""The capstone's faster paths give the figures of the direct ones they replaced."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.capstone import theory
from chapter1.capstone.design import Design

DESIGNS = st.builds(Design, datacentres=st.integers(1, 4), web_servers=st.integers(1, 40),
                    cache_nodes=st.integers(0, 10), shards=st.integers(1, 8), replicas=st.integers(0, 6),
                    consumers=st.integers(1, 40), sessions=st.sampled_from(["shared", "sticky"]),
                    replication=st.sampled_from(["async", "sync"]), cdn=st.booleans(),
                    mode=st.sampled_from(["active-active", "active-passive"]))


@settings(max_examples=40, deadline=None)
@given(design=DESIGNS)
def test_latency_by_fft_gives_the_direct_convolutions_percentiles(design):
    percents = (1, 50, 90, 95, 99, 99.9)
    theory._latency.cache_clear()
    fast = theory.latency_ms(design, percents=percents)
    theory._latency.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(theory, "_convolve", np.convolve)
        direct = theory.latency_ms(design, percents=percents)
    theory._latency.cache_clear()
    assert fast == direct


@pytest.mark.parametrize("fields, expected", [
    (dict(datacentres=2, web_servers=28, sessions="sticky", cache_nodes=3, shards=2, replicas=0, consumers=10),
     {50: 14.25, 90: 91.75, 95: 121.25, 99: 187.25, 99.9: 279.75}),
    (dict(datacentres=3, web_servers=16, cdn=False, sessions="sticky", cache_nodes=2, shards=4, replicas=0,
          consumers=23), {50: 47.25, 90: 116.25, 95: 144.25, 99: 209.25, 99.9: 301.25}),
    (dict(datacentres=3, mode="active-passive", web_servers=29, cache_nodes=5, shards=4, replicas=2, consumers=22),
     {50: 16.75, 90: 88.75, 95: 117.25, 99: 182.25, 99.9: 274.75}),
    (dict(datacentres=3, web_servers=19, cache_nodes=5, shards=4, replicas=4, replication="sync", consumers=8),
     {50: 16.75, 90: 96.25, 95: 125.75, 99: 191.25, 99.9: 283.75}),
])
def test_latency_percentiles_as_the_direct_convolution_gave_them(fields, expected):
    """Figures recorded from the direct (np.convolve) path, before the FFT: the whole path, not only the product."""
    assert theory.latency_ms(Design(**fields), percents=tuple(expected)) == expected
