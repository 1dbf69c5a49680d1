"""predict() and predict_curve(): the numbers the latency charts show, read from an architecture's components.

Each expected value comes from the queue's definition: one worker makes the response time exponential
with rate mu - lambda; two single-worker tiers in a row add two exponentials; DNS adds its lookup to the
share of requests that miss the browser's cache.  (The simulation checks the same numbers in
tests/test_simulation.py, too slow for ``make mutate``.)
"""

import math
from dataclasses import replace

import numpy as np
import pytest

from chapter1 import Workload, analytic, load_balanced, single_server, web_and_database

PERCENTS = (50, 95, 99)


def _without_dns(architecture):
    return replace(architecture, dns=None)


def _percentile(survival, q, high=100.0):
    """The time where a survival function falls to 1 - q/100, by bisection."""
    low = 0.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if survival(mid) > 1 - q / 100 else (low, mid)
    return (low + high) / 2


def test_one_worker_without_dns_is_an_exponential_response_time():
    """mu = 10/s, lambda = 5/s: half busy, mean 1 / (10 - 5) s = 200 ms, p_q = ln(100 / (100 - q)) / 5 s."""
    theory = analytic.predict(_without_dns(single_server(workers=1, service_time_ms=100)), Workload.from_rate(5))
    assert theory["utilization"] == pytest.approx(0.5)
    assert theory["mean_ms"] == pytest.approx(200)
    for q in PERCENTS:
        assert theory[f"p{q}_ms"] == pytest.approx(1_000 * math.log(100 / (100 - q)) / 5)
    assert set(theory) == {"utilization", "mean_ms", "p50_ms", "p95_ms", "p99_ms"}


def test_dns_adds_its_lookup_to_the_requests_that_miss_the_browser_cache():
    """The default DNS: a share s of requests pays the lookup d first, so the mean grows by s x d and
    P(T > t) = (1 - s) e^(-5 t) + s e^(-5 (t - d)) gives each percentile."""
    box = single_server(workers=1, service_time_ms=100)
    workload = Workload.from_rate(5)
    share, delay_s = box.dns.entry_delay(workload)
    assert 0.05 < share < 0.95 and delay_s > 0
    theory = analytic.predict(box, workload, percents=(50, 90))
    assert theory["mean_ms"] == pytest.approx(200 + 1_000 * share * delay_s)
    assert theory["utilization"] == pytest.approx(0.5)

    def survival(t):
        return (1 - share) * math.exp(-5 * t) + share * (math.exp(-5 * (t - delay_s)) if t > delay_s else 1.0)

    for q in (50, 90):
        assert theory[f"p{q}_ms"] == pytest.approx(1_000 * _percentile(survival, q), rel=1e-6)
    assert set(theory) == {"utilization", "mean_ms", "p50_ms", "p90_ms"}


def test_several_workers_are_an_mmc_queue():
    arch = _without_dns(single_server(workers=4, service_time_ms=50))   # 4 x 20/s
    theory = analytic.predict(arch, Workload.from_rate(60))
    queue = analytic.mmc(60, 20, 4)
    assert theory["utilization"] == pytest.approx(60 / 80)
    assert theory["mean_ms"] == pytest.approx(1_000 * queue.mean_response_s)
    assert theory["p95_ms"] == pytest.approx(1_000 * analytic.response_time_percentile(95, 60, 20, 4))


def test_two_single_worker_tiers_add_two_exponentials():
    """Web mu = 1000/30 per s, database 50/s, lambda = 10/s: each stage exponential with rate a = mu1 - lambda,
    b = mu2 - lambda; the total's survival is (b e^(-a t) - a e^(-b t)) / (b - a)."""
    arch = _without_dns(web_and_database(web_workers=1, db_workers=1, web_service_ms=30, db_service_ms=20))
    theory = analytic.predict(arch, Workload.from_rate(10))
    a, b = 1_000 / 30 - 10, 50 - 10
    assert theory["mean_ms"] == pytest.approx(1_000 * (1 / a + 1 / b))
    assert theory["utilization"] == pytest.approx(10 * 0.030)
    assert theory["bottleneck"] == "web"
    assert theory["web_utilization"] == pytest.approx(0.3) and theory["database_utilization"] == pytest.approx(0.2)
    for q in PERCENTS:
        t = theory[f"p{q}_ms"] / 1_000
        assert (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a) == pytest.approx(1 - q / 100, rel=1e-6)


def test_the_busier_tier_is_the_bottleneck_and_dns_adds_its_lookup_to_a_tandem():
    arch = web_and_database(web_workers=1, db_workers=1, web_service_ms=30, db_service_ms=60)
    workload = Workload.from_rate(10)
    share, delay_s = arch.dns.entry_delay(workload)
    theory = analytic.predict(arch, workload, percents=(95,))
    assert theory["bottleneck"] == "database" and theory["utilization"] == pytest.approx(0.6)
    a, b = 1_000 / 30 - 10, 1_000 / 60 - 10
    assert theory["mean_ms"] == pytest.approx(1_000 * (1 / a + 1 / b + share * delay_s))
    plain = analytic.predict(_without_dns(arch), workload, percents=(95,))
    assert theory["p95_ms"] > plain["p95_ms"]
    assert theory["p95_ms"] == pytest.approx(1_000 * analytic.tandem_response_percentile(
        95, 10, [1_000 / 30, 1_000 / 60], delay_s=delay_s, delay_share=share))


def test_a_tandem_with_several_workers_has_a_mean_but_no_percentiles():
    arch = _without_dns(web_and_database(web_workers=8, db_workers=4, web_service_ms=30, db_service_ms=20))
    theory = analytic.predict(arch, Workload.from_rate(150))
    web, db = analytic.mmc(150, 1_000 / 30, 8), analytic.mmc(150, 50, 4)
    assert theory["mean_ms"] == pytest.approx(1_000 * (web.mean_response_s + db.mean_response_s))
    assert theory["bottleneck"] == "database" and theory["utilization"] == pytest.approx(0.75)
    assert all(math.isnan(theory[f"p{q}_ms"]) for q in PERCENTS)


def test_no_closed_form_gives_none():
    assert analytic.predict(single_server(distribution="constant"), Workload()) is None
    assert analytic.predict(load_balanced(), Workload()) is None
    assert analytic.predict_curve(load_balanced(), [1_000, 2_000]) == [None, None]


def test_wrong_types_name_the_parameter_and_an_example():
    with pytest.raises(TypeError, match=r"architecture must be a Architecture \(e\.g\. single_server\(\)\)"):
        analytic.predict("one box", Workload())
    with pytest.raises(TypeError, match=r"workload must be a Workload \(e\.g\. Workload\(users=1000\)\)"):
        analytic.predict(single_server(), 1_000)
    with pytest.raises(TypeError, match=r"architecture must be a Architecture \(e\.g\. single_server\(\)\)"):
        analytic.predict_curve("one box", [1_000])


@pytest.mark.parametrize("users", [[0], [1_000, -5]])
def test_curve_users_must_be_positive(users):
    with pytest.raises(ValueError, match=r"users must be a number > 0"):
        analytic.predict_curve(single_server(), users)


@pytest.mark.parametrize("architecture", [
    single_server(workers=1, service_time_ms=40),
    _without_dns(single_server(workers=4)),
    web_and_database(web_workers=1, db_workers=1),
    web_and_database(),
    _without_dns(web_and_database(web_workers=2, db_workers=1, db_service_ms=40)),
], ids=["one worker, dns", "four workers", "tandem of ones", "tandem", "tandem without dns"])
def test_a_curve_is_predict_at_each_point(architecture):
    """Users 1,000 to 40,000 with 5 requests a user (not the default 20): each point is predict's answer."""
    users = [1_000, 10_000, 40_000]
    curve = analytic.predict_curve(architecture, users, percents=(50, 99), requests_per_user=5)
    assert len(curve) == len(users)
    for point, u in zip(curve, users):
        alone = analytic.predict(architecture, Workload(users=u, requests_per_user=5), (50, 99))
        assert set(point) == set(alone)
        for key, value in alone.items():
            if isinstance(value, str):
                assert point[key] == value
            elif math.isnan(value):
                assert math.isnan(point[key])
            else:
                assert point[key] == pytest.approx(value, rel=1e-9), key


def test_a_curve_gives_p95_by_default_and_nothing_for_no_users():
    curve = analytic.predict_curve(single_server(), [1_000])
    assert set(curve[0]) == {"utilization", "mean_ms", "p95_ms"}
    assert analytic.predict_curve(single_server(), []) == []
    assert analytic.predict_curve(single_server(), np.array([2_000.0]))[0] == analytic.predict(
        single_server(), Workload(users=2_000), (95,))
