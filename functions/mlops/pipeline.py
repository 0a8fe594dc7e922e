"""The data steps of the training pipeline: start, ingest, validate, version, prepare, and the endings.

Each step takes the run's state and returns it with its own section added, so the state machine
passes one document from step to step. The heavy steps (train, export, evaluate) are in training.py.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import tempfile
from typing import IO, Any

from mlops import datasets
from mlops.dataset_versions import DatasetStore
from mlops.errors import DatasetRejected
from mlops.preparation import SPLITS, split_rows
from mlops.runs import STATUS_FAILED, STATUS_SUCCEEDED, RunStore, now_iso
from mlops.settings import MODELS_PREFIX, QUARANTINE_PREFIX, REPORTS_PREFIX, VERSIONS_PREFIX, Settings
from mlops.spec import ModelSpec
from mlops.specs import SpecStore

EXECUTION_NAME_LIMIT = 80


# --- starting a run ---------------------------------------------------------------------------


def upload_run_name(model: str, detail: dict[str, Any]) -> str:
    """The same upload always names the same execution, so a redelivered event starts nothing new.

    The data bucket is versioned, so bucket, key and version id name one upload; the ETag covers a
    bucket without versioning.
    """
    obj = detail["object"]
    etag = obj.get("etag") or obj.get("eTag")  # S3 sends "etag"; moto's emulation sends "eTag"
    identity = "/".join(str(v) for v in (detail["bucket"]["name"], obj["key"], obj.get("version-id"), etag))
    return f"{model[:40]}-{hashlib.sha256(identity.encode()).hexdigest()[:32]}"[:EXECUTION_NAME_LIMIT]


def start_upload_run(event: dict[str, Any], sfn: Any, pipeline_arn: str) -> dict[str, Any]:
    """EventBridge 'Object Created' -> one pipeline execution per distinct upload."""
    detail = event["detail"]
    key = detail["object"]["key"]
    model = datasets.model_from_key(key)
    source = {"bucket": detail["bucket"]["name"], "key": key, "version_id": detail["object"].get("version-id")}
    return _start(sfn, pipeline_arn, upload_run_name(model, detail), {"model": model, "trigger": "upload", "source": source})


def start_requested_run(
    model: str, sfn: Any, pipeline_arn: str, run_id: str, requested_by: str, trigger: str = "api", **details: Any
) -> dict[str, Any]:
    """Train again on the latest dataset version: POST /models/{model}/runs (trigger "api"), or a
    model check's finding (trigger "drift" or "performance", with the check's details)."""
    return _start(sfn, pipeline_arn, run_id, {"model": model, "trigger": trigger, "requested_by": requested_by, **details})


def _start(sfn: Any, pipeline_arn: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Step Functions starts a named execution once: the same name and input return the first one.

    The look-up first only tells the caller (and the metrics) that this was a redelivery.
    """
    execution_arn = f"{pipeline_arn.replace(':stateMachine:', ':execution:')}:{name}"
    try:
        sfn.describe_execution(executionArn=execution_arn)
        return {"run_id": name, "execution_arn": execution_arn, "duplicate": True}
    except sfn.exceptions.ExecutionDoesNotExist:
        pass
    try:
        arn = sfn.start_execution(stateMachineArn=pipeline_arn, name=name, input=json.dumps(request))["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:  # a concurrent delivery won the race
        return {"run_id": name, "execution_arn": execution_arn, "duplicate": True}
    return {"run_id": name, "execution_arn": arn, "duplicate": False}


# --- ingest -----------------------------------------------------------------------------------


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


# --- validate ---------------------------------------------------------------------------------


class _HashingFile:
    """A text sink for csv.writer that hashes the bytes it writes to a temporary file."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.digest = file, hashlib.sha256()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.digest.update(data)
        self.file.write(data)


def validate(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """Checks the upload against the spec; writes the quality report and the normalized content."""
    from mlops.validation import DatasetValidator

    spec, source, run_id = ModelSpec.model_validate(state["spec"]), state["source"], state["run_id"]
    validator = DatasetValidator(spec)
    with tempfile.TemporaryFile() as normalized:
        sink = _HashingFile(normalized)
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(spec.columns)
        header, rows = datasets.read_table(s3, source["bucket"], source["key"], spec.columns)
        validator.read_header(header)
        for line, fields, problem in rows:
            if fields is None:
                validator.reject_line(line, problem)
            elif (checked := validator.check_row(line, fields)) is not None:
                writer.writerow(checked)
        report = {**validator.report(), "source": source, "spec_version": state["spec_version"], "at": now_iso()}
        report_key = f"{REPORTS_PREFIX}{state['model']}/{run_id}/quality.json"
        s3.put_object(Bucket=source["bucket"], Key=report_key, Body=json.dumps(report, indent=1).encode())
        runs.record_step(run_id, "validate", {**_report_summary(report), "report_key": report_key})
        if report["failures"]:
            raise DatasetRejected("; ".join(report["failures"]))
        version = sink.digest.hexdigest()
        key = f"{VERSIONS_PREFIX}{state['model']}/{version}/data.csv"
        if not _exists(s3, source["bucket"], key):  # versions are immutable: never rewritten
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


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


# --- version ----------------------------------------------------------------------------------


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


# --- prepare ----------------------------------------------------------------------------------


def prepare(state: dict[str, Any], s3: Any, runs: RunStore, data: DatasetStore) -> dict[str, Any]:
    """Splits the version (once per version and seed) and writes its baseline statistics."""
    dataset, spec = state["dataset"], ModelSpec.model_validate(state["spec"])
    folder = dataset["key"].rsplit("/", 1)[0] + f"/seed-{spec.training.seed}"
    prepared = data.get(state["model"], dataset["version"]).get("prepared", {})
    if prepared.get("folder") != folder:
        prepared = _split_and_baseline(s3, dataset, spec, folder)
        data.set_prepared(state["model"], dataset["version"], prepared)
    runs.record_step(state["run_id"], "prepare", prepared)
    return {**state, "splits": prepared["splits"], "baseline_key": prepared["baseline_key"]}


def _text_tempfile() -> io.TextIOWrapper:
    """A text file in /tmp whose binary buffer can be uploaded as it is."""
    return io.TextIOWrapper(tempfile.TemporaryFile(), encoding="utf-8", newline="")


def _split_and_baseline(s3: Any, dataset: dict[str, Any], spec: ModelSpec, folder: str) -> dict[str, Any]:
    _, rows = datasets.read_table(s3, dataset["bucket"], dataset["key"], spec.columns)
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


# --- endings ----------------------------------------------------------------------------------


def record_failure(state: dict[str, Any], s3: Any, runs: RunStore, sns: Any, topic_arn: str, artifacts_bucket: str = "") -> dict[str, Any]:
    """Marks the run FAILED with a reason a person can act on, quarantines rejected data, notifies."""
    failure = state.get("failure", {})
    reason = _readable_cause(failure)
    request = state.get("request", {})
    run_id, model = state["run_id"], state.get("model") or request.get("model", "unknown")
    runs.start(run_id, model, trigger={k: v for k, v in request.items() if k != "model"})
    detail = {"error": failure.get("Error", "Unknown"), "reason": reason}
    source = state.get("source") or request.get("source")
    if detail["error"] == "DatasetRejected" and source:
        detail["quarantined"] = quarantine(s3, source, model, run_id)
    if artifacts_bucket and detail["error"] != "Rejected":  # a rejected version keeps its artifact
        detail["discarded_artifacts"] = discard_run_artifacts(s3, artifacts_bucket, model, run_id)
    runs.finish(run_id, STATUS_FAILED, failure=detail)
    sns.publish(
        TopicArn=topic_arn,
        Subject=f"Training run {run_id} failed"[:100],
        Message=json.dumps({"run_id": run_id, "model": model, "reason": reason}),
    )
    return {**state, "status": STATUS_FAILED, "reason": reason}


def quarantine(s3: Any, source: dict[str, Any], model: str, run_id: str) -> str:
    """Moves a rejected upload (and its quality report, if any) under quarantine/; nothing is lost."""
    bucket, key = source["bucket"], source["key"]
    folder = f"{QUARANTINE_PREFIX}{model}/{run_id}"
    target = f"{folder}/{key.rsplit('/', 1)[-1]}"
    copy_source = {"Bucket": bucket, "Key": key, **({"VersionId": source["version_id"]} if source.get("version_id") else {})}
    s3.copy_object(Bucket=bucket, Key=target, CopySource=copy_source)
    report_key = f"{REPORTS_PREFIX}{model}/{run_id}/quality.json"
    if _exists(s3, bucket, report_key):
        s3.copy_object(Bucket=bucket, Key=f"{folder}/quality.json", CopySource={"Bucket": bucket, "Key": report_key})
    s3.delete_object(Bucket=bucket, Key=key)  # a delete marker: the versioned bucket keeps the bytes too
    return target


def discard_run_artifacts(s3: Any, bucket: str, model: str, run_id: str) -> int:
    """A failed run leaves no half-made artifacts: its staging files and unregistered exports go."""
    removed = 0
    for prefix in (f"runs/{run_id}/", f"{MODELS_PREFIX}{model}/{run_id}/"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
                removed += 1
    return removed


def record_success(state: dict[str, Any], runs: RunStore) -> dict[str, Any]:
    runs.finish(state["run_id"], STATUS_SUCCEEDED)
    return {**state, "status": STATUS_SUCCEEDED}


def record_skipped(state: dict[str, Any], runs: RunStore) -> dict[str, Any]:
    """Identical content uploaded again: the run succeeds without retraining (POST /runs forces it)."""
    runs.record_step(state["run_id"], "skipped", {"reason": f"dataset version {state['dataset']['version'][:12]} was already trained"})
    return record_success(state, runs)


def _readable_cause(failure: dict[str, Any]) -> str:
    """Step Functions hands over the Lambda's error JSON as a string; keep only its message."""
    cause = failure.get("Cause", "")
    try:
        return str(json.loads(cause).get("errorMessage", cause))
    except (ValueError, AttributeError):
        return str(cause) or "unknown failure"
