"""Two engines, one answer: the event-free engine gives the simpy engine's Result, bit for bit.

Random configurations cover every event-free kind: servers (workers, service distributions, queue
limits, timeouts), tiers in a row, load balancers under every policy, sticky sessions and a shared
session store, with and without DNS, at light load and in overload.

Both engines also keep the numbers the course had before the event-free engine was made faster and
lighter (stored digests of whole Results), and the vectorised pieces match the loops they replace.
"""

import hashlib
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chapter1 as c
from chapter1.components.dns import cache_misses
from chapter1.components.policies import POLICIES
from chapter1.components.server import DRAW_SHIFT, ConstantTimes, ServiceTimes
from chapter1.core.simulation import Simulation, _clock


@st.composite
def outages(draw):
    """None most often; else one to three stretches (overlapping ones too, and deaths for good) within a run."""
    if draw(st.integers(0, 2)):
        return ()
    starts = draw(st.lists(st.floats(0.0, 8.0), min_size=1, max_size=3))
    return tuple(c.Outage(s, s + draw(st.sampled_from([0.3, 2.0, 5.0, math.inf]))) for s in starts)


@st.composite
def servers(draw, name):
    return c.Server(
        name=name,
        workers=draw(st.integers(1, 8)),
        service_time_ms=draw(st.sampled_from([5.0, 20.0, 50.0, 100.0])),
        distribution=draw(st.sampled_from(["exponential", "constant"])),
        queue_limit=draw(st.one_of(st.none(), st.integers(0, 20))),
        timeout_ms=draw(st.one_of(st.none(), st.sampled_from([50.0, 300.0, 2_000.0]))),
        outages=draw(outages()),
    )


@st.composite
def tiers(draw, prefix):
    if draw(st.booleans()):
        return draw(servers(prefix))
    members = tuple(draw(servers(f"{prefix}-{k + 1}")) for k in range(draw(st.integers(1, 5))))
    policy = draw(st.sampled_from(sorted(POLICIES)))
    joins = tuple(c.Join(draw(servers(f"{prefix}-{len(members) + k + 1}")), draw(st.floats(0.0, 6.0)))
                  for k in range(draw(st.integers(0, 1))))
    return c.LoadBalancer(name=f"{prefix} balancer", servers=members, policy=policy, joins=joins,
                          health_check_interval_s=draw(st.sampled_from([0.5, 2.0, 10.0])),
                          fall=draw(st.integers(1, 3)), eject_after=draw(st.sampled_from([None, 1, 3])),
                          outages=draw(outages()))


@st.composite
def architectures(draw):
    path = tuple(draw(tiers(f"tier{k + 1}")) for k in range(draw(st.integers(1, 3))))
    balancers = [t.name for t in path if isinstance(t, c.LoadBalancer)]
    if balancers and draw(st.booleans()):  # sessions: kept by the servers of a balancer, or in a shared store
        session = draw(st.sampled_from([c.StickySessions(pool=balancers[0]),
                                        c.SessionStore(workers=draw(st.integers(1, 4)), service_time_ms=5.0)]))
        path = path + (session,)
    dns = draw(st.sampled_from([None, c.DNS(), c.DNS(ttl_s=5, lookup_ms=80)]))
    return c.Architecture("random", path, dns=dns)


def constant_tiers(arch):
    def constant(tier):
        return any(getattr(p, "distribution", "") == "constant" for p in c.core.component.flatten(tier))
    return sum(constant(t) for t in arch.tiers)


def assert_same(arch, workload, requests, seed):
    if constant_tiers(arch) > 1:  # events can tie exactly: only the event loop orders them
        with pytest.raises(ValueError, match="constant service times, so events can tie"):
            c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
        return
    slow = c.simulate(arch, workload, requests=requests, seed=seed, engine="simpy")
    fast = c.simulate(arch, workload, requests=requests, seed=seed, engine="fast")
    pd.testing.assert_frame_equal(slow.requests, fast.requests)
    pd.testing.assert_frame_equal(slow.components, fast.components)
    pd.testing.assert_series_equal(slow.summary(), fast.summary())
    pd.testing.assert_frame_equal(slow.timeline(bins=7), fast.timeline(bins=7))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(arch=architectures(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), seed=st.integers(0, 2**20),
       requests=st.integers(1, 400))
def test_fast_engine_gives_the_simpy_result(arch, rate, seed, requests):
    assert_same(arch, c.Workload.from_rate(rate), requests, seed)


@pytest.mark.parametrize("make", [c.single_server, c.web_and_database, lambda: c.load_balanced(8, "least_connections")])
def test_chapter_architectures_run_fast_by_default(make):
    arch = make()
    assert_same(arch, c.Workload(users=500_000), 3_000, 1)
    auto = c.simulate(arch, c.Workload(users=500_000), requests=3_000, seed=1)
    pd.testing.assert_frame_equal(auto.requests, c.simulate(arch, c.Workload(users=500_000), requests=3_000,
                                                            seed=1, engine="fast").requests)


@pytest.mark.parametrize("arch", [c.cached().fail("cache", 5, 10), c.replicated(mode="sync")])
def test_events_need_simpy_and_fast_says_why(arch):
    with pytest.raises(ValueError, match="engine='fast' needs every tier to run without events"):
        c.simulate(arch, c.Workload.from_rate(20), requests=100, engine="fast")
    auto = c.simulate(arch, c.Workload.from_rate(20), requests=500, seed=2)
    pd.testing.assert_frame_equal(auto.requests, c.simulate(arch, c.Workload.from_rate(20), requests=500, seed=2,
                                                            engine="simpy").requests)


@pytest.mark.parametrize("arch, shows", [
    (c.single_server().fail("server", 10, 20), lambda r: r.summary()["error_rate"] > 0.3),
    (c.load_balanced(2).add_server(at_s=5), lambda r: r.summary()["web-3_utilization"] > 0.1),
    (c.load_balanced(3, "least_connections").with_changes("load balancer", eject_after=3).fail("web-2", 4)
     .fail("load balancer", 9, 10), lambda r: 0 < r.summary()["error_rate"] < 0.1)])
def test_outages_joins_and_ejection_run_without_events(arch, shows):
    assert_same(arch, c.Workload.from_rate(120), 3_000, 2)
    assert shows(c.simulate(arch, c.Workload.from_rate(120), requests=3_000, seed=2, engine="fast"))


def test_constant_service_in_two_tiers_in_a_row_stays_with_simpy():
    # Chains of constant service times make a departure and an arrival coincide to the last bit; which
    # comes first then decides least connections.  This configuration is one hypothesis found.
    def server(name, workers, ms, distribution):
        return c.Server(name=name, workers=workers, service_time_ms=ms, distribution=distribution,
                        queue_limit=None, timeout_ms=None)
    first = c.LoadBalancer(name="tier1 balancer", policy="ip_hash", servers=(
        server("tier1-1", 1, 20.0, "exponential"), server("tier1-2", 2, 100.0, "constant")))
    second = c.LoadBalancer(name="tier2 balancer", policy="least_connections", servers=(
        server("tier2-1", 1, 5.0, "exponential"), server("tier2-2", 1, 50.0, "constant")))
    arch = c.Architecture("random", (first, second), dns=None)
    assert_same(arch, c.Workload.from_rate(40.0), 18, 0)
    auto = c.simulate(arch, c.Workload.from_rate(40.0), requests=18, seed=0).requests
    # request 15 reaches the second tier at the very instant request 16 leaves tier2-2
    assert auto.loc[15, "tier2 balancer_server"] == "tier2-1"  # as the event loop orders the tie


def test_unknown_engine_lists_the_engines():
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'fast', 'simpy'; got 'quick'"):
        c.simulate(c.single_server(), c.Workload(), requests=10, engine="quick")


# -- the same numbers as before ---------------------------------------------------------------------

def digest(result):
    """A short fingerprint of a whole Result: every request, component, summary figure and timeline window."""
    h = hashlib.sha256()
    for frame in (result.requests, result.components, result.summary().to_frame(), result.timeline(bins=13)):
        h.update(pd.util.hash_pandas_object(frame.astype(str), index=True).values.tobytes())
    return h.hexdigest()[:16]


# Digests of 3,000 requests with seed 7, computed with the engines as they were before service times were
# drawn in chunks and the event-free engine vectorised (the simpy and event-free engines gave these alike).
BEFORE = {
    "single": (lambda: c.single_server(), c.Workload(users=3_000_000), "751916a6ba7545af"),
    "single, 1 worker, short queue": (lambda: c.single_server(workers=1, service_time_ms=60, queue_limit=5,
                                                             timeout_ms=300), c.Workload.from_rate(15),
                                      "d32efd23a028f36d"),
    "web + database": (lambda: c.web_and_database(), c.Workload(users=5_000_000), "da2617f3e05c4899"),
    "round robin": (lambda: c.load_balanced(8, "round_robin", workers=1), c.Workload.from_rate(140),
                    "2741c75ac5cf2a00"),
    "least connections": (lambda: c.load_balanced(8, "least_connections", workers=1), c.Workload.from_rate(140),
                          "887cdfd901c34138"),
    "power of two": (lambda: c.load_balanced(8, "power_of_two", workers=1), c.Workload.from_rate(140),
                     "fd16f96af7c45ca1"),
    "random": (lambda: c.load_balanced(8, "random", workers=1), c.Workload.from_rate(140), "378ac8ea8ef313a8"),
    "weighted": (lambda: c.load_balanced(4, "weighted", workers=2), c.Workload.from_rate(100), "a611bdc6c67c33e5"),
    "ip hash": (lambda: c.load_balanced(4, "ip_hash", workers=2), c.Workload.from_rate(100), "55a9b7c66874b0e2"),
    "a server dies": (lambda: c.load_balanced(4, "least_connections", workers=2).fail("web-2", 5, 20),
                      c.Workload.from_rate(100), "66ea4e5e37641478"),
    "dns round robin": (lambda: c.dns_round_robin(3, ttl_s=5), c.Workload.from_rate(80), "3d9d0f35e60b169a"),
    "the box dies": (lambda: c.single_server(workers=2).fail("server", 10, 30), c.Workload.from_rate(30),
                     "1a5ec5ab778695ea"),
}


@pytest.mark.parametrize("engine", ["simpy", "auto"])
@pytest.mark.parametrize("case", sorted(BEFORE))
def test_results_are_the_ones_stored_before(case, engine):
    make, workload, stored = BEFORE[case]
    assert digest(c.simulate(make(), workload, requests=3_000, seed=7, engine=engine)) == stored


def test_digest_sees_a_change_in_one_request():
    result = c.simulate(c.single_server(), c.Workload(users=3_000_000), requests=3_000, seed=7)
    result.latency_ms[1_234] += 1e-9
    result.__dict__.pop("_requests", None)
    assert digest(result) != BEFORE["single"][2]


# -- service times drawn in chunks ------------------------------------------------------------------

@pytest.mark.parametrize("draw", [lambda g, n: g.exponential(0.05, n), lambda g, n: g.lognormal(-3.0, 0.8, n),
                                  lambda g, n: g.gamma(2.0, 0.02, n), lambda g, n: g.normal(0.05, 0.01, n)],
                         ids=["exponential", "lognormal", "gamma", "normal"])
def test_numpy_draws_in_chunks_are_one_draw_cut_in_pieces(draw):
    whole = draw(np.random.default_rng(5), 50_000)
    rng = np.random.default_rng(5)
    pieces = np.concatenate([draw(rng, size) for size in (1, 16_383, 16_384, 17_000, 232)])
    assert np.array_equal(whole, pieces)


def test_service_times_give_one_draw_in_any_order():
    n = 5 * (1 << DRAW_SHIFT) + 77
    whole = np.random.default_rng(9).exponential(0.02, n)
    times = ServiceTimes(np.random.default_rng(9), 0.02, n)
    rng = np.random.default_rng(0)
    picks = np.r_[n - 1, 0, rng.integers(0, n, 3_000), 1 << DRAW_SHIFT, (1 << DRAW_SHIFT) - 1]
    assert [times[i] for i in picks.tolist()] == whole[picks].tolist()  # old chunks drawn again when needed
    assert len(times.chunks) <= ServiceTimes.KEEP
    assert np.array_equal(times.take(np.sort(picks)), whole[np.sort(picks)])
    assert np.array_equal(ConstantTimes(0.05).take(picks[:5]), np.full(5, 0.05)) and ConstantTimes(0.05)[7] == 0.05


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_a_pool_of_many_servers_holds_a_few_chunks_each(engine):
    arch = c.load_balanced(16, "round_robin", workers=1, service_time_ms=5)
    n = (ServiceTimes.KEEP + 2) << DRAW_SHIFT
    sim = Simulation(arch, c.Workload.from_rate(2_000), n, 0)
    sim.run(engine)
    servers = [r.service for r in sim.runtimes if isinstance(r.spec, c.Server)]  # exponential: drawn
    assert len(servers) == 16 and all(len(s.states) == ServiceTimes.KEEP + 3 for s in servers)  # drew every chunk
    # one request at a time keeps the last KEEP chunks; a whole share at once keeps none
    assert max(len(s.chunks) for s in servers) == (ServiceTimes.KEEP if engine == "simpy" else 0)


# -- vectorised pieces against the loops they replace ---------------------------------------------

def dns_loop(user, arrival, start, ttl, down_now):
    """Each user's cache, request by request (the reference)."""
    expiry, missed = {}, []
    for k, (u, t) in enumerate(zip(user.tolist(), arrival.tolist())):
        fresh = expiry.get(u, start[k])
        missed.append(not fresh > t)
        if fresh > t:
            expiry[u] = fresh
        elif not down_now[k]:
            expiry[u] = t + ttl
    return np.array(missed)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(n=st.integers(1, 2_000), users=st.sampled_from([1, 3, 50, 1_000, 10**9]), ttl=st.sampled_from([0.0, 0.5, 5.0]),
       gap=st.sampled_from([0.01, 1.0]), warm=st.floats(0, 1), outage=st.sampled_from(["none", "window", "flaky"]),
       seed=st.integers(0, 2**20))
def test_dns_cache_misses_match_the_loop(n, users, ttl, gap, warm, outage, seed):
    rng = np.random.default_rng(seed)
    arrival = np.round(np.cumsum(rng.exponential(gap, n)), 1 if seed % 3 == 0 else 12)  # ties as well
    user = rng.integers(0, users, n)
    start = np.where(rng.random(n) < warm, rng.random(n) * ttl, -math.inf)
    down_now = {"none": np.zeros(n, dtype=bool), "flaky": rng.random(n) < 0.3,
                "window": (arrival >= arrival[n // 3]) & (arrival < arrival[n // 2])}[outage]
    assert np.array_equal(cache_misses(user, arrival, start, ttl, down_now),
                          dns_loop(user, arrival, start, ttl, down_now))


def clock_loop(times):
    now, clock = 0.0, []
    for t in times:
        if t > now:
            now = now + (t - now)
        clock.append(now)
    return clock


@pytest.mark.parametrize("seed", range(6))
def test_the_source_clock_matches_the_loop(seed):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.exponential([1e-3, 1.0, 100.0][seed % 3], 3_000).cumsum() + [0.0, 0.017][seed % 2])
    assert _clock(times).tolist() == clock_loop(times.tolist())


def test_the_source_clock_keeps_a_chain_of_rounded_steps():
    # Long jumps between arrivals: now + (t - now) rounds away from t, twice in a row here (and the next
    # step starts from the rounded value).
    times = [0.0007743209689, 0.0080829192726, 0.0672027657155, 0.1239375140891, 0.8312306626273, 3.1220648764058,
             67.6871828584128, 356.9520566799409]
    clock = _clock(np.array(times)).tolist()
    assert clock == clock_loop(times) and sum(a != b for a, b in zip(clock, times)) == 2


@settings(max_examples=60, deadline=None, derandomize=True)
@given(workers=st.integers(1, 4), limit=st.integers(0, 6), timeout=st.sampled_from([None, 0.05, 0.4]),
       load=st.sampled_from([0.5, 0.9, 1.3, 3.0]), block=st.integers(1, 40), seed=st.integers(0, 2**20))
def test_a_share_in_blocks_starts_as_one_loop_with_the_queue_limit(workers, limit, timeout, load, block, seed):
    server = c.Server(workers=workers, service_time_ms=20, queue_limit=limit,
                      timeout_ms=None if timeout is None else timeout * 1_000)
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(0.02 / workers / load, 300))
    services = rng.exponential(0.02, 300)

    def runtime():
        return Simulation(c.Architecture("one", (server,), dns=None), c.Workload.from_rate(10), 300, 0).runtimes[0]
    blocks, whole = runtime(), runtime()
    got = blocks._starts(times, services, block=block)
    want = np.array(whole._schedule(times.tolist(), services.tolist()))
    assert np.array_equal(got, want, equal_nan=True)
    assert sorted(blocks.free) == sorted(whole.free)
    assert [w for w in blocks.waiting if w > times[-1]] == [w for w in whole.waiting if w > times[-1]]


def weighted_loop(current, weights, healthy):
    """nginx's smooth weighted round robin, one pick (the reference)."""
    total, best = 0.0, healthy[0]
    for k in healthy:
        current[k] += weights[k]
        total += weights[k]
        if current[k] > current[best]:
            best = k
    current[best] -= total
    return best


@pytest.mark.parametrize("weights", [[160.0] * 8, [1, 2, 3], [2.5, 5.0], [7, 11, 13, 1_000], [0.3, 0.7, 1.1]])
def test_weighted_picks_come_round_as_the_loop_makes_them_while_servers_come_and_go(weights):
    from chapter1.components import policies

    run = SimpleNamespace(current=[0.0] * len(weights), weights=list(weights), cycle=None, cycle_at=0)
    reference, every = [0.0] * len(weights), tuple(range(len(weights)))
    rng = np.random.default_rng(len(weights))
    for stretch in range(40):  # stretches with every server, or with one out, some picked a whole run at once
        out = int(rng.integers(len(weights))) if stretch % 3 == 1 and len(weights) > 1 else None
        healthy = tuple(k for k in every if k != out)
        n = int(rng.integers(1, 200))
        want = [weighted_loop(reference, weights, healthy) for _ in range(n)]
        if stretch % 2:
            assert policies._weighted_all(run, healthy, np.arange(n)).tolist() == want
        else:
            assert [policies._weighted(run, healthy, i) for i in range(n)] == want
