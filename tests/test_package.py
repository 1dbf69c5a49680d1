"""Importing the package is free of side effects and loads nothing heavy until a name is used."""

import subprocess
import sys


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_import_loads_nothing_heavy_and_changes_no_setting():
    loaded = run("import sys, chapter1; print(*[m for m in ('altair', 'pandas', 'simpy', 'numpy', 'ipywidgets') "
                 "if m in sys.modules])")
    assert loaded == []


def test_public_names_and_old_module_names_resolve():
    import chapter1

    for name in chapter1.NAMES:
        assert getattr(chapter1, name) is not None, name
    out = run("import chapter1.balancing as b, chapter1.analytic as a; from chapter1 import scaling; "
              "print(b.__name__, a.__name__, scaling.__name__)")
    assert out == ["chapter1.sections.balancing", "chapter1.theory", "chapter1.sections.scaling"]


def test_unknown_name_says_so():
    import pytest

    import chapter1

    with pytest.raises(AttributeError, match="has no attribute 'simulation_engine'"):
        chapter1.simulation_engine  # noqa: B018
