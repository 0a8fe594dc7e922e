"""Drift check: ours (mlops.monitoring.drift, streaming) against Evidently's DataDriftPreset on the same data.

A 50k-row training baseline and N captured rows, 20 features (17 numeric, 3 categorical); the
captured rows move in three features (x3 shifted by 0.5 sd, x11 spread 1.6x, c1's shares
reversed) and in nothing else. Each engine runs in its own fresh process (so peak RSS is its own),
alternating ours / Evidently for each size and repeat; medians are reported with the ratio, and
whether both flag the same features.

- ours: the rows arrive in 100k-row chunks (as capture files would) and are binned as they come:
  memory stays flat whatever N. The time is the engine's (binning + tests), data generation not
  counted. A second line adds the production path's cost of parsing captured JSON lines and
  turning records into columns (at the smallest two sizes).
- ours, with all features together: the same, plus the multivariate check (a PCA fitted on half the
  baseline, its reference errors from the other half), to show what it adds.
- Evidently 0.7 (in .venv-bench, bench/requirements.txt): needs the whole current frame in
  memory; the time is Report.run only.

Usage: python bench/drift.py [--sizes 100000 1000000 10000000] [--repeats 3] [--evidently-max 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
NUMERIC = [f"x{i}" for i in range(17)]
CATEGORICAL = {"c0": list("abcde"), "c1": list("pqrs"), "c2": ["north", "south", "east", "west", "centre", "islands"]}
CHUNK = 100_000
BASELINE_ROWS = 50_000
SHIFTED = ["c1", "x11", "x3"]
LABELS = {
    "ours": "ours (columns, streaming)",
    "ours-multivariate": "ours, with all features together (PCA)",
    "ours-json": "ours (from captured JSON lines)",
    "evidently": "Evidently DataDriftPreset",
}


def columns(rows: int, seed: int, moved: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for i, name in enumerate(NUMERIC):
        mean, scale = i * 0.5, 1 + i * 0.1
        if moved and name == "x3":
            mean += 0.5 * scale
        if moved and name == "x11":
            scale *= 1.6
        data[name] = rng.normal(mean, scale, rows)
    for name, values in CATEGORICAL.items():
        shares = np.linspace(1, 2, len(values))
        shares = shares[::-1] if moved and name == "c1" else shares
        data[name] = rng.choice(values, rows, p=shares / shares.sum())
    return data


def chunks(rows: int, seed: int):
    for start in range(0, rows, CHUNK):
        yield columns(min(CHUNK, rows - start), seed + start, moved=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(rows: int, from_json: bool, together: bool = False) -> dict:
    from mlops.data.preparation import numeric_profile
    from mlops.data.spec import DriftRules, ModelSpec
    from mlops.monitoring import drift, multivariate
    from mlops.serving import capture_reader

    reference = columns(BASELINE_ROWS, 1, moved=False)
    features = [{"name": n, "type": "numeric"} for n in NUMERIC] + [{"name": n, "type": "categorical"} for n in CATEGORICAL]
    spec = ModelSpec.model_validate({"target": {"name": "y", "task": "binary", "classes": ["0", "1"]}, "features": features})
    profiles = {n: numeric_profile(reference[n]) for n in NUMERIC}
    for name in CATEGORICAL:
        labels, counts = np.unique(reference[name], return_counts=True)
        profiles[name] = {"type": "categorical", "frequencies": dict(zip(labels.tolist(), counts.tolist(), strict=True))}
    halves = [{n: values[i * BASELINE_ROWS // 2 : (i + 1) * BASELINE_ROWS // 2] for n, values in reference.items()} for i in (0, 1)]
    fitted = multivariate.fit(spec, halves[0], BASELINE_ROWS // 2, halves[1], BASELINE_ROWS // 2) if together else None
    check = drift.DriftCheck(spec, {"features": profiles}, None, fitted)
    spent = 0.0
    for chunk in chunks(rows, 2):
        if from_json:  # what the model check does with captured lines: parse, then add in batches
            lines = [
                json.dumps(dict(zip(chunk, values, strict=True))).encode()
                for values in zip(*(chunk[n].tolist() for n in chunk), strict=True)
            ]
            started = time.perf_counter()
            for start in range(0, len(lines), drift.BATCH_ROWS):  # as ModelChecker does: 10k records at a time
                records = list(capture_reader.parse_lines(lines[start : start + drift.BATCH_ROWS]))
                check.add_records(records, [{}] * len(records))
            del lines
        else:
            started = time.perf_counter()
            check.add_columns(chunk)
        spent += time.perf_counter() - started
    started = time.perf_counter()
    report = check.report(DriftRules(), 0.05)  # a fixed 5% per check, as Evidently's preset tests at
    spent += time.perf_counter() - started
    drifted = report["drifted_features"] + (["all together"] if report["multivariate_drift"] == drift.DRIFT else [])
    return {"seconds": spent, "peak_mb": peak_mb(), "drifted": drifted}


def run_evidently(rows: int) -> dict:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference = pd.DataFrame(columns(BASELINE_ROWS, 1, moved=False))
    current = pd.concat([pd.DataFrame(chunk) for chunk in chunks(rows, 2)], ignore_index=True)
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    seconds = time.perf_counter() - started
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            by_p_value = "p_value" in config["method"]
            if (metric["value"] < config["threshold"]) if by_p_value else (metric["value"] >= config["threshold"]):
                drifted.append(config["column"])
    return {"seconds": seconds, "peak_mb": peak_mb(), "drifted": sorted(drifted)}


def in_fresh_process(python: Path | str, engine: str, rows: int) -> dict:
    command = [str(python), __file__, "--engine", engine, "--rows", str(rows)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--evidently-max", type=int, default=1_000_000, help="larger sizes run ours only (Evidently holds all rows)")
    parser.add_argument("--engine", choices=list(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        if args.engine == "evidently":
            result = run_evidently(args.rows)
        else:
            result = run_ours(args.rows, args.engine == "ours-json", args.engine == "ours-multivariate")
        print(json.dumps(result))
        return
    print("| captured rows | engine | median s | peak RSS MB | flagged | ratio (Evidently / ours) |")
    print("| ---: | --- | ---: | ---: | --- | ---: |")
    for rows in args.sizes:
        runs: dict[str, list[dict]] = {engine: [] for engine in LABELS}
        for _ in range(args.repeats):
            runs["ours"].append(in_fresh_process(sys.executable, "ours", rows))
            runs["ours-multivariate"].append(in_fresh_process(sys.executable, "ours-multivariate", rows))
            if rows <= args.evidently_max and BENCH_PYTHON.exists():
                runs["evidently"].append(in_fresh_process(BENCH_PYTHON, "evidently", rows))
        if rows <= 1_000_000:
            runs["ours-json"].append(in_fresh_process(sys.executable, "ours-json", rows))
        medians = {engine: statistics.median(r["seconds"] for r in found) for engine, found in runs.items() if found}
        for engine, found in runs.items():
            if not found:
                continue
            ratio = f"{medians['evidently'] / medians[engine]:.1f}x" if "evidently" in medians and engine != "evidently" else ""
            moved = [name for name in found[0]["drifted"] if name != "all together"]
            flagged = ", ".join(found[0]["drifted"]) + ("" if moved == SHIFTED else " (not the 3 moved)")
            peak = max(r["peak_mb"] for r in found)
            print(f"| {rows:,} | {LABELS[engine]} | {medians[engine]:.2f} | {peak:.0f} | {flagged} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
