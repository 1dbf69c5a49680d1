"""What a learner reads when an input is refused: the parameter, the value, the valid range, at the exact edges.

chapter1.core.validation states every rule once; these tests hold its messages and boundaries, and the
workload's own rules (rate steps, defaults) that are stated in its docstring.
"""

import math

import numpy as np
import pytest

from chapter1 import Workload
from chapter1.core import validation as check
from chapter1.core.workload import MAX_STEP_FACTOR

# -- number: the range in words, open or closed at each end ----------------------------------------

@pytest.mark.parametrize("limits, value, message", [
    ({"low": 0}, -1, "x must be a number >= 0; got -1"),
    ({"low": 0, "low_open": True}, 0, "x must be a number > 0; got 0"),
    ({"high": 5}, 6, "x must be a number <= 5; got 6"),
    ({"low": 1, "high": 10_000, "integer": True}, 0, "x must be a whole number in the range [1, 10,000]; got 0"),
    ({"low": 0, "high": 1.5, "low_open": True}, 0, "x must be a number in the range (0, 1.5]; got 0"),
    ({}, math.inf, "x must be a number; got inf"),
    ({"low": 0}, math.nan, "x must be a number >= 0; got nan"),
])
def test_a_number_out_of_range_is_refused_with_its_range_in_words(limits, value, message):
    with pytest.raises(ValueError) as info:
        check.number("x", value, **limits)
    assert str(info.value) == message


@pytest.mark.parametrize("limits, value", [
    ({"low": 0}, 0), ({"low": 0, "low_open": True}, 1e-300), ({"high": 5}, 5), ({"low": 1, "high": 1}, 1),
    ({"low": 0, "allow_inf": True}, math.inf), ({"integer": True}, np.int64(3)), ({}, -2.5),
])
def test_a_number_on_the_edge_of_its_range_is_accepted_as_it_is(limits, value):
    assert check.number("x", value, **limits) is value


@pytest.mark.parametrize("limits, value", [
    ({}, "1"), ({}, None), ({}, True), ({"integer": True}, 2.0), ({"integer": True}, False), ({}, [1]),
])
def test_a_value_that_is_not_a_number_raises_a_type_error_naming_it(limits, value):
    kind = "a whole number" if limits else "a number"
    with pytest.raises(TypeError) as info:
        check.number("x", value, **limits)
    assert str(info.value) == f"x must be {kind}; got {value!r}"


def test_minus_infinity_is_below_any_lower_bound_even_when_infinity_is_allowed():
    with pytest.raises(ValueError, match="x must be a number >= 0; got -inf"):
        check.number("x", -math.inf, low=0, allow_inf=True)


def test_number_list_checks_every_entry_and_gives_floats():
    out = check.number_list("times", [[0, 2], [3, 4.5]], low=0)
    assert out.dtype == float and out.tolist() == [0.0, 2.0, 3.0, 4.5]
    assert check.number_list("counts", [1, 2]).dtype == float  # whole numbers too
    with pytest.raises(ValueError, match=r"times must be a number >= 0; got -1"):
        check.number_list("times", [1, -1], low=0)
    with pytest.raises(TypeError, match="times must be a number"):
        check.number_list("times", [1, "2"])


# -- probabilities, choices, text, sequences, instances ----------------------------------------------

WANTED = "popularity must be a list of probabilities that sum to 1 (e.g. Workload().key_popularity())"


@pytest.mark.parametrize("value", [[], [[0.5, 0.5]], [0.5, math.nan, 0.5], [1.5, -0.5], [0.5, 0.4999],
                                   [0.5, 0.5 + 2e-6], [math.inf, 0.0]])
def test_a_popularity_that_is_not_a_distribution_is_refused(value):
    with pytest.raises(ValueError) as info:
        check.probabilities("popularity", value)
    assert str(info.value).startswith(WANTED + "; got ")


def test_a_popularity_that_sums_to_1_within_rounding_is_accepted():
    for value in ([0.25, 0.75], [1.0], [0.5, 0.5 + 5e-7], [0.0, 1.0]):
        assert check.probabilities("popularity", value).tolist() == value


def test_a_popularity_that_is_not_numbers_is_a_type_error_and_its_value_is_cut_short():
    with pytest.raises(TypeError) as info:
        check.probabilities("popularity", ["a"] * 40)
    message = str(info.value)
    assert message.startswith(WANTED + "; got ['a', ")
    assert len(message) == len(WANTED + "; got ") + 60


def test_choice_lists_the_options_and_refuses_a_non_string_among_strings():
    assert check.choice("policy", "random", ("random", "round_robin")) == "random"
    with pytest.raises(ValueError) as info:
        check.choice("policy", "fastest", ("random", "round_robin"))
    assert str(info.value) == "policy must be one of 'random', 'round_robin'; got 'fastest'"
    with pytest.raises(TypeError) as info:
        check.choice("policy", 3, ("random", "round_robin"))
    assert str(info.value) == "policy must be one of 'random', 'round_robin'; got 3"


def test_choice_among_numbers_takes_a_number():
    assert check.choice("d", 2, (1, 2)) == 2
    with pytest.raises(ValueError, match="d must be one of 1, 2; got 3"):
        check.choice("d", 3, (1, 2))


def test_text_must_be_a_non_empty_string():
    assert check.text("name", "web") == "web"
    with pytest.raises(TypeError, match="name must be a non-empty string; got 5"):
        check.text("name", 5)
    with pytest.raises(ValueError, match="name must be a non-empty string; got ''"):
        check.text("name", "")


def test_sequence_takes_a_list_or_tuple_of_the_class_and_names_an_example():
    assert check.sequence("sizes", [1, 2], int, "1") == (1, 2)
    for value in ("12", 12):
        with pytest.raises(TypeError) as info:
            check.sequence("sizes", value, int, "1")
        assert str(info.value) == f"sizes must be a sequence (a tuple or list) of int objects; got {value!r}"
    with pytest.raises(TypeError) as info:
        check.sequence("sizes", [1, "2"], int, "1")
    assert str(info.value) == "sizes must hold int objects (e.g. 1); got '2'"


def test_instance_names_the_class_and_an_example():
    assert check.instance("n", 3, int, "3") == 3
    with pytest.raises(TypeError) as info:
        check.instance("n", "3", int, "3")
    assert str(info.value) == "n must be a int (e.g. 3); got '3'"


# -- the workload: its defaults and its rate steps ---------------------------------------------------

def test_the_default_workload_is_the_one_its_docstring_describes():
    w = Workload()
    assert (w.users, w.requests_per_user, w.peak_factor) == (1_000, 20, 2.0)
    assert (w.read_ratio, w.keys, w.zipf_s, w.rate_steps) == (0.9, 10_000, 1.0, ())
    assert w.rate == pytest.approx(1_000 * 20 * 2.0 / 86_400)


def test_a_rate_step_applies_from_its_start_on():
    w = Workload.from_rate(100, rate_steps=((60, 2.0), (120, 0.5)))
    np.testing.assert_allclose(w.rate_at([0, 59.999, 60, 119.999, 120, 1e6]), [100, 100, 200, 200, 50, 50])
    assert w.rate == pytest.approx(100)  # the rate before the first step


def test_a_later_step_moves_arrivals_by_the_base_time_each_earlier_step_used_up():
    plain = Workload.from_rate(10).arrival_times(np.random.default_rng(4), 5_000)
    steps = Workload.from_rate(10, rate_steps=((10, 2.0), (30, 4.0)))
    moved = steps.arrival_times(np.random.default_rng(4), 5_000)
    # base time: 10 s at factor 1, then 20 s at factor 2 hold 40 s of it; the rest runs 4 times faster
    first, second, third = plain < 10, (plain >= 10) & (plain < 50), plain >= 50
    assert first.sum() > 50 and second.sum() > 300 and third.sum() > 1_000
    np.testing.assert_allclose(moved[first], plain[first])
    np.testing.assert_allclose(moved[second], 10 + (plain[second] - 10) / 2)
    np.testing.assert_allclose(moved[third], 30 + (plain[third] - 50) / 4)


@pytest.mark.parametrize("steps, error, message", [
    (5, TypeError, "rate_steps must be a sequence of (at_s, factor) pairs, e.g. ((60, 2.0),); got 5"),
    ("60", TypeError, "rate_steps must be a sequence of (at_s, factor) pairs, e.g. ((60, 2.0),); got '60'"),
    ([(60, 2.0, 1)], TypeError, "rate_steps must hold (at_s, factor) pairs, e.g. ((60, 2.0),); got (60, 2.0, 1)"),
    (["ab"], TypeError, "rate_steps must hold (at_s, factor) pairs, e.g. ((60, 2.0),); got 'ab'"),
    ([5], TypeError, "rate_steps must hold (at_s, factor) pairs, e.g. ((60, 2.0),); got 5"),
    ([(0, 2.0)], ValueError, "rate_steps at_s must be a number > 0; got 0"),
    ([(60, 0)], ValueError, f"rate_steps factor must be a number in the range (0, {MAX_STEP_FACTOR:,}]; got 0"),
    ([(60, 1_000.5)], ValueError, "rate_steps factor must be a number in the range (0, 1,000]; got 1000.5"),
    ([(60, 2.0), (60, 3.0)], ValueError, "rate_steps at_s must increase from one step to the next; got 60 after 60.0"),
    ([(60, 2.0), (30, 3.0)], ValueError, "rate_steps at_s must increase from one step to the next; got 30 after 60.0"),
])
def test_a_bad_rate_step_is_refused_with_what_would_work(steps, error, message):
    with pytest.raises(error) as info:
        Workload(rate_steps=steps)
    assert str(info.value) == message


def test_rate_steps_become_float_pairs_and_the_largest_factor_is_allowed():
    w = Workload(rate_steps=[[60, 1_000], (90, 1)])
    assert w.rate_steps == ((60.0, 1_000.0), (90.0, 1.0))
    assert all(type(x) is float for pair in w.rate_steps for x in pair)


def test_an_integer_zipf_exponent_gives_a_distribution_over_many_keys():
    # integer powers of 10,000 keys overflow 64-bit integers; the popularity must not
    for keys, s in ((10_000, 5), (3_000_000, 3)):
        p = Workload(keys=keys, zipf_s=s).key_popularity()
        assert np.isfinite(p).all() and (p >= 0).all() and p.sum() == pytest.approx(1.0)
        assert p[0] / p[1] == pytest.approx(2.0**s)


class TopDraw:
    """A generator whose every uniform draw is the largest float below 1."""

    def random(self, n):
        return np.full(n, np.nextafter(1.0, 0.0))


def test_a_draw_just_below_1_is_the_last_key_even_where_the_cumulative_share_rounds_below_it():
    w = Workload(keys=13, zipf_s=1.0)
    assert np.cumsum(w.key_popularity())[-1] < np.nextafter(1.0, 0.0)  # rounding leaves a gap at the top
    assert w.sample_keys(TopDraw(), 3).tolist() == [12, 12, 12]


def test_from_rate_refuses_a_rate_that_is_not_positive_by_its_own_name():
    for rate in (0, -3.5):
        with pytest.raises(ValueError) as info:
            Workload.from_rate(rate)
        assert str(info.value) == f"requests_per_s must be a number > 0; got {rate!r}"


def test_a_workload_refuses_users_that_are_not_positive_by_name():
    with pytest.raises(ValueError) as info:
        Workload(users=0)
    assert str(info.value) == "users must be a number > 0; got 0"
