"""A float array is checked at once (number_list): the same array, or the same error, as checking it value by value."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.core import validation as check


def one_by_one(name, values, **limits):
    return np.array([check.number(name, v, **limits) for v in np.asarray(values, dtype=object).ravel()], dtype=float)


def outcome(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (TypeError, ValueError) as error:
        return type(error), str(error)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(values=st.lists(st.one_of(st.floats(-10, 10), st.sampled_from([0.0, 1.0, np.inf, -np.inf, np.nan])),
                       max_size=6),
       low=st.sampled_from([None, 0, 1.0]), high=st.sampled_from([None, 1, 5.0]), low_open=st.booleans(),
       allow_inf=st.booleans(), shape=st.sampled_from([None, (1, -1)]), dtype=st.sampled_from([float, np.float32]))
def test_a_float_array_is_checked_as_value_by_value(values, low, high, low_open, allow_inf, shape, dtype):
    array = np.array(values, dtype=dtype)
    if shape is not None and array.size:
        array = array.reshape(shape)
    limits = {"low": low, "high": high, "low_open": low_open, "allow_inf": allow_inf}
    got, wanted = outcome(check.number_list, "rates", array, **limits), outcome(one_by_one, "rates", array, **limits)
    if isinstance(wanted, np.ndarray):
        np.testing.assert_array_equal(got, wanted)
        assert got.dtype == wanted.dtype and got is not array
    else:
        assert got == wanted


def test_the_checked_array_is_a_copy():
    rates = np.array([1.0, 2.0])
    checked = check.number_list("rates", rates, low=0)
    checked[0] = 9.0
    assert rates[0] == 1.0


@pytest.mark.parametrize("value, error", [("3", TypeError), (True, TypeError), (float("nan"), ValueError),
                                          (-1, ValueError), (float("inf"), ValueError)])
def test_a_number_out_of_range_is_named_with_its_range(value, error):
    with pytest.raises(error, match=r"^users must be a number > 0; got "):
        check.number("users", value, low=0, low_open=True)


@pytest.mark.parametrize("limits, values", [
    ({"low": 0, "low_open": True}, [0.5, 2.0]), ({"low": 0}, [0.0, 1.0]),
    ({"low": 0, "allow_inf": True}, [1.0, np.inf]), ({"high": 5.0}, [5.0, -1.0]), ({"low": 1.0, "high": 1.0}, [1.0]),
    ({}, [3.0, -2.0])])
def test_a_valid_float_array_is_checked_at_once_not_value_by_value(monkeypatch, limits, values):
    checked = []
    number = check.number
    monkeypatch.setattr(check, "number", lambda *args, **kwargs: checked.append(args) or number(*args, **kwargs))
    assert check.number_list("grid", np.array(values), **limits).tolist() == values
    assert checked == [], "a valid float array was checked one value at a time"


def test_an_array_of_anything_but_floats_is_checked_value_by_value_and_named():
    assert check.number_list("grid", np.array([1, 2]), low=0).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="grid must be a number"):
        check.number_list("grid", np.array(["a", "b"]))


def test_a_float_array_where_whole_numbers_are_wanted_is_refused_value_by_value():
    """The quick check of a float array is for real numbers only: whole numbers are checked (and refused) one by one."""
    with pytest.raises(TypeError, match=r"^counts must be a whole number >= 0; got 1.0$"):
        check.number_list("counts", np.array([1.0, 2.0]), integer=True, low=0)
