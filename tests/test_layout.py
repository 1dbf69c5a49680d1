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
