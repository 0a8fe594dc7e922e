"""The pipeline's prepare step: a dataset version split once per seed, and its drift baseline.

The split itself and the baseline's statistics are plain code in mlops.data.preparation (numpy);
this step reads the version, writes the three splits and baseline.json beside it, and records
them on the version so the next run with the same seed reuses them.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from typing import IO, Any

from mlops.data import readers
from mlops.data.preparation import SPLITS, split_rows
from mlops.data.spec import ModelSpec
from mlops.data.versions import DatasetStore
from mlops.training import compute
from mlops.training.runs import RunStore


def prepare(state: dict[str, Any], s3: Any, runs: RunStore, data: DatasetStore) -> dict[str, Any]:
    """Splits the version (once per version and seed) and writes its baseline statistics."""
    dataset, spec = state["dataset"], ModelSpec.model_validate(state["spec"])
    folder = dataset["key"].rsplit("/", 1)[0] + f"/seed-{spec.training.seed}"
    prepared = data.get(state["model"], dataset["version"]).get("prepared", {})
    if prepared.get("folder") != folder:
        prepared = _split_and_baseline(s3, dataset, spec, folder)
        data.set_prepared(state["model"], dataset["version"], prepared)
    engine = compute.choose(spec, prepared["splits"]["train"]["rows"])
    runs.record_step(state["run_id"], "prepare", {**prepared, "compute": engine})
    return {**state, "splits": prepared["splits"], "baseline_key": prepared["baseline_key"], "compute": engine}


def _text_tempfile() -> io.TextIOWrapper:
    """A text file in /tmp whose binary buffer can be uploaded as it is."""
    return io.TextIOWrapper(tempfile.TemporaryFile(), encoding="utf-8", newline="")


def _split_and_baseline(s3: Any, dataset: dict[str, Any], spec: ModelSpec, folder: str) -> dict[str, Any]:
    _, rows = readers.read_table(s3, dataset["bucket"], dataset["key"], spec.columns)
    with contextlib.ExitStack() as stack:
        files = {name: stack.enter_context(_text_tempfile()) for name in SPLITS}
        counts, baseline = split_rows(spec, dataset["report"], (fields for _, fields, _ in rows), dict[str, IO[str]](files))
        splits = {}
        for name, file in files.items():
            file.seek(0)  # flushes, and rewinds the binary buffer beneath
            key = f"{folder}/{name}.csv"
            s3.upload_fileobj(file.buffer, dataset["bucket"], key)
            splits[name] = {"key": key, "rows": counts[name]}
    baseline_key = f"{folder}/baseline.json"
    s3.put_object(Bucket=dataset["bucket"], Key=baseline_key, Body=json.dumps(baseline).encode())
    return {"folder": folder, "splits": splits, "baseline_key": baseline_key, "seed": spec.training.seed}
