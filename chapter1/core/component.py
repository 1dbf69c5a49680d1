"""The component protocol: the one place where new kinds of component plug into the course.

A *kind* is one module (see ``chapter1/components/`` and ``docs/extending.md``) holding

* a frozen, validated **spec**, a subclass of :class:`Component` (it can :meth:`~Component.fail`);
* its **run-time behaviour**, a subclass of :class:`Runtime` that :meth:`Component.runtime` returns;
* optionally its **theory** (:meth:`Component.station`, :meth:`Component.entry_delay`), its
  **picture** (:meth:`Component.describe`, :attr:`Component.place`) and the **figures** its runtime
  reports (:meth:`Runtime.columns`, :meth:`Runtime.figures`, :meth:`Runtime.row`, :meth:`Runtime.busy`).

The simulation, :class:`~chapter1.core.result.Result`, the diagram and the theory dispatcher talk
to these methods only; they never name a kind.  A component may hold **parts** and pass a request
on to them (a load balancer to its servers, a cache to its database on a miss).

>>> sorted(KINDS)[:3]  # doctest: +SKIP
['DNS', 'DNSRoundRobin', 'Database']
"""

import dataclasses
import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import validation as check

OK, ERROR, TIMEOUT, REJECTED = range(4)
STATUSES = ("ok", "error", "timeout", "rejected")

KINDS = {}      # kind name -> Kind (its class and an example architecture), filled by @register
DEFAULTS = {}   # role -> factory of the default component in that role ("dns": what Architecture uses)


@dataclass(frozen=True)
class Outage:
    """A component is down from ``start_s`` until ``end_s`` (simulated seconds; inf = never recovers).

    >>> Outage(30, 45).covers(40)
    True
    """

    start_s: float
    end_s: float = math.inf

    def __post_init__(self):
        check.number("start_s", self.start_s, low=0)
        check.number("end_s", self.end_s, low=self.start_s, low_open=True, allow_inf=True)

    def covers(self, t):
        return self.start_s <= t < self.end_s


@dataclass(frozen=True)
class Component:
    """Anything in the request path that can fail and recover.

    Subclasses are frozen dataclasses; change one with :meth:`fail` or ``dataclasses.replace``.
    """

    name: str = "component"
    outages: tuple = field(default=(), kw_only=True)

    #: Where the diagram draws it: "path" (in the request path) or "resolver" (under the clients).
    place = "path"

    def __post_init__(self):
        check.text("name", self.name)
        object.__setattr__(self, "outages", check.sequence("outages", self.outages, Outage, "Outage(30, 60)"))

    # -- faults ---------------------------------------------------------------------------------

    def fail(self, at_s, recover_s=math.inf):
        """A copy of this component that goes down at ``at_s`` and comes back at ``recover_s``.

        >>> Component(name="box").fail(at_s=30, recover_s=60).outages
        (Outage(start_s=30, end_s=60),)
        """
        return replace(self, outages=self.outages + (Outage(at_s, recover_s),))

    def is_up(self, t):
        """True when no outage covers simulated time ``t``."""
        return not any(o.covers(t) for o in self.outages)

    @property
    def kind(self):
        return type(self).__name__

    # -- parts ----------------------------------------------------------------------------------

    @property
    def parts(self):
        """The components this one holds and passes requests to (none by default)."""
        return ()

    def with_part(self, name, new):
        """A copy in which the part called ``name`` (at any depth) is replaced by ``new``.

        Works for any field holding a component or a tuple of components; a kind whose parts live
        elsewhere overrides it.
        """
        changes = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Component):
                changes[f.name] = swapped(value, name, new)
            elif isinstance(value, tuple) and any(isinstance(v, Component) for v in value):
                changes[f.name] = tuple(swapped(v, name, new) if isinstance(v, Component) else v for v in value)
        return replace(self, **changes)

    def add_server(self, at_s, server=None, **options):
        """A copy in which a server joins at ``at_s``: only kinds that hold a pool of servers can."""
        raise TypeError(f"a {self.kind} ({self.name!r}) holds no pool of servers to add one to")

    # -- run time -------------------------------------------------------------------------------

    def runtime(self, sim, index):
        """This component at run time (a :class:`Runtime`), in simulation ``sim``."""
        raise TypeError(f"{self.kind} cannot be simulated: it defines no runtime() (see docs/extending.md)")

    # -- theory ---------------------------------------------------------------------------------

    def station(self):
        """The queue this component is in theory, as ``(service_rate, workers)``; None when no closed form."""
        return None

    def entry_delay(self, workload):
        """``(share, seconds)``: the share of requests delayed before the first tier, and by how much."""
        return 0.0, 0.0

    # -- picture --------------------------------------------------------------------------------

    def describe(self):
        """Lines of text for the diagram box (the name is drawn above them)."""
        return [self.kind]

    def label(self):
        """The component in one line (where the diagram draws it small, as a member of a pool)."""
        return self.kind

    def part_note(self, part):
        """Extra diagram lines about ``part`` as this holder sees it (e.g. when it joins)."""
        return []


class Share(float):
    """A figure that is a share, ``part`` of ``whole`` (``empty`` where ``whole`` is 0), and keeps both: where several
    components give the same figure, ``Result.summary()`` adds their parts and wholes up into the overall share.

    >>> hits = Share(3, 4)
    >>> hits, hits.part, hits.whole, Share(0, 0, empty=0.0)
    (0.75, 3, 4, 0.0)
    """

    def __new__(cls, part, whole, empty=math.nan, value=None):
        share = super().__new__(cls, value if value is not None else part / whole if whole else empty)
        share.part, share.whole = part, whole
        return share


class Runtime:
    """A component at run time: ``serve(i)`` is a simpy generator that returns a status code.

    ``spec`` is the component, ``sim`` the simulation (per-request arrays, named random streams,
    ``env``), ``index`` the component's position in ``architecture.components``.
    """

    def __init__(self, spec, sim, index):
        self.spec, self.sim, self.env, self.index = spec, sim, sim.env, index
        self.parts = [sim.build(part) for part in spec.parts]

    def prepare(self):
        """Vectorised work before the first event (e.g. resolving names for every request)."""

    def serve(self, i):
        """Handle request ``i`` (a generator for simpy); return OK, ERROR, TIMEOUT or REJECTED."""
        return OK
        yield  # a generator that answers at once

    def pass_on(self, part, i):
        """Send request ``i`` on to ``part`` (one of :attr:`parts`); a failure there is attributed to the part,
        unless a part deeper inside it already named itself.

        Use it as ``status = yield from self.pass_on(self.parts[0], i)``.
        """
        status = yield from part.serve(i)
        if status != OK and self.sim.failed_at[i] < 0:
            self.sim.failed_at[i] = part.index
        return status

    # -- the event-free path (optional) ---------------------------------------------------------

    def batchable(self):
        """True when this runtime (and its parts) can serve without events: :meth:`admit` then stands in for
        :meth:`serve`.  A kind with scheduled behaviour (outages, joins, timers) answers False."""
        return False

    def parts_batchable(self):
        """True when every part can serve without events: the :meth:`batchable` of a kind that only holds parts."""
        return all(p.batchable() for p in self.parts)

    def exact_times(self):
        """True when its service times (or any of its parts') are constants: then two such tiers in a row can make
        events tie exactly, and only the event loop knows which of two simultaneous events comes first."""
        return any(p.exact_times() for p in self.parts)

    def admit(self, i, t):
        """Serve request ``i`` arriving at ``t`` without an event loop; return ``(status, leave_s)``.

        Requests come in order of arrival at this component.  ``leave_s`` is when the request leaves
        (the same moment :meth:`serve` would return); it must give exactly what :meth:`serve` gives.
        """
        raise NotImplementedError(f"{self.spec.kind} offers no event-free path")

    def admit_all(self, requests, times):
        """:meth:`admit` for many requests in order of arrival; returns (statuses, leave times) as lists.

        A kind may override it with one tight loop; by default it admits one request at a time.
        """
        outcome = [self.admit(i, t) for i, t in zip(requests, times)]
        return [status for status, _ in outcome], [leave for _, leave in outcome]

    def admit_batch(self, requests, times):
        """:meth:`admit_all` on arrays (request indices, arrival times); returns (statuses, leave times) as arrays.

        The engine calls this one; a kind may override it to do its bookkeeping in numpy.
        """
        statuses, leaves = self.admit_all(requests.tolist(), times.tolist())
        return np.asarray(statuses, dtype=np.int8), np.asarray(leaves, dtype=float)

    # -- what it reports ------------------------------------------------------------------------

    def columns(self):
        """Per-request columns for ``Result.requests`` (name -> array of one value per request)."""
        return {}

    def figures(self):
        """Headline figures for ``Result.summary()`` (name -> number; a ratio as a :class:`Share`).  A name that other
        components give too appears there as ``<component>_<name>``, one for each, and under its own name as their
        overall figure where there is one (:data:`chapter1.core.result.COMBINED`)."""
        return {}

    def row(self):
        """This component's figures for ``Result.components``: workers, served, mean_wait_ms."""
        return {"workers": None, "served": 0, "mean_wait_ms": math.nan}

    def busy(self):
        """``(starts, ends, workers)`` of every service period, for utilisation; None if it has no workers."""
        return None


@dataclass(frozen=True)
class Kind:
    """A registered component kind: its class and an example architecture that uses it."""

    cls: type
    example: object  # () -> Architecture


def register(example, default_for=None):
    """Class decorator: make a component kind known to the course (and to its contract tests).

    ``example`` builds a small architecture that uses the kind; ``default_for`` names a role the
    kind fills by default (``"dns"``: the resolver an :class:`~chapter1.core.architecture.Architecture`
    gets when none is given).
    """
    def decorate(cls):
        if not (isinstance(cls, type) and issubclass(cls, Component)):
            raise TypeError(f"register() decorates Component subclasses; got {cls!r}")
        KINDS[cls.__name__] = Kind(cls, example)
        if default_for is not None:
            DEFAULTS[default_for] = cls
        return cls
    return decorate


def flatten(component):
    """``component`` and every part inside it, depth first."""
    yield component
    for part in component.parts:
        yield from flatten(part)


def swapped(component, name, new):
    if component.name == name:
        return new
    if any(p.name == name for p in flatten(component)):
        return component.with_part(name, new)
    return component
