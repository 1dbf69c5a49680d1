"""Component kinds, one module each; importing this package registers them all.

The simulation core never names a kind: it talks to the protocol in :mod:`chapter1.core.component`.
"""

from . import cache, cdn, datacentre, dns, pool, queue, replicas, server  # noqa: F401  (each module registers its kinds)
from .cache import Cache
from .cdn import CDN, Region
from .datacentre import DataCentre, GeoDNS
from .dns import DNS
from .pool import DNSRoundRobin, Join, LoadBalancer
from .queue import Consumers, MessageQueue
from .replicas import Replica, ReplicaSet
from .server import Database, Server, WebServer
from .sessions import SessionStore, StickySessions  # noqa: F401  (chapter 08: where sessions live)

__all__ = ["Cache", "CDN", "Consumers", "Database", "DataCentre", "DNS", "DNSRoundRobin", "GeoDNS", "Join",
           "LoadBalancer", "MessageQueue", "Region", "Replica", "ReplicaSet", "Server", "WebServer"]
