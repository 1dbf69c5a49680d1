"""simulate(): run an architecture under a workload with simpy, seeded and deterministic.

A fixed budget of requests is simulated whatever the number of users: the arrival rate
only sets how much simulated time the budget covers.  That keeps "10 million users" as
fast as "10 users".

Every request's attributes (arrival, client, key, read or write) are drawn once, here, from
named random streams; each component draws from a stream named after it.  Adding a component
therefore never shifts another's draws.
"""

import contextlib
import math
import zlib
from functools import cached_property

import numpy as np
import simpy

from . import validation as check
from .architecture import Architecture
from .component import OK
from .result import Result
from .workload import Workload

MAX_REQUESTS = 2_000_000
MAX_CLIENTS = 1_000
MAX_USERS = 10**12
ENGINES = ("auto", "fast", "simpy")


def simulate(architecture, workload, *, requests=20_000, seed=0, engine="auto"):
    """Send ``requests`` requests from ``workload`` through ``architecture``; return a :class:`Result`.

    Arrivals are Poisson at ``workload.rate``.  Same arguments and seed give an identical Result.

    ``engine``: "simpy" runs the event loop (the reference); "fast" computes each request's times
    without events, which every component on the path must offer (no outages, joins or timers);
    "auto" takes the fast engine whenever it can.  Both give the same Result.

    >>> from chapter1 import Workload, simulate, single_server
    >>> result = simulate(single_server(workers=4), Workload.from_rate(40), requests=2_000, seed=1)
    >>> result.summary()["requests"]
    2000
    """
    check.instance("architecture", architecture, Architecture, "single_server()")
    check.instance("workload", workload, Workload, "Workload(users=1000)")
    check.number("requests", requests, low=1, high=MAX_REQUESTS, integer=True)
    check.number("seed", seed, low=0, integer=True)
    check.choice("engine", engine, ENGINES)
    with small_pages():
        return Simulation(architecture, workload, requests, seed).run(engine)


@contextlib.contextmanager
def small_pages():
    """Inside, numpy asks the system for ordinary memory pages only, not huge pages; restored on leaving.

    numpy marks arrays of 4 MB or more for transparent huge pages.  Where the kernel then compacts memory to
    find one (``/sys/kernel/mm/transparent_hugepage/defrag`` set to "madvise", as on many cloud machines), a
    million-request run spent 0.30 s of system time faulting its arrays in, against 0.05 s with ordinary pages.

    >>> with small_pages():
    ...     len(np.zeros(1_000_000))
    1000000
    """
    arrays = getattr(np, "_core", None) or np.core  # numpy 2 moved its internals from core to _core
    switch = getattr(arrays.multiarray, "_set_madvise_hugepage", None)
    if switch is None:  # a numpy without the switch: nothing to change
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


class Simulation:
    """One run: per-request arrays, named random streams, the simpy environment and every runtime.

    Components read and write the per-request arrays: ``arrival`` (s), ``client`` (an address: one
    of at most 1,000), ``user``, ``key``, ``write``; ``status``, ``failed_at`` (component index),
    ``end`` (s) and ``entry_s`` (time spent before the first tier, e.g. a DNS lookup).
    """

    def __init__(self, architecture, workload, n, seed):
        self.architecture, self.workload, self.n, self.seed = architecture, workload, n, seed
        self.env = simpy.Environment()
        self.arrival = workload.arrival_times(self.stream("arrival"), n)
        self.clients = client_population(workload)
        self.client = self.stream("client").integers(0, self.clients, n)
        self.status = np.zeros(n, dtype=np.int8)
        self.failed_at = np.full(n, -1, dtype=np.int16)
        self.end = np.full(n, np.nan)
        self.entry_s = np.zeros(n)
        self._index = {c.name: k for k, c in enumerate(architecture.components)}
        self._built = {}
        front = (architecture.dns,) if architecture.dns is not None else ()
        self.front = [self.build(c) for c in front]
        self.tiers = [self.build(c) for c in architecture.tiers]
        self.runtimes = [self._built[c.name] for c in architecture.components]

    def stream(self, name):
        """The random generator named ``name`` for this seed (the same name always gives the same draws)."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))

    @cached_property
    def user(self):
        """Each request's user, uniform over the workload's users (a browser, with its own DNS cache)."""
        return self.stream("user").integers(0, max(1, min(MAX_USERS, int(self.workload.users))), self.n)

    @cached_property
    def key(self):
        """Each request's key (0 = most popular), from the workload's Zipf popularity."""
        return self.workload.sample_keys(self.stream("key"), self.n)

    @cached_property
    def write(self):
        """Each request's kind: True for a write, with probability 1 - read_ratio."""
        return self.workload.sample_writes(self.stream("write"), self.n)

    def build(self, component):
        """The runtime of ``component`` (built once; holders build their parts' runtimes with this)."""
        if component.name not in self._built:
            runtime = component.runtime(self, self._index[component.name])
            self._built[component.name] = runtime
        return self._built[component.name]

    def run(self, engine="simpy"):
        for runtime in self.runtimes:
            runtime.prepare()
        enter = self.arrival + self.entry_s
        order = np.argsort(enter, kind="stable")
        order = order[self.status[order] == OK]
        events = [repr(t.spec.name) for t in self.tiers if not t.batchable()]
        exact = [repr(t.spec.name) for t in self.tiers if t.exact_times()]
        fast = not events and len(exact) < 2
        if engine == "fast" and not fast:
            why = (f"{', '.join(events)} needs events (a kind without an event-free path, or one that runs its "
                   "own outages)" if events else f"{', '.join(exact)} have constant service times, so events can tie")
            raise ValueError(f"engine='fast' needs every tier to run without events; {why}: use engine='auto'")
        if fast and engine != "simpy":
            self._run_fast(order, _clock(enter[order]))
        else:
            self.done = [math.nan] * self.n  # when each request came back (a list: cheaper to write one at a time)
            self.env.process(self._source(order, enter))
            self.env.run()
            self.end = np.where(np.isnan(self.end), self.done, self.end)  # a component's own end time comes first
        return Result(self)

    def _run_fast(self, order, times):
        """Each tier in turn admits its requests in order of arrival there (a feed-forward path of FCFS stations)."""
        for tier in self.tiers:
            status, leave = tier.admit_batch(order, times)
            failed = status != OK
            lost = order[failed]
            self.status[lost] = status[failed]
            self.failed_at[lost] = np.where(self.failed_at[lost] < 0, tier.index, self.failed_at[lost])
            self.end[lost] = np.where(np.isnan(self.end[lost]), leave[failed], self.end[lost])
            order, times = order[~failed], leave[~failed]
            if tier is not self.tiers[-1]:  # the next tier takes them in order of arrival there
                by_time = np.argsort(times, kind="stable")
                order, times = order[by_time], times[by_time]
        self.end[order] = np.where(np.isnan(self.end[order]), times, self.end[order])

    def _source(self, order, enter):
        env, request, finish = self.env, self._request, self._finish
        alone = self.tiers[0] if len(self.tiers) == 1 else None  # one tier: its process is the request's
        now = env.now
        for i, t in zip(order.tolist(), enter[order].tolist()):
            if t > now:
                yield env.timeout(t - now)
                now = env.now
            if alone is None:
                env.process(request(i))
            else:
                process = env.process(alone.serve(i))
                process.request = i  # for _finish
                process.callbacks.append(finish)

    def _request(self, i):
        for tier in self.tiers:
            status = yield from tier.serve(i)
            if status != OK:
                self._failed(i, status, tier)
                break
        self.done[i] = self.env.now

    def _finish(self, process):
        """The end of a request whose one tier ran as its own process (``process.request``: the request)."""
        i, status = process.request, process.value
        if status != OK:
            self._failed(i, status, self.tiers[0])
        self.done[i] = self.env.now

    def _failed(self, i, status, tier):
        self.status[i] = status
        if self.failed_at[i] < 0:  # a holder may already have named the part that failed
            self.failed_at[i] = tier.index


def _clock(times):
    """The times at which simpy's source starts each request (``times`` sorted): it advances its clock by
    now + (t - now), which is t itself except where rounding makes it differ (a few of the first requests).

    >>> _clock(np.array([0.1, 0.3, 0.3, 1.0])).tolist()
    [0.1, 0.3, 0.3, 1.0]
    """
    clock = times
    for _ in range(64):  # each round settles at least one more request; a mismatch rarely spans more than two
        before = np.concatenate(([0.0], clock[:-1]))
        step = np.where(times > before, before + (times - before), before)
        if np.array_equal(step, clock):
            return clock
        clock = step
    now, slow = 0.0, []
    for t in times.tolist():
        if t > now:
            now = now + (t - now)
        slow.append(now)
    return np.array(slow)


def client_population(workload):
    """How many distinct clients send the requests: the users, at most :data:`MAX_CLIENTS`.

    Each request's client is drawn uniformly from them (``Result.requests["client"]``).  The cap
    keeps repeat visits within a budget of a few thousand requests (5,000 requests give each of
    1,000 clients about 5); one simulated client then stands for a group of users behind one
    address and one DNS cache (a NAT gateway, an ISP resolver).

    >>> client_population(Workload(users=10)), client_population(Workload(users=1_000_000))
    (10, 1000)
    """
    return max(1, min(MAX_CLIENTS, int(workload.users)))


def down(component, times):
    """For each time, whether one of ``component``'s outages covers it (vectorised)."""
    result = np.zeros(len(times), dtype=bool)
    for outage in component.outages:
        result |= (times >= outage.start_s) & (times < outage.end_s)
    return result


def sweep(architecture, users, *, requests=2_000, seed=0, engine="auto", **workload_options):
    """Simulate once per number of users; return one summary row per value (a tidy DataFrame).

    >>> from chapter1 import single_server
    >>> table = sweep(single_server(), users=[1_000, 100_000], requests=500)
    >>> list(table["users"])
    [1000, 100000]
    """
    import pandas as pd

    if isinstance(users, (str, bytes)) or not hasattr(users, "__iter__"):
        raise TypeError(f"users must be a list of user counts (e.g. [1_000, 100_000]); got {users!r}")
    rows = []
    for u in users:
        workload = Workload(users=u, **workload_options)
        summary = simulate(architecture, workload, requests=requests, seed=seed, engine=engine).summary()
        rows.append({"users": u, **summary.to_dict()})
    return pd.DataFrame(rows)
