"""Sharding: one logical database split over several database shards, each key living on one of them.

A :class:`ShardRouter` holds ``shards`` (:class:`~chapter1.components.server.Database` objects, the
same schema on every one) as parts.  Every request carries a key (``Simulation.key``, drawn from the
workload's Zipf popularity, key 0 the most popular); the router hashes the key and sends the request
to the shard that owns it:

* ``scheme="modulo"``: shard = hash(key) mod n.  Simple and even, but adding a shard re-homes
  almost every key (n/(n+1) of them);
* ``scheme="ring"``: a consistent-hash ring.  Each shard puts ``vnodes`` virtual nodes (points) on a
  circle of 2^64 positions; a key belongs to the first point clockwise from its own position.  A new
  shard takes only the arcs in front of its own points, about 1/(n+1) of the keys; more virtual nodes
  make the shards' arcs (and loads) more even, their spread shrinking like 1/sqrt(vnodes).

The **celebrity problem**: ``celebrity_share`` of all requests ask for one key (the *celebrity*,
key 0), on top of the Zipf traffic.  Every one of them lands on the celebrity's shard however many
shards there are.  ``split_celebrity=k`` is the fix: the celebrity's data is kept under k sub-keys
(``key#0`` .. ``key#k-1``, e.g. a copy of a star's profile on k shards), each request for it picks one
at random, so its traffic spreads over up to k shards.

A **cross-shard query** (``fanout`` of the reads, e.g. a join or a search without the shard key) is
sent to every shard at once and waits for the slowest answer.

Faults: a shard that is down fails the requests for its keys (and every cross-shard query); the
router down fails everything.

>>> router = ShardRouter(shards=shard_databases(4), scheme="ring", vnodes=50)
>>> router.describe()[0], [s.name for s in router.parts]
('ring, 50 vnodes per shard', ['shard-1', 'shard-2', 'shard-3', 'shard-4'])
"""

import functools
import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, register
from .server import Database, WebServer

SCHEMES = ("modulo", "ring")
MAX_SHARDS = 256
MAX_VNODES = 10_000
MAX_KEYS = 10_000_000
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def shard_names(count):
    """``shard-1``, ``shard-2``, ...

    >>> shard_names(3)
    ('shard-1', 'shard-2', 'shard-3')
    """
    return tuple(f"shard-{k + 1}" for k in range(count))


def shard_databases(count, **options):
    """``count`` identical database shards named by :func:`shard_names`; options go to every Database."""
    check.number("shards", count, low=1, high=MAX_SHARDS, integer=True)
    return tuple(Database(name=n, **options) for n in shard_names(count))


def key_hash(keys, salt=0):
    """A 64-bit hash of each integer key (splitmix64, vectorised): where a key sits on the ring.

    ``salt`` gives independent hashes for the sub-keys of a split key.

    >>> int(key_hash(np.array([1]))[0]) == int(key_hash(np.array([1]))[0]), len(set(key_hash(np.arange(1000)).tolist()))
    (True, 1000)
    """
    with np.errstate(over="ignore"):
        z = (np.asarray(keys, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15) * (np.asarray(salt, dtype=np.uint64)
                                                                                    + np.uint64(1))) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def ring_points(names, vnodes, salt=0):
    """The ring: (sorted positions, owner index of each) for shards ``names`` with ``vnodes`` points each.

    A point's position hashes its shard's name and number (and ``salt``, which draws another ring), so a
    shard keeps its points when others join.  A ring is hashed once and kept (a panel asks for the same
    rings again); its arrays are read-only.

    >>> positions, owners = ring_points(shard_names(2), 3)
    >>> len(positions), sorted(owners.tolist()), positions.flags.writeable
    (6, [0, 0, 0, 1, 1, 1], False)
    """
    return _ring(tuple(names), int(vnodes), int(salt))


@functools.lru_cache(maxsize=32, typed=True)
def _ring(names, vnodes, salt):
    ends, digests = [f"#{v}#{salt}".encode() for v in range(vnodes)], []  # each point hashes "<name>#<v>#<salt>"
    for name in map(str.encode, names):  # (the name hashed once, each point's end added to a copy: the same digest)
        copy = hashlib.blake2b(name, digest_size=8).copy
        for end in ends:
            point = copy()
            point.update(end)
            digests.append(point.digest())
    digests = b"".join(digests)
    positions = np.frombuffer(digests, dtype=">u8").astype(np.uint64)  # each digest read as a big-endian number
    owners = np.repeat(np.arange(len(names), dtype=np.int64), vnodes)
    order = np.argsort(positions, kind="stable")
    positions, owners = positions[order], owners[order]
    positions.setflags(write=False)
    owners.setflags(write=False)
    return positions, owners


def ring_shares(shards, vnodes, seed=0):
    """Each shard's share of the ring (the arcs in front of its points), measured on a ring drawn with ``seed``.

    >>> shares = ring_shares(4, 100)
    >>> len(shares), round(float(shares.sum()), 6)
    (4, 1.0)
    """
    check.number("shards", shards, low=1, high=MAX_SHARDS, integer=True)
    check.number("vnodes", vnodes, low=1, high=MAX_VNODES, integer=True)
    check.number("seed", seed, low=0, integer=True)
    positions, owners = ring_points(shard_names(int(shards)), int(vnodes), int(seed))
    spots = positions.astype(float) / 2.0**64
    arcs = np.diff(np.concatenate([[spots[-1] - 1.0], spots]))   # a point owns the arc before it
    return np.bincount(owners, weights=arcs, minlength=int(shards))


def spread(shares):
    """Coefficient of variation of ``shares`` (standard deviation / mean): 0 when all are equal.

    >>> round(spread([0.2, 0.3, 0.5]), 3), spread([1, 1])
    (0.374, 0.0)
    """
    values = np.asarray(shares, dtype=float)
    return float(values.std() / values.mean()) if values.size and values.mean() > 0 else 0.0


def place(hashes, count, scheme="modulo", vnodes=1, names=None, salt=0):
    """The shard (0-based) of each key hash among ``count`` shards (names from :func:`shard_names`)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    if scheme == "modulo":
        return (hashes % np.uint64(count)).astype(np.int64)
    positions, owners = ring_points(names or shard_names(count), vnodes, salt)
    return owners[_points_before(positions, hashes) % len(positions)]


def _points_before(positions, hashes):
    """``np.searchsorted(positions, hashes, side="left")`` (positions sorted): the same counts, for many hashes in
    about a quarter of the time.  The top bits of a hash name its bucket (about 16 buckets a point): in a bucket
    that holds no point every hash has the points before the bucket before it; only the few hashes in a bucket
    with a point are searched.

    >>> positions, hashes = np.sort(key_hash(np.arange(50))), key_hash(np.arange(10_000) + 7)
    >>> bool((_points_before(positions, hashes) == np.searchsorted(positions, hashes, side="left")).all())
    True
    """
    bits = min(20, max(4, (16 * len(positions)).bit_length()))
    if len(hashes) < 4 << bits:  # few hashes: the table would cost more than it saves
        return np.searchsorted(positions, hashes, side="left")
    shift = np.uint64(64 - bits)
    before = np.searchsorted(positions, np.arange(1 << bits, dtype=np.uint64) << shift, side="left")
    holds = np.append(before[1:], len(positions)) > before  # a point inside the bucket
    bucket = (hashes >> shift).astype(np.intp)
    at = before[bucket]
    hard = np.flatnonzero(holds[bucket])
    at[hard] = np.searchsorted(positions, hashes[hard], side="left")
    return at


def keys_moved(shards_before, shards_after, scheme="modulo", vnodes=100, keys=100_000, seed=0):
    """Measured share of ``keys`` random keys whose shard changes when ``shards_before`` become ``shards_after``.

    Shards are named ``shard-1``...; a ring keeps the names (and points) of the shards both sizes have, so
    shards join at the end or the last ones leave.  ``seed`` draws the keys and the ring's points.
    Theory: :func:`chapter1.analytic.keys_moved` (n/(n+1) for modulo, 1/(n+1) for a ring when one shard
    joins); on one ring the new shard's arcs differ from 1/(n+1) by about :func:`chapter1.analytic.load_spread`.

    >>> round(keys_moved(4, 5, keys=20_000), 2), round(keys_moved(4, 5, "ring", keys=20_000, seed=3), 2)
    (0.8, 0.2)
    """
    check.number("shards_before", shards_before, low=1, high=MAX_SHARDS, integer=True)
    check.number("shards_after", shards_after, low=1, high=MAX_SHARDS, integer=True)
    _scheme(scheme)
    check.number("vnodes", vnodes, low=1, high=MAX_VNODES, integer=True)
    check.number("keys", keys, low=1, high=MAX_KEYS, integer=True)
    check.number("seed", seed, low=0, integer=True)
    ids = np.random.default_rng(seed).integers(0, 2**63, int(keys), dtype=np.int64)
    hashes = key_hash(ids)
    before = place(hashes, int(shards_before), scheme, int(vnodes), salt=int(seed))
    after = place(hashes, int(shards_after), scheme, int(vnodes), salt=int(seed))
    return float(np.mean(before != after))


def _scheme(scheme):
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be one of {SCHEMES}; got {scheme!r}")
    return check.choice("scheme", scheme, SCHEMES)


def _example():
    return Architecture("sharded", (WebServer(workers=8, service_time_ms=20),
                                    ShardRouter(shards=shard_databases(4, workers=4), scheme="ring", vnodes=50)))


@register(example=_example)
@dataclass(frozen=True)
class ShardRouter(Component):
    """Routes each request to the database shard (샤드) that owns its key (샤드 키), by ``scheme``.

    ``shards``: Database objects (names must differ); ``scheme`` "modulo" or "ring"; ``vnodes``
    virtual nodes per shard on the ring; ``celebrity_share`` of the requests go to one hot key;
    ``split_celebrity`` sub-keys it is kept under; ``fanout`` the share of reads that are cross-shard
    queries sent to every shard.

    >>> ShardRouter(shards=shard_databases(2), scheme="hash")
    Traceback (most recent call last):
    ...
    ValueError: scheme must be one of 'modulo', 'ring'; got 'hash'
    """

    name: str = "shard router"
    shards: tuple = field(default_factory=lambda: shard_databases(4))
    scheme: str = "ring"
    vnodes: int = 100
    celebrity_share: float = 0.0
    split_celebrity: int = 1
    fanout: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        shards = check.sequence("shards", self.shards, Database, "Database(name='shard-1')")
        if not 1 <= len(shards) <= MAX_SHARDS:
            raise ValueError(f"shards must hold 1 to {MAX_SHARDS} databases; got {len(shards)}")
        names = [s.name for s in shards]
        if len(set(names)) != len(names):
            raise ValueError(f"shard names must differ; got {names}")
        object.__setattr__(self, "shards", shards)
        _scheme(self.scheme)
        check.number("vnodes", self.vnodes, low=1, high=MAX_VNODES, integer=True)
        check.number("celebrity_share", self.celebrity_share, low=0, high=1)
        check.number("split_celebrity", self.split_celebrity, low=1, high=MAX_SHARDS, integer=True)
        check.number("fanout", self.fanout, low=0, high=1)

    @property
    def parts(self):
        return self.shards

    def runtime(self, sim, index):
        return ShardRouterRun(self, sim, index)

    def describe(self):
        n = len(self.shards)
        how = f"ring, {self.vnodes} vnodes per shard" if self.scheme == "ring" else f"hash mod {n}"
        lines = [how, f"{n} shard{'' if n == 1 else 's'}"]
        if self.celebrity_share:
            split = f", split {self.split_celebrity}" if self.split_celebrity > 1 else ""
            lines.append(f"celebrity {self.celebrity_share:.0%}{split}")
        if self.fanout:
            lines.append(f"cross-shard reads {self.fanout:.0%}")
        return lines

    def label(self):
        return f"{len(self.shards)} shards ({self.scheme})"

    def part_note(self, part):
        return []

    def owners(self, keys, salt=0):
        """The shard index of each key (0-based, in :attr:`shards` order)."""
        names = tuple(s.name for s in self.shards)
        return place(key_hash(keys, salt), len(names), self.scheme, self.vnodes, names)


class ShardRouterRun(Runtime):
    """A :class:`ShardRouter` at run time: every request's shard is computed up front, then passed on."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        n, rng = sim.n, sim.stream(spec.name)
        celebrity = rng.random(n) < spec.celebrity_share
        sub = rng.integers(0, spec.split_celebrity, n)
        self.fan = (rng.random(n) < spec.fanout) & ~sim.write
        keys = np.where(celebrity, 0, sim.key)
        self.key = keys
        self.celebrity = celebrity | (keys == 0)
        shard = spec.owners(keys)
        if spec.split_celebrity > 1 and self.celebrity.any():
            split = spec.owners(np.zeros(spec.split_celebrity, dtype=np.int64), np.arange(spec.split_celebrity) + 1)
            shard = np.where(self.celebrity, split[sub], shard)
        self.shard = np.where(self.fan, -1, shard)
        self.target = self.shard.tolist()
        self.time_s = np.full(n, np.nan)
        self.routed = np.zeros(n, dtype=bool)

    def serve(self, i):
        env, start = self.env, self.env.now
        if self.spec.outages and not self.spec.is_up(start):
            return ERROR
        self.routed[i] = True
        s = self.target[i]
        if s >= 0:
            status = yield from self.pass_on(self.parts[s], i)
        else:
            status = yield from self._fan_out(i)
        self.time_s[i] = env.now - start
        return status

    def batchable(self):
        """Without events when nothing fails and no read fans out: each request then only visits its shard."""
        return not self.spec.outages and not self.spec.fanout and self.parts_batchable()

    def admit_batch(self, requests, times):
        """Each shard admits its own requests in order of arrival (the same answer as :meth:`serve`)."""
        status, leave = np.empty(len(requests), dtype=np.int8), np.empty(len(requests))
        shard = self.shard[requests]
        for k, part in enumerate(self.parts):
            mine = np.flatnonzero(shard == k)
            if len(mine):
                status[mine], leave[mine] = part.admit_batch(requests[mine], times[mine])
        failed = requests[status != OK]  # a failure is the shard's, unless a part inside it named itself
        failed_at = self.sim.failed_at
        failed_at[failed] = np.where(failed_at[failed] < 0, np.array([p.index for p in self.parts])[self.shard[failed]],
                                     failed_at[failed])
        self.routed[requests] = True
        self.time_s[requests] = leave - times
        return status, leave

    def _fan_out(self, i):
        """Send request ``i`` to every shard at once and wait for the slowest answer."""
        queries = [self.env.process(part.serve(i)) for part in self.parts]
        yield self.env.all_of(queries)
        for part, query in zip(self.parts, queries):
            if query.value != OK:
                self.sim.failed_at[i] = part.index
                return query.value
        return OK

    def columns(self):
        """The request's ``shard`` (or "all" for a cross-shard query), its ``shard_key``, whether it asked for the
        ``celebrity`` key, and the time spent behind the router."""
        names = np.array([p.name for p in self.spec.shards] + ["all"], dtype=object)
        return {"shard": np.where(self.routed, names[self.shard], ""), "shard_key": self.key.copy(),
                "celebrity": self.celebrity.copy(), "cross_shard": self.fan.copy(),
                f"{self.spec.name}_ms": self.time_s * 1_000.0}

    def figures(self):
        """``hot_shard_share``: the busiest shard's share of the single-shard requests routed."""
        single = self.routed & (self.shard >= 0)
        counts = np.bincount(self.shard[single], minlength=len(self.parts))
        return {"hot_shard_share": float(counts.max() / counts.sum()) if counts.sum() else 0.0}

    def row(self):
        return {"workers": None, "served": int(self.routed.sum()), "mean_wait_ms": float("nan")}


def with_shards(router, count):
    """A copy of ``router`` with ``count`` shards like its first (``shard-1`` ... ``shard-<count>``)."""
    check.number("shards", count, low=1, high=MAX_SHARDS, integer=True)
    model = router.shards[0]
    return replace(router, shards=tuple(replace(model, name=n, outages=()) for n in shard_names(count)))
