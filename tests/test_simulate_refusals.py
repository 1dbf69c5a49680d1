"""simulate() refuses a bad budget of requests or a bad seed word for word, naming the argument and its range."""

import pytest

import chapter1 as c


@pytest.mark.parametrize("options, error, message", [
    ({"requests": 0}, ValueError, "requests must be a whole number in the range [1, 2,000,000]; got 0"),
    ({"requests": 2_000_001}, ValueError, "requests must be a whole number in the range [1, 2,000,000]; got 2000001"),
    ({"requests": 10.5}, TypeError, "requests must be a whole number in the range [1, 2,000,000]; got 10.5"),
    ({"seed": -1}, ValueError, "seed must be a whole number >= 0; got -1"),
    ({"seed": "1"}, TypeError, "seed must be a whole number >= 0; got '1'"),
])
def test_simulate_names_the_argument_it_refuses(options, error, message):
    with pytest.raises(error) as refused:
        c.simulate(c.single_server(), c.Workload(users=100), **{"requests": 10, **options})
    assert str(refused.value) == message


@pytest.mark.parametrize("options, message", [
    ({"requests_per_user": 0}, "requests_per_user must be a number > 0; got 0"),
    ({"peak_factor": 0.5}, "peak_factor must be a number >= 1; got 0.5"),
    ({"read_ratio": 1.5}, "read_ratio must be a number in the range [0, 1]; got 1.5"),
])
def test_a_workload_names_the_setting_it_refuses(options, message):
    with pytest.raises(ValueError) as refused:
        c.Workload(users=10, **options)
    assert str(refused.value) == message
