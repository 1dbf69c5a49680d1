"""The architectures of the chapters: each function returns an :class:`~chapter1.core.architecture.Architecture`.

The object both :func:`chapter1.simulate` runs and :func:`chapter1.present.diagram.draw` pictures.
"""

from .components.cache import Cache
from .components.pool import DNSRoundRobin, LoadBalancer
from .components.server import Database, Server, WebServer
from .core import validation as check
from .core.architecture import Architecture


def single_server(workers=8, service_time_ms=50.0, **server_options):
    """Everything on one box: web app, database and cache share its ``workers``.

    The seed chapter's first picture.  Service time is exponential by default, so the
    box is an M/M/c queue and :func:`chapter1.analytic.mmc` predicts its latency.

    >>> single_server(workers=2, service_time_ms=100)["server"].capacity
    20.0
    """
    server = Server(name="server", workers=workers, service_time_ms=service_time_ms, **server_options)
    return Architecture(name="single server", tiers=(server,))


def web_and_database(web_workers=8, db_workers=4, web_service_ms=30.0, db_service_ms=20.0, **server_options):
    """The web tier and the data tier on separate servers: each request is served by the web server,
    which then queries the database server.

    Each tier is an exponential queue with its own workers, so the two form a tandem
    (:func:`chapter1.analytic.tandem`) and each can be scaled on its own.  The other options
    (queue_limit, timeout_ms, distribution) go to both servers.

    >>> arch = web_and_database(web_workers=8, db_workers=4)
    >>> [c.name for c in arch.components]
    ['dns', 'web', 'database']
    >>> round(arch["web"].capacity, 1), arch["database"].capacity
    (266.7, 200.0)
    """
    check.number("web_workers", web_workers, low=1, high=10_000, integer=True)
    check.number("db_workers", db_workers, low=1, high=10_000, integer=True)
    check.number("web_service_ms", web_service_ms, low=0, low_open=True, high=3_600_000)
    check.number("db_service_ms", db_service_ms, low=0, low_open=True, high=3_600_000)
    web = WebServer(name="web", workers=web_workers, service_time_ms=web_service_ms, **server_options)
    database = Database(name="database", workers=db_workers, service_time_ms=db_service_ms, **server_options)
    return Architecture(name="web tier + data tier", tiers=(web, database))


def load_balanced(servers=4, policy=None, service_time_ms=50.0, workers=8, *,
                  health_check_interval_s=10.0, weights=None, sessions=None, session_ttl_s=1_800.0, store=None,
                  **server_options):
    """Web servers behind a load balancer, with DNS in front: the seed chapter's scale-out picture.

    ``servers`` is a count of identical web servers (``workers`` each, exponential service by
    default, as in :func:`single_server`), or a list of Server objects for a mixed pool (then
    ``service_time_ms``, ``workers`` and the other options are the servers' own business).
    ``policy`` is one of :data:`chapter1.loadbalancer.POLICIES` (default "round_robin", or "ip_hash"
    with sticky sessions); the other options go to each server.

    ``sessions`` says where users' sessions live (chapter 08): None leaves them out of the model;
    ``"sticky"`` keeps them in each web server's memory (:class:`~chapter1.components.sessions.StickySessions`
    after the balancer); ``"shared"`` in a session store every request visits
    (``store``: a :class:`~chapter1.components.sessions.SessionStore`, by default one with 8 workers x
    2 ms and a standby).  ``session_ttl_s`` is a session's idle timeout.

    >>> arch = load_balanced(servers=3, policy="least_connections", workers=2)
    >>> [c.name for c in arch.components]
    ['dns', 'load balancer', 'web-1', 'web-2', 'web-3']
    >>> arch["load balancer"].capacity
    120.0
    >>> [c.name for c in load_balanced(servers=2, sessions="shared").components]
    ['dns', 'load balancer', 'web-1', 'web-2', 'session store']
    >>> load_balanced(servers=2, sessions="sticky")["load balancer"].policy
    'ip_hash'
    """
    from .components.sessions import SessionStore, StickySessions

    if sessions is not None:
        check.choice("sessions", sessions, ("sticky", "shared"))
    if store is not None and sessions != "shared":
        raise ValueError(f"store is used only with sessions='shared'; got sessions={sessions!r}")
    if policy is None:
        policy = "ip_hash" if sessions == "sticky" else "round_robin"
    pool = _servers(servers, service_time_ms, workers, server_options)
    balancer = LoadBalancer(servers=pool, policy=policy, weights=weights,
                            health_check_interval_s=health_check_interval_s)
    name = f"load balancer ({policy.replace('_', ' ')}), {len(pool)} servers"
    if sessions == "sticky":
        tiers = (balancer, StickySessions(pool=balancer.name, session_ttl_s=session_ttl_s))
        name += ", sticky sessions"
    elif sessions == "shared":
        store = SessionStore(session_ttl_s=session_ttl_s) if store is None else store
        check.instance("store", store, SessionStore, "SessionStore(workers=8, service_time_ms=2)")
        tiers, name = (balancer, store), name + ", shared session store"
    else:
        tiers = (balancer,)
    return Architecture(name=name, tiers=tiers)


def dns_round_robin(servers=4, ttl_s=60.0, service_time_ms=50.0, workers=8, *,
                    health_check_interval_s=10.0, lookup_ms=30.0, **server_options):
    """Web servers reached by DNS round robin, with no load balancer: each client sticks to one address for ``ttl_s``.

    ``health_check_interval_s`` is how often DNS itself checks the servers (``None``: plain DNS,
    which keeps handing out a dead server's address).  ``servers`` as in :func:`load_balanced`.

    >>> arch = dns_round_robin(servers=2, ttl_s=30)
    >>> [c.name for c in arch.components]
    ['dns', 'web-1', 'web-2']
    """
    pool = _servers(servers, service_time_ms, workers, server_options)
    dns = DNSRoundRobin(servers=pool, ttl_s=ttl_s, lookup_ms=lookup_ms, health_check_interval_s=health_check_interval_s)
    return Architecture(name=f"DNS round robin, {len(pool)} servers, TTL {ttl_s:g} s", tiers=(dns,), dns=None)


def _servers(servers, service_time_ms, workers, server_options):
    """``servers`` identical WebServers named web-1, web-2, ... or the given list of Server objects."""
    if isinstance(servers, Server):
        servers = (servers,)
    if hasattr(servers, "__iter__") and not isinstance(servers, str):
        if server_options:
            raise ValueError(f"server options ({', '.join(server_options)}) apply when servers is a count; "
                             "with a list of Server objects, set them on each server")
        return tuple(servers)
    check.number("servers", servers, low=1, high=1_000, integer=True)
    return tuple(WebServer(name=f"web-{k + 1}", workers=workers, service_time_ms=service_time_ms, **server_options)
                 for k in range(servers))


def replicated(replicas=2, replication_lag_ms=100.0, *, failover_s=10.0, mode="async", routing="round_robin",
               replay_cost=1.0, web_workers=16, web_service_ms=30.0, db_workers=4, db_service_ms=10.0,
               **server_options):
    """DNS -> web -> a primary database and ``replicas`` read replicas: the seed chapter's replication picture.

    Writes (a ``1 - read_ratio`` share of the workload) go to the primary; reads to the replicas,
    or to the primary when there are none.  Every database has ``db_workers`` workers and
    ``db_service_ms`` of exponential work per query; each replica also replays every write (at
    ``replay_cost`` times that work).  ``replication_lag_ms`` is the mean time a write takes to reach
    a replica, ``failover_s`` how long the set takes to notice a dead member and promote a replica
    in place of a dead primary; ``mode`` is "async" or "sync" (see
    :class:`chapter1.components.replicas.ReplicaSet`).  The other options go to every server.

    >>> arch = replicated(replicas=2)
    >>> [c.name for c in arch.components]
    ['dns', 'web', 'database', 'primary', 'replica-1', 'replica-2']
    """
    from .components.replicas import MAX_REPLICAS, Replica, ReplicaSet, replica_names

    check.number("replicas", replicas, low=0, high=MAX_REPLICAS, integer=True)
    check.number("db_workers", db_workers, low=1, high=10_000, integer=True)
    check.number("web_workers", web_workers, low=1, high=10_000, integer=True)
    web = WebServer(name="web", workers=web_workers, service_time_ms=web_service_ms, **server_options)
    primary = Database(name="primary", workers=db_workers, service_time_ms=db_service_ms, **server_options)
    copies = tuple(Replica(name=name, workers=db_workers, service_time_ms=db_service_ms, **server_options)
                   for name in replica_names(replicas))
    data = ReplicaSet(primary=primary, replicas=copies, replication_lag_ms=replication_lag_ms, failover_s=failover_s,
                      mode=mode, routing=routing, replay_cost=replay_cost)
    plural = "" if replicas == 1 else "s"
    return Architecture(name=f"primary + {replicas} replica{plural} ({mode})", tiers=(web, data))


def cached(cache_size=1_000, policy="lru", ttl_s=None, *, web_workers=8, web_service_ms=30.0, db_workers=4,
           db_service_ms=20.0, hit_ms=1.0, on_write="invalidate", warm=True, **server_options):
    """DNS -> web -> read-through cache -> database: chapter 06's cache tier in front of chapter 02's design.

    ``cache_size`` keys (at most the workload's key space), evicted by ``policy`` (one of
    :data:`chapter1.components.eviction.EVICTION`), each kept at most ``ttl_s`` seconds (None: until
    evicted).  A miss and every write reach the database; the other options go to both servers.

    >>> arch = cached(cache_size=500, policy="sieve")
    >>> [c.name for c in arch.components]
    ['dns', 'web', 'cache', 'database']
    >>> arch["cache"].capacity, arch["database"].capacity
    (500, 200.0)
    """
    check.number("db_workers", db_workers, low=1, high=10_000, integer=True)
    check.number("db_service_ms", db_service_ms, low=0, low_open=True, high=3_600_000)
    web = WebServer(name="web", workers=web_workers, service_time_ms=web_service_ms, **server_options)
    database = Database(name="database", workers=db_workers, service_time_ms=db_service_ms, **server_options)
    cache = Cache(name="cache", backend=database, capacity=cache_size, policy=policy, ttl_s=ttl_s, hit_ms=hit_ms,
                  on_write=on_write, warm=warm)
    ttl = f", TTL {ttl_s:g} s" if ttl_s is not None else ""
    return Architecture(name=f"web + {policy} cache ({cache_size:,} keys{ttl}) + database", tiers=(web, cache))


def queued(workers=8, service_time_ms=95.0, *, durable=True, delivery="at-least-once", web_workers=8,
           web_service_ms=10.0, ack_ms=5.0, crash_probability=0.0, idempotent=False, burst_messages=0,
           burst_at_s=10.0, autoscale=None, **server_options):
    """DNS -> web (the producer) -> message queue -> ``workers`` consumers: chapter 10's asynchronous design.

    The web tier answers once the broker has stored the message; each consumer works a message for
    ``service_time_ms`` (exponential) later and takes ``ack_ms`` to acknowledge it (by default 8 x (95 + 5)
    ms: 80 messages a second).  ``durable``, ``delivery``, ``burst_messages`` and
    ``burst_at_s`` go to the :class:`~chapter1.components.queue.MessageQueue`; ``ack_ms``,
    ``crash_probability``, ``idempotent`` and ``autoscale`` (an
    :class:`~chapter1.components.autoscaling.Autoscaler`) to its :class:`~chapter1.components.queue.Consumers`;
    the other options to the web server.

    >>> arch = queued(workers=4)
    >>> [c.name for c in arch.components]
    ['dns', 'web', 'queue', 'consumers']
    >>> arch["consumers"].capacity
    40.0
    """
    from .components.queue import Consumers, MessageQueue

    check.number("workers", workers, low=1, high=10_000, integer=True)
    web = WebServer(name="web", workers=web_workers, service_time_ms=web_service_ms, **server_options)
    pool = Consumers(name="consumers", workers=workers, service_time_ms=service_time_ms, ack_ms=ack_ms,
                     crash_probability=crash_probability, idempotent=idempotent, autoscale=autoscale)
    broker = MessageQueue(name="queue", consumers=pool, durable=durable, delivery=delivery,
                          burst_messages=burst_messages, burst_at_s=burst_at_s)
    kind = "durable" if durable else "in-memory"
    return Architecture(name=f"web -> {kind} queue -> {workers} consumers", tiers=(web, broker))


def with_cdn(architecture, regions=4, ttl_s=3_600.0, *, static_share=0.8, **options):
    """``architecture`` with a CDN in front: clients in ``regions`` fetch static assets from their region's edge.

    ``regions``: a number of the course's regions (:data:`chapter1.components.cdn.REGIONS`, nearest to the
    origin first) or a tuple of :class:`~chapter1.components.cdn.Region`.  The architecture's tiers become
    the CDN's origin: a miss (or a fallback while the CDN is down) is served by its first tier, a dynamic
    request (``1 - static_share`` of them) by all of them.  Other options go to
    :class:`~chapter1.components.cdn.CDN` (``deploys``, ``on_deploy``, ``invalidation_s``, ``fallback``,
    ``serve_from_edges``, ``edge_km``, ``round_trips``, ``asset_kb``, prices, ...).

    >>> arch = with_cdn(single_server(), regions=3, ttl_s=600)
    >>> [c.name for c in arch.components], len(arch["cdn"].regions)
    (['dns', 'cdn', 'server'], 3)
    """
    from .components.cdn import CDN, regions_of

    check.instance("architecture", architecture, Architecture, "single_server()")
    if any(isinstance(c, CDN) for c in architecture.components):
        raise ValueError(f"architecture {architecture.name!r} already has a CDN")
    chosen = regions_of(regions)
    cdn = CDN(name=options.pop("name", "cdn"), origin=architecture.tiers, regions=chosen, ttl_s=ttl_s,
              static_share=static_share, **options)
    edges = "origin only" if not cdn.serve_from_edges else f"{len(chosen)} edges, TTL {ttl_s:g} s"
    return Architecture(name=f"{architecture.name} + CDN ({edges})", tiers=(cdn,), dns=architecture.dns)


def multi_region(datacentres=2, mode="active-passive", *, region_shares=None, servers=2, workers=4,
                 service_time_ms=50.0, ttl_s=60.0, health_check_interval_s=10.0, local_ms=10.0, remote_ms=80.0,
                 replication_lag_ms=100.0, lookup_ms=30.0, delays_ms=None, **server_options):
    """GeoDNS in front of ``datacentres`` data centres, each a load balancer and ``servers`` web servers.

    The sites are ``dc-1``, ``dc-2``, ... in regions A, B, ...; ``region_shares`` is the share of
    clients in each region (default: equal).  ``mode`` is "active-passive" (dc-1 serves everyone,
    the others are idle standbys) or "active-active" (each region is served by its own site).  A
    client caches GeoDNS's answer ``ttl_s``; GeoDNS checks the sites every
    ``health_check_interval_s``; a request crosses ``local_ms`` to its own region's site and
    ``remote_ms`` to another (or ``delays_ms[region][site]``: one round trip for every pair); the
    sites copy each other's writes after ``replication_lag_ms`` on average (see
    :class:`chapter1.components.datacentre.GeoDNS`).  The other options go to every web server.
    A site's outage: ``multi_region().fail("dc-1", at_s=30, recover_s=90)``.

    >>> arch = multi_region(datacentres=2, mode="active-active", servers=2)
    >>> [c.name for c in arch.components]
    ['geodns', 'dc-1', 'dc-1 lb', 'dc-1 web-1', 'dc-1 web-2', 'dc-2', 'dc-2 lb', 'dc-2 web-1', 'dc-2 web-2']
    >>> arch["dc-1"].capacity
    160.0
    """
    from .components.datacentre import MAX_DATACENTRES, REGIONS, GeoDNS, site

    check.number("datacentres", datacentres, low=1, high=MAX_DATACENTRES, integer=True)
    sites = tuple(site(f"dc-{k + 1}", REGIONS[k], servers, workers, service_time_ms, **server_options)
                  for k in range(datacentres))
    geo = GeoDNS(datacentres=sites, mode=mode, region_shares=region_shares, ttl_s=ttl_s, lookup_ms=lookup_ms,
                 health_check_interval_s=health_check_interval_s, local_ms=local_ms, remote_ms=remote_ms,
                 replication_lag_ms=replication_lag_ms, delays_ms=delays_ms)
    return Architecture(name=f"{datacentres} data centres, {mode}", tiers=(geo,), dns=None)


def sharded(shards=4, scheme="ring", vnodes=100, *, celebrity_share=0.0, split_celebrity=1, fanout=0.0,
            web_workers=8, web_service_ms=20.0, db_workers=4, db_service_ms=10.0, **server_options):
    """A web tier and a shard router in front of ``shards`` database shards (chapter 12).

    A request's key picks its shard by ``scheme`` ("modulo" or "ring" with ``vnodes`` virtual nodes per
    shard); ``celebrity_share`` of the requests ask for one hot key, kept under ``split_celebrity``
    sub-keys; ``fanout`` of the reads are cross-shard queries (see
    :class:`chapter1.components.shards.ShardRouter`).  The other options go to every shard.

    >>> arch = sharded(shards=3, scheme="modulo")
    >>> [c.name for c in arch.components]
    ['dns', 'web', 'shard router', 'shard-1', 'shard-2', 'shard-3']
    """
    from .components.shards import ShardRouter, shard_databases

    check.number("web_workers", web_workers, low=1, high=10_000, integer=True)
    check.number("web_service_ms", web_service_ms, low=0, low_open=True, high=3_600_000)
    databases = shard_databases(shards, workers=db_workers, service_time_ms=db_service_ms, **server_options)
    router = ShardRouter(shards=databases, scheme=scheme, vnodes=vnodes, celebrity_share=celebrity_share,
                         split_celebrity=split_celebrity, fanout=fanout)
    web = WebServer(name="web", workers=web_workers, service_time_ms=web_service_ms)
    how = f"ring, {vnodes} vnodes" if scheme == "ring" else "modulo"
    return Architecture(name=f"web -> {shards} shards ({how})", tiers=(web, router))
