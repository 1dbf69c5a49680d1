"""Sticky sessions lost when a server dies or joins (chapter 06): the defaults, the schemes and the pool's limits.

One server of n dies: its 1/n of the sessions go with it.  One joins: every client whose hash now picks
another server loses its session, n/(n+1) under modulo hashing and 1/(n+1) on a ring.
"""

import pytest

from chapter1 import analytic
from chapter1.theory.hashing import MAX_BINS


def test_a_death_is_what_is_meant_when_no_event_is_named():
    assert analytic.sessions_lost_share(4) == analytic.sessions_lost_share(4, "death") == 0.25
    assert analytic.sessions_lost_share(8, scheme="ring") == 1 / 8      # a death loses 1/n under any scheme


@pytest.mark.parametrize("servers", [1, 4, 9])
def test_a_join_loses_n_over_n_plus_one_with_modulo_and_one_over_n_plus_one_on_a_ring(servers):
    assert analytic.sessions_lost_share(servers, "join") == pytest.approx(servers / (servers + 1), rel=1e-12)
    assert analytic.sessions_lost_share(servers, "join", "ring") == pytest.approx(1 / (servers + 1), rel=1e-12)


def test_the_largest_pool_loses_its_share_and_a_join_names_servers_when_none_more_fits():
    assert analytic.sessions_lost_share(MAX_BINS) == pytest.approx(1e-6, rel=1e-12)
    assert analytic.sessions_lost_share(MAX_BINS - 1, "join", "ring") == pytest.approx(1e-6, rel=1e-12)
    with pytest.raises(ValueError) as error:
        analytic.sessions_lost_share(MAX_BINS + 1)
    assert str(error.value) == "servers must be a whole number in the range [1, 1,000,000]; got 1000001"
    with pytest.raises(ValueError) as error:          # the server joining would be the 1,000,001st
        analytic.sessions_lost_share(MAX_BINS, "join")
    assert str(error.value) == "servers must be a whole number in the range [1, 999,999]; got 1000000"
