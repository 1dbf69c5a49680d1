"""Architectures: components wired the way the chapter draws them.

Each function here returns an :class:`Architecture`, the object that both
:func:`chapter1.simulate` runs and :func:`chapter1.diagram.draw` pictures.
"""

from dataclasses import dataclass, replace

from . import _validate as check
from .components import DNS, Component, Database, Server, WebServer


@dataclass(frozen=True)
class Architecture:
    """A request path: clients resolve the name with ``dns``, then visit each tier in ``tiers``.

    >>> arch = single_server(workers=4)
    >>> [t.name for t in arch.tiers]
    ['server']
    >>> arch.with_changes("server", workers=8)["server"].workers
    8
    """

    name: str
    tiers: tuple
    dns: DNS | None = DNS()

    def __post_init__(self):
        if not self.tiers:
            raise ValueError("tiers must hold at least one component; got an empty tuple")
        for c in self.tiers:
            if not isinstance(c, Component):
                raise ValueError(f"tiers must hold components (Server, WebServer, ...); got {c!r}")
        if self.dns is not None and not isinstance(self.dns, DNS):
            raise ValueError(f"dns must be a DNS component or None; got {self.dns!r}")
        names = [c.name for c in self.components]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"component names must be unique; repeated: {', '.join(duplicates)}")

    @property
    def components(self):
        """Every component, DNS first, in the order a request meets them."""
        return ((self.dns,) if self.dns is not None else ()) + tuple(self.tiers)

    def __getitem__(self, name):
        for c in self.components:
            if c.name == name:
                return c
        names = ", ".join(repr(c.name) for c in self.components)
        raise KeyError(f"no component named {name!r}; this architecture has {names}")

    def with_changes(self, name, **changes):
        """A copy in which component ``name`` has the given fields changed."""
        return self._swap(name, replace(self[name], **changes))

    def fail(self, name, at_s, recover_s=float("inf")):
        """A copy in which component ``name`` goes down at ``at_s`` and recovers at ``recover_s``.

        >>> single_server().fail("server", at_s=20, recover_s=40)["server"].outages[0].end_s
        40
        """
        return self._swap(name, self[name].fail(at_s, recover_s))

    def _swap(self, name, new):
        if self.dns is not None and self.dns.name == name:
            return replace(self, dns=new)
        self[name]  # raises a KeyError listing the valid names
        return replace(self, tiers=tuple(new if c.name == name else c for c in self.tiers))

    def _repr_svg_(self):
        from .diagram import draw

        return draw(self).data


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
