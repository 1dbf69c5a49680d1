"""Which key each eviction policy drops, on requests placed by hand, and what run_policy counts.

Every policy of chapter1/components/eviction.py promises the same small interface (lookup, insert, remove,
clear, fill); the scenarios below are short enough that every eviction is known in advance from the
policy's docstring.
"""

import math
import re

import numpy as np
import pytest

from chapter1.components.eviction import EVICTION, LFU, LRU, S3FIFO, SIEVE, run_policy


def evictions(cache, requests):
    """Reads through ``cache`` (a miss inserts); the keys each miss evicted, in order.  ``requests``: a list
    of keys, or a string of one-letter keys; '-k' removes k."""
    out = []
    for key in re.findall(r"-?\w", requests) if isinstance(requests, str) else requests:
        if key.startswith("-"):
            cache.remove(key[1:])
        elif not cache.lookup(key):
            gone = cache.insert(key)
            if gone is not None:
                out.append(gone)
    return out


def trace(n=400, keys=12, seed=0):
    """A short random sequence of reads with a few removes ('-k'), the same for every policy."""
    rng = np.random.default_rng(seed)
    return [("-" if rng.random() < 0.08 else "") + str(int(k)) for k in rng.integers(0, keys, n)]


# -- LRU and FIFO --------------------------------------------------------------------------------------


def test_lru_drops_the_key_used_longest_ago_and_a_hit_renews_it():
    assert evictions(LRU(3), "abcadbe") == ["b", "c", "a"]   # a renewed: b goes, then c, then a
    assert evictions(LRU(3), "abcde") == ["a", "b"]


def test_fifo_drops_the_first_in_however_often_it_was_asked_for():
    assert evictions(EVICTION["fifo"](3), "abcaaad") == ["a"]
    cache = EVICTION["fifo"](2)
    assert not cache.lookup("a") and cache.insert("a") is None and cache.lookup("a")


def test_a_cache_of_one_key_keeps_only_the_last():
    for policy in sorted(EVICTION):
        cache = EVICTION[policy](1, 0)
        assert evictions(cache, "abab") == ["a", "b", "a"], policy
        assert len(cache) == 1 and "b" in cache and "a" not in cache


def test_a_cache_with_room_evicts_nothing():
    for policy in sorted(EVICTION):
        cache = EVICTION[policy](5, 0)
        assert evictions(cache, "abcdeabcde") == [], policy
        assert len(cache) == 5 and all(k in cache for k in "abcde")
        assert evictions(cache, "f") != [], f"{policy}: a sixth key makes room"


# -- LFU -------------------------------------------------------------------------------------------


def test_lfu_drops_the_least_asked_for_ties_to_the_least_recently_used():
    assert evictions(LFU(3), "abcaabd") == ["c"]     # counts a 3, b 2, c 1
    assert evictions(LFU(3), "abcbad") == ["c"]      # a 2, b 2, c 1
    assert evictions(LFU(3), "abcd") == ["a"]        # all 1: a was used longest ago
    assert evictions(LFU(3), "abccbad") == ["c"]     # all 2: c's last use is the oldest


def test_lfu_counts_start_again_for_a_key_that_comes_back():
    # a is asked for 3 times, then removed: back, it counts 1, fewer than b's 2
    assert evictions(LFU(2), "aaab-aabc") == ["a"]


def test_lfu_can_lose_its_last_key():
    cache = LFU(2)
    assert evictions(cache, "aa-a") == [] and len(cache) == 0
    assert evictions(cache, "bcd") == ["b"]


def test_lfu_after_the_lowest_count_empties_looks_for_the_next():
    # b and c are hit (count 2); a (count 1) is removed, d takes its room, e then drops d (the only count 1)
    assert evictions(LFU(3), "abcbc-ade") == ["d"]
    assert evictions(LFU(3), "abcbc-ad-de") == []
    cache = LFU(3)
    evictions(cache, "abbcc")                         # a 1, b 2, c 2
    cache.lookup("a")                                 # a 2: the bucket of count 1 empties
    assert cache.insert("d") == "b" and "a" in cache   # all three at 2: b's last use is the oldest


# -- SIEVE -----------------------------------------------------------------------------------------


def test_sieve_passes_visited_keys_and_the_hand_stays_where_it_stopped():
    assert evictions(SIEVE(3), "abcad") == ["b"]      # a visited: cleared and passed; b goes
    assert evictions(SIEVE(3), "abcade") == ["b", "c"]
    assert evictions(SIEVE(3), "abcabcd") == ["a"]    # all visited: one lap clears them, then a goes
    assert evictions(SIEVE(3), "abcdbe") == ["a", "c"]  # hand at b (visited): passes it, drops c


def test_sieve_hand_wraps_from_the_newest_to_the_oldest():
    # a b c, then d drops a, hand on b; b, c, d all visited: the hand walks b c d, wraps to b (now clear)
    assert evictions(SIEVE(3), "abcdbcde") == ["a", "b"]


def test_sieve_remove_keeps_the_queue_and_the_hand_consistent():
    assert evictions(SIEVE(3), "abc-ade") == ["b"]     # a removed: d fills its room, e drops the oldest b
    assert evictions(SIEVE(3), "abcd-bef") == ["a", "c"]  # the hand was on b: removing it moves it to c
    assert evictions(SIEVE(3), "abc-cde") == ["a"]     # the newest removed: d becomes the newest after b
    assert evictions(SIEVE(3), "abcad-cef") == ["b", "d"]   # the hand was on c (removed): it moves on to d
    assert evictions(SIEVE(3), "abc-bdae") == ["c"]     # b removed from the middle: the hand goes from a to c
    assert evictions(SIEVE(3), "abc-cdabe") == ["d"]    # c (the newest) removed: d follows b in the queue
    cache = SIEVE(2)
    assert evictions(cache, "ab-a-bcde") == ["c"] and len(cache) == 2
    cache.remove("zz")                                  # an absent key: nothing happens
    assert len(cache) == 2 and "d" in cache and "e" in cache


# -- S3-FIFO ---------------------------------------------------------------------------------------


def fill_s3fifo(capacity=10):
    """A full S3-FIFO of ``capacity`` keys 0..capacity-1: the first in the small queue (a tenth), the rest in main."""
    cache = S3FIFO(capacity)
    for key in range(capacity):
        assert cache.insert(key) is None
    return cache


def test_s3fifo_sizes_its_queues_from_the_capacity():
    cache = S3FIFO(100)
    assert (cache.small_size, cache.main_size, cache.ghost_size) == (10, 90, 90)
    assert (S3FIFO(5).small_size, S3FIFO(5).ghost_size) == (1, 4)  # at least one key in the small queue
    assert S3FIFO(100, small_share=0.25, ghost_share=0.5).small_size == 25
    assert S3FIFO(100, small_share=0.25, ghost_share=0.5).ghost_size == 50


def test_s3fifo_newcomers_go_to_main_until_the_first_eviction_when_the_small_queue_is_full():
    cache = fill_s3fifo()
    assert list(cache.small) == [0] and list(cache.main) == list(range(1, 10))
    assert cache.insert(10) == 0 and list(cache.small) == [10]  # after an eviction, newcomers enter small


def test_s3fifo_a_one_hit_wonder_leaves_through_the_small_queue_and_is_remembered():
    cache = fill_s3fifo()
    assert cache.insert(10) == 0 and list(cache.ghost) == [0]
    assert cache.insert(0) == 10, "the newcomer in the small queue goes first"
    assert 0 in cache.main and list(cache.ghost) == [10], "a ghost key comes back straight to main"
    assert cache.insert(11) == 1, "main is over its size: its oldest unvisited key goes"


def test_s3fifo_a_key_asked_for_twice_in_the_small_queue_moves_to_main():
    cache = fill_s3fifo()
    cache.lookup(0)
    assert cache.insert(10) == 0, "asked for once more: dropped"
    cache = fill_s3fifo()
    cache.lookup(0), cache.lookup(0)
    assert cache.insert(10) == 1 and 0 in cache.main and cache.freq[0] == 0
    assert list(cache.ghost) == [], "a key evicted from main is not remembered"


def test_s3fifo_main_gives_a_visited_key_another_turn_its_count_capped_at_three():
    cache = fill_s3fifo()
    for _ in range(5):
        cache.lookup(1)
    for _ in range(3):
        cache.lookup(2)
    cache.lookup(3)
    cache.insert(10)                                   # evicts 0 (small) into the ghost list
    cache.insert(0)                                    # 10 leaves small; 0 joins main: main is over its size
    assert cache.insert(11) == 4, "1, 2 and 3 were visited: each gets another turn"
    assert [cache.freq[k] for k in (1, 2, 3)] == [2, 2, 0], "a count above 3 counts as 3, less one a turn"
    gone = []
    for key in range(20, 60):  # a ghost comes back to main (the newcomer leaves small); a new key evicts from main
        cache.insert(next(iter(cache.ghost)))
        gone.append(cache.insert(key))
    order = [k for k in gone if k in (1, 2, 3)]
    assert order[:3] == [3, 1, 2], "3 (no turn left) first; then 1 and 2, equal after the cap, in their order"


def test_s3fifo_small_queue_leaves_oldest_first_and_main_over_its_size_goes_first():
    cache = S3FIFO(20)                                  # small queue of 2, main of 18
    for key in range(20):
        cache.insert(key)
    assert list(cache.small) == [0, 1]
    assert cache.insert(20) == 0 and list(cache.small) == [1, 20]
    assert cache.insert(21) == 1, "the oldest of the small queue leaves first"
    cache.remove(20)                                    # room: the small queue holds 21 alone
    cache.insert(22)
    cache.insert(23)                                    # evicts 21 from small; small: 22, 23
    cache.remove(22)
    assert cache.insert(1) is None and 1 in cache.main, "a ghost comes back to main: 19 there, one over its size"
    assert cache.insert(24) == 2, "main over its size gives up its oldest before small does"


def test_s3fifo_after_the_first_eviction_newcomers_always_enter_the_small_queue():
    cache = S3FIFO(20)
    for key in range(21):
        cache.insert(key)                               # 20 evicts 0: small holds 1 and 20, full
    cache.remove(5)                                     # room in main
    assert cache.insert(21) is None and 21 in cache.small and len(cache.small) == 3


def test_s3fifo_ghost_list_keeps_the_latest_names_only():
    cache = S3FIFO(10, ghost_share=0.2)                 # room for 2 ghost names
    for key in range(10):
        cache.insert(key)
    for key in range(10, 14):                           # each newcomer pushes the previous one out of small
        cache.insert(key)
    assert list(cache.ghost) == [11, 12]
    assert S3FIFO(10, ghost_share=0.0).ghost_size == 0
    cache = S3FIFO(10, ghost_share=0.0)
    evictions(cache, [str(k) for k in range(14)])
    assert list(cache.ghost) == [], "no ghost list at all"


def test_s3fifo_removes_from_every_queue():
    cache = fill_s3fifo()
    cache.insert(10)                                    # 0 is a ghost, 10 in small, 1..9 in main
    for key in (0, 10, 5):
        cache.remove(key)
    assert 0 not in cache.ghost and 10 not in cache.small and 5 not in cache.main
    assert len(cache) == 8 and 10 not in cache and 5 not in cache
    assert cache.insert(0) is None and 0 in cache.small, "a removed ghost is forgotten: 0 starts in small"


# -- shared promises: clear, fill, remove, membership ---------------------------------------------------


@pytest.mark.parametrize("policy", sorted(EVICTION))
def test_a_cleared_cache_behaves_as_a_new_one(policy):
    used = EVICTION[policy](5, 7)
    evictions(used, trace(seed=1))
    used.clear()
    assert len(used) == 0 and not any(str(k) in used for k in range(12))
    if policy != "random":                              # random's draws go on from where they were
        assert evictions(used, trace(seed=2)) == evictions(EVICTION[policy](5, 7), trace(seed=2))
    else:
        assert set(evictions(used, trace(seed=2))) <= {str(k) for k in range(12)}


@pytest.mark.parametrize("policy", sorted(EVICTION))
def test_fill_is_inserting_the_keys_oldest_first(policy):
    filled, inserted = EVICTION[policy](6, 3), EVICTION[policy](6, 3)
    filled.fill(list("abcd"))
    for key in "abcd":
        inserted.insert(key)
    assert len(filled) == 4
    assert evictions(filled, trace(seed=3)) == evictions(inserted, trace(seed=3))
    more = EVICTION[policy](6, 3)
    more.fill(list("ab"))
    more.fill(list("cd"))                               # a second fill adds to the first
    assert len(more) == 4 and all(k in more for k in "abcd")
    if policy in ("lru", "fifo"):
        assert evictions(more, "efg") == ["a"]


@pytest.mark.parametrize("policy", sorted(EVICTION))
def test_membership_follows_every_insert_remove_and_eviction(policy):
    cache, held = EVICTION[policy](5, 11), set()
    for key in trace(n=600, seed=4):
        if key.startswith("-"):
            cache.remove(key[1:])
            held.discard(key[1:])
        else:
            hit = cache.lookup(key)
            assert hit == (key in held), f"{policy}: a lookup hits exactly the cached keys"
            if not hit:
                gone = cache.insert(key)
                assert (gone is None) == (len(held) < 5), f"{policy} evicts only when full"
                held.discard(gone)
                held.add(key)
        assert len(cache) == len(held) <= 5 and all(k in cache for k in held)


def test_random_eviction_draws_every_cached_key_alike_and_is_seeded():
    counts = {k: 0 for k in "abcd"}
    for seed in range(2_000):
        cache = EVICTION["random"](4, seed)
        cache.fill(list("abcd"))
        counts[cache.insert("e")] += 1
    # each of 4 keys: binomial(2000, 1/4), sd 19; 4 sd either side
    assert all(abs(n - 500) < 80 for n in counts.values()), counts
    first = evictions(EVICTION["random"](4, 9), trace(seed=5))
    assert first == evictions(EVICTION["random"](4, 9), trace(seed=5))
    assert first != evictions(EVICTION["random"](4, 10), trace(seed=5))


# -- run_policy ------------------------------------------------------------------------------------


def test_run_policy_counts_the_share_of_reads_that_hit():
    assert run_policy("lru", 2, [0, 1, 0, 2, 1, 0]) == 1 / 6
    assert run_policy("lru", 2, np.array([0, 1, 0, 2, 1, 0])) == 1 / 6
    assert run_policy("fifo", 2, [0, 1, 0, 0, 2, 0]) == 2 / 6   # FIFO: 0 goes out at 2 despite its hits
    assert run_policy("lru", 3, [0, 1, 0, 2, 1, 0]) == 3 / 6


def test_run_policy_warmup_requests_fill_the_cache_without_counting():
    keys = [0, 1, 0, 1, 2, 0]
    assert run_policy("lru", 2, keys, warmup=2) == 2 / 4        # reads 0 1 2 0: hits 0 and 1
    assert run_policy("lru", 2, keys, warmup=5) == 0 / 1
    assert math.isnan(run_policy("lru", 2, keys, warmup=6)), "no read left to count"
    assert math.isnan(run_policy("lru", 2, []))


def test_run_policy_writes_remove_their_key_and_are_not_reads():
    keys, writes = [0, 0, 0, 0], [False, False, True, False]
    assert run_policy("lru", 2, keys, writes=writes) == 1 / 3   # read 0 (miss), 0 (hit), write, 0 (miss again)
    assert run_policy("lru", 2, keys, writes=np.array(writes)) == 1 / 3
    assert run_policy("lru", 2, keys, writes=[False] * 4) == 3 / 4


def test_run_policy_warm_keys_are_loaded_first_the_latest_kept():
    assert run_policy("lru", 2, [0, 1], warm=[0, 1]) == 1.0
    assert run_policy("lru", 2, [1, 2, 0], warm=[0, 1, 2]) == 2 / 3   # only 1 and 2 fit: 0 misses
    assert run_policy("lru", 2, [2, 0], warm=np.array([0, 1, 2])) == 1 / 2
    assert run_policy("lru", 2, [0, 1], warm=()) == 0.0


def test_run_policy_names_the_policies_it_knows():
    with pytest.raises(ValueError, match=r"policy must be one of 'lru', 'lfu', 'fifo', 'random', 'sieve', "
                                         r"'s3fifo'; got 'mru'"):
        run_policy("mru", 2, [0])


def test_run_policy_random_uses_its_seed():
    keys = [int(k) for k in np.random.default_rng(0).integers(0, 30, 3_000)]
    ratios = {seed: run_policy("random", 10, keys, seed=seed) for seed in range(4)}
    assert ratios[0] == run_policy("random", 10, keys), "seed 0 unless told"
    assert evictions(EVICTION["random"](4), trace(seed=6)) == evictions(EVICTION["random"](4, 0), trace(seed=6))
    assert len(set(ratios.values())) > 1


@pytest.mark.parametrize("kind", [LRU, EVICTION["fifo"]])
@pytest.mark.parametrize("seed", range(40))
def test_a_warm_start_kept_as_an_array_behaves_as_the_dictionary(kind, seed):
    """Filled from an array of integer keys, an LRU (or FIFO) keeps them lazily: the same hits, evictions, members
    and sizes as the same cache filled from a list, over random reads, removals, fills and clears."""
    rng = np.random.default_rng(seed)
    capacity, space = int(rng.integers(1, 40)), int(rng.integers(2, 80))
    warm = rng.permutation(space)[:int(rng.integers(1, min(capacity, space) + 1))]
    lazy, plain = kind(capacity), kind(capacity)
    lazy.fill(warm.astype(rng.choice([np.int64, np.int32, np.uint16])))
    plain.fill(warm.tolist())
    assert lazy.cold is not None and len(lazy.keys) == 0  # (the array is kept, not turned into a dictionary)
    for _ in range(300):
        step, key = rng.random(), int(rng.integers(space))
        if step < 0.6:
            hit = plain.lookup(key)
            assert lazy.lookup(key if step < 0.3 else np.int64(key)) == hit
            if not hit:
                assert lazy.insert(key) == plain.insert(key)
        elif step < 0.85:
            lazy.remove(key), plain.remove(key)
        elif step < 0.9 and len(plain) + 3 <= capacity:
            more = [k for k in rng.permutation(space).tolist() if k not in plain][:3]
            lazy.fill(np.array(more, dtype=np.int64)), plain.fill(more)
        elif step < 0.91:
            lazy.clear(), plain.clear()
            lazy.fill(warm), plain.fill(warm.tolist())
        assert len(lazy) == len(plain)
        assert [k for k in range(space) if k in lazy] == [k for k in range(space) if k in plain]
        assert lazy.ordered() == plain.ordered()
    for k in range(capacity):  # new keys push every older one out, oldest first: the same order of age
        assert lazy.insert(-k - 1) == plain.insert(-k - 1)
