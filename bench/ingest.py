"""Ingestion benchmark: the validate step's real code path over CSVs of growing size.

For each size a fresh process streams the file through mlops.data.steps.validate (reading, checking
against a 20-feature spec, profiling, normalizing and hashing to /tmp) and reports rows per second
and peak resident memory. S3 is replaced by the local file so that the number is ours, not the
emulator's. Usage: python bench/ingest.py [--sizes-mb 100 1024]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
N_NUMERIC, CATEGORIES = 18, ["basic", "plus", "pro", "enterprise"]


def spec_document() -> dict:
    features = [{"name": f"f{i:02d}", "type": "numeric", "minimum": -1000, "maximum": 1000} for i in range(N_NUMERIC - 1)]
    features.append({"name": f"f{N_NUMERIC - 1:02d}", "type": "numeric"})  # a row id: keeps rows distinct
    features += [{"name": "plan", "type": "categorical", "categories": CATEGORIES}, {"name": "region", "type": "categorical"}]
    return {"target": {"name": "label", "task": "binary", "classes": ["0", "1"]}, "features": features, "data": {"min_rows": 1}}


def generate(path: Path, size_mb: int) -> int:
    """A CSV of about size_mb megabytes; returns its row count."""
    rng = random.Random(1)
    header = ",".join([f"f{i:02d}" for i in range(N_NUMERIC)] + ["plan", "region", "label"]) + "\n"
    rows = 0
    with path.open("w") as out:
        out.write(header)
        target = size_mb * 1_000_000
        block = []
        for i in range(10_000):  # a block of rows written repeatedly, each with its own row id
            values = [f"{rng.gauss(0, 50):.3f}" for _ in range(N_NUMERIC)]
            block.append(",".join(values[:-1]) + ",{id}," + f"{rng.choice(CATEGORIES)},r{rng.randint(0, 40)},{i % 2}\n")
        while out.tell() < target:
            for line in block:
                out.write(line.replace("{id}", str(rows)))
                rows += 1
    return rows


class LocalObjectStore:
    """The few S3 calls validate makes, answered from local files."""

    class exceptions:  # noqa: N801 - mirrors boto3's client.exceptions
        ClientError = KeyError

    def __init__(self, path: Path) -> None:
        self._path = path

    def get_object(self, Bucket: str, Key: str) -> dict:
        from botocore.response import StreamingBody

        handle = self._path.open("rb")
        return {"Body": StreamingBody(handle, self._path.stat().st_size)}

    def put_object(self, **_: object) -> dict:
        return {}

    def head_object(self, Bucket: str, Key: str) -> dict:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "404"}}, "HeadObject")

    def upload_fileobj(self, file: io.BufferedReader, bucket: str, key: str) -> None:
        while file.read(1 << 20):
            pass


class NoRuns:
    def record_step(self, *_: object) -> None:
        pass


def measure(path: Path) -> dict:
    sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
    import botocore.exceptions

    from mlops.data import steps
    from mlops.data.spec import ModelSpec

    LocalObjectStore.exceptions.ClientError = botocore.exceptions.ClientError
    spec = ModelSpec.model_validate(spec_document())
    state = {
        "run_id": "bench",
        "model": "bench",
        "spec": spec.model_dump(mode="json"),
        "spec_version": 1,
        "source": {"bucket": "local", "key": path.name},
    }
    started = time.perf_counter()
    result = steps.validate(state, LocalObjectStore(path), NoRuns())
    seconds = time.perf_counter() - started
    rows = result["dataset"]["report"]["rows"]["total"]
    return {
        "bytes": path.stat().st_size,
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "mb_per_second": path.stat().st_size / 1e6 / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1024])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes_mb:
        path = OUT / f"ingest-{size}mb.csv"
        if not path.exists():
            generate(path, size)
        run = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True)
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    lines = ["| file | rows | seconds | rows/s | MB/s | peak RSS |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        speed = f"{r['rows_per_second']:,.0f} | {r['mb_per_second']:.1f}"
        lines.append(f"| {r['bytes'] / 1e6:,.0f} MB | {r['rows']:,} | {r['seconds']:.1f} | {speed} | {r['peak_rss_mb']:.0f} MB |")
    table = "\n".join(lines)
    (OUT / "ingest.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
