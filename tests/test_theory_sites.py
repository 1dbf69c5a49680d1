"""Data centres and replication in closed form, by hand: each formula at a point worked out in the docstring's
terms, the edges (no replicas, every site lost but one, a site back before it is seen), and every input's
error message whole, naming the parameter and its range."""

import pytest

from chapter1 import Workload, analytic

YEAR_S = 365.25 * 86_400


def test_failover_failures_term_by_term():
    """20 a second, death at 17.5 s, checks every 5 s: seen at 20 s (2.5 s of detection); 30 % from cached
    answers over half of a 10 s TTL (1.5 s); 0.25 s inside the site: 20 x (2.5 + 1.5 + 0.25) = 85."""
    assert analytic.failover_failures(20, 17.5, 5, ttl_s=10, hit_ratio=0.3, in_site_s=0.25) == pytest.approx(85)
    assert analytic.failover_failures(20, 17.5, 5) == pytest.approx(50)               # detection only
    assert analytic.failover_failures(20, 17.5, 5, ttl_s=10, recover_s=19) == pytest.approx(30)  # back before seen
    # back 4 s after the check: cached answers fail for 4 s of the 10 s TTL: 0.3 x (4 - 16 / 20) = 0.96 s
    assert analytic.failover_failures(20, 17.5, 5, ttl_s=10, hit_ratio=0.3, recover_s=24) == pytest.approx(
        20 * (2.5 + 0.96))


def test_lost_site_writes_sites_capacity_and_headroom():
    assert analytic.expected_lost_site_writes(10, 200, datacentres=4) == pytest.approx(2 * (1 + 1 / 2 + 1 / 3))
    assert analytic.headroom_limit(4, lost=2) == 0.5 and analytic.headroom_limit(1, lost=0) == 1.0
    assert analytic.survivor_utilisation(0.6, 4, lost=2) == pytest.approx(1.2)
    assert analytic.survivor_utilisation(0.6, 4, lost=0) == pytest.approx(0.6)
    assert analytic.survival_capacity(900, 4) == pytest.approx(1_200) and analytic.idle_share(4) == 0.75
    assert analytic.survival_capacity(900, 4, "active-passive") == pytest.approx(3_600)
    assert analytic.idle_share(5, "active-active") == pytest.approx(0.2)


def test_conflicts_count_every_pair_of_sites():
    """Three sites at 1, 2 and 3 writes a second: pairs 2 + 3 + 6 = 11; one key: sum p^2 = 1; 2 x 0.05 s."""
    assert analytic.conflict_rate([1, 2, 3], [1.0], lag_ms=50) == pytest.approx(11 * 0.1)
    assert analytic.conflict_rate([4], [1.0], lag_ms=50) == 0


def test_geo_hit_ratio_is_the_ttl_formula_per_client():
    assert analytic.geo_hit_ratio(40, 1, 0.5) == pytest.approx(20 / 21)


def test_replication_by_hand():
    assert analytic.read_capacity(3, 500, 100, replay_cost=0.5) == 1_350.0
    assert analytic.read_capacity(2, 100, 200) == 0.0                         # replays eat every query
    assert analytic.max_rate(0, 400, 0.9, primary_capacity=250) == 250.0
    assert analytic.max_rate(2, 400, 0.9, replay_cost=0.5, primary_capacity=50) == pytest.approx(500)   # writes cap
    assert analytic.max_rate(2, 400, 1.0) == pytest.approx(800)                # reads only: k x C
    assert analytic.max_rate(2, 400, 0.0) == pytest.approx(400)                # writes only: the primary
    assert analytic.max_rate(2, 400, 0.5, replay_cost=0.0) == pytest.approx(800)   # free replays
    assert analytic.replica_arrivals(1_000, 0.9, 0) == 1_000.0
    assert analytic.replica_arrivals(1_000, 0.8, 4, replay_cost=2) == pytest.approx(600)
    assert analytic.expected_lost_writes(40, 250) == 10.0
    assert analytic.sync_write_delay_ms(0, 100) == 0 and analytic.sync_write_delay_ms(2, 100) == pytest.approx(150)
    assert analytic.write_availability(0, 4, 30, 3_600) == pytest.approx(1 - 4 * 3_600 / YEAR_S)
    assert analytic.write_availability(1, 4, 30, 20) == pytest.approx(1 - 4 * 20 / YEAR_S)     # repair is quicker
    assert analytic.write_availability(1, 10**6, 3_600, 7_200) == 0.0
    assert analytic.read_availability(2, 0.9) == pytest.approx(0.999)


def test_read_time_is_an_mmc_queue_per_replica():
    """1,000 a second, 90 % reads, 3 replicas of 2 workers at 10 ms: 300 reads + 100 replays = 400 a second each."""
    mean = analytic.read_time_ms(1_000, 0.9, replicas=3, workers=2, service_ms=10)
    assert mean == pytest.approx(analytic.mmc(400, 100, 2).mean_response_s * 1_000)
    p95 = analytic.read_time_ms(1_000, 0.9, replicas=3, workers=2, service_ms=10, percent=95)
    assert p95 == pytest.approx(analytic.response_time_percentile(95, 400, 100, 2) * 1_000)


def test_stale_reads_of_a_workload_use_its_write_rate_and_keys():
    w = Workload.from_rate(500, keys=100)
    expected = analytic.stale_read_probability(w.key_popularity(), w.rate * (1 - w.read_ratio), 80)
    assert analytic.stale_reads(w, 80) == expected > 0
    assert analytic.stale_read_probability([1.0], 1e9, 1e9) == 1.0
    assert analytic.stale_read_probability([0.25, 0.75], 0, 100) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: analytic.failover_failures(-1, 1, 1), "rate must be a number >= 0; got -1"),
    (lambda: analytic.failover_failures(1, 1, 1, ttl_s=-1), "ttl_s must be a number >= 0; got -1"),
    (lambda: analytic.failover_failures(1, 1, 1, hit_ratio=2),
     r"hit_ratio must be a number in the range \[0, 1\]; got 2"),
    (lambda: analytic.failover_failures(1, 1, 1, in_site_s=-1), "in_site_s must be a number >= 0; got -1"),
    (lambda: analytic.failover_failures(1, 5, 1, recover_s=4), "recover_s must be a number >= 5; got 4"),
    (lambda: analytic.site_detected_at(-1, 1), "fail_at_s must be a number >= 0; got -1"),
    (lambda: analytic.site_detected_at(1, 0), "interval_s must be a number > 0; got 0"),
    (lambda: analytic.geo_hit_ratio(-1, 1, 1), "rate must be a number >= 0; got -1"),
    (lambda: analytic.geo_hit_ratio(1, 0, 1), "clients must be a whole number >= 1; got 0"),
    (lambda: analytic.expected_lost_site_writes(-1, 1), "write_rate must be a number >= 0; got -1"),
    (lambda: analytic.expected_lost_site_writes(1, -1), "lag_ms must be a number >= 0; got -1"),
    (lambda: analytic.expected_lost_site_writes(1, 1, 1), "datacentres must be a whole number >= 2; got 1"),
    (lambda: analytic.headroom_limit(0), "datacentres must be a whole number >= 1; got 0"),
    (lambda: analytic.headroom_limit(3, 3), r"lost must be a whole number in the range \[0, 2\]; got 3"),
    (lambda: analytic.survivor_utilisation(-1, 2), "utilisation must be a number >= 0; got -1"),
    (lambda: analytic.survivor_utilisation(1, 0), "datacentres must be a whole number >= 1; got 0"),
    (lambda: analytic.survivor_utilisation(1, 2, 2), r"lost must be a whole number in the range \[0, 1\]; got 2"),
    (lambda: analytic.survival_capacity(-1, 2), "peak_rate must be a number >= 0; got -1"),
    (lambda: analytic.survival_capacity(1, 1), "datacentres must be a whole number >= 2; got 1"),
    (lambda: analytic.survival_capacity(1, 2, "hot"),
     "mode must be one of 'active-passive', 'active-active'; got 'hot'"),
    (lambda: analytic.idle_share(1), "datacentres must be a whole number >= 2; got 1"),
    (lambda: analytic.idle_share(2, "hot"), "mode must be one of 'active-passive', 'active-active'; got 'hot'"),
    (lambda: analytic.conflict_rate([1, -1], [1.0], 1), "write_rates must be a number >= 0; got -1"),
    (lambda: analytic.conflict_rate([1], [1.0], -1), "lag_ms must be a number >= 0; got -1"),
    (lambda: analytic.conflict_rate([1], [0.5], 1), r"key_popularity must be a list of probabilities that sum to 1 "),
    (lambda: analytic.read_capacity(-1, 1, 1), "replicas must be a whole number >= 0; got -1"),
    (lambda: analytic.read_capacity(1, 0, 1), "capacity must be a number > 0; got 0"),
    (lambda: analytic.read_capacity(1, 1, -1), "write_rate must be a number >= 0; got -1"),
    (lambda: analytic.read_capacity(1, 1, 1, -1), "replay_cost must be a number >= 0; got -1"),
    (lambda: analytic.max_rate(-1, 1, 0.5), "replicas must be a whole number >= 0; got -1"),
    (lambda: analytic.max_rate(1, 0, 0.5), "capacity must be a number > 0; got 0"),
    (lambda: analytic.max_rate(1, 1, 2), r"read_ratio must be a number in the range \[0, 1\]; got 2"),
    (lambda: analytic.max_rate(1, 1, 0.5, -1), "replay_cost must be a number >= 0; got -1"),
    (lambda: analytic.max_rate(1, 1, 0.5, primary_capacity=0), "primary_capacity must be a number > 0; got 0"),
    (lambda: analytic.replica_arrivals(-1, 0.5, 1), "rate must be a number >= 0; got -1"),
    (lambda: analytic.replica_arrivals(1, 2, 1), r"read_ratio must be a number in the range \[0, 1\]; got 2"),
    (lambda: analytic.replica_arrivals(1, 0.5, -1), "replicas must be a whole number >= 0; got -1"),
    (lambda: analytic.replica_arrivals(1, 0.5, 1, -1), "replay_cost must be a number >= 0; got -1"),
    (lambda: analytic.read_time_ms(1, 0.5, 1, 0, 10), "workers must be a whole number >= 1; got 0"),
    (lambda: analytic.read_time_ms(1, 0.5, 1, 1, 0), "service_ms must be a number > 0; got 0"),
    (lambda: analytic.stale_read_probability([1.0], -1, 1), "write_rate must be a number >= 0; got -1"),
    (lambda: analytic.stale_read_probability([1.0], 1, -1), "lag_ms must be a number >= 0; got -1"),
    (lambda: analytic.stale_reads("w", 1), "workload must be"),
    (lambda: analytic.expected_lost_writes(-1, 1), "write_rate must be a number >= 0; got -1"),
    (lambda: analytic.expected_lost_writes(1, -1), "lag_ms must be a number >= 0; got -1"),
    (lambda: analytic.sync_write_delay_ms(-1, 1), "replicas must be a whole number >= 0; got -1"),
    (lambda: analytic.sync_write_delay_ms(1, -1), "lag_ms must be a number >= 0; got -1"),
    (lambda: analytic.write_availability(-1, 1, 1, 1), "replicas must be a whole number >= 0; got -1"),
    (lambda: analytic.write_availability(1, -1, 1, 1), "failures_per_year must be a number >= 0; got -1"),
    (lambda: analytic.write_availability(1, 1, -1, 1), "failover_s must be a number >= 0; got -1"),
    (lambda: analytic.write_availability(1, 1, 1, -1), "repair_s must be a number >= 0; got -1"),
    (lambda: analytic.read_availability(-1, 0.9), "replicas must be a whole number >= 0; got -1"),
])
def test_each_input_is_named_with_its_range(call, message):
    with pytest.raises((ValueError, TypeError), match=f"^{message}"):
        call()
