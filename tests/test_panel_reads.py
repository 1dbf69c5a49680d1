"""Read-side helpers the live panels use to read a Result without building its tables: the same numbers as the
tables' columns; and the hash ring a sharding panel draws, hashed point by point from copies: the same ring."""

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.queue import QueueRun


@pytest.mark.parametrize("make, rate, requests", [
    (lambda: c.load_balanced(3).fail("web-2", at_s=2.0), 300, 3_000),
    (lambda: c.single_server(workers=1, queue_limit=2), 80, 400),
    (lambda: c.multi_region(2, "active-active", servers=1).fail("dc-1", at_s=3.0), 30, 600),
])
@pytest.mark.parametrize("bins", [1, 7, 24])
def test_timeline_columns_without_latency_are_the_others_of_the_full_timeline(make, rate, requests, bins):
    result = c.simulate(make(), c.Workload.from_rate(rate), requests=requests, seed=4)
    full, light = result.timeline_columns(bins), result.timeline_columns(bins, latency=False)
    assert list(light) == [name for name in full if not (name.startswith("p") and name.endswith("_ms"))]
    for name, column in light.items():
        assert np.array_equal(column, full[name], equal_nan=True), name
    assert any(name.endswith("_utilization") for name in light)
    with pytest.raises(TypeError, match="latency must be True or False"):
        result.timeline_columns(bins, latency="no")


@pytest.mark.parametrize("seed", [0, 5])
def test_a_queues_waits_alone_are_its_column_in_the_requests_table(seed):
    arch = c.queued(workers=2, service_time_ms=150).fail("consumers", 2, 4)
    result = c.simulate(arch, c.Workload.from_rate(20), requests=300, seed=seed)
    queue = next(r for r in result.runtimes if isinstance(r, QueueRun))
    waits = queue.queue_wait_ms()
    assert np.isnan(waits).sum() < len(waits) and np.nanmax(waits) > 1_000  # the consumers' outage shows
    assert np.array_equal(waits, result.requests["queue_wait_ms"].to_numpy(), equal_nan=True)


@pytest.mark.parametrize("names, vnodes, salt", [
    (("a", "b"), 3, 0), (tuple(f"shard-{k}" for k in range(1, 17)), 1_000, 2), (("x",), 1, 5),
    (("shard-1", "shard-2", "shard-3"), 100, 1)])
def test_a_ring_hashes_each_point_as_its_whole_bytes_would(names, vnodes, salt):
    # each point's digest is taken from a copy of its name's hash with the point's end added: the digest of the
    # whole "<name>#<v>#<salt>" at once (the ring as first written)
    import hashlib

    from chapter1.components.shards import ring_points

    ends = [f"#{v}#{salt}".encode() for v in range(vnodes)]
    digests = b"".join(hashlib.blake2b(n.encode() + e, digest_size=8).digest() for n in names for e in ends)
    positions = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    owners = np.repeat(np.arange(len(names)), vnodes)
    order = np.argsort(positions, kind="stable")
    got = ring_points(names, vnodes, salt)
    assert np.array_equal(got[0], positions[order]) and np.array_equal(got[1], owners[order])
