"""A server's service times: one draw of n, whichever way they are read, holding only a few chunks.

(tests/test_engines.py checks the same on whole runs; here one stream of three chunks, read by hand.)
"""

import numpy as np

from chapter1.components.server import DRAW_SHIFT, ServiceTimes

N = 2 * (1 << DRAW_SHIFT) + 100  # two whole chunks and a short third


def times():
    return ServiceTimes(np.random.default_rng(9), 0.02, N), np.random.default_rng(9).exponential(0.02, N)


def test_a_block_read_with_keep_holds_the_chunks_it_drew_and_one_without_holds_none():
    kept, whole = times()
    block = np.arange(100, (1 << DRAW_SHIFT) + 50)  # requests in order of arrival, across chunks 0 and 1
    assert np.array_equal(kept.take(block, keep=True), whole[block])
    assert sorted(kept.chunks) == [0, 1], "the blocks that follow read the same chunks without drawing again"
    plain, _ = times()
    assert np.array_equal(plain.take(block), whole[block]) and plain.chunks == {}


def test_a_share_taken_after_reads_one_at_a_time_is_the_same_draw():
    served, whole = times()
    assert [served[i] for i in (5, N - 1)] == [whole[5], whole[N - 1]]  # chunks 0 and 2 held now
    share = np.array([0, 7, 1 << DRAW_SHIFT, N - 2])
    assert np.array_equal(served.take(share), whole[share])
    assert np.array_equal(served.take(share, keep=True), whole[share])


def test_a_share_of_late_requests_reads_only_its_own_chunks():
    late, whole = times()
    share = np.array([(1 << DRAW_SHIFT) + 3, N - 1])  # chunks 1 and 2
    assert np.array_equal(late.take(share), whole[share]) and late.chunks == {}
    assert np.array_equal(late.take(share[1:], keep=True), whole[share[1:]])
