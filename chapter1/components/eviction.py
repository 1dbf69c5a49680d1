"""Eviction policies: which key a full cache drops to make room for a new one.

Each policy is one small class holding the keys of one cache (at most ``capacity``):

* ``lookup(key)`` -> True on a hit (and updates what the policy remembers about the key);
* ``insert(key)`` -> the key evicted to make room, or None (called after a miss; the key is absent);
* ``remove(key)`` drops a key (a write invalidated it, or it expired); ``clear()`` empties the cache;
* ``fill(keys)`` loads distinct absent keys, oldest first, into a cache with room for them (a warm start);
* ``key in policy`` and ``len(policy)``.

A new policy is one class added to :data:`EVICTION`.

>>> cache = LRU(2)
>>> [cache.insert(k) for k in "ab"], cache.lookup("a"), cache.insert("c")   # b is least recently used
([None, None], True, 'b')
"""

import random as _random
from collections import OrderedDict

import numpy as np


class Policy:
    """What every policy shares: ``members`` names its table of exactly the cached keys, ``parts`` the
    other tables :meth:`clear` empties; :meth:`reset` puts anything else back as new."""

    members, parts = "keys", ()

    def fill(self, keys):
        for key in keys:
            self.insert(key)

    def clear(self):
        for name in (self.members, *self.parts):
            getattr(self, name).clear()
        self.reset()

    def reset(self):
        pass

    def __contains__(self, key):
        return key in getattr(self, self.members)

    def __len__(self):
        return len(getattr(self, self.members))


class LRU(Policy):
    """Least recently used: a hit moves the key to the front; the key at the back goes.

    A warm start from an array of integer keys (:meth:`fill` of an empty cache) is kept as that array, oldest
    first, with a flag per key: a key leaves it when read, removed or evicted, so a warm-up of 20,000 keys
    costs no dictionary of 20,000 entries for a run that reads a few thousand.

    >>> cache = LRU(3)
    >>> cache.fill(np.array([4, 7, 9])); cache.lookup(4), cache.insert(5), 4 in cache, len(cache)
    (True, 7, True, 3)
    """

    def __init__(self, capacity, seed=0):
        self.capacity, self.keys = capacity, OrderedDict()
        self.reset()

    def reset(self):
        self.cold, self.flag, self.next, self.left = None, None, 0, 0  # the warm start's keys not used since

    def _is_cold(self, key):
        return self.left > 0 and isinstance(key, (int, np.integer)) and 0 <= key < len(self.flag) and self.flag[key]

    def _warm(self, key):
        """Take a key out of the warm start's array (read, removed or evicted)."""
        self.flag[key] = False
        self.left -= 1

    def lookup(self, key):
        keys = self.keys
        if key in keys:
            keys.move_to_end(key)
            return True
        if self.left and self._is_cold(key):  # (a run asks thousands of times: no call when nothing is cold)
            self.flag[key] = False
            self.left -= 1
            keys[key] = None
            return True
        return False

    def insert(self, key):
        evicted = self._evict() if len(self) >= self.capacity else None
        self.keys[key] = None
        return evicted

    def _evict(self):
        if not self.left:
            return self.keys.popitem(last=False)[0]
        while not self.flag[self.cold[self.next]]:  # keys read or removed since the warm start are passed
            self.next += 1
        key = int(self.cold[self.next])
        self._warm(key)
        return key

    def remove(self, key):
        if self.keys.pop(key, self) is self and self._is_cold(key):
            self._warm(key)

    def fill(self, keys):
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu" and not self and len(keys):
            if keys.min() >= 0:
                self.cold, self.next, self.left = keys, 0, len(keys)
                self.flag = np.zeros(int(keys.max()) + 1, dtype=bool)
                self.flag[keys] = True
                return
        if self.left:  # a warm start to add to: its keys first, as a dictionary
            self.keys = OrderedDict((int(k), None) for k in self.cold[self.next:] if self.flag[k]) | self.keys
            self.reset()
        keys = keys.tolist() if isinstance(keys, np.ndarray) else keys
        if self.keys:
            self.keys.update(dict.fromkeys(keys))
        else:  # an empty cache (a warm start) is built at once: several times faster than updating it
            self.keys = OrderedDict.fromkeys(keys)

    def clear(self):
        self.keys.clear()
        self.reset()

    def __contains__(self, key):
        return key in self.keys or self._is_cold(key)

    def __len__(self):
        return len(self.keys) + self.left

    def ordered(self):
        """The keys held, the next to go first (for LRU the least recently used).

        >>> cache = LRU(3)
        >>> cache.fill(np.array([4, 7, 9])); cache.lookup(4), cache.ordered()
        (True, [7, 9, 4])
        """
        cold = [] if not self.left else [int(k) for k in self.cold[self.next:] if self.flag[k]]
        return cold + list(self.keys)


class FIFO(LRU):
    """First in, first out: the key that came in first goes, however often it was asked for."""

    def lookup(self, key):
        return key in self


class LFU(Policy):
    """Least frequently used: the key with the fewest hits since it came in goes (ties: the least recently used).

    Counts live while a key is cached (an evicted key starts again from one), as in most real caches.
    Buckets of keys by count keep every step O(1).
    """

    members, parts = "count", ("buckets",)

    def __init__(self, capacity, seed=0):
        self.capacity, self.count, self.buckets, self.lowest = capacity, {}, {}, 0

    def reset(self):
        self.lowest = 0

    def lookup(self, key):
        n = self.count.get(key)
        if n is None:
            return False
        if self._unlink(key, n):
            self.lowest = n + 1
        self.count[key] = n + 1
        self.buckets.setdefault(n + 1, OrderedDict())[key] = None
        return True

    def insert(self, key):
        evicted = None
        if len(self.count) >= self.capacity:
            bucket = self.buckets[self.lowest]
            evicted = bucket.popitem(last=False)[0]
            if not bucket:
                del self.buckets[self.lowest]
            del self.count[evicted]
        self.count[key], self.lowest = 1, 1
        self.buckets.setdefault(1, OrderedDict())[key] = None
        return evicted

    def remove(self, key):
        n = self.count.pop(key, None)
        if n is not None and self._unlink(key, n):
            self.lowest = min(self.buckets, default=0)

    def _unlink(self, key, n):
        """Take ``key`` out of the bucket of count ``n``; True when that emptied the lowest bucket."""
        bucket = self.buckets[n]
        del bucket[key]
        if bucket:
            return False
        del self.buckets[n]
        return self.lowest == n


class Random(Policy):
    """Random eviction: a key drawn uniformly from the cache goes (seeded: the same run evicts the same keys)."""

    members, parts = "where", ("slots",)

    def __init__(self, capacity, seed=0):
        self.capacity, self.slots, self.where, self.rng = capacity, [], {}, _random.Random(seed)

    def lookup(self, key):
        return key in self.where

    def insert(self, key):
        evicted = None
        if len(self.slots) >= self.capacity:
            evicted = self.slots[self.rng.randrange(len(self.slots))]
            self.remove(evicted)
        self.where[key] = len(self.slots)
        self.slots.append(key)
        return evicted

    def remove(self, key):
        k = self.where.pop(key, None)
        if k is not None:
            last = self.slots.pop()
            if k < len(self.slots):
                self.slots[k], self.where[last] = last, k


class SIEVE(Policy):
    """SIEVE (Zhang et al., NSDI 2024): a FIFO queue with one "visited" bit per key and a moving hand.

    A hit only sets the bit.  To evict, the hand walks from the oldest key towards the newest,
    clearing set bits, and drops the first key whose bit is clear; it stays there for next time.
    New keys go in at the newest end.  Simpler than LRU (nothing moves on a hit) and often better.
    """

    members, parts = "visited", ("newer", "older")

    def __init__(self, capacity, seed=0):
        self.capacity, self.newer, self.older, self.visited = capacity, {}, {}, {}
        self.reset()

    def reset(self):
        self.newest = self.oldest = self.hand = None

    def lookup(self, key):
        if key in self.visited:
            self.visited[key] = True
            return True
        return False

    def insert(self, key):
        evicted = None
        if len(self.visited) >= self.capacity:
            hand = self.hand if self.hand is not None else self.oldest
            while self.visited[hand]:
                self.visited[hand] = False
                hand = self.newer[hand] if self.newer[hand] is not None else self.oldest
            self.hand = self.newer[hand]
            evicted = hand
            self.remove(hand)
        self.visited[key], self.older[key], self.newer[key] = False, self.newest, None
        if self.newest is not None:
            self.newer[self.newest] = key
        self.newest = key
        if self.oldest is None:
            self.oldest = key
        return evicted

    def remove(self, key):
        if key not in self.visited:
            return
        older, newer = self.older.pop(key), self.newer.pop(key)
        del self.visited[key]
        if self.hand == key:
            self.hand = newer
        if older is None:
            self.oldest = newer
        else:
            self.newer[older] = newer
        if newer is None:
            self.newest = older
        else:
            self.older[newer] = older


class S3FIFO(Policy):
    """S3-FIFO (Yang et al., SOSP 2023): a small FIFO for newcomers, a main FIFO, and a ghost list of keys.

    A new key enters the small queue (a tenth of the space).  Leaving it, a key asked for at least
    twice more since it came in moves to the main queue; the others are dropped, their names kept
    in the ghost list (up to 90 % of the capacity).  A key found in the ghost list goes straight to
    the main queue.  The main queue gives a key asked for again another turn (its count, at most 3,
    goes down by one) and drops the others.  Most one-hit wonders leave quickly through the small
    queue.  Details as in libCacheSim's S3FIFO (until the first eviction, newcomers that find the
    small queue full go to the main queue).
    """

    members, parts = "freq", ("small", "main", "ghost")

    def __init__(self, capacity, seed=0, small_share=0.1, ghost_share=0.9):
        self.capacity = capacity
        self.small_size = max(1, int(capacity * small_share))
        self.main_size, self.ghost_size = capacity - self.small_size, int(capacity * ghost_share)
        self.small, self.main, self.ghost, self.freq = OrderedDict(), OrderedDict(), OrderedDict(), {}
        self.evicted_once = False

    def lookup(self, key):
        n = self.freq.get(key)
        if n is None:
            return False
        self.freq[key] = n + 1
        return True

    def insert(self, key):
        seen = self.ghost.pop(key, False) is None  # ghost entries hold None
        evicted = None
        while len(self.freq) >= self.capacity:
            gone = self._evict()
            evicted = gone if evicted is None else evicted
        self.freq[key] = 0
        small_full = not self.evicted_once and len(self.small) >= self.small_size
        (self.main if seen or small_full else self.small)[key] = None
        return evicted

    def _evict(self):
        self.evicted_once = True
        if len(self.main) > self.main_size or not self.small:
            return self._evict_main()
        while self.small:
            key = self.small.popitem(last=False)[0]
            if self.freq[key] >= 2:
                self.main[key], self.freq[key] = None, 0
            else:
                del self.freq[key]
                if self.ghost_size and key not in self.ghost:
                    if len(self.ghost) >= self.ghost_size:
                        self.ghost.popitem(last=False)
                    self.ghost[key] = None
                return key
        return None

    def _evict_main(self):
        while self.main:
            key = self.main.popitem(last=False)[0]
            n = self.freq[key]
            if n >= 1:
                self.main[key], self.freq[key] = None, min(n, 3) - 1
            else:
                del self.freq[key]
                return key
        return None

    def remove(self, key):
        self.ghost.pop(key, None)
        if self.freq.pop(key, None) is not None:
            self.small.pop(key, None)
            self.main.pop(key, None)

    def reset(self):
        self.evicted_once = False


EVICTION = {"lru": LRU, "lfu": LFU, "fifo": FIFO, "random": Random, "sieve": SIEVE, "s3fifo": S3FIFO}


def run_policy(policy, capacity, keys, writes=None, seed=0, warmup=0, warm=()):
    """Hits of a cache of ``capacity`` keys under ``policy`` over the key sequence ``keys`` (a read-only
    trace unless ``writes`` marks the writes, which remove their key); the share of the reads after
    the first ``warmup`` requests that hit.  ``warm``: distinct keys loaded first, oldest first.

    >>> run_policy("lru", 2, [0, 1, 0, 2, 1, 0])   # hits: the second 0 only
    0.16666666666666666
    """
    if policy not in EVICTION:
        raise ValueError(f"policy must be one of {', '.join(repr(p) for p in EVICTION)}; got {policy!r}")
    cache = EVICTION[policy](capacity, seed)
    cache.fill(list(warm)[-capacity:] if len(warm) else [])
    lookup, insert, remove = cache.lookup, cache.insert, cache.remove
    hits = reads = 0
    keys = keys.tolist() if hasattr(keys, "tolist") else list(keys)
    writes = [False] * len(keys) if writes is None else (writes.tolist() if hasattr(writes, "tolist") else writes)
    for n, (key, write) in enumerate(zip(keys, writes)):
        if write:
            remove(key)
            continue
        hit = lookup(key)
        if not hit:
            insert(key)
        if n >= warmup:
            reads += 1
            hits += hit
    return hits / reads if reads else float("nan")
