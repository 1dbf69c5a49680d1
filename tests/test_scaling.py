"""Chapter 03's library: the cost model, the two designs against theory, random failures against the
availability formulas, the panel, bad input.

Tolerances come from measured noise: the comment above each check gives the mean and standard
deviation of one run over several seeds; a check allows about 4 standard deviations of what it
averages, plus any known bias.
"""

import math

import numpy as np
import pytest

from chapter1 import Server, Workload, analytic, simulate
from chapter1 import scaling as s

# -- the cost model ------------------------------------------------------------------------------

def test_prices_are_linear_in_the_family_then_a_premium_up_to_a_ceiling():
    table = s.price_table().set_index("cores")
    assert table.index.tolist() == [2, 4, 8, 16, 32, 48, 64, 96, 128, 192]
    general = table[table["tier"] == "general purpose"]
    assert (general["per_core"] == general["per_core"].iloc[0]).all()             # linear within the family
    assert (np.diff(table["per_core"].iloc[6:]) > 0).all()                       # then a premium per core
    assert s.biggest_box(10 ** 9) == s.MAX_CORES == 192                         # money cannot buy past the ceiling
    with pytest.raises(ValueError, match=r"cores must be a size in the price table"):
        s.box_price(256)
    assert s.box_price(8, prices={8: 300.0}) == 300.0                            # an editable table
    assert s.biggest_box(1_000, prices={4: 100, 8: 900, 16: 1_500}) == 8


def test_contention_slows_big_boxes_more_than_small_ones():
    assert s.speedup(16) == 16
    assert s.speedup(128, 0.01) / 128 < 0.5 < 0.9 < s.speedup(8, 0.01) / 8
    assert s.scale_up(64, contention=0.01)["server"].capacity == pytest.approx(20 * s.speedup(64, 0.01))
    assert s.capacity(s.scale_out(4, 8, contention=0.01)) == pytest.approx(4 * 20 * s.speedup(8, 0.01))


def test_the_same_budget_buys_about_the_same_cores_until_the_premium_tier():
    for budget in (500, 800, 2_000, 8_000, 15_000):
        designs = s.designs_for(budget, box_cores=8)
        assert all(s.monthly_cost(arch) <= budget for arch in designs.values())
    cheap, dear = s.designs_for(2_000), s.designs_for(15_000)
    assert abs(s.cores(cheap[s.OUT]) - s.cores(cheap[s.UP])) <= 8                  # linear: rounding apart
    assert s.cores(dear[s.OUT]) > 1.4 * s.cores(dear[s.UP])                        # the premium tier
    assert s.boxes_for(25 + 3 * 140, cores=4) == 3                                # exactly three, after the balancer
    assert s.monthly_cost(s.scale_up(32)) == 1_120.0


def test_availability_of_the_designs():
    assert s.availability(s.scale_up(128)) == 0.995
    two = s.availability(s.scale_out(2, 8))
    assert two == pytest.approx(0.9999 * (1 - 0.005 ** 2))
    assert analytic.downtime_per_year(s.availability(s.scale_out(3, 8))) < 1 < analytic.downtime_per_year(two)


# -- latency: theory against simulation ------------------------------------------------------------

def test_fast_percentile_matches_the_analytic_one():
    for arch in (s.scale_up(32), s.scale_out(40, 4), s.scale_out(3, 8)):
        for users in (1e5, 8e5):
            w = Workload(users=users)
            boxes = s.cores(arch)
            miss = 1 - arch.dns.hit_ratio(w.per_user_rate)
            expected = analytic.response_time_percentile(95, w.rate, 20, boxes, delay_s=0.03, delay_share=miss)
            assert s.theory(arch, w)["p95_ms"] == pytest.approx(expected * 1_000, rel=1e-9)
    assert math.isinf(s.theory(s.scale_up(2), Workload(users=1e6))["p95_ms"])


def test_small_boxes_behind_least_connections_behave_like_one_shared_queue():
    # 6 boxes x 8 cores at 70 % load (2.07M users x 0.7), 10,000 requests, first 10 % left out:
    # mean within -1.5 % .. +0.7 % and p95 within 2 % of M/M/48 over 3 seeds (sd ~1 % per run).
    # Mean of 2 seeds against theory: bound 4 %.
    arch = s.scale_out(6, 8)
    workload = Workload(users=0.7 * s.saturation_users(arch))
    means = []
    for seed in (0, 1):
        table = simulate(arch, workload, requests=10_000, seed=seed).requests.iloc[1_000:]
        means.append(table["latency_ms"].mean())
    assert np.mean(means) == pytest.approx(s.theory(arch, workload)["mean_ms"], rel=0.04)


def test_design_table_and_sweep():
    designs = s.designs_for(2_000, 8)
    table = s.design_table(designs, Workload(users=1_000_000)).set_index("design")
    assert table.loc[s.UP, "saturates_at_users"] == pytest.approx(2_073_600)    # 48 cores
    assert table.loc[s.OUT, "capacity_rps"] == 1_120                            # 7 x 8 cores
    assert table.loc[s.UP, "hours_down_a_year"] > 40 > 1 > table.loc[s.OUT, "hours_down_a_year"]
    sweep = s.sweep_designs(designs, [200_000], requests=500)
    assert sorted(sweep["design"]) == [s.UP, s.OUT]
    assert {"statistic", "latency_ms"} <= set(s.simulated_latency(sweep).columns)


def test_scaling_view_draws_and_flags_overload_and_overspending():
    svg, text = s.scaling_view(1_000_000, 2_000, 8, requests=1_000)
    assert "<svg" in svg.data and "price per core" in svg.data and "price of a core" in text  # axis, caption
    assert "1 x 48 cores" in text and "7 x 8 cores" in text and "43.8 h" in text and "perfectly" in text
    _, text = s.scaling_view(3_000_000, 2_000, 8, requests=1_000)
    assert text.count("overloaded") == 2                       # 1,389 req/s against 960 and 1,120
    _, text = s.scaling_view(1_000_000, 15_000, 8, contention=0.01, requests=1_000)
    assert "contention 1.0%" in text
    _, text = s.scaling_view(200_000, 400, 32, requests=1_000)  # one 32-core box costs far more than $400
    assert "over budget" in text


# -- availability: random failures against the formulas ---------------------------------------------

def test_random_outages_give_the_intended_availability():
    # mtbf 90 s, mttr 10 s: up 90 %.  Over 100,000 s (1,000 cycles) the down share has sd ~0.3 %.
    rng = np.random.default_rng(3)
    server = s.random_outages(Server(), 90, 10, 100_000, rng)
    assert s.down_share([server], 100_000) == pytest.approx(0.1, abs=0.012)
    starts = np.array([o.start_s for o in server.outages])
    ends = np.array([o.end_s for o in server.outages])
    assert (ends > starts).all() and (starts[1:] > ends[:-1]).all()  # no overlap
    again = s.random_outages(Server(), 90, 10, 100_000, np.random.default_rng(3))
    assert again.outages == server.outages


def test_down_share_and_site_down_share_on_known_schedules():
    a, b = Server(name="a").fail(0, 10), Server(name="b").fail(5, 20)
    assert s.down_share([a, b], 100) == 0.05 and s.down_share([a, b], 100, need="any") == 0.2
    assert s.down_share([Server()], 100) == 0.0
    site = s.scale_out(2, 4).fail("web-1", 0, 10).fail("web-2", 5, 20).fail("load balancer", 50, 60)
    assert s.site_down_share(site, 100) == pytest.approx(0.15)      # 5-10 (both boxes) and 50-60 (balancer)
    assert s.site_down_share(s.scale_up(8).fail("server", 10, 30), 100) == pytest.approx(0.2)


def test_failure_schedules_match_parallel_and_series_availability():
    # Boxes up 90 %, balancer up 99 %; one 200,000 s schedule per seed: site down share sd 3 % (n=1),
    # 2.3 % (n=2), 4.5 % (n=3) of its value; the mean of 2 seeds over 100,000 s has sd ~4-6 %: bound 15 %.
    table = s.schedule_downtime(servers=(1, 2, 3), seeds=(0, 1), horizon_s=100_000).groupby("servers").mean()
    for n in (1, 2, 3):
        assert table.loc[n, "down_share"] == pytest.approx(s.expected_failed_share(n, 0.9, 0.99), rel=0.15)
    assert table.loc[2, "boxes_down_share"] == pytest.approx(0.01, rel=0.2)  # (1 - 0.9)^2


def test_failed_requests_add_the_losses_around_each_failure():
    # Simulated requests: failed share - down share (same schedule) measured 0.27-0.58 %, mean 0.39 %,
    # over 8 runs; the formula's extra: (0.5 s / 2 + 0.05 s) / 100 s x 0.99 + 0.05 s / 100 s = 0.35 %.
    runs = s.availability_runs(servers=(2,), seeds=(0, 1), requests=20_000)
    extra = (runs["failed_share"] - runs["down_share"]).mean()
    expected = runs["expected_failed"].iloc[0] - runs["theory"].iloc[0]
    assert expected == pytest.approx(0.00347, abs=1e-5)
    assert 0.5 * expected < extra < 2 * expected
    assert s.availability_chart(runs, s.schedule_downtime([2], [0], horizon_s=5_000)).to_dict()["layer"]


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: s.biggest_box(20), r"budget must be a number >= 70.0; got 20"),
    (lambda: s.scale_up(0), r"cores must be a whole number in the range \[1, 192\]; got 0"),
    (lambda: s.scale_out(2, 200), r"cores must be a whole number in the range \[1, 192\]; got 200"),
    (lambda: s.designs_for(2_000, box_cores=0), r"box_cores must be a whole number in the range \[1, 192\]"),
    (lambda: s.scaling_panel(box_cores=5), "box_cores must be one of 4, 8, 16, 32; got 5"),
    (lambda: s.scaling_panel(users=10), r"users must be a number in the range \[100,000, 10,000,000\]; got 10"),
    (lambda: s.random_outages(Server(), 0, 10, 100, np.random.default_rng(0)), "mtbf_s must be a number > 0; got 0"),
    (lambda: s.with_random_failures(s.scale_up(4), 90, 10, 100, balancer=(99, 1)),
     "balancer failures need a design with a load balancer"),
    (lambda: s.down_share([], 100), "components must hold at least one component"),
    (lambda: s.down_share([Server()], 100, need="most"), "need must be one of 'all', 'any'; got 'most'"),
    (lambda: s.expected_failed_share(2, 0.9, interval_s=1), "mtbf_s and mttr_s are needed"),
    (lambda: s.availability_runs([1], [0], mtbf=5), r"unknown failure settings \['mtbf'\]"),
])
def test_bad_input_names_the_parameter_and_the_range(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_theory_refuses_mixed_boxes():
    from chapter1 import load_balanced

    mixed = load_balanced(servers=[Server(name="a", workers=4), Server(name="b", workers=8)])
    with pytest.raises(ValueError, match="boxes are all alike"):
        s.theory(mixed, Workload())


# -- N+1: one box dies at real load --------------------------------------------------------------

def test_k_of_n_counts_the_boxes_the_peak_needs():
    table = s.k_of_n_table(0.6, [2, 4]).set_index("servers")
    assert table.loc[2, "needed"] == 2 and table.loc[4, "needed"] == 3
    assert table.loc[2, "hours_needed"] > 80 > 2 > table.loc[2, "hours_one_enough"]   # a^2: worse than one box
    assert table.loc[4, "hours_needed"] == pytest.approx(1.31 + 0.88, abs=0.03)  # 3 of 4 boxes, and the balancer


def test_one_of_two_boxes_dying_at_60_percent_overloads_the_survivor():
    runs = s.n_plus_one_runs([2], [45, 60], [0], requests=12_000).set_index("load")
    assert runs.loc[60, "survivor_load"] == pytest.approx(1.2)
    assert runs.loc[60, "failed_after"] > 0.03 and runs.loc[60, "p95_after_ms"] > 3_000
    assert runs.loc[45, "failed_after"] < 0.002 and runs.loc[45, "p95_after_ms"] < 400
    svg, text = s.n_plus_one_view(2, 60, requests=4_000)
    assert "<svg" in svg.data and "not N+1" in text and "2 of 2" in text
    _, fine = s.n_plus_one_view(4, 60, requests=4_000)
    assert "N+1: the survivors keep up" in fine and "3 of 4" in fine


def test_usl_closed_form_peak_and_amdahl_as_its_special_case():
    from chapter1 import analytic

    sigma, kappa = 0.01, 0.0001
    peak = analytic.usl_peak(sigma, kappa)
    assert peak == pytest.approx(99.4987, abs=1e-3)
    grid = {n: analytic.usl_capacity(n, sigma, kappa) for n in range(1, 301)}
    best = max(grid, key=grid.get)
    assert best in (math.floor(peak), math.ceil(peak))           # the whole-number peak sits next to N*
    assert grid[192] < grid[128] < grid[96] and grid[64] < grid[96]  # rises, peaks, falls
    assert analytic.amdahl_capacity(128, sigma) == analytic.usl_capacity(128, sigma, 0.0) == s.speedup(128, sigma)
    assert analytic.usl_peak(sigma, 0.0) == math.inf
    with pytest.raises(ValueError, match="kappa must be a number in the range"):
        analytic.usl_capacity(8, 0.01, -0.1)
    with pytest.raises(TypeError, match="cores must be a whole number"):
        analytic.usl_capacity(8.5)


def test_simulated_boxes_do_the_work_amdahl_and_the_usl_say():
    # A box built by scale_up(cores, s, k) and given twice its capacity: measured over seeds 0-2 (10,000
    # requests each) every run within 3 % of the formula (largest deviation 2.7 %).  The boxes follow the
    # law by construction; the test is that the simulated queue delivers the capacity the formula gives.
    runs = s.contention_runs(cores=(8, 96, 192), seeds=(0, 1, 2), requests=10_000)
    assert ((runs["work"] / runs["theory"] - 1).abs() < 0.04).all(), runs
    usl = runs[runs["law"] == "USL"].groupby("cores")["work"].mean()
    assert usl[192] < usl[96], "past the USL peak a bigger box should do less work"
    amdahl = runs[runs["law"] == "Amdahl"].groupby("cores")["work"].mean()
    assert amdahl[192] > amdahl[96]
    assert s.contention_runs(cores=(8,), seeds=(1,), requests=500).equals(
        s.contention_runs(cores=(8,), seeds=(1,), requests=500))


def test_scaling_view_offers_usl_crosstalk_and_three_runs():
    _, text = s.scaling_view(1_000_000, 15_000, 8, contention=0.01, crosstalk=0.0001, requests=1_000)
    assert "crosstalk" in text and "most at <b>" not in text and "most at 99 cores" in text
    assert "over 3 runs" in text
    up = s.designs_for(15_000, 8, contention=0.01, crosstalk=0.0001)[s.UP]
    assert s.capacity(up) == pytest.approx(20 * s.speedup(128, 0.01, 0.0001))  # $15,000 buys 128 cores
    chart = s.contention_chart(s.contention_runs(cores=(8,), seeds=(0,), requests=500))
    assert "USL peak" in chart.to_json()


def test_a_price_table_gives_its_own_numbers_whatever_was_priced_before():
    # equal tables (300 and 300.0) must not share a remembered answer: output must not depend on history
    assert repr(s.box_price(8, prices={8: 300.0})) == "300.0"
    assert repr(s.box_price(8, prices={8: 300})) == "300"
    assert s.box_price(1, prices={1: 300}) == 300
    with pytest.raises(TypeError, match="prices \\(cores\\) must be a whole number >= 1; got True"):
        s.box_price(1, prices={True: 300})  # equal to the table just checked, but not a number of cores
