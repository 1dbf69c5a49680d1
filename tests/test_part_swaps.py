"""Architecture.fail reaches a part at any depth through Component.with_part, whatever else the holder keeps."""

import dataclasses

import chapter1 as c
from chapter1.core.component import Component


@dataclasses.dataclass(frozen=True)
class Fallbacks(Component):
    """A holder (defined here, as a learner would) whose tuple keeps its parts beside labels and an empty slot."""

    name: str = "fallbacks"
    routes: tuple = ()

    @property
    def parts(self):
        return tuple(r for r in self.routes if isinstance(r, Component))


def test_failing_a_part_keeps_the_other_entries_of_the_holders_tuple():
    holder = Fallbacks(routes=("primary", c.Server(name="a"), None, c.Server(name="b")))
    arch = c.Architecture("fallbacks", (holder,), dns=None).fail("b", at_s=5, recover_s=8)
    routes = arch["fallbacks"].routes
    assert routes[0] == "primary" and routes[2] is None and routes[1] == c.Server(name="a")
    assert routes[3].outages == (c.Outage(5, 8),) and arch["b"].outages == (c.Outage(5, 8),)


def test_failing_a_part_deep_inside_replaces_only_that_part():
    inner = Fallbacks(name="inner", routes=(c.Server(name="x"), 3))
    outer = Fallbacks(name="outer", routes=(inner, "spare"))
    arch = c.Architecture("nested", (outer,), dns=None).fail("x", at_s=1)
    assert arch["outer"].routes[1] == "spare" and arch["inner"].routes[1] == 3
    assert arch["x"].outages == (c.Outage(1),)
