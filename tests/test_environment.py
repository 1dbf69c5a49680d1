"""environment.yml (conda), binder/ (Binder, repo2docker, JupyterHub images) and pyproject.toml (pip) must ask
for the same packages; `make lab` must open on loopback and run as root."""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def _requirements(specs):
    """{'pandas': '>=2.2', ...} from PEP 508 / conda strings (extras such as dask[distributed] left out)."""
    parsed = (re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(.*)", s.strip()) for s in specs)
    return {m.group(1).lower().replace("_", "-"): m.group(2).replace(" ", "") for m in parsed}


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pyproject_requirements():
    project = _project()
    return _requirements(project["dependencies"] + project["optional-dependencies"]["test"])


def conda_environment(path=ROOT / "environment.yml"):
    return yaml.safe_load(path.read_text())


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
    assert python == _project()["requires-python"]


def test_the_cluster_extra_is_in_the_test_extra_so_ci_runs_the_dask_grader():
    extras = _project()["optional-dependencies"]
    assert set(extras["cluster"]) <= set(extras["test"])


def test_binder_recipe_names_every_dependency_of_the_course_with_the_same_bounds():
    env = conda_environment(BINDER / "environment.yml")
    assert env["channels"] == ["conda-forge"]
    listed = [d for d in env["dependencies"] if isinstance(d, str)]
    conda = _requirements(listed)
    pip = _requirements(_project()["dependencies"])
    assert {name: conda.get(name) for name in pip} == pip
    # repo2docker reads only an exact python=X.Y, and it must satisfy requires-python
    version = re.fullmatch(r"python=(\d+)\.(\d+)", next(d for d in listed if d.startswith("python")))
    low = re.fullmatch(r">=(\d+)\.(\d+)", _project()["requires-python"])
    assert version and low and tuple(map(int, version.groups())) >= tuple(map(int, low.groups()))
    # the environment is built before the repository is copied in: no local package here, pip for postBuild
    assert not [d for d in env["dependencies"] if isinstance(d, dict)] and "pip" in listed


def test_binder_post_build_installs_the_course_from_the_repository_root(tmp_path):
    script = BINDER / "postBuild"
    assert script.stat().st_mode & stat.S_IXUSR, "repo2docker runs postBuild only when it is executable"
    # run it as repo2docker does (from the repository's root), with python and jupyter standing in as loggers
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in ("python", "jupyter"):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
        shim.chmod(0o755)
    done = subprocess.run(["bash", str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "python -m pip install --no-deps -e ."
    assert calls[1] == "python -c from chapter1.core import kernels; kernels.compiled()"  # numba's loops, once
    assert calls[2].startswith("jupyter trust ") and "notebooks/00_start_here.ipynb" in calls[2]
    assert "exercises/01_single_server.ipynb" in calls[2]


def _lab_line(argv=(), cwd=ROOT):
    done = subprocess.run([*argv, "make", "-n", "lab"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if "jupyter lab" in line]
    return line.split()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_binds_loopback_and_allows_root_only_as_root():
    words = _lab_line()
    assert words[words.index("--ip") + 1] == "127.0.0.1"
    assert ("--allow-root" in words) == (os.geteuid() == 0)
    assert words[-1] == "notebooks/00_start_here.ipynb"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_trusts_the_course_notebooks_so_their_stored_charts_show():
    done = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    trust = [i for i, line in enumerate(lines) if "jupyter trust" in line]
    lab = [i for i, line in enumerate(lines) if "jupyter lab" in line]
    assert trust and lab and trust[0] < lab[0], done.stdout
    assert "notebooks/*.ipynb" in lines[trust[0]] and "solutions/*.ipynb" in lines[trust[0]]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("make") is None,
                    reason="needs root (to become another user), setpriv and make")
def test_make_lab_does_not_allow_root_for_another_user():
    # the checkout may sit where uid 65534 cannot go (/root): read the Makefile from a folder it can
    folder = Path(tempfile.mkdtemp(prefix="chapter1-make-"))
    try:
        folder.chmod(0o755)
        for name in ("Makefile", "pyproject.toml"):
            shutil.copy(ROOT / name, folder / name)
            (folder / name).chmod(0o644)
        words = _lab_line(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], cwd=folder)
    finally:
        shutil.rmtree(folder)
    assert "--allow-root" not in words and words[words.index("--ip") + 1] == "127.0.0.1"
