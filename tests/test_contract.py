"""The component contract (chapter1.core.contract) on every registered kind.

A new kind gets these tests by being registered (``@register(example=...)``); nothing here names one.
"""

import dataclasses

import pytest

import chapter1.components  # noqa: F401  (registers the course's kinds)
from chapter1 import Workload, simulate
from chapter1.core.component import KINDS, Component
from chapter1.core.contract import CHECKS, check_kind, example


def test_the_course_registers_its_kinds():
    assert {"DNS", "Server", "WebServer", "Database", "LoadBalancer", "DNSRoundRobin"} <= set(KINDS)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_contract(kind, check):
    check(kind)


def test_an_unregistered_component_without_runtime_is_refused_clearly():
    arch = example("Server")[0]
    sketch = dataclasses.replace(arch, tiers=(Component(name="sketch"),))
    with pytest.raises(TypeError, match="Component cannot be simulated.*docs/extending.md"):
        simulate(sketch, Workload.from_rate(10), requests=10)


def test_a_broken_kind_fails_the_contract():
    @dataclasses.dataclass(frozen=True)
    class Leaky(Component):  # simulates, but its picture forgets its outages' effect: requests never fail
        name: str = "leaky"

        def runtime(self, sim, index):
            return chapter1.core.component.Runtime(self, sim, index)

    chapter1.core.component.register(example=lambda: dataclasses.replace(example("Server")[0], tiers=(Leaky(),)))(Leaky)
    try:
        with pytest.raises(AssertionError, match="going down fails some requests"):
            check_kind("Leaky")
    finally:
        del KINDS["Leaky"]
