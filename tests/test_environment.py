"""environment.yml (conda, Binder) and pyproject.toml (pip) must ask for the same packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirements(specs):
    """{'pandas': '>=2.2', ...} from PEP 508 / conda strings."""
    parsed = (re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", s.strip()) for s in specs)
    return {m.group(1).lower().replace("_", "-"): m.group(2).replace(" ", "") for m in parsed}


def pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _requirements(project["dependencies"] + project["optional-dependencies"]["test"])


def conda_environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_conda_environment_lists_every_pip_requirement_with_the_same_bounds():
    conda = _requirements(d for d in conda_environment()["dependencies"] if isinstance(d, str))
    pip = pyproject_requirements()
    assert {name: conda.get(name) for name in pip} == pip


def test_conda_environment_uses_conda_forge_and_installs_the_course_itself():
    env = conda_environment()
    assert env["channels"] == ["conda-forge"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section
    python = _requirements(d for d in env["dependencies"] if isinstance(d, str))["python"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python == requires
