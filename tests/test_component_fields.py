"""Every component names itself and keeps its outages as a tuple, whatever sequence they were given in."""

import pytest

from chapter1.core.component import Component, Outage


@pytest.mark.parametrize(("name", "error"), [("", ValueError), (5, TypeError)])
def test_a_component_refuses_a_name_that_is_not_text_word_for_word(name, error):
    with pytest.raises(error) as info:
        Component(name=name)
    assert str(info.value) == f"name must be a non-empty string; got {name!r}"


def test_outages_given_as_a_list_are_kept_as_a_tuple():
    box = Component(name="box", outages=[Outage(30, 60)])
    assert box.outages == (Outage(30, 60),) and isinstance(box.outages, tuple)
    assert box.fail(90).outages == (Outage(30, 60), Outage(90))  # so that fail() can add to them
