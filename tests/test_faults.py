"""Fault switches and overload: outages, DNS failures, bounded queues, timeouts, 10 million users."""

import math

import numpy as np
import pytest

from chapter1 import DNS, Architecture, Database, Server, WebServer, Workload, simulate, single_server

T_FAIL, T_RECOVER = 20.0, 30.0


def box(**options):
    """Two workers, 20 ms exponential service, no DNS, unbounded queue, no timeout."""
    options = {"name": "server", "workers": 2, "service_time_ms": 20, "queue_limit": None, "timeout_ms": None,
               **options}
    return Server(**options)


def run(server, rate=50, requests=3_000, seed=4, dns=None):
    return simulate(Architecture("box", (server,), dns=dns), Workload.from_rate(rate), requests=requests, seed=seed)


def end_s(frame):
    return frame["arrival_s"] + frame["latency_ms"] / 1_000


@pytest.fixture(scope="module")
def healthy_and_failed():
    """The same traffic (same seed) through a healthy box and one that is down from 20 s to 30 s."""
    return run(box()).requests, run(box().fail(T_FAIL, T_RECOVER)).requests


def test_requests_arriving_during_the_outage_fail_at_the_server(healthy_and_failed):
    _, failed = healthy_and_failed
    during = failed[(failed.arrival_s >= T_FAIL) & (failed.arrival_s < T_RECOVER)]
    assert len(during) > 300  # ~50/s for 10 s
    assert (during.status == "error").all()
    assert (during.failed_at == "server").all()
    assert np.allclose(during.latency_ms, 0)  # refused at once


def test_requests_inside_the_server_when_it_dies_fail_at_that_moment(healthy_and_failed):
    healthy, failed = healthy_and_failed
    before = healthy.arrival_s < T_FAIL
    caught = before & (end_s(healthy) > T_FAIL)  # queued or in service at T_FAIL in the healthy run
    assert caught.sum() >= 1
    assert (failed.status[caught] == "error").all()
    assert (failed.failed_at[caught] == "server").all()
    np.testing.assert_allclose(end_s(failed)[caught], T_FAIL)
    # everyone who had already left is untouched: same status and the very same latency
    done = before & ~caught
    assert (failed.status[done] == "ok").all()
    np.testing.assert_allclose(failed.latency_ms[done], healthy.latency_ms[done])


def test_requests_succeed_again_after_recovery(healthy_and_failed):
    _, failed = healthy_and_failed
    after = failed[failed.arrival_s >= T_RECOVER]
    assert len(after) > 1_000
    assert (after.status == "ok").all()
    assert (after.failed_at == "").all()


def test_error_counts_agree_everywhere():
    result = run(box().fail(T_FAIL, T_RECOVER))
    errors = int((result.requests.status == "error").sum())
    assert result.components.loc[0, "error"] == errors
    assert result.summary()["error_rate"] == pytest.approx(errors / len(result.requests))


def test_timeline_shows_an_idle_dead_server():
    result = run(box().fail(T_FAIL, T_RECOVER))
    table = result.timeline(bins=60)
    half = (table.t_s.iloc[1] - table.t_s.iloc[0]) / 2
    inside = (table.t_s - half >= T_FAIL) & (table.t_s + half <= T_RECOVER)
    outside = (table.t_s + half <= T_FAIL) | (table.t_s - half >= T_RECOVER + 1)
    assert inside.sum() >= 8
    # (busy time is integrated with prefix sums, so "zero" is zero up to float rounding)
    np.testing.assert_allclose(table.server_utilization[inside], 0, atol=1e-9)
    assert (table.error_share[inside] == 1).all()
    assert (table.throughput_rps[inside] == 0).all()
    # rho = 50 x 0.02 / 2 = 0.5 elsewhere; one 1-second bin holds ~50 requests, so allow a wide band
    assert (table.server_utilization[outside] > 0.15).all()
    assert (table.error_share[outside] == 0).all()


def test_a_server_that_never_recovers():
    frame = run(box().fail(T_FAIL)).requests
    assert (frame.status[frame.arrival_s >= T_FAIL] == "error").all()
    assert (frame.status[end_s(frame) < T_FAIL] == "ok").all()


@pytest.mark.parametrize("outages, down", [
    (((10, 15), (15, 20)), (10, 20)),  # back to back
    (((10, 30), (20, 25)), (10, 30)),  # one inside another
    (((10, 20), (15, 30)), (10, 30)),  # overlapping
])
def test_several_outages_keep_the_server_down_while_any_covers_it(outages, down):
    server = box()
    for start, end in outages:
        server = server.fail(start, end)
    frame = run(server).requests
    inside = (frame.arrival_s >= down[0]) & (frame.arrival_s < down[1])
    assert (frame.status[inside] == "error").all(), frame[inside & (frame.status != "error")].head()
    # and the simulation agrees with the component's own is_up()
    up = np.array([server.is_up(t) for t in frame.arrival_s])
    assert ((frame.status == "error") | up).all()
    assert (frame.status[frame.arrival_s >= down[1] + 1] == "ok").all()


def test_a_failing_database_fails_requests_at_the_database():
    arch = Architecture("web + db", (WebServer(queue_limit=None, timeout_ms=None),
                                     Database(queue_limit=None, timeout_ms=None)), dns=None)
    frame = simulate(arch.fail("database", 20, 30), Workload.from_rate(50), requests=3_000, seed=1).requests
    # arrivals from 20.5 s to 29 s reach the database (after the web tier) while it is down
    during = frame[(frame.arrival_s >= 20.5) & (frame.arrival_s < 29)]
    assert (during.status == "error").all()
    assert (during.failed_at == "database").all()
    # they did pass through the web tier first (it served them), so they took some time
    assert (during.latency_ms > 0).all()
    assert (frame.status[frame.arrival_s >= 31] == "ok").all()


# --- DNS --------------------------------------------------------------------------------------

def test_dns_outage_fails_only_requests_that_missed_the_client_cache():
    dns = DNS(lookup_ms=30, ttl_s=300).fail(T_FAIL, T_RECOVER)
    workload = Workload.from_rate(50, requests_per_user=144)  # hit ratio 0.5
    frame = simulate(Architecture("dns + box", (box(),), dns=dns), workload, requests=3_000, seed=2).requests
    during = (frame.arrival_s >= T_FAIL) & (frame.arrival_s < T_RECOVER)
    missed = frame.dns_ms > 0
    lost = frame.status == "error"
    assert (lost == (during & missed)).all()
    assert (frame.failed_at[lost] == "dns").all()
    assert (during & ~missed).sum() > 100 and (during & missed).sum() > 100
    # a failed lookup costs the lookup time, and the request never reaches the server
    np.testing.assert_allclose(frame.latency_ms[lost], 30)
    assert frame.server_wait_ms[lost].isna().all()


def test_dns_outage_longer_than_the_ttl_empties_every_client_cache():
    """Cached answers expire during a long outage: after one TTL into it, every request fails."""
    ttl = 4.0
    dns = DNS(lookup_ms=30, ttl_s=ttl).fail(T_FAIL, T_RECOVER)
    workload = Workload.from_rate(50, requests_per_user=86_400 / ttl)  # r*ttl = 2: hit ratio 2/3 before the outage
    frame = simulate(Architecture("dns + box", (box(),), dns=dns), workload, requests=3_000, seed=2).requests
    lost = frame.status == "error"
    late = (frame.arrival_s >= T_FAIL + ttl) & (frame.arrival_s < T_RECOVER)
    early = (frame.arrival_s >= T_FAIL) & (frame.arrival_s < T_FAIL + 1)
    assert late.sum() > 200 and lost[late].all()
    # At first, clients with fresh answers still get through: a request u s into the outage fails when it
    # misses (1/3) or when its cached answer was fetched during the outage (age < u: u / ttl of the hits).
    hit = dns.hit_ratio(workload.per_user_rate)
    u = frame.arrival_s[early] - T_FAIL
    expected = float(np.mean((1 - hit) + hit * u / ttl))
    sd = math.sqrt(expected * (1 - expected) / early.sum())  # binomial noise of about 50 requests
    assert abs(lost[early].mean() - expected) < 3 * sd, (lost[early].mean(), expected, sd)
    assert not lost[frame.arrival_s >= T_RECOVER].any()


# --- bounded queue and timeouts ---------------------------------------------------------------

def in_system_at(frame, accepted, times):
    """How many accepted requests are inside the server (arrived before, not yet left) at each time."""
    arrivals = np.sort(frame.arrival_s[accepted].to_numpy())
    ends = np.sort(end_s(frame)[accepted].to_numpy())
    return np.searchsorted(arrivals, times, side="left") - np.searchsorted(ends, times, side="right")


@pytest.mark.parametrize("workers, queue_limit", [(2, 3), (1, 0), (4, 10)])
def test_queue_limit_rejects_exactly_when_the_server_is_full(workers, queue_limit):
    frame = run(box(workers=workers, queue_limit=queue_limit), rate=workers * 50 * 1.1, requests=4_000).requests
    rejected = frame.status == "rejected"
    accepted = frame.status == "ok"
    assert (rejected | accepted).all()
    assert rejected.sum() > 50
    full = workers + queue_limit
    assert (in_system_at(frame, accepted, frame.arrival_s[rejected].to_numpy()) == full).all()
    assert (in_system_at(frame, accepted, frame.arrival_s[accepted].to_numpy()) < full).all()
    assert (frame.failed_at[rejected] == "server").all()
    assert np.allclose(frame.latency_ms[rejected], 0)


@pytest.fixture(scope="module")
def overloaded_with_timeout():
    """One worker, constant 100 ms service, clients give up after 250 ms, 20% overloaded."""
    return run(box(workers=1, service_time_ms=100, distribution="constant", timeout_ms=250), rate=12,
               requests=2_000).requests


def test_timeouts_cost_the_client_exactly_the_timeout(overloaded_with_timeout):
    frame = overloaded_with_timeout
    timed_out = frame.status == "timeout"
    assert timed_out.mean() > 0.1
    np.testing.assert_allclose(frame.latency_ms[timed_out], 250)
    assert (frame.failed_at[timed_out] == "server").all()
    assert (frame.latency_ms <= 250 + 1e-6).all()


def test_a_request_succeeds_iff_wait_plus_service_fits_in_the_timeout(overloaded_with_timeout):
    frame = overloaded_with_timeout
    wait = frame.server_wait_ms
    clear = (wait - 150).abs() > 1e-6  # away from the boundary 250 - 100 ms
    assert ((frame.status == "ok")[clear] == (wait <= 150)[clear]).all()
    np.testing.assert_allclose(frame.latency_ms[frame.status == "ok"], wait[frame.status == "ok"] + 100)


def test_timeout_beats_a_later_outage():
    """A client that gave up before the server died saw a timeout, not an error, and waited no longer."""
    server = box(workers=1, service_time_ms=100, timeout_ms=200).fail(20, 30)
    frame = run(server, rate=15, requests=600, seed=1).requests
    assert (frame.latency_ms <= 200 + 1e-6).all(), frame.sort_values("latency_ms").tail()
    np.testing.assert_allclose(frame.latency_ms[frame.status == "timeout"], 200)


# --- overload at "millions of users" ----------------------------------------------------------

def test_ten_million_users_on_one_box_returns_and_sheds_load():
    arch = single_server()  # 8 workers x 50 ms = 160 requests/s, queue of 1,000
    workload = Workload(users=10_000_000)  # ~4,630 requests/s
    result = simulate(arch, workload, requests=20_000, seed=0)
    s = result.summary()
    assert s["requests"] == 20_000
    assert s["server_utilization"] > 0.97
    # Fluid picture: the box serves its capacity for the simulated window and holds a full queue;
    # everyone else is turned away.  (Noise: ~660 exponential services, sd ~26 requests = 0.13 points.)
    capacity = arch["server"].capacity
    admitted = capacity * s["simulated_s"] + arch["server"].queue_limit + arch["server"].workers
    assert s["rejected_rate"] == pytest.approx(1 - admitted / 20_000, abs=0.01)
    # throughput is the box's capacity: ~660 completions, sd 3.9% -> 4 sd = 16%
    assert s["throughput_rps"] == pytest.approx(capacity, rel=0.16)
    # a full queue of 1,000 in front of 160/s means ~6 s waits (under the 10 s timeout)
    assert 5_000 < s["p95_ms"] < 10_000
    assert result.timeline().shape[0] == 40


def test_workload_between_small_and_huge_keeps_the_request_budget():
    for users in (10, 10_000, 10_000_000):
        result = simulate(single_server(), Workload(users=users), requests=2_000, seed=1)
        assert len(result.requests) == 2_000
        assert result.summary()["simulated_s"] == pytest.approx(2_000 / Workload(users=users).rate, rel=0.1)


def test_healthy_run_has_no_failures():
    frame = run(box()).requests
    assert (frame.status == "ok").all()
    assert (frame.failed_at == "").all()
    assert frame.server_wait_ms.notna().all()
