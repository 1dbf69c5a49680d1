"""Layout rules: chapter modules stay thin glue over components, theory and the presentation kit."""

import ast
import pathlib

import pytest

SECTIONS = sorted((pathlib.Path(__file__).parents[1] / "chapter1" / "sections").glob("*.py"))
PRESENTATION = {"altair", "ipywidgets", "simpy"}


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", SECTIONS, ids=lambda p: p.name)
def test_section_modules_import_no_altair_ipywidgets_or_simpy(path):
    found = {name for name in _imports(ast.parse(path.read_text())) if name.split(".")[0] in PRESENTATION}
    assert not found, f"{path.name} imports {sorted(found)}: charts and widgets belong in chapter1/present"


@pytest.mark.parametrize("path", SECTIONS, ids=lambda p: p.name)
def test_section_modules_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines < 350, f"{path.name} has {lines} lines; keep a chapter module under 350"


def test_remembered_answers_are_kept_apart_for_equal_values_of_other_types():
    # 300 and 300.0 (or 1 and True) are equal keys to a plain lru_cache: the second call would get the first's
    # answer, ints shown as floats, so every cache in the library is typed
    import importlib
    import pkgutil

    import chapter1

    untyped = []
    for info in pkgutil.walk_packages(chapter1.__path__, "chapter1."):
        if info.name.endswith("._loops"):  # imports numba; no caches
            continue
        module = importlib.import_module(info.name)
        for name, value in list(vars(module).items()):  # a lazy attribute may import a submodule into it
            if hasattr(value, "cache_parameters") and getattr(value, "__module__", None) == info.name:
                if not value.cache_parameters()["typed"]:
                    untyped.append(f"{info.name}.{name}")
    assert not untyped, f"lru_cache(typed=True) wanted for {untyped}"
