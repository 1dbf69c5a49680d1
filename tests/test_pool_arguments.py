"""A pool's arguments as a learner types them: lists are kept as tuples (the pool stays hashable and
unchangeable) and a wrong item is refused with the parameter's name and an example of what works."""

import pytest

import chapter1 as c
from chapter1.components.pool import Join


def test_lists_are_kept_as_tuples():
    lb = c.LoadBalancer(servers=[c.WebServer(name="a"), c.WebServer(name="b")], policy="weighted", weights=[1, 2, 3],
                        joins=[Join(c.WebServer(name="c"), at_s=3)])
    assert lb.servers == (c.WebServer(name="a"), c.WebServer(name="b")) and isinstance(lb.servers, tuple)
    assert lb.weights == (1, 2, 3) and isinstance(lb.weights, tuple)
    assert isinstance(lb.joins, tuple) and lb.joins[0].at_s == 3
    assert hash(lb) == hash(c.LoadBalancer(servers=lb.servers, policy="weighted", weights=(1, 2, 3), joins=lb.joins))


@pytest.mark.parametrize("arguments, message", [
    ({"servers": [1]}, r"servers must hold Server objects (e.g. WebServer()); got 1"),
    ({"servers": (c.WebServer(name="a"),), "joins": [1]},
     r"joins must hold Join objects (e.g. Join(WebServer(), at_s=30)); got 1"),
])
def test_a_wrong_item_is_refused_with_an_example(arguments, message):
    with pytest.raises(TypeError) as refused:
        c.LoadBalancer(**arguments)
    assert str(refused.value) == message


def test_weights_that_are_not_a_list_are_refused_by_name():
    with pytest.raises(TypeError, match=r"^weights must be a sequence \(a tuple or list\)"):
        c.LoadBalancer(servers=(c.WebServer(name="a"), c.WebServer(name="b")), policy="weighted", weights=5)
