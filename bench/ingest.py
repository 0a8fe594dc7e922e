"""Ingestion benchmark: the validate step's two paths side by side on the same CSV.

The single path (mlops.data.validation_steps.validate: one process reads, checks against a
20-feature spec, profiles, normalizes and hashes every chunk in turn) against the distributed path
(plan, then the chunks validated by a pool of processes standing in for the Distributed Map's
Lambdas, then the merge), alternating A B A B in fresh processes; medians, the ratio, and whether
both kept the same version. S3 is replaced by local files so that the numbers are ours, not the
emulator's. Usage: python bench/ingest.py [--sizes-mb 256] [--chunk-mb 64] [--workers N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
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
    """The S3 calls validation makes, answered from a folder: the upload is a local file (ranged
    reads included), every other key a file under `root` (the chunks' working files, the version)."""

    class exceptions:  # noqa: N801 - mirrors boto3's client.exceptions
        ClientError = KeyError

    def __init__(self, source: Path, root: Path) -> None:
        self._source, self._root = source, root

    def _path(self, key: str) -> Path:
        return self._source if key == self._source.name else self._root / key

    def get_object(self, Bucket: str, Key: str, Range: str = "") -> dict:
        from botocore.response import StreamingBody

        path = self._path(Key)
        data = path.read_bytes() if Range or path != self._source else None
        if data is None:
            return {"Body": StreamingBody(path.open("rb"), path.stat().st_size)}
        if Range:
            start, end = (int(n) for n in Range.removeprefix("bytes=").split("-"))
            data = data[start : end + 1]
        return {"Body": StreamingBody(io.BytesIO(data), len(data))}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> dict:
        path = self._path(Key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Body)
        return {}

    def upload_fileobj(self, file: io.BufferedReader, bucket: str, key: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            while block := file.read(1 << 20):
                out.write(block)

    def head_object(self, Bucket: str, Key: str) -> dict:
        from botocore.exceptions import ClientError

        if not self._path(Key).exists():
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {}

    def get_paginator(self, _: str) -> LocalObjectStore:
        return self

    def paginate(self, Bucket: str, Prefix: str) -> list[dict]:
        files = sorted(p for p in self._root.rglob("*") if p.is_file() and str(p.relative_to(self._root)).startswith(Prefix))
        return [{"Contents": [{"Key": str(p.relative_to(self._root))} for p in files]}]

    def delete_objects(self, Bucket: str, Delete: dict) -> None:
        for item in Delete["Objects"]:
            self._path(item["Key"]).unlink()


class NoRuns:
    def record_step(self, *_: object) -> None:
        pass


def _store(path: Path, root: str) -> LocalObjectStore:
    sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
    import botocore.exceptions

    LocalObjectStore.exceptions.ClientError = botocore.exceptions.ClientError
    return LocalObjectStore(path, Path(root))


def _validate_chunk(args: tuple[Path, str, dict, dict]) -> None:
    """One item of the Distributed Map, in a process of its own (a Lambda of its own in AWS)."""
    path, root, item, chunk = args
    from mlops.data import validation_steps

    validation_steps.validate_chunk(item, chunk, _store(path, root))


def measure(path: Path, path_kind: str, chunk_mb: int, workers: int) -> dict:
    """One validation of the file, single or distributed (its chunks validated by `workers` processes)."""
    import multiprocessing
    import tempfile

    with tempfile.TemporaryDirectory(dir=OUT) as root:
        s3 = _store(path, root)
        from mlops.data import validation_steps
        from mlops.data.spec import ModelSpec

        spec = ModelSpec.model_validate(spec_document())
        validation = {"path": path_kind, "chunk_bytes": chunk_mb * 1024**2, "reason": "bench"}
        source = {"bucket": "local", "key": path.name, "validation": validation}
        state = {"run_id": "bench", "model": "bench", "spec": spec.model_dump(mode="json"), "spec_version": 1, "source": source}
        started = time.perf_counter()
        if path_kind == "single":
            result = validation_steps.validate(state, s3, NoRuns())
        else:
            state = validation_steps.plan_validation(state, s3, NoRuns(), "local")
            plan = json.loads(s3.get_object(Bucket="local", Key=state["validation"]["chunks_key"])["Body"].read())
            item = {k: state[k] for k in ("run_id", "model", "spec", "source", "validation")}
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                pool.map(_validate_chunk, [(path, root, item, chunk) for chunk in plan])
            result = validation_steps.merge_validation(state, s3, NoRuns())
        seconds = time.perf_counter() - started
    return {
        "path": path_kind,
        "bytes": path.stat().st_size,
        "rows": result["dataset"]["report"]["rows"]["total"],
        "version": result["dataset"]["version"],
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[256])
    parser.add_argument("--chunk-mb", type=int, default=64, help="the validation chunk size (the platform's default: 64)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes standing in for the map's Lambdas")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1], args.chunk_mb, args.workers)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Chunks of {args.chunk_mb} MiB; the distributed path's chunks on {args.workers} processes; medians of {args.repeats}.",
        "",
        "| file | rows | single: s | MB/s | distributed: s | MB/s | single / distributed | same version |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for size in args.sizes_mb:
        path = OUT / f"ingest-{size}mb.csv"
        if not path.exists():
            generate(path, size)
        runs: dict[str, list[dict]] = {"single": [], "distributed": []}
        for _ in range(args.repeats):  # A B A B, each in a fresh process
            for kind in runs:
                command = [sys.executable, __file__, "--measure", str(path), kind, "--chunk-mb", str(args.chunk_mb)]
                run = subprocess.run([*command, "--workers", str(args.workers)], capture_output=True, text=True, check=True)
                runs[kind].append(json.loads(run.stdout.strip().splitlines()[-1]))
        single, distributed = (statistics.median(r["seconds"] for r in runs[kind]) for kind in runs)
        mb = path.stat().st_size / 1e6
        same = len({r["version"] for kind in runs for r in runs[kind]}) == 1
        rows = runs["single"][0]["rows"]
        lines.append(
            f"| {mb:,.0f} MB | {rows:,} | {single:.1f} | {mb / single:.1f} | {distributed:.1f} | {mb / distributed:.1f} "
            f"| {single / distributed:.2f} | {'yes' if same else 'NO'} |"
        )
    table = "\n".join(lines)
    (OUT / "ingest.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
