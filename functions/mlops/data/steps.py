"""The data steps of the training pipeline: ingest, validate, version (the split is mlops.data.splitting).

Each step takes the run's state and returns it with its own section added, so the state machine
passes one document from step to step. Training, export and evaluation are in mlops.training.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from typing import IO, Any

from mlops.data import readers
from mlops.data.quarantine import object_exists
from mlops.data.spec import ModelSpec
from mlops.data.spec_store import SpecStore
from mlops.data.versions import DatasetStore
from mlops.shared.errors import DatasetRejected
from mlops.shared.items import now_iso
from mlops.shared.settings import REPORTS_PREFIX, VERSIONS_PREFIX, Settings
from mlops.training.runs import RunStore


def ingest(state: dict[str, Any], s3: Any, runs: RunStore, specs: SpecStore, data: DatasetStore, settings: Settings) -> dict[str, Any]:
    """Records the run, pins the model's current spec, and checks the upload (or finds the dataset)."""
    request, run_id = state["request"], state["run_id"]
    model = request["model"]
    runs.start(run_id, model, trigger={k: v for k, v in request.items() if k != "model"})
    spec_version, spec = specs.current(model)
    base = {
        "run_id": run_id,
        "model": model,
        "trigger": request["trigger"],
        "spec_version": spec_version,
        "spec": spec.model_dump(mode="json"),
    }
    if "import" in request:  # POST /models/{model}/versions: the file to check and register
        base["import"] = request["import"]
    if request["trigger"] != "upload":
        latest = data.latest(model)
        dataset = {"version": latest["version"], "bucket": settings.data_bucket, "key": latest["key"], "report": latest["report"]}
        runs.record_step(run_id, "ingest", {"dataset_version": latest["version"], "spec_version": spec_version})
        return {**base, "dataset": dataset, "proceed": True}
    source = request["source"]
    head = s3.head_object(Bucket=source["bucket"], Key=source["key"])
    size = head["ContentLength"]
    if size == 0:
        raise DatasetRejected(f"{source['key']} is a 0-byte file")
    if size > settings.max_dataset_bytes:
        raise DatasetRejected(f"{source['key']} is {size} bytes, over the {settings.max_dataset_bytes}-byte dataset ceiling")
    source = {**source, "size": size, "etag": head["ETag"].strip('"')}
    if head.get("Metadata"):  # e.g. a retraining upload says which check asked for it
        source["metadata"] = head["Metadata"]
    runs.record_step(run_id, "ingest", {**source, "spec_version": spec_version})
    return {**base, "source": source}


class HashingFile:
    """A text sink for csv.writer that hashes the bytes it writes to a temporary file."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.digest = file, hashlib.sha256()

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        self.digest.update(data)
        self.file.write(data)


def validate(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """Checks the upload against the spec; writes the quality report and the normalized content."""
    from mlops.data.validation import DatasetValidator

    spec, source = ModelSpec.model_validate(state["spec"]), state["source"]
    validator = DatasetValidator(spec)
    with tempfile.TemporaryFile() as normalized:
        sink = HashingFile(normalized)
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(spec.columns)
        header, rows = readers.read_table(s3, source["bucket"], source["key"], spec.columns)
        validator.read_header(header)
        for line, fields, problem in rows:
            if fields is None:
                validator.reject_line(line, problem)
            elif (checked := validator.check_row(line, fields)) is not None:
                writer.writerow(checked)
        return keep_validated(state, s3, runs, validator.report(), normalized, sink.digest.hexdigest())


def keep_validated(
    state: dict[str, Any], s3: Any, runs: RunStore, report: dict[str, Any], normalized: IO[bytes], version: str
) -> dict[str, Any]:
    """The report written and recorded; a usable file's normalized content kept as its version."""
    source, run_id = state["source"], state["run_id"]
    report = {**report, "source": source, "spec_version": state["spec_version"], "at": now_iso()}
    report_key = f"{REPORTS_PREFIX}{state['model']}/{run_id}/quality.json"
    s3.put_object(Bucket=source["bucket"], Key=report_key, Body=json.dumps(report, indent=1).encode())
    runs.record_step(run_id, "validate", {**_report_summary(report), "report_key": report_key})
    if report["failures"]:
        raise DatasetRejected("; ".join(report["failures"]))
    key = f"{VERSIONS_PREFIX}{state['model']}/{version}/data.csv"
    if not object_exists(s3, source["bucket"], key):  # versions are immutable: never rewritten
        normalized.seek(0)
        s3.upload_fileobj(normalized, source["bucket"], key)
    dataset = {
        "version": version,
        "bucket": source["bucket"],
        "key": key,
        "report": {**_report_summary(report), "key": report_key},
    }
    return {**state, "dataset": dataset}


def _report_summary(report: dict[str, Any]) -> dict[str, Any]:
    return {"rows": report["rows"], "labels": report["labels"], "warnings": report["warnings"], "failures": report["failures"]}


def version(state: dict[str, Any], s3: Any, runs: RunStore, data: DatasetStore) -> dict[str, Any]:
    """Registers the content-addressed version with its manifest; identical content is not retrained."""
    dataset, spec = state["dataset"], ModelSpec.model_validate(state["spec"])
    report = json.loads(s3.get_object(Bucket=dataset["bucket"], Key=dataset["report"]["key"])["Body"].read())
    manifest = {
        "version": dataset["version"],
        "model": state["model"],
        "schema": {
            "columns": spec.columns,
            "features": [f.model_dump(mode="json") for f in spec.features],
            "target": spec.target.model_dump(mode="json"),
        },
        "rows": report["rows"]["valid"],
        "columns": report["columns"],
        "labels": report["labels"],
        "source": state["source"],
        "spec_version": state["spec_version"],
        "created_by_run": state["run_id"],
        "created_at": now_iso(),
    }
    manifest_key = dataset["key"].rsplit("/", 1)[0] + "/manifest.json"
    record = {
        "key": dataset["key"],
        "manifest_key": manifest_key,
        "rows": manifest["rows"],
        "source": state["source"],
        "report": dataset["report"],
    }
    created = data.register(state["model"], dataset["version"], record, state["run_id"])
    if created:
        s3.put_object(Bucket=dataset["bucket"], Key=manifest_key, Body=json.dumps(manifest, indent=1).encode())
    runs.record_step(state["run_id"], "version", {"version": dataset["version"], "new": created, "manifest_key": manifest_key})
    return {**state, "dataset": {**dataset, "new": created}, "proceed": created}
