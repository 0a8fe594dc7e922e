"""The light steps of the training pipeline (ingest, validate, version, split, record failure).

Each step takes the run's state and returns it with its own section added, so the state machine
passes one document from step to step. The heavy steps (train, export, evaluate) are in training.py.
"""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

from mlops import datasets
from mlops.errors import DatasetRejected
from mlops.runs import STATUS_FAILED, STATUS_SUCCEEDED, RunStore
from mlops.settings import VERSIONS_PREFIX, Settings

SPLIT_SEED = 20261126
SPLIT_FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}


def ingest(event: dict[str, Any], s3: Any, runs: RunStore, settings: Settings) -> dict[str, Any]:
    """Turns an 'Object Created' event into a run: which model, which object, how big."""
    detail = event["event"]["detail"]
    bucket, key = detail["bucket"]["name"], detail["object"]["key"]
    model = datasets.model_from_key(key)
    run_id = event["run_id"]
    runs.start(run_id, model, trigger={"type": "s3-upload", "bucket": bucket, "key": key})
    head = s3.head_object(Bucket=bucket, Key=key)
    size = head["ContentLength"]
    if size == 0:
        raise DatasetRejected(f"{key} is a 0-byte file")
    if size > settings.max_dataset_bytes:
        raise DatasetRejected(f"{key} is {size} bytes, over the {settings.max_dataset_bytes}-byte dataset ceiling")
    source = {"bucket": bucket, "key": key, "size": size, "etag": head["ETag"].strip('"')}
    runs.record_step(run_id, "ingest", source)
    return {"run_id": run_id, "model": model, "source": source}


def validate(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    source = state["source"]
    profile = datasets.profile_csv(s3, source["bucket"], source["key"])
    runs.record_step(state["run_id"], "validate", profile)
    return {**state, "profile": profile}


def version(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """Content-addressed copy: the same bytes always land at the same version key."""
    source = state["source"]
    sha = datasets.sha256_of_object(s3, source["bucket"], source["key"])
    key = f"{VERSIONS_PREFIX}{state['model']}/{sha}/data.csv"
    s3.copy_object(Bucket=source["bucket"], Key=key, CopySource={"Bucket": source["bucket"], "Key": source["key"]})
    dataset = {"version": sha, "bucket": source["bucket"], "key": key}
    runs.record_step(state["run_id"], "version", dataset)
    return {**state, "dataset": dataset}


def split(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """A seeded shuffle into train/validation/test, stored next to the version."""
    dataset = state["dataset"]
    rows = datasets.iter_rows(s3, dataset["bucket"], dataset["key"])
    header = next(rows)
    body = list(rows)
    random.Random(SPLIT_SEED).shuffle(body)
    bounds = _split_bounds(len(body))
    splits = {}
    for name, (start, end) in bounds.items():
        key = dataset["key"].rsplit("/", 1)[0] + f"/{name}.csv"
        s3.put_object(Bucket=dataset["bucket"], Key=key, Body=_to_csv(header, body[start:end]))
        splits[name] = {"key": key, "rows": end - start}
    runs.record_step(state["run_id"], "split", splits)
    return {**state, "splits": splits}


def _split_bounds(total: int) -> dict[str, tuple[int, int]]:
    n_train = int(total * SPLIT_FRACTIONS["train"])
    n_validation = int(total * SPLIT_FRACTIONS["validation"])
    return {
        "train": (0, n_train),
        "validation": (n_train, n_train + n_validation),
        "test": (n_train + n_validation, total),
    }


def _to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def record_failure(state: dict[str, Any], runs: RunStore, sns: Any, topic_arn: str) -> dict[str, Any]:
    """Marks the run FAILED with the reason a person can act on, and tells the operators."""
    failure = state.get("failure", {})
    reason = _readable_cause(failure)
    run_id = state["run_id"]
    model = state.get("model") or _model_of_event(state)
    # A run that failed before ingest recorded it still gets a record to explain why.
    runs.start(run_id, model, trigger={"type": "s3-upload"})
    runs.finish(run_id, STATUS_FAILED, failure={"error": failure.get("Error", "Unknown"), "reason": reason})
    sns.publish(
        TopicArn=topic_arn,
        Subject=f"Training run {run_id} failed"[:100],
        Message=json.dumps({"run_id": run_id, "model": model, "reason": reason}),
    )
    return {**state, "status": STATUS_FAILED, "reason": reason}


def record_success(state: dict[str, Any], runs: RunStore) -> dict[str, Any]:
    runs.finish(state["run_id"], STATUS_SUCCEEDED)
    return {**state, "status": STATUS_SUCCEEDED}


def _model_of_event(state: dict[str, Any]) -> str:
    try:
        return datasets.model_from_key(state["event"]["detail"]["object"]["key"])
    except (KeyError, TypeError, DatasetRejected):
        return "unknown"


def _readable_cause(failure: dict[str, Any]) -> str:
    """Step Functions hands over the Lambda's error JSON as a string; keep only its message."""
    cause = failure.get("Cause", "")
    try:
        return str(json.loads(cause).get("errorMessage", cause))
    except (ValueError, AttributeError):
        return str(cause) or "unknown failure"
