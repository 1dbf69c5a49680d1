"""Stale reads count every write, and a lookup that takes no time decides at the moment of arrival.

(Requests placed by hand through one Cache, as in tests/test_cache_rules.py.)
"""

from test_cache_rules import DB_S, LOOKUP_S, outcomes, placed


def test_every_write_since_the_entry_was_stored_makes_a_hit_stale():
    """Writes left in the database only (on_write='ignore'): the entry stored at 0 s is stale after the write at
    1 s; it expires at 2.5 s, the read at 3 s stores the new value, and the write at 4 s makes it stale again."""
    stored = LOOKUP_S + DB_S
    result = placed([0, 1, 2, 3, 4, 5], [0] * 6, writes=[False, True, False, False, True, False], on_write="ignore",
                    ttl_s=2.5 - stored)
    assert outcomes(result) == ["miss", "", "hit", "miss", "", "hit"]
    assert result.requests["stale"].tolist() == [False, False, True, False, False, True]


def test_with_no_lookup_time_a_read_arriving_as_the_first_answer_comes_back_still_misses():
    """hit_ms=0: the first read's answer is stored at 10 ms; a read arriving at that very moment has already
    looked, and misses; one a little later hits."""
    result = placed([0, DB_S, DB_S + 0.001], [0, 0, 0], hit_ms=0)
    assert outcomes(result) == ["miss", "miss", "hit"]
    assert result.requests["latency_ms"].tolist()[2] == 0.0
