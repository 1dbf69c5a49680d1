"""How many virtual nodes a shard needs for a spread: the fewest v with sqrt((n - 1) / (n v + 1)) <= target
(1 / sqrt(v) <= target without a shard count), exact at the boundary and up to the 1,000,000-vnode limit."""

import math
import threading

import pytest

from chapter1 import analytic


def test_vnodes_for_a_spread_without_a_shard_count_is_one_over_the_target_squared():
    assert [analytic.vnodes_for_spread(t) for t in (0.1, 0.05, 0.5, 0.3, 1.0)] == [100, 400, 4, 12, 1]


def promptly(call, *args):
    """call(*args), failing the test if no answer comes within 5 s (it takes microseconds; a search that never
    ends must fail, not hang)."""
    out = []
    worker = threading.Thread(target=lambda: out.append(call(*args)), daemon=True)
    worker.start()
    worker.join(5)
    assert out, f"{call.__name__}{args} gave no answer within 5 s"
    return out[0]


@pytest.mark.parametrize("vnodes, shards", [(1, 2), (2, 2), (7, 4), (350, 8), (999_999, 3), (10**6, 2),
                                            (10**6, 1_000), (12_345, 10**6)])
def test_the_spread_of_v_vnodes_needs_exactly_v_and_a_hair_less_needs_one_more(vnodes, shards):
    spread = analytic.load_spread(vnodes, shards)
    assert promptly(analytic.vnodes_for_spread, spread, shards) == vnodes
    if vnodes < 10**6:
        assert promptly(analytic.vnodes_for_spread, spread * (1 - 1e-12), shards) == vnodes + 1


def test_a_spread_no_ring_can_reach_is_refused_with_the_smallest_reachable():
    """Two shards of 1,000,000 vnodes: sqrt(1 / 2,000,001) = 0.00071 is the least spread."""
    with pytest.raises(ValueError, match=r"^target must be a spread 1,000,000 vnodes a shard can reach, about "
                                         r"0\.00071 or more; got 0\.0001$"):
        analytic.vnodes_for_spread(1e-4, 2)
    with pytest.raises(ValueError, match=r"^target must be a spread 1,000,000 vnodes a shard can reach, about "
                                         r"0\.00071 or more; got 0\.000707"):
        analytic.vnodes_for_spread(analytic.load_spread(10**6, 2) * (1 - 1e-9), 2)


def test_shard_counts_are_named_with_their_range():
    with pytest.raises(ValueError, match=r"^shards must be a whole number in the range \[2, 1,000,000\]; "
                                         r"got 1000001$"):
        analytic.vnodes_for_spread(0.1, 1_000_001)
    with pytest.raises(ValueError, match=r"^shards must be a whole number in the range \[2, 1,000,000\]; got 1$"):
        analytic.vnodes_for_spread(0.1, 1)


@pytest.mark.parametrize("q, k", [(0.99, 8), (0.5, 2), (0.999, 100)])
def test_fan_out_quantile_is_the_single_answers_quantile_at_q_to_the_one_over_k(q, k):
    """P(slowest of k <= t) = (1 - e^(-t / m))^k = q gives t = -m ln(1 - q^(1/k)); 8 shards' p99 at a 10 ms mean
    is 66.8 ms against 46.1 ms for one."""
    assert analytic.fanout_quantile_ms(q, k, 10) == pytest.approx(-10 * math.log(1 - q ** (1 / k)), rel=1e-12)
    t = analytic.fanout_quantile_ms(q, k, 10)
    assert analytic.fanout_cdf(1 - math.exp(-t / 10), k) == pytest.approx(q, rel=1e-12)


@pytest.mark.parametrize("args, message", [
    ((1_000_001,), r"vnodes must be a whole number in the range \[1, 1,000,000\]; got 1000001"),
    ((100, 1_000_001), r"shards must be a whole number in the range \[1, 1,000,000\]; got 1000001"),
])
def test_load_spread_limits_are_named_with_their_range(args, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        analytic.load_spread(*args)
