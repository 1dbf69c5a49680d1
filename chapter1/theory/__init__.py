"""Closed forms for the questions the chapters ask; ``chapter1.analytic`` is this package.

One module per idea: :mod:`.queues` (Erlang C, M/M/c, tandems, Little's law), :mod:`.balancing`
(one model per load-balancing policy), :mod:`.availability` (series, parallel, downtime),
:mod:`.caching` (TTL hit ratio, Che's approximation, eviction policies) and :mod:`.predict` (theory for a
whole architecture).
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

__all__ = [
    "HOURS_PER_YEAR", "LOAD_BALANCING", "QueueStats", "TandemStats", "availability_parallel", "availability_series",
    "downtime_per_year", "erlang_c", "littles_law", "load_balancing", "mmc", "pooled", "power_of_two", "predict",
    "random_routing", "response_time_percentile", "response_time_survival", "round_robin", "tandem",
    "tandem_response_percentile", "ttl_hit_ratio",
    # caching
    "cache_hit_ratio", "che_time", "database_load", "hit_ratio_from_popularity", "ttl_stale_ratio", "zipf_popularity",
]
