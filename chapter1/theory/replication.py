"""Database replication: read capacity with replicas, stale reads, lost writes, availability of reads and writes.

The model (:class:`chapter1.components.replicas.ReplicaSet`): writes go to one primary; each
replica serves its share of the reads *and* replays every write; a write reaches each replica
after an independent lag of mean L; reads and writes pick keys from the same Zipf popularity.
"""

import math

import numpy as np

from ..core import validation as check
from ..core.workload import Workload
from .availability import availability_parallel
from .queues import mmc, response_time_percentile

SECONDS_PER_YEAR = 365.25 * 86_400


def read_capacity(replicas, capacity, write_rate, replay_cost=1.0):
    """Reads per second ``replicas`` replicas can serve when each also replays every write.

    Each replica completes ``capacity`` queries a second and spends ``write_rate x replay_cost`` of
    them replaying writes: reads = k (C - w c).  Writes do not scale: every replica does all of them.

    >>> read_capacity(4, capacity=400, write_rate=100)
    1200.0
    """
    check.number("replicas", replicas, low=0, integer=True)
    check.number("capacity", capacity, low=0, low_open=True)
    check.number("write_rate", write_rate, low=0)
    check.number("replay_cost", replay_cost, low=0)
    return float(replicas * max(0.0, capacity - write_rate * replay_cost))


def max_rate(replicas, capacity, read_ratio, replay_cost=1.0, primary_capacity=None):
    """Total requests per second a primary + ``replicas`` replicas carry before one of them saturates.

    With read share r of a total rate x: the replicas need r x <= k (C - (1 - r) x c), so
    x <= k C / (r + k (1 - r) c); the primary needs (1 - r) x <= C_p.  With no replicas the primary
    serves everything: x <= C_p.

    >>> round(max_rate(4, capacity=400, read_ratio=0.9))     # 4 x 400 / (0.9 + 4 x 0.1)
    1231
    >>> round(max_rate(4, capacity=400, read_ratio=0.5))     # writes eat the gain: 4 x 400 / (0.5 + 2)
    640
    """
    check.number("replicas", replicas, low=0, integer=True)
    check.number("capacity", capacity, low=0, low_open=True)
    check.number("read_ratio", read_ratio, low=0, high=1)
    check.number("replay_cost", replay_cost, low=0)
    primary = capacity if primary_capacity is None else check.number("primary_capacity", primary_capacity, low=0,
                                                                         low_open=True)
    if replicas == 0:
        return float(primary)
    writes_limit = primary / (1 - read_ratio) if read_ratio < 1 else math.inf
    load_per_read = read_ratio + replicas * (1 - read_ratio) * replay_cost  # 0: no reads, free replays
    reads_limit = replicas * capacity / load_per_read if load_per_read > 0 else math.inf
    return float(min(writes_limit, reads_limit))


def replica_arrivals(rate, read_ratio, replicas, replay_cost=1.0):
    """Queries per second one replica receives (its share of the reads plus every write, weighted by its
    replay cost); with no replicas, what the primary receives.

    >>> replica_arrivals(1_000, 0.9, replicas=3)
    400.0
    """
    check.number("rate", rate, low=0)
    check.number("read_ratio", read_ratio, low=0, high=1)
    check.number("replicas", replicas, low=0, integer=True)
    check.number("replay_cost", replay_cost, low=0)
    if replicas == 0:
        return float(rate)
    return float(rate * read_ratio / replicas + rate * (1 - read_ratio) * replay_cost)


def read_time_ms(rate, read_ratio, replicas, workers, service_ms, percent=None, replay_cost=1.0):
    """A read's time at the database (ms): the mean, or the ``percent`` percentile, inf when overloaded.

    Each replica is an M/M/c queue fed by its share of the reads and by every write's replay (both
    Poisson); a replay costs ``replay_cost`` x the service time, counted here as that many queries.
    Exact for random routing with ``replay_cost=1``; round robin spaces each replica's reads
    evenly, so it waits a little less than this.

    >>> round(read_time_ms(800, 0.9, replicas=3, workers=4, service_ms=10), 1)
    17.5
    """
    check.number("workers", workers, low=1, integer=True)
    check.number("service_ms", service_ms, low=0, low_open=True)
    arrivals, mu = replica_arrivals(rate, read_ratio, replicas, replay_cost), 1_000.0 / service_ms
    if percent is None:
        return mmc(arrivals, mu, workers).mean_response_s * 1_000.0
    return response_time_percentile(percent, arrivals, mu, workers) * 1_000.0


def stale_read_probability(key_popularity, write_rate, lag_ms):
    """Share of replica reads that miss an acknowledged write: sum over keys of p_k (1 - exp(-w_k L)).

    Key k is read with probability p_k and written at w_k = write_rate x p_k a second (Poisson).  At
    any moment the writes to k still on their way to a replica are those of the last ``lag``
    seconds, a Poisson number with mean w_k x L (Little's law; any lag distribution of mean L).  A
    read is stale when there is at least one: 1 - exp(-w_k L).

    >>> round(stale_read_probability([0.5, 0.5], write_rate=2, lag_ms=1_000), 3)   # 1 - e^-1
    0.632
    """
    p = check.probabilities("key_popularity", key_popularity)
    check.number("write_rate", write_rate, low=0)
    check.number("lag_ms", lag_ms, low=0)
    return float(min(1.0, np.sum(p * -np.expm1(-write_rate * p * lag_ms / 1_000.0))))  # the sum may round above 1


def stale_reads(workload, lag_ms):
    """:func:`stale_read_probability` for a :class:`~chapter1.Workload`: its Zipf keys, its write rate.

    >>> from chapter1 import Workload
    >>> round(stale_reads(Workload.from_rate(500, keys=1_000), lag_ms=100), 3)
    0.117
    """
    check.instance("workload", workload, Workload, "Workload(users=1000)")
    return stale_read_probability(workload.key_popularity(), workload.rate * (1 - workload.read_ratio), lag_ms)


def expected_lost_writes(write_rate, lag_ms):
    """Writes acknowledged by a primary that had not reached a given replica when the primary died.

    Writes in flight to one replica at any moment: write rate x mean lag (Little's law).  Promote that
    replica, and those writes are gone.

    >>> expected_lost_writes(200, lag_ms=150)
    30.0
    """
    check.number("write_rate", write_rate, low=0)
    check.number("lag_ms", lag_ms, low=0)
    return write_rate * lag_ms / 1_000.0


def sync_write_delay_ms(replicas, lag_ms):
    """Mean extra time a synchronous write waits: the slowest of ``replicas`` exponential lags, L x H_k.

    >>> sync_write_delay_ms(3, 100)    # 100 x (1 + 1/2 + 1/3)
    183.33333333333331
    """
    check.number("replicas", replicas, low=0, integer=True)
    check.number("lag_ms", lag_ms, low=0)
    return lag_ms * sum(1 / j for j in range(1, replicas + 1))


def write_availability(replicas, failures_per_year, failover_s, repair_s):
    """Share of the time writes succeed: one primary; after each of its failures writes stop until a replica is
    promoted (``failover_s``) or, with no replica, until the primary is repaired (``repair_s``).

    >>> round(write_availability(2, failures_per_year=4, failover_s=30, repair_s=3_600), 7)
    0.9999962
    """
    check.number("replicas", replicas, low=0, integer=True)
    check.number("failures_per_year", failures_per_year, low=0)
    check.number("failover_s", failover_s, low=0)
    check.number("repair_s", repair_s, low=0)
    outage = min(failover_s, repair_s) if replicas else repair_s
    return max(0.0, 1 - failures_per_year * outage / SECONDS_PER_YEAR)


def read_availability(replicas, availability):
    """Share of the time reads succeed: any one of the replicas or the primary will do (parallel).

    >>> round(read_availability(1, 0.999), 6)
    0.999999
    """
    check.number("replicas", replicas, low=0, integer=True)
    return availability_parallel(*[availability] * (replicas + 1))
