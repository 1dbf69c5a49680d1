"""Following sessions after the run: requests that arrive together, and the column a learner filters on."""

import numpy as np

import chapter1 as c
from chapter1.components.sessions import track
from chapter1.core.architecture import Architecture


def test_requests_arriving_together_are_taken_in_the_order_of_the_table():
    """One client: ten requests at 1 s (the first five served by box 0, the last five by box 1) and ten at 2 s
    by box 1, interleaved in the table.  Taken in table order within each moment, the session moves once."""
    arrival = [2.0, 1.0] * 10
    holder = [1 if i % 2 == 0 or i >= 11 else 0 for i in range(20)]
    lost, sessions = track([0] * 20, arrival, holder, lambda h, t0, t1: False, 60)
    assert np.flatnonzero(lost).tolist() == [11] and sessions == 1


def test_session_lost_is_a_true_false_column_that_filters_the_requests_table():
    lost, _ = track([0, 0], [1.0, 2.0], [0, 1], lambda h, t0, t1: False, 60)
    assert lost.dtype == bool and lost.tolist() == [False, True]
    arch = Architecture("sticky", c.load_balanced(2, sessions="sticky", workers=2).tiers, dns=None)
    moved = arch.with_changes("load balancer", policy="round_robin")
    table = c.simulate(moved, c.Workload(users=20, requests_per_user=43_200), requests=200, seed=4).requests
    assert table["session_lost"].dtype == bool
    assert 0 < len(table[table["session_lost"]]) < len(table), "round robin moves some sessions, not all"
