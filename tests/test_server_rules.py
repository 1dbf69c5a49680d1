"""A server's face and its bookkeeping: the queueing station it stands for, its checks, its table row, its draws.

The run-time rules at the edges (timeouts, deaths, ties) are in test_components_rules.py; here a single server
with constant service times gets requests placed by hand, and both engines must tell the same story.
"""

import math

import numpy as np
import pytest

import chapter1 as c
from chapter1.components.server import ConstantTimes, Database, Server, ServiceTimes, WebServer
from chapter1.core.architecture import Architecture


def served(server, times, engine="auto"):
    """A run of one server (no DNS) whose requests arrive at ``times``; its requests table and its row."""

    class Placed(c.Workload):
        def arrival_times(self, rng, n):
            return np.asarray(times, dtype=float)

    result = c.simulate(Architecture("one box", (server,), dns=None), Placed.from_rate(1), requests=len(times),
                        seed=0, engine=engine)
    return result.requests, result.components.set_index("component").loc[server.name]


# -- what the box stands for -----------------------------------------------------------------------------


def test_an_exponential_server_alone_is_an_mmc_station():
    assert Server(workers=4, service_time_ms=50).station() == (20.0, 4)
    assert Server(workers=4, service_time_ms=50, distribution="constant").station() is None
    assert Server(workers=4, backend=Database()).station() is None, "a backend's time is not in the station"


def test_a_server_describes_itself():
    box = Server(workers=4, service_time_ms=50)
    assert (box.capacity, box.service_rate) == (80.0, 20.0)
    assert box.describe() == ["web, database, cache", "4 workers x 50 ms", "up to 80 req/s"]
    assert WebServer(workers=3, service_time_ms=12.5).describe() == ["web", "3 workers x 12.5 ms", "up to 240 req/s"]
    assert Server(roles=()).describe()[0] == "Server"
    assert Database(workers=2_000, service_time_ms=1).describe()[2] == "up to 2,000,000 req/s"


@pytest.mark.parametrize("options, error, message", [
    ({"workers": 0}, ValueError, r"workers must be a whole number in the range \[1, 10,000\]; got 0"),
    ({"workers": 10_001}, ValueError, r"workers must be a whole number in the range \[1, 10,000\]"),
    ({"service_time_ms": 0}, ValueError, r"service_time_ms must be a number in the range \(0, 3,600,000\]; got 0"),
    ({"service_time_ms": 3_600_001}, ValueError, r"service_time_ms must be a number in the range \(0, 3,600,000\]"),
    ({"distribution": "normal"}, ValueError, r"distribution must be one of 'exponential', 'constant'"),
    ({"queue_limit": -1}, ValueError, r"queue_limit must be a whole number >= 0; got -1"),
    ({"timeout_ms": 0}, ValueError, r"timeout_ms must be a number > 0; got 0"),
    ({"roles": "web"}, TypeError, r"roles must be a sequence \(a tuple or list\) of str objects; got 'web'$"),
    ({"roles": ("web", 3)}, TypeError, r"roles must hold str objects \(e.g. 'web'\); got 3$"),
    ({"backend": "database"}, TypeError, r"backend must be a Component \(e.g. Database\(\)\); got 'database'$"),
    ({"blocking": 1}, TypeError, r"blocking must be True \(thread per request\) or False \(asynchronous\); got 1"),
])
def test_bad_server_options_are_refused_by_name(options, error, message):
    with pytest.raises(error, match=message):
        Server(**options)


def test_the_limits_themselves_are_allowed():
    box = Server(workers=10_000, service_time_ms=3_600_000, queue_limit=0, timeout_ms=None, roles=["web"])
    assert box.roles == ("web",) and box.parts == ()
    assert [p.name for p in Server(backend=Database(name="db")).parts] == ["db"]


# -- a single box on requests placed by hand ------------------------------------------------------------


@pytest.mark.parametrize("engine", ["simpy", "auto"])
def test_one_worker_serves_in_order_and_a_full_queue_refuses(engine):
    box = Server(workers=1, service_time_ms=100, distribution="constant", queue_limit=2, timeout_ms=None)
    table, row = served(box, [0.0, 0.01, 0.02, 0.03, 0.25], engine)
    assert table["status"].tolist() == ["ok", "ok", "ok", "rejected", "ok"], "the 4th finds 2 waiting"
    assert table["latency_ms"].tolist() == pytest.approx([100, 190, 280, 0, 150])
    assert table["server_wait_ms"].tolist()[:3] == pytest.approx([0, 90, 180])
    assert math.isnan(table["server_wait_ms"].iloc[3]), "a refused request never waited"
    assert row["served"] == 4 and row["workers"] == 1
    assert row["mean_wait_ms"] == pytest.approx((0 + 90 + 180 + 50) / 4)
    assert row["rejected"] == 1


@pytest.mark.parametrize("engine", ["simpy", "auto"])
def test_a_client_stops_waiting_at_its_timeout(engine):
    box = Server(workers=1, service_time_ms=100, distribution="constant", queue_limit=None, timeout_ms=200)
    table, row = served(box, [0.0, 0.01, 0.02], engine)
    assert table["status"].tolist() == ["ok", "ok", "timeout"], "the 3rd would be answered 280 ms after it came"
    assert table["latency_ms"].tolist() == pytest.approx([100, 190, 200])
    assert row["served"] == 3 and row["timeout"] == 1, "served, but too late for its client"
    table, row = served(box, [0.0, 0.01, 0.02, 0.03], engine)
    assert table["status"].tolist() == ["ok", "ok", "timeout", "timeout"]
    assert row["served"] == 3, "the 4th would start 270 ms after it came: it had left"


def test_no_queue_limit_queues_everyone():
    box = Server(workers=2, service_time_ms=100, distribution="constant", queue_limit=None, timeout_ms=None)
    table, row = served(box, [0.0] * 5 + [1.0])
    assert table["latency_ms"].tolist() == pytest.approx([100, 100, 200, 200, 300, 100])
    assert row["served"] == 6 and row["mean_wait_ms"] == pytest.approx(400 / 6)


def test_a_box_that_served_nothing_reports_no_wait():
    box = Server(workers=1, service_time_ms=100, distribution="constant").fail(0, math.inf)
    table, row = served(box, [0.5, 1.0])
    assert table["status"].tolist() == ["error", "error"] and row["served"] == 0 and row["mean_wait_ms"] == 0


def test_a_blocking_worker_waits_for_its_backend_and_an_asynchronous_one_does_not():
    database = Database(workers=4, service_time_ms=100, distribution="constant")
    for blocking, second in [(True, 219), (False, 119)]:
        web = WebServer(workers=1, service_time_ms=10, distribution="constant", backend=database, blocking=blocking)
        table, row = served(web, [0.0, 0.001], "simpy")
        assert table["latency_ms"].tolist() == pytest.approx([110, second]), blocking
        assert row["served"] == 2


# -- service times --------------------------------------------------------------------------------------


def test_service_times_are_one_draw_read_in_chunks():
    n = 40_000
    whole = np.random.default_rng(7).exponential(0.05, n)
    times = ServiceTimes(np.random.default_rng(7), 0.05, n)
    picks = [0, 1, 16_383, 16_384, 39_999, 5, 30_000, 20_000]
    assert [times[i] for i in picks] == whole[picks].tolist()
    assert len(times.chunks) <= ServiceTimes.KEEP
    again = ServiceTimes(np.random.default_rng(7), 0.05, n)
    requests = np.array([39_999, 3, 16_384, 16_383])
    assert again.take(requests).tolist() == whole[requests].tolist() and again.chunks == {}
    assert again.take(np.array([], dtype=np.int64)).tolist() == []
    assert again.chunk(1).tolist() == whole[16_384:32_768].tolist()
    assert len(again.chunk(2)) == n - 32_768


def test_constant_times_are_the_mean_everywhere():
    times = ConstantTimes(0.25)
    assert times[0] == times[10 ** 6] == 0.25
    assert times.take(np.arange(3)).tolist() == [0.25, 0.25, 0.25]


@pytest.mark.parametrize("engine", ["simpy", "auto"])
@pytest.mark.parametrize("timeout_ms, statuses, latencies", [
    (None, ["error", "error", "error"], [50, 49, 40]),
    (45, ["timeout", "timeout", "error"], [45, 45, 40]),   # 50 and 49 ms after they came: their clients had left
])
def test_a_death_fails_the_request_in_service_and_those_queued(engine, timeout_ms, statuses, latencies):
    box = Server(workers=1, service_time_ms=100, distribution="constant", timeout_ms=timeout_ms).fail(0.05, 1.0)
    table, row = served(box, [0.0, 0.001, 0.01], engine)
    assert table["status"].tolist() == statuses
    assert table["latency_ms"].tolist() == pytest.approx(latencies)
    assert table["server_wait_ms"].tolist() == pytest.approx([0, 49, 40]), "the queued ones waited until the death"
    assert row["served"] == 0 and row["mean_wait_ms"] == pytest.approx(89 / 3)
