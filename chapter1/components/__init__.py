"""Component kinds, one module each; importing this package registers them all.

The simulation core never names a kind: it talks to the protocol in :mod:`chapter1.core.component`.
"""

from . import cache, dns, pool, replicas, server  # noqa: F401  (each module registers its kinds)
from .cache import Cache
from .dns import DNS
from .pool import DNSRoundRobin, Join, LoadBalancer
from .replicas import Replica, ReplicaSet
from .server import Database, Server, WebServer

__all__ = ["Cache", "DNS", "DNSRoundRobin", "Database", "Join", "LoadBalancer", "Replica", "ReplicaSet", "Server",
           "WebServer"]
