"""Mutation testing of the modules that carry the platform's promises (`make mutants`; not part of
`make test`: a few thousand test runs). Each module is mutated by cosmic-ray, one small change at a
time, in a copy of the tracked files, and the tests that cover it run against each mutant; a
mutant no test notices "survives". Prints and writes test-results/mutants.md: killed, surviving
and equivalent mutants per module; exits 1 when a module is under --fail-under.

Equivalent mutants are skipped, never counted as killed: a `|` in a function's parameter or return
annotation (a string under `from __future__ import annotations`, never evaluated; class fields are
not skipped, as pydantic evaluates them), and lines marked `# pragma: no mutate` with the reason
beside them.

Usage: python tests/mutation/run.py [module ...] [--fail-under 90] [--timeout 120]
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# module -> the tests that exercise it (fast tiers: unit and moto-backed integration)
MODULES = {
    "local/iam.py": ["tests/unit/test_iam.py", "tests/integration/test_worker_checks_every_client.py"],
    "local/limits.py": ["tests/unit/test_iam.py"],
    "local/api_auth.py": ["tests/integration/test_api_auth.py"],
    "local/access.py": ["tests/integration/test_local_account_settings.py", "tests/unit/test_cloudwatch_and_events.py"],
    "functions/mlops/data/validation.py": ["tests/unit/test_validation.py", "tests/integration/test_chunked_validation.py"],
    "functions/mlops/training/gate.py": ["tests/unit/test_gate.py"],
    "functions/mlops/serving/traffic.py": [
        "tests/integration/test_traffic_store.py",
        "tests/integration/test_runs_and_registry.py",
        "tests/integration/test_ab_rollout.py",
    ],
    "functions/mlops/serving/rollout.py": [
        "tests/integration/test_ab_rollout.py",
        "tests/integration/test_rollout_binding.py",
        "tests/unit/test_gate.py",
    ],
    "functions/mlops/monitoring/drift.py": ["tests/unit/test_drift.py", "tests/unit/test_missing_values.py"],
    "functions/mlops/data/spec_store.py": ["tests/integration/test_spec_store.py", "tests/integration/test_runs_and_registry.py"],
}
ANNOTATION_OPERATOR = "core/ReplaceBinaryOperator_BitOr_"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--fail-under", type=float, default=0.0, help="a module killing fewer (percent) fails the run")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a mutant's tests may take")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as folder:
        copy = Path(folder) / "tree"
        _copy_tracked(copy)
        for module in args.modules:
            rows.append(_mutate(copy, Path(folder), module, args.timeout))
    report = _report(rows)
    out = ROOT / "test-results" / "mutants.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)
    print(report)
    return 1 if any(row[4] < args.fail_under for row in rows) else 0


def _copy_tracked(target: Path) -> None:
    """The checkout's tracked files, as they are now (cosmic-ray edits the copy, never the checkout)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _mutate(tree: Path, folder: Path, module: str, timeout: float) -> tuple[str, int, int, int, float]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    tests = " ".join(MODULES[module])
    config, session = folder / f"{Path(module).stem}.toml", folder / f"{Path(module).stem}.sqlite"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    cosmic_ray = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cosmic_ray, "init", str(config), str(session)], cwd=tree, check=True)
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.work_items:
            if any(_equivalent(tree / m.module_path, m) for m in item.mutations):
                db.set_result(item.job_id, WorkResult(output=None, test_outcome=None, diff=None, worker_outcome=WorkerOutcome.SKIPPED))
    subprocess.run([*cosmic_ray, "exec", str(config), str(session)], cwd=tree, check=True)
    with use_db(str(session), WorkDB.Mode.open) as db:
        results = [result for _, result in db.results]
    killed = sum(r.test_outcome == TestOutcome.KILLED for r in results if r.worker_outcome == WorkerOutcome.NORMAL)
    survived = sum(r.test_outcome == TestOutcome.SURVIVED for r in results if r.worker_outcome == WorkerOutcome.NORMAL)
    equivalent = sum(r.worker_outcome == WorkerOutcome.SKIPPED for r in results)
    score = 100.0 * killed / max(killed + survived, 1)
    return module, killed, survived, equivalent, score


def _equivalent(path: Path, mutation) -> bool:
    line = mutation.start_pos[0]
    if "# pragma: no mutate" in _source(path)[line - 1]:
        return True
    return mutation.operator_name.startswith(ANNOTATION_OPERATOR) and line in _annotation_lines(path)


@cache
def _source(path: Path) -> list[str]:
    return path.read_text().splitlines()


@cache
def _annotation_lines(path: Path) -> frozenset[int]:
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        annotations = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
            annotations = [a.annotation for a in every if a is not None and a.annotation is not None] + [node.returns]
        for annotation in filter(None, annotations):
            lines.update(range(annotation.lineno, (annotation.end_lineno or annotation.lineno) + 1))
    return frozenset(lines)


def _report(rows: list[tuple[str, int, int, int, float]]) -> str:
    lines = ["| module | killed | surviving | equivalent (skipped) | killed % |", "|---|---|---|---|---|"]
    lines += [
        f"| `{module}` | {killed} | {survived} | {equivalent} | {score:.1f} |" for module, killed, survived, equivalent, score in rows
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
