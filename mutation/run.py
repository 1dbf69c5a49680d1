"""Mutation testing of the library with mutmut: ``make mutate`` (slow, not part of ``make test``).

Usage::

    python mutation/run.py [GROUP ...] [--max-children N] [--report-only]

Groups (run in this order when none is named): theory, queues, result, components, data, messaging, simulation,
grading.
Each group is a copy of the repository in ``build/mutate/<group>/`` where mutmut (settings under
``[tool.mutmut]`` in pyproject.toml) mutates only that group's modules and runs only the fast test
files that exercise them (no notebooks, no browser).  mutmut keeps its verdicts in the copy, so a
second run retests only what changed.

The copy is imported from mutmut's ``mutants/`` folder, never from the checkout: the venv
``build/mutate/venv`` sees the course venv's packages but not its editable install of ``chapter1``
(an editable install would shadow the mutated copy and most mutants would report "no tests").

The report gives, per module, killed / (killed + survived + timeouts) over the mutants that are not
listed in ``mutation/equivalent.txt`` (one ``mutant-name  reason`` a line), then every survivor.
"""

import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutate"
EQUIVALENT = Path(__file__).with_name("equivalent.txt")

# group -> (modules to mutate, the test files that exercise them)
GROUPS = {
    "theory": ([f"chapter1/theory/{name}.py" for name in (
        "autoscaling", "availability", "balancing", "caching", "cdn", "contention", "datacentres", "hashing",
        "messaging", "replication", "sharding")], THEORY_TESTS := [
        "tests/test_analytic.py", "tests/test_properties.py", "tests/test_robustness.py",
        "tests/test_behaviour.py", "tests/test_balancing.py", "tests/test_cache.py", "tests/test_cdn.py",
        "tests/test_replication.py", "tests/test_sharding.py", "tests/test_messaging.py",
        "tests/test_datacentres.py", "tests/test_scaling.py", "tests/test_database_tier.py",
        "tests/test_autoscaling.py", "tests/test_validation.py", "tests/test_loadbalancer.py",
        "tests/test_stateless.py",
        "tests/test_single_server.py", "tests/test_theory_edges.py", "tests/test_theory_limits.py",
        "tests/test_theory_predict.py", "tests/test_theory_autoscaling.py",
        "tests/test_scaling_rule_memory.py", "tests/test_theory_hashing.py", "tests/test_theory_tables.py",
        "tests/test_theory_caching.py", "tests/test_theory_balancing.py", "tests/test_theory_sharding.py",
        "tests/test_theory_contention.py", "tests/test_theory_sites.py", "tests/test_theory_cdn.py",
        "tests/test_theory_backlog.py", "tests/test_theory_sticky_sessions.py",
        "tests/test_theory_cache_limits.py", "tests/test_theory_input_names.py", "tests/test_theory_last_edges.py"]),
    # queueing formulas and the predictions built on them: their own copy, so it can run beside "theory"
    "queues": (["chapter1/theory/queues.py", "chapter1/theory/predict.py"],
               [*THEORY_TESTS, "tests/test_theory_queues.py"]),
    # result and simulation: the fast files only (test_simulation's module fixtures run 50,000-request simulations
    # for every mutant; the slow files' checks of result and the engines are restated fast in the files below)
    "result": (["chapter1/core/result.py"], ["tests/test_result.py", "tests/test_result_figures.py",
                                            "tests/test_result_readers.py"]),
    # components: the fast files (test_properties, test_cache, test_replication, test_datacentres and the other
    # chapter files take 15-50 s a run, and every test that reaches a server or a pool reruns for each mutant)
    "components": ([f"chapter1/components/{name}.py" for name in (
        "server", "downtime", "policies", "dns", "sessions", "autoscaling", "cache", "eviction")],
        [*(COMPONENT_TESTS := [
        "tests/test_components.py", "tests/test_behaviour.py", "tests/test_faults.py", "tests/test_contract.py",
        "tests/test_downtime.py", "tests/test_slots.py", "tests/test_components_rules.py"]),
        "tests/test_eviction_rules.py", "tests/test_cache_rules.py", "tests/test_session_rules.py",
        "tests/test_autoscaling_rules.py", "tests/test_dns_rules.py", "tests/test_server_rules.py",
        "tests/test_server_deaths.py", "tests/test_session_kinds.py", "tests/test_cache_curve_range.py",
        "tests/test_session_track.py", "tests/test_service_draws.py", "tests/test_server_batches.py",
        "tests/test_cache_versions.py", "tests/test_server_queue_ties.py", "tests/test_dns_runs.py",
        "tests/test_server_blocking.py", "tests/test_balance_loop.py", "tests/test_balance_in_pieces.py",
        "tests/test_balancer_batch_paths.py", "tests/test_cache_engine.py", "tests/test_engines.py"]),
    # the other components in two more copies, so that three runs can go on at once
    "data": ([f"chapter1/components/{name}.py" for name in ("replicas", "shards", "datacentre", "cdn")],
             [*COMPONENT_TESTS, "tests/test_replica_rules.py", "tests/test_shard_rules.py", "tests/test_cdn_rules.py",
              "tests/test_datacentre_rules.py", "tests/test_cdn_edges.py",
              "tests/test_datacentre_edges.py"]),
    "messaging": (["chapter1/components/pool.py", "chapter1/components/queue.py", "chapter1/components/queue_walk.py"],
                  [*COMPONENT_TESTS, "tests/test_queue_rules.py", "tests/test_pool_rules.py", "tests/test_kernels.py",
                   "tests/test_queue_scaling_edges.py", "tests/test_pool_routing_edges.py",
                   "tests/test_compiled_routing_choice.py", "tests/test_compiled_routing_state.py",
                   "tests/test_balancer_batch_paths.py", "tests/test_pool_and_queue_reports.py",
                   "tests/test_pool_small_edges.py", "tests/test_server_deaths.py", "tests/test_pool_arguments.py"]),
    # (kernels.py: its glue; _loops.py is numba's machine code, which mutmut's trampolines cannot enter)
    "simulation": (["chapter1/core/simulation.py", "chapter1/core/component.py", "chapter1/core/architecture.py",
                    "chapter1/core/workload.py", "chapter1/core/validation.py", "chapter1/core/kernels.py"], [
        "tests/test_workload.py", "tests/test_validation.py", "tests/test_input_messages.py",
        "tests/test_wiring_edges.py", "tests/test_faults.py", "tests/test_contract.py", "tests/test_extending.py",
        "tests/test_engines.py", "tests/test_simultaneous_events.py",
        "tests/test_part_swaps.py", "tests/test_simulate_refusals.py", "tests/test_kernels.py",
        "tests/test_arrival_order_ties.py", "tests/test_compiled_routing_state.py",
        "tests/test_compiled_loops_load.py", "tests/test_workload_key_refusals.py",
        "tests/test_component_fields.py", "tests/test_key_sampling.py", "tests/test_validation_lists.py",
        "tests/test_held_workers.py", "tests/test_dns_runs.py", "tests/test_server_batches.py",
        "tests/test_balance_loop.py", "tests/test_compiled_routing_choice.py", "tests/test_balance_in_pieces.py"]),
    # the grader's kernel-free tests only: test_grade.py and test_exercises.py run notebooks (minutes per mutant)
    "grading": (["chapter1/grading/*"], [
        "tests/test_grading_messages.py", "tests/test_grading_units.py", "tests/test_grading_gradebook.py",
        "tests/test_grading_running.py", "tests/test_grading_batch.py",
        "tests/test_grading_runner.py", "tests/test_grading_isolation.py",
        "tests/test_grading_tools.py", "tests/test_grading_cluster.py",
        "tests/test_grading_encoding.py", "tests/test_grading_kernel_side.py",
        "tests/test_grading_options.py", "tests/test_grading_warm.py"]),
}
# mutmut hands pytest a mutant's tests in the order of a set, and pytest -x stops at the first failure: given the
# quickest tests first, a killed mutant seldom waits for a slow one (half the time a mutant in the simulation group)
FASTEST_FIRST = """
import sys
from mutmut.__main__ import cli
from mutmut.state import state
from mutmut.workers import isolation


def fastest_first(submit):
    def submit_sorted(self, mutant_name, tests, *args):
        took = state().duration_by_test
        return submit(self, mutant_name, sorted(tests, key=lambda test: (took.get(test, 0.0), test)), *args)
    return submit_sorted


for runner in (getattr(isolation, name, None) for name in ("ForkServerRunner", "ForkRunner")):
    if runner is not None:  # (mutmut 3.8's runners)
        runner.submit = fastest_first(runner.submit)
sys.exit(cli())
"""
COPIED = ["chapter1", "tests", "pyproject.toml", "notebooks", "solutions", "exercises", "README.md", "docs"]
KILLED, SURVIVED, NO_TESTS, TIMEOUT = {1, 3}, {0}, {5, 33}, {36, 24, -24, 152, 255}


def venv():
    """A venv that sees the course venv's packages but not its editable ``chapter1``; made once."""
    home = BUILD / "venv"
    python = home / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
        # a plain path line: the course venv's own .pth files (the editable finder) are not run
        Path(site, "course-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    probe = subprocess.run([str(python), "-c", "import chapter1"], cwd="/", capture_output=True)
    if probe.returncode == 0:
        sys.exit(f"{home} can import chapter1 outside the mutants; remove it and run again")
    return python


def prepare(group):
    """Copy the checkout to build/mutate/<group>/ and point mutmut's settings at the group."""
    where = BUILD / group
    where.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source, target = ROOT / name, where / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "browser"))
        elif source.exists():
            shutil.copy2(source, target)
    only, tests = GROUPS[group]
    tests = [name for name in tests if (ROOT / name).exists()]
    keep_verdicts_when_tests_are_added(where, tests)
    record_again_when_modules_change(where, only)
    pyproject = (ROOT / "pyproject.toml").read_text()
    settings = tomllib.loads(pyproject)["tool"]["mutmut"]
    extra = {"only_mutate": only, "pytest_add_cli_args_test_selection": tests}
    if any(key in settings for key in extra):
        sys.exit(f"[tool.mutmut] must leave {sorted(extra)} to mutation/run.py")
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in extra.items())
    (where / "pyproject.toml").write_text(pyproject.replace("[tool.mutmut]\n", "[tool.mutmut]\n" + lines, 1))
    return where


def keep_verdicts_when_tests_are_added(where, tests):
    """mutmut forgets every verdict when the test selection changes.  When the group only gained test files,
    a kill still stands (more tests cannot let a mutant live), so mutmut is told the selection is the old one;
    it then collects coverage for the new tests alone, and the mutants not killed are retested by name."""
    stats, used = where / "mutants" / "mutmut-stats.json", where / "selection.json"
    before = json.loads(used.read_text()) if used.exists() else None
    if stats.exists() and before is not None and set(before) <= set(tests) and before != tests:
        data = json.loads(stats.read_text())
        data["config_fingerprint"]["test_selection"] = hashlib.sha256(repr(tuple(tests)).encode()).hexdigest()[:12]
        stats.write_text(json.dumps(data))
    elif before is not None and before != tests and (where / "mutants").exists():
        shutil.rmtree(where / "mutants")  # tests were taken away: start again
    used.write_text(json.dumps(tests))


def record_again_when_modules_change(where, only):
    """mutmut records which tests reach a function only for tests it has not seen before: a function written or
    changed since keeps the tests it had (none, for a new one), and its mutants look unkillable.  When the group's
    modules changed since the last run, every test is recorded again (one run of the group's tests; the verdicts
    stay, and mutmut retests the mutants of changed functions by itself)."""
    stats, seen = where / "mutants" / "mutmut-stats.json", where / "modules.sha256"
    sources = sorted(path for pattern in only for path in ROOT.glob(pattern) if path.suffix == ".py")
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    if stats.exists() and (not seen.exists() or seen.read_text() != digest):
        data = json.loads(stats.read_text())
        data["duration_by_test"] = {}  # every test is new to mutmut: it records them all again
        stats.write_text(json.dumps(data))
    seen.write_text(digest)


def run(group, python, max_children, only=()):
    where = prepare(group)
    print(f"== mutmut over {group} in {where.relative_to(ROOT)}", flush=True)
    # one BLAS thread: mutmut forks its workers, and a child forked while the parent's BLAS threads exist
    # deadlocks at its first matrix product
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    mutmut = [str(python), "-c", FASTEST_FIRST]
    if only:  # every mutant of these modules, decided or not
        patterns = [f"{module}.*" for module in only]
        return subprocess.run([*mutmut, "run", "--max-children", str(max_children), *patterns], cwd=where, env=env)
    # mutmut keeps a verdict until asked again: mutants not killed last time are retested by name first,
    # so tests added since then count; then every mutant without a verdict is tested.
    again = [name for codes in verdicts(group).values() for name, code in codes.items()
             if code is not None and code not in KILLED and name not in equivalent()]
    for chunk in (again[i:i + 2000] for i in range(0, len(again), 2000)):
        subprocess.run([*mutmut, "run", "--max-children", str(max_children), *chunk], cwd=where, env=env)
    return subprocess.run([*mutmut, "run", "--max-children", str(max_children)], cwd=where, env=env).returncode


def equivalent():
    """{mutant name: reason} from mutation/equivalent.txt."""
    pairs = (line.split(None, 1) for line in EQUIVALENT.read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {name: reason.strip() for name, reason in pairs}


def verdicts(group):
    """{module path: {mutant name: exit code}} from mutmut's meta files of one group."""
    mutants, patterns = BUILD / group / "mutants", GROUPS[group][0]
    out = {}
    for meta in sorted(mutants.glob("chapter1/**/*.py.meta")):
        if not any(fnmatch.fnmatch(str(meta.relative_to(mutants))[:-len(".meta")], p) for p in patterns):
            continue  # a module of another group, from before the groups were split
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            out[str(meta.relative_to(mutants))[:-len(".meta")]] = codes
    return out


def report(groups):
    """Print the kill rate per module and every surviving mutant; return the rates by group."""
    skip = equivalent()
    rates, survivors = {}, []
    print(f"\n{'module':44} {'killed':>6} {'t/o':>4} {'surv':>5} {'untested':>8} {'equiv':>5} {'unrun':>5} {'rate':>7}")
    for group in groups:
        total = Counter()
        for module, codes in verdicts(group).items():
            counts = Counter()
            for name, code in codes.items():
                if name in skip:
                    counts["equivalent"] += 1
                elif code in KILLED:
                    counts["killed"] += 1
                elif code in SURVIVED:
                    counts["survived"] += 1
                    survivors.append((group, name))
                elif code in TIMEOUT:  # a test hung: the mutant, or a stuck worker
                    counts["timeout"] += 1
                elif code is None:  # not run yet: left out of the rate, and shown
                    counts["unrun"] += 1
                else:  # no test reaches it, or a crash: not killed
                    counts["other"] += 1
                    survivors.append((group, name))
            total.update(counts)
            print(_row(module, counts), flush=True)
        rates[group] = _rate(total)
        print(_row(f"[{group}]", total) + "\n")
    for group in groups:
        names = [name for g, name in survivors if g == group]
        for name, diff in diffs(group, names).items():
            changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-" and line[1:].strip()]
            print(f"not killed {name}\n    " + "\n    ".join(changed[:4]))
    return rates


SHOW = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for name in json.load(sys.stdin):
    try:
        out[name] = get_diff_for_mutant(name)
    except Exception as error:  # a mutant of a function that no longer exists
        out[name] = f"- (no diff: {error!r})"
print(json.dumps(out))
"""


def diffs(group, names):
    """{mutant name: its diff}, from one mutmut process (``mutmut show`` would start one per mutant)."""
    if not names:
        return {}
    done = subprocess.run([str(BUILD / "venv" / "bin" / "python"), "-c", SHOW], input=json.dumps(names),
                          cwd=BUILD / group, capture_output=True, text=True)
    if done.returncode:
        return {name: f"- (mutmut could not show it: {done.stderr.strip().splitlines()[-1:]})" for name in names}
    return json.loads(done.stdout)


def _rate(counts):
    """Killed over all decided mutants; a timeout is not counted as a kill (a stuck worker looks the same)."""
    tested = counts["killed"] + counts["survived"] + counts["timeout"] + counts["other"]
    return counts["killed"] / tested if tested else float("nan")


def _row(label, c):
    return (f"{label:44} {c['killed']:6} {c['timeout']:4} {c['survived']:5} {c['other']:8} {c['equivalent']:5} "
            f"{c['unrun']:5} {_rate(c):7.1%}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("groups", nargs="*", help=f"any of {', '.join(GROUPS)} (default: all, in that order)")
    parser.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--report-only", action="store_true", help="report the verdicts already stored")
    parser.add_argument("--only", nargs="+", default=(), metavar="MODULE",
                        help="retest every mutant of these modules (e.g. chapter1.theory.messaging)")
    args = parser.parse_args(argv)
    groups = args.groups or list(GROUPS)
    if unknown := set(groups) - set(GROUPS):
        parser.error(f"unknown group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    if not args.report_only:
        python = venv()
        for group in groups:
            run(group, python, args.max_children, args.only)
    report([g for g in groups if (BUILD / g / "mutants").exists()])


if __name__ == "__main__":
    main()
