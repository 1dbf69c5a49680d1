"""Architecture: components wired the way the chapter draws them.

The same object is what :func:`chapter1.simulate` runs, what :func:`chapter1.present.diagram.draw`
pictures and what :func:`chapter1.analytic.predict` reasons about.
"""

import dataclasses
import importlib
from dataclasses import dataclass, field, replace

from . import validation as check
from .component import DEFAULTS, Component, flatten, swapped

_DEFAULT = object()  # "the default resolver" (a DNS), chosen at construction


@dataclass(frozen=True)
class Architecture:
    """A request path: clients resolve the name with ``dns``, then visit each tier in ``tiers``.

    ``dns`` is any resolver component (default: a DNS with a 300 s TTL) or None.

    >>> from chapter1 import single_server
    >>> arch = single_server(workers=4)
    >>> [t.name for t in arch.tiers]
    ['server']
    >>> arch.with_changes("server", workers=8)["server"].workers
    8
    """

    name: str
    tiers: tuple
    dns: Component | None = field(default=_DEFAULT)

    def __post_init__(self):
        check.text("name", self.name)
        object.__setattr__(self, "tiers", check.sequence("tiers", self.tiers, Component, "Server()"))
        if not self.tiers:
            raise ValueError("tiers must hold at least one component; got an empty tuple")
        if self.dns is _DEFAULT:
            importlib.import_module("chapter1.components")  # registers the kinds, the default resolver among them
            object.__setattr__(self, "dns", DEFAULTS["dns"]())
        if self.dns is not None:
            check.instance("dns", self.dns, Component, "DNS(ttl_s=300), or None")
        names = [c.name for c in self.components]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"component names must be unique; repeated: {', '.join(repeated)}")

    @property
    def components(self):
        """Every component, DNS first, in the order a request meets them; a component's parts follow it."""
        front = (self.dns,) if self.dns is not None else ()
        return tuple(p for c in front + self.tiers for p in flatten(c))

    def __getitem__(self, name):
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component named {name!r}; this architecture has {self._names()}")

    def with_changes(self, name, **changes):
        """A copy in which component ``name`` has the given fields changed."""
        component = self[name]
        fields = [f.name for f in dataclasses.fields(component)]
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise ValueError(f"{component.kind} {name!r} has no field {', '.join(unknown)}; "
                             f"its fields are {', '.join(fields)}")
        return self._swap(name, replace(component, **changes))

    def fail(self, name, at_s, recover_s=float("inf")):
        """A copy in which component ``name`` goes down at ``at_s`` and recovers at ``recover_s``.

        >>> from chapter1 import single_server
        >>> single_server().fail("server", at_s=20, recover_s=40)["server"].outages[0].end_s
        40
        """
        return self._swap(name, self[name].fail(at_s, recover_s))

    def add_server(self, at_s, server=None, to=None, **options):
        """A copy in which a server joins the pool ``to`` (default: the only one) at ``at_s``.

        ``server`` defaults to a copy of the pool's last server; ``options`` go to the pool's
        ``add_server`` (a ``weight`` when a balancer has explicit weights).

        >>> from chapter1 import load_balanced
        >>> [s.name for s in load_balanced(servers=2).add_server(at_s=30)["load balancer"].members]
        ['web-1', 'web-2', 'web-3']
        """
        pools = [c for c in self.components if type(c).add_server is not Component.add_server]
        if to is None and len(pools) != 1:
            raise ValueError(f"to must name the pool that gains a server; this architecture has {len(pools)} pools")
        pool = pools[0] if to is None else self[to]
        if pool not in pools:
            names = ", ".join(repr(p.name) for p in pools) or "none"
            raise ValueError(f"to must name a pool of servers; got {to!r} (pools: {names})")
        return self._swap(pool.name, pool.add_server(at_s, server, **options))

    def _swap(self, name, new):
        if self.dns is not None and self.dns.name == name:
            return replace(self, dns=new)
        self[name]  # raises a KeyError listing the valid names
        return replace(self, tiers=tuple(swapped(t, name, new) for t in self.tiers))

    def _names(self):
        return ", ".join(repr(c.name) for c in self.components)

    def _repr_svg_(self):
        from ..present.diagram import draw

        return draw(self).data
