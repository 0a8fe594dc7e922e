"""make bench: every benchmark in one run, written to bench/RESULTS.md with the machine and versions.

Each benchmark script measures its pair side by side itself (alternating, fresh processes where
it matters) and prints a Markdown table; this collects them, in order, with how long each took.
Usage: python bench/run_all.py [--quick]   (--quick: smaller sizes, for a smoke run)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
PACKAGES = ["onnxruntime", "numpy", "orjson", "scikit-learn", "skl2onnx", "aws-lambda-powertools", "pydantic", "boto3", "moto"]
PEERS = ["mlflow", "evidently", "pandas", "scikit-learn"]

SECTIONS = [
    ("Serving latency over HTTP, ours vs MLflow", ["http_serving.py"], ["http_serving.py", "--requests", "400"]),
    (
        "Serving in-process: the data-plane handler beside the bare ONNX session and the control-plane handler",
        ["serving.py"],
        ["serving.py", "--requests", "500"],
    ),
    (
        "Cold start: fresh process to first prediction, ours vs scikit-learn + joblib vs MLflow pyfunc",
        ["cold_start.py"],
        ["cold_start.py", "--repeats", "3"],
    ),
    ("Drift check, ours vs Evidently DataDriftPreset", ["drift.py"], ["drift.py", "--sizes", "100000", "--repeats", "1"]),
    (
        "Ingestion: validation in one Lambda vs its chunks in parallel (the Distributed Map)",
        ["ingest.py"],
        ["ingest.py", "--sizes-mb", "10", "--chunk-mb", "2", "--repeats", "1"],
    ),
    ("Training and ONNX export per algorithm", ["training.py"], ["training.py", "--rows", "5000"]),
]


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line), "?")
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    ours = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    peers = "not installed (make bench creates .venv-bench)"
    if BENCH_PYTHON.exists():
        code = f"from importlib import metadata; print(', '.join(n + ' ' + metadata.version(n) for n in {PEERS!r}))"
        peers = subprocess.run([str(BENCH_PYTHON), "-c", code], capture_output=True, text=True).stdout.strip()
    return [
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu}, {os.cpu_count()} cores, {memory_kb / 1024**2:.1f} GiB RAM, {platform.platform()}",
        f"- Python {platform.python_version()}; ours: {ours}",
        f"- peers: {peers}",
    ]


def package_sizes() -> list[str]:
    """Code plus layers, unzipped, per kind of zip function (the same sums tests/infra/test_layers.py checks)."""

    def mib(folder: Path) -> float:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and "__pycache__" not in f.parts) / 1024**2

    code, common, serving = mib(ROOT / "functions"), mib(ROOT / "layers/common/build"), mib(ROOT / "layers/serving/build")
    return [
        "| function | unzipped (code + layers) | share of Lambda's 250 MB |",
        "| --- | ---: | ---: |",
        f"| most functions (code + common layer) | {code + common:.1f} MiB | {(code + common) / 250 * 100:.0f}% |",
        f"| control-plane API, Validate, Prepare, batch Score, ModelCheck (+ numpy, onnxruntime) | {code + common + serving:.1f} MiB"
        f" | {(code + common + serving) / 250 * 100:.0f}% |",
        f"| data-plane Predict (code + serving layer only) | {code + serving:.1f} MiB | {(code + serving) / 250 * 100:.0f}% |",
        "| training steps | container image (scikit-learn, SciPy, skl2onnx exceed 250 MB as zip) | limit 10 GB |",
    ]


def from_first_table(output: str) -> str:
    """The output from its first Markdown table on (progress lines before it dropped)."""
    lines = output.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].startswith("|") and lines[i + 1].startswith("| ---"):
            return "\n".join(lines[i:])
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    lines = ["# Benchmark results", "", "Written by `make bench` (`python bench/run_all.py`); numbers from one run on:", "", *machine(), ""]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    for title, full, quick in SECTIONS:
        command = [sys.executable, str(ROOT / "bench" / (quick if args.quick else full)[0]), *(quick if args.quick else full)[1:]]
        started = time.monotonic()
        print(f"== {title}", flush=True)
        result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT)
        output = from_first_table(result.stdout.strip()) or result.stderr.strip()[-2000:]
        print(output, flush=True)
        lines += [f"## {title}", "", f"`{' '.join(command[1:]).replace(str(ROOT) + '/', '')}` ({time.monotonic() - started:.0f} s)", ""]
        lines += [output if result.returncode == 0 else f"FAILED ({result.returncode}):\n\n```\n{output}\n```", ""]
    lines += ["## Package size", "", *package_sizes(), ""]
    target = ROOT / "bench" / ("RESULTS.quick.md" if args.quick else "RESULTS.md")
    target.write_text("\n".join(lines))
    print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
