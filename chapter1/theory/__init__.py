"""Closed forms for the questions the chapters ask; ``chapter1.analytic`` is this package.

One module per idea: :mod:`.queues` (Erlang C, M/M/c, tandems, Little's law), :mod:`.balancing`
(one model per load-balancing policy), :mod:`.availability` (series, parallel, k of n, downtime),
:mod:`.caching` (TTL hit ratio, Che's approximation, eviction policies), :mod:`.cdn` (distance, edges, egress),
:mod:`.replication` (read capacity, stale reads, lost writes), :mod:`.messaging` (backlog, drain time,
decoupled availability), :mod:`.datacentres` (failover between sites,
headroom, lost writes, conflicts) and :mod:`.predict` (theory for a whole
architecture).  Every public function, class and constant of those modules is a name here: a new
closed form is one function in its module, and nothing to list twice.
"""

from . import availability, balancing, caching, cdn, datacentres, messaging, predict, queues, replication

MODULES = (queues, balancing, availability, caching, cdn, replication, datacentres, messaging, predict)

from . import hashing  # noqa: E402  (chapter 08: clients moved, balls into bins, one big NAT)

MODULES += (hashing,)


def _public(module):
    """The names ``module`` offers its readers: its ``__all__``, else the functions and classes it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__]


__all__ = sorted({name for module in MODULES for name in _public(module)} - {"MODULES"})
globals().update({name: getattr(module, name) for module in MODULES for name in _public(module)})
