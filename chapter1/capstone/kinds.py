"""Three small kinds the capstone needs to compose the course's components into one design.

* :class:`CacheCluster`: ``nodes`` cache nodes in front of one backend; a key lives on one node
  (hash of the key modulo the number of nodes).  A dead node's keys go straight to the backend
  until it is back, and it comes back empty; the other nodes keep theirs.  (Chapter 06's
  :class:`~chapter1.components.cache.Cache` is one node: when it dies, every read misses.)
* :class:`ShardedData`: chapter 12's shard router whose shards are chapter 05's replica sets (a
  primary and its replicas per shard), so sharding and replication compose.
* :class:`Jobs`: a ``share`` of the requests also start background work (a photo to resize, a
  notification to send), published to a :class:`~chapter1.components.queue.MessageQueue` and done
  later by its consumers; the request waits only for the publish.

>>> from chapter1 import Workload, simulate
>>> result = simulate(_cluster_example(), Workload.from_rate(50), requests=2_000, seed=1)
>>> 0.5 < result.summary()["cache_hit_ratio"] < 0.9
True
"""

import math
from dataclasses import dataclass, field
from heapq import heappop, heappush

import numpy as np

from ..components.eviction import EVICTION
from ..components.queue import MessageQueue
from ..components.replicas import ReplicaSet
from ..components.server import Database, WebServer
from ..components.shards import ShardRouter, ShardRouterRun, key_hash
from ..core import validation as check
from ..core.architecture import Architecture
from ..core.component import ERROR, OK, Component, Runtime, Share, register
from ..core.simulation import down

MAX_NODES = 64
WARMUP = (10, 10_000, 200_000)  # warm-up reads: 10 x capacity, at least 10,000, at most 200,000 (as Cache)
MAX_WARM = 32                   # warm-ups kept (each a few lists of keys): a panel runs the same clusters again
_WARM = {}                      # (seed, cluster, capacities, policy, keys, zipf_s) -> what each node loads


@dataclass(frozen=True)
class CacheNode(Component):
    """One cache node of a :class:`CacheCluster`: holds up to ``capacity`` keys; it can fail on its own.

    >>> CacheNode(name="cache-1", capacity=5_000).label()
    'cache node, 5,000 keys'
    """

    name: str = "cache-1"
    capacity: int = 10_000

    def __post_init__(self):
        super().__post_init__()
        check.number("capacity", self.capacity, low=1, high=10_000_000, integer=True)

    def runtime(self, sim, index):
        return Runtime(self, sim, index)  # the cluster keeps the node's memory; a node has no queue of its own

    def describe(self):
        return ["cache node", f"{self.capacity:,} keys"]

    def label(self):
        return f"cache node, {self.capacity:,} keys"


def cache_nodes(count, capacity, prefix=""):
    """``count`` cache nodes named ``<prefix>cache-1``, ... each holding ``capacity`` keys."""
    check.number("cache_nodes", count, low=1, high=MAX_NODES, integer=True)
    return tuple(CacheNode(name=f"{prefix}cache-{k + 1}", capacity=capacity) for k in range(count))


def _cluster_example():
    database = Database(workers=4, service_time_ms=100, queue_limit=20, timeout_ms=2_000)
    return Architecture("cache cluster", (CacheCluster(nodes=cache_nodes(2, 500), backend=database),))


@register(example=_cluster_example)
@dataclass(frozen=True)
class CacheCluster(Component):
    """Read-through cache nodes in front of ``backend``; each key on one node (see the module docstring).

    >>> CacheCluster(nodes=cache_nodes(3, 1_000)).describe()
    ['3 nodes, 3,000 keys', 'lru · hit 1 ms']
    """

    name: str = "cache"
    nodes: tuple = field(default_factory=lambda: cache_nodes(2, 1_000))
    backend: Component = field(default_factory=Database)
    policy: str = "lru"
    hit_ms: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        nodes = check.sequence("nodes", self.nodes, CacheNode, "CacheNode(capacity=10_000)")
        if not 1 <= len(nodes) <= MAX_NODES:
            raise ValueError(f"nodes must hold 1 to {MAX_NODES} cache nodes; got {len(nodes)}")
        object.__setattr__(self, "nodes", nodes)
        check.instance("backend", self.backend, Component, "Database()")
        check.choice("policy", self.policy, tuple(EVICTION))
        check.number("hit_ms", self.hit_ms, low=0, high=60_000)

    @property
    def parts(self):
        return (*self.nodes, self.backend)

    @property
    def capacity(self):
        """Keys the cluster holds when every node is up."""
        return sum(n.capacity for n in self.nodes)

    def runtime(self, sim, index):
        return CacheClusterRun(self, sim, index)

    def describe(self):
        return [f"{len(self.nodes)} nodes, {self.capacity:,} keys", f"{self.policy} · hit {self.hit_ms:g} ms"]

    def label(self):
        return f"cache, {len(self.nodes)} nodes"

    def part_note(self, part):
        return ["misses and writes"] if part is self.backend else []


class CacheClusterRun(Runtime):
    """The cluster at run time: one eviction policy per node, each request's node, what each request did."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        if spec.capacity > sim.workload.keys:
            raise ValueError(f"the cache nodes' keys must add up to at most the workload's key space "
                             f"({sim.workload.keys:,}); got {spec.capacity:,}")
        rng, count = sim.stream(spec.name), len(spec.nodes)
        self.policies = [EVICTION[spec.policy](n.capacity, int(rng.integers(2 ** 63))) for n in spec.nodes]
        self.node = _homes(sim.key, count).tolist()
        self.key, self.write = sim.key.tolist(), sim.write.tolist()
        self.hit_s, self.down_since = spec.hit_ms / 1_000.0, [None] * count
        self.outcome = np.zeros(sim.n, dtype=np.int8)  # 0 write, 1 hit, 2 miss, 3 bypassed (its node down)
        key = (sim.seed, spec.name, tuple(n.capacity for n in spec.nodes), spec.policy, sim.workload.keys,
               sim.workload.zipf_s)
        if key not in _WARM:  # the same cluster in the same run of the same workload warms up the same way
            factor, low, high = WARMUP
            draws = _Draws(rng, int(min(max(factor * spec.capacity, low), high)))  # as sample_keys draws them
            if spec.policy == "lru":
                states = _lru_states(_recent_reads(sim.workload, draws, spec.nodes), spec.nodes)
            else:
                warm = sim.workload.keys_at(draws[:])
                homes = _homes(warm, count)
                states = tuple(warm[homes == k] for k in range(count))
            while len(_WARM) >= MAX_WARM:
                del _WARM[next(iter(_WARM))]
            _WARM[key] = states
        for policy, keys in zip(self.policies, _WARM[key]):
            _warm_up(policy, spec.policy, keys)

    def serve(self, i):
        env, spec, backend, key, k = self.env, self.spec, self.parts[-1], self.key[i], self.node[i]
        node = spec.nodes[k]
        if not spec.is_up(env.now) or not node.is_up(env.now):
            self.down_since[k] = env.now if self.down_since[k] is None else self.down_since[k]
            self.outcome[i] = 3
            return (yield from self.pass_on(backend, i))
        policy = self.policies[k]
        if self.down_since[k] is not None:  # back from an outage: its memory is empty
            policy.clear()
            self.down_since[k] = None
        if self.write[i]:
            status = yield from self.pass_on(backend, i)
            if status == OK:
                policy.remove(key)  # invalidate: the next read fetches the new value
            return status
        if self.hit_s > 0:
            yield env.timeout(self.hit_s)
        if policy.lookup(key):
            self.outcome[i] = 1
            return OK
        self.outcome[i] = 2
        status = yield from self.pass_on(backend, i)
        if status == OK and node.is_up(env.now) and key not in policy:
            policy.insert(key)
        return status

    # -- the event-free path -------------------------------------------------------------------------

    def batchable(self):
        """Without events when its backend admits one request at a time without events (a node's outage is a
        stretch of time, read off each request's moments)."""
        backend = self.parts[-1]
        return backend.batchable() and type(backend).admit is not Runtime.admit

    def exact_times(self):
        """A hit takes a constant ``hit_ms``: with another constant-time tier in a row, events could tie."""
        return self.spec.hit_ms > 0 or self.parts[-1].exact_times()

    def admit_all(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: what the cluster does at each request's
        arrival (a node down or back), at its lookup (``hit_ms`` later) and when the backend answers (a write
        drops the key, a miss stores it) happens in order of time, and the backend admits bypasses, misses and
        writes in order of their arrival there.  Returns (statuses, leave times) as lists."""
        spec, backend, sim = self.spec, self.parts[-1], self.sim
        admit, failed_at, part = backend.admit, sim.failed_at, backend.index
        nodes, policies, key, write, home = spec.nodes, self.policies, self.key, self.write, self.node
        outcome, hit_s, down_since = self.outcome, self.hit_s, self.down_since
        status, leave = [OK] * len(requests), [0.0] * len(requests)
        steady = not spec.outages and not any(n.outages for n in nodes)  # (then every node is up at every moment)
        due = []  # (moment, 0 for a lookup or 1 for an answer, request's place): a lookup first at the same moment

        def ask(p, i, t, answered):
            done, leave[p] = admit(i, t)
            if done != OK:
                status[p] = done
                if failed_at[i] < 0:
                    failed_at[i] = part
            elif answered:
                heappush(due, (leave[p], 1, p))

        def lookup(t, p):
            i = requests[p]
            if policies[home[i]].lookup(key[i]):
                outcome[i], leave[p] = 1, t
                return
            outcome[i] = 2
            ask(p, i, t, True)

        def answer(t, p):
            i = requests[p]
            k, policy = home[i], policies[home[i]]
            if write[i]:
                policy.remove(key[i])  # invalidate: the next read fetches the new value
            elif (steady or nodes[k].is_up(t)) and key[i] not in policy:
                policy.insert(key[i])

        def until(t):
            """Everything due before ``t``, in order of time."""
            while due and due[0][0] < t:
                moment, what, p = heappop(due)
                (answer if what else lookup)(moment, p)

        for p, t in enumerate(times):
            until(t)
            i = requests[p]
            k = home[i]
            if not steady and (not spec.is_up(t) or not nodes[k].is_up(t)):
                down_since[k] = t if down_since[k] is None else down_since[k]
                outcome[i] = 3
                ask(p, i, t, False)
                continue
            if down_since[k] is not None:  # back from an outage: its memory is empty
                policies[k].clear()
                down_since[k] = None
            if write[i]:
                ask(p, i, t, True)
            elif hit_s > 0:
                heappush(due, (t + hit_s, 0, p))
            else:
                lookup(t, p)
        until(math.inf)
        return status, leave

    def columns(self):
        """``cache``: 'hit', 'miss', 'bypass' (its node down) or '' for a write; ``cache_node`` the key's node."""
        names = np.array(["", "hit", "miss", "bypass"], dtype=object)
        nodes = np.array([n.name for n in self.spec.nodes], dtype=object)
        return {"cache": names[self.outcome], "cache_node": nodes[np.asarray(self.node)]}

    def figures(self):
        """``cache_hit_ratio``: hits / reads that reached the cluster (a bypassed read counts as a miss)."""
        reads = int(np.sum(self.outcome > 0))
        return {"cache_hit_ratio": Share(int(np.sum(self.outcome == 1)), reads)}

    def row(self):
        return {"workers": None, "served": int(np.sum(self.outcome == 1)), "mean_wait_ms": math.nan}


class _Draws:
    """``rng.random(n)``, drawn only where it is read: a slice ``[a:b]`` jumps a copy of the generator ``a`` draws ahead
    (PCG64 gives each float from one 64-bit draw), so an LRU warm-up, which reads only the last reads, draws only those.

    >>> rng = np.random.default_rng(5)
    >>> draws, every = _Draws(rng, 1_000), np.random.default_rng(5).random(1_000)
    >>> len(draws), bool((draws[600:900] == every[600:900]).all()), bool((draws[:] == every).all())
    (1000, True, True)
    """

    def __init__(self, rng, n):
        self.kind, self.state, self.n = type(rng.bit_generator), rng.bit_generator.state, n

    def __len__(self):
        return self.n

    def __getitem__(self, part):
        start, stop, _ = part.indices(self.n)
        bits = self.kind()
        bits.state = self.state
        bits.advance(start)
        return np.random.Generator(bits).random(max(0, stop - start))


def _homes(keys, count):
    """Each key's node among ``count`` nodes: its hash modulo ``count``."""
    if count == 1:
        return np.zeros(len(keys), dtype=np.int64)
    return (key_hash(keys) % np.uint64(count)).astype(np.int64)


def _recent_reads(workload, draws, nodes):
    """The keys of the last of the warm-up reads (``workload.keys_at(draws)``), enough of them that each node's
    keys among them fill its capacity (all of them when they never do): an LRU's state after the reads
    is its ``capacity`` most recently read keys, so earlier reads change nothing and are not inverted.

    >>> from chapter1 import Workload
    >>> draws = np.random.default_rng(1).random(10_000)
    >>> recent = _recent_reads(Workload(keys=1_000), draws, cache_nodes(1, 50))
    >>> len(recent) < len(draws), bool((recent == Workload(keys=1_000).keys_at(draws)[-len(recent):]).all())
    (True, True)
    """
    need = np.array([n.capacity for n in nodes])
    seen, parts = np.zeros(workload.keys, dtype=bool), []
    start, step = len(draws), 13 * int(need.sum()) // 4  # Zipf(1) over 200,000 keys: 20,000 distinct in the last
    # 60,500 to 62,100 reads (40 runs): a first step of 65,000 is enough, and a short one only costs another
    while start > 0:
        part = workload.keys_at(draws[max(0, start - step):start])
        parts.append(part)
        start, step = max(0, start - step), 2 * step
        if start == 0:  # every read inverted: nothing left to check
            break
        seen[part] = True
        distinct = np.flatnonzero(seen)
        if (np.bincount(_homes(distinct, len(nodes)), minlength=len(nodes)) >= need).all():
            break
    return np.concatenate(parts[::-1])


def _warm_keys(name, keys, capacity):
    """What :func:`_warm_up` loads into one node for the warm-up reads ``keys`` (an array: kept between runs, it
    holds no Python objects): for LRU, the state they leave, i.e. the ``capacity`` most recently read distinct
    keys, least recent first; for other policies every read."""
    return _by_last_read(keys)[-capacity:] if name == "lru" else keys


def _lru_states(reads, nodes):
    """:func:`_warm_keys` of each LRU node of ``nodes`` for the warm-up ``reads`` of the whole cluster: every read of
    a key goes to its node, so each key's last read is found once, over the reads of every node."""
    keys = _by_last_read(reads)
    if len(nodes) == 1:
        return (keys[-nodes[0].capacity:],)
    homes = _homes(keys, len(nodes))
    counts = np.bincount(homes, minlength=len(nodes)).tolist()
    ends = np.cumsum(counts).tolist()
    grouped = keys[np.argsort(homes.astype(np.uint8), kind="stable")]  # each node's keys together, in their order
    return tuple(grouped[end - min(node.capacity, count):end] for node, count, end in zip(nodes, counts, ends))


def _by_last_read(keys):
    """The distinct keys of the reads ``keys``, in order of their last read.

    >>> _by_last_read(np.array([5, 1, 5, 2, 1])).tolist()
    [5, 2, 1]
    """
    if len(keys) and keys.max() < 8 * len(keys):  # each distinct key's last read: by key, or by sorting
        last = np.full(int(keys.max()) + 1, -1)
        np.maximum.at(last, keys, np.arange(len(keys)))
        last = last[last >= 0]
    else:
        last = len(keys) - 1 - np.unique(keys[::-1], return_index=True)[1]
    recent = np.zeros(len(keys), dtype=bool)  # the last reads in order of time: distinct places, so no sort
    recent[last] = True
    return keys[np.flatnonzero(recent)]


def _warm_up(policy, name, keys):
    """Run ``policy`` over the warm-up reads, as :func:`_warm_keys` gives them (for LRU: load its state at once,
    without a loop over every read, kept as the array until the run reads its keys)."""
    if name == "lru":
        policy.fill(keys)
        return
    keys = keys.tolist()  # the policy holds Python ints, as the requests' keys are
    for key in keys:
        if not policy.lookup(key):
            policy.insert(key)


def _replica_sets(count, **options):
    """``count`` replica sets named shard-1, ... each a primary (``shard-k primary``) with no replica yet."""
    return tuple(ReplicaSet(name=f"shard-{k + 1}", primary=Database(name=f"shard-{k + 1} primary", workers=4),
                            **options) for k in range(count))


def _sharded_example():
    return Architecture("sharded replica sets", (WebServer(workers=8, service_time_ms=20),
                                                 ShardedData(shards=_replica_sets(2, failover_s=3.0), scheme="ring",
                                                             vnodes=50)))


@register(example=_sharded_example)
@dataclass(frozen=True)
class ShardedData(ShardRouter):
    """Chapter 12's shard router whose shards are replica sets: each key's shard is a primary and its replicas.

    >>> data = _sharded_example()["shard router"]
    >>> [p.name for p in data.parts], data.describe()[1]
    (['shard-1', 'shard-2'], '2 shards, each a replica set')
    """

    shards: tuple = field(default_factory=lambda: _replica_sets(2))

    def __post_init__(self):
        Component.__post_init__(self)
        shards = check.sequence("shards", self.shards, ReplicaSet, "ReplicaSet(name='shard-1')")
        if not 1 <= len(shards) <= 256:
            raise ValueError(f"shards must hold 1 to 256 replica sets; got {len(shards)}")
        object.__setattr__(self, "shards", shards)
        check.choice("scheme", self.scheme, ("modulo", "ring"))
        check.number("vnodes", self.vnodes, low=1, high=10_000, integer=True)
        for name in ("celebrity_share", "fanout"):
            check.number(name, getattr(self, name), low=0, high=1)
        check.number("split_celebrity", self.split_celebrity, low=1, high=256, integer=True)

    def runtime(self, sim, index):
        return ShardedDataRun(self, sim, index)

    def describe(self):
        lines = super().describe()
        return [lines[0], f"{len(self.shards)} shards, each a replica set", *lines[2:]]


class ShardedDataRun(ShardRouterRun):
    """The router at run time; without events it can also pass one request at a time to its shard's replica set
    (a cache cluster in front asks for that)."""

    def admit(self, i, t):
        """:meth:`serve` for one request without events: its shard's replica set admits it."""
        part = self.parts[self.target[i]]
        status, leave = part.admit(i, t)
        if status != OK and self.sim.failed_at[i] < 0:
            self.sim.failed_at[i] = part.index
        self.routed[i] = True
        self.time_s[i] = leave - t
        return status, leave


def _jobs_example():
    from ..components.queue import Consumers

    queue = MessageQueue(name="queue", consumers=Consumers(workers=4, service_time_ms=95))
    return Architecture("web + jobs", (WebServer(workers=8, service_time_ms=20), Jobs(share=0.5, queue=queue)))


@register(example=_jobs_example)
@dataclass(frozen=True)
class Jobs(Component):
    """A ``share`` of the requests start background work: published to ``queue``, done later by its consumers.

    The other requests pass straight through.  Down, it fails the requests that would publish.

    >>> Jobs(share=0.1).describe()[0]
    '10% of requests publish a job'
    """

    name: str = "jobs"
    share: float = 0.1
    queue: MessageQueue = field(default_factory=MessageQueue)

    def __post_init__(self):
        super().__post_init__()
        check.number("share", self.share, low=0, high=1)
        check.instance("queue", self.queue, MessageQueue, "MessageQueue(consumers=Consumers(workers=8))")

    @property
    def parts(self):
        return (self.queue,)

    def runtime(self, sim, index):
        return JobsRun(self, sim, index)

    def describe(self):
        return [f"{self.share:.0%} of requests publish a job", "done later by consumers"]

    def label(self):
        return f"jobs, {self.share:.0%} of requests"


class JobsRun(Runtime):
    """Each request's job is drawn once (the component's own stream); a job's request waits for its publish."""

    def __init__(self, spec, sim, index):
        super().__init__(spec, sim, index)
        self.job = sim.stream(spec.name).random(sim.n) < spec.share
        self.flag = self.job.tolist()

    def serve(self, i):
        if not self.flag[i]:
            return OK
        if not self.spec.is_up(self.env.now):
            return ERROR
        return (yield from self.pass_on(self.parts[0], i))

    def batchable(self):
        """Without events when its queue can go without (its own outages are moments, read off the arrivals)."""
        return self.parts_batchable()

    def admit_batch(self, requests, times):
        """:meth:`serve` for requests in order of arrival, without events: those without a job pass at once,
        a job's request fails while the component is down, else waits for its publish."""
        status, leave = np.full(len(requests), OK, dtype=np.int8), np.array(times, dtype=float)
        job = self.job[requests]
        if self.spec.outages:
            status[job & down(self.spec, times)] = ERROR
            job &= status == OK
        mine = np.flatnonzero(job)
        if len(mine):
            queue, sim = self.parts[0], self.sim
            status[mine], leave[mine] = queue.admit_batch(requests[mine], leave[mine])
            lost = requests[mine[status[mine] != OK]]
            sim.failed_at[lost] = np.where(sim.failed_at[lost] < 0, queue.index, sim.failed_at[lost])
        return status, leave

    def columns(self):
        return {"job": self.job.copy()}

    def row(self):
        return {"workers": None, "served": int(self.job.sum()), "mean_wait_ms": math.nan}
