"""Closed forms for the questions the chapters ask; ``chapter1.analytic`` is this package.

One module per idea: :mod:`.queues` (Erlang C, M/M/c, tandems, Little's law), :mod:`.balancing`
(one model per load-balancing policy), :mod:`.availability` (series, parallel, downtime),
:mod:`.caching` (TTL hit ratio, Che's approximation, eviction policies),
:mod:`.replication` (read capacity, stale reads, lost writes) and :mod:`.predict` (theory for a whole
architecture).
"""

from .availability import HOURS_PER_YEAR, availability_parallel, availability_series, downtime_per_year
from .balancing import LOAD_BALANCING, load_balancing, pooled, power_of_two, random_routing, round_robin
from .caching import (
    cache_hit_ratio,
    che_time,
    database_load,
    hit_ratio_from_popularity,
    ttl_hit_ratio,
    ttl_stale_ratio,
    zipf_popularity,
)
from .predict import predict
from .queues import (
                     QueueStats,
                     TandemStats,
                     erlang_c,
                     littles_law,
                     mmc,
                     response_time_percentile,
                     response_time_survival,
                     tandem,
                     tandem_response_percentile,
)
from .replication import (
                          expected_lost_writes,
                          max_rate,
                          read_availability,
                          read_capacity,
                          read_time_ms,
                          replica_arrivals,
                          stale_read_probability,
                          stale_reads,
                          sync_write_delay_ms,
                          write_availability,
)

__all__ = [
    "HOURS_PER_YEAR", "LOAD_BALANCING", "QueueStats", "TandemStats", "availability_parallel", "availability_series",
    "downtime_per_year", "erlang_c", "littles_law", "load_balancing", "mmc", "pooled", "power_of_two", "predict",
    "random_routing", "response_time_percentile", "response_time_survival", "round_robin", "tandem",
    "tandem_response_percentile", "ttl_hit_ratio",
    # caching
    "cache_hit_ratio", "che_time", "database_load", "hit_ratio_from_popularity", "ttl_stale_ratio", "zipf_popularity",
    # replication
    "expected_lost_writes", "max_rate", "read_availability", "read_capacity", "read_time_ms", "replica_arrivals",
    "stale_read_probability", "stale_reads", "sync_write_delay_ms", "write_availability",
]
