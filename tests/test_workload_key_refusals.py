"""A workload refuses a key space and a popularity skew that mean nothing, naming the parameter word for word."""

import pytest

import chapter1 as c


@pytest.mark.parametrize(("options", "error", "words"), [
    ({"keys": 0}, ValueError, "keys must be a whole number >= 1; got 0"),
    ({"keys": 1.5}, TypeError, "keys must be a whole number >= 1; got 1.5"),
    ({"zipf_s": -1}, ValueError, "zipf_s must be a number >= 0; got -1"),
])
def test_a_workload_refuses_keys_and_zipf_s_by_name(options, error, words):
    with pytest.raises(error) as info:
        c.Workload(**options)
    assert str(info.value) == words
    assert c.Workload(keys=1, zipf_s=0).keys == 1  # the edges themselves are allowed
