"""A pipeline run's life outside its steps: how it starts (an upload, the API, a finding) and how it ends.

Starting names the execution after what asked for it, so a redelivered event starts nothing new.
Endings record the run's status; a failure gets a reason a person can act on, its rejected data
quarantined and its half-made artifacts removed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlops.data import readers
from mlops.data.quarantine import quarantine
from mlops.shared.aws import delete_prefix
from mlops.shared.settings import MODELS_PREFIX
from mlops.training.runs import STATUS_FAILED, STATUS_RUNNING, STATUS_SUCCEEDED, RunStore

EXECUTION_NAME_LIMIT = 80


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
    model = readers.model_from_key(key)
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


def discard_run_artifacts(s3: Any, bucket: str, model: str, run_id: str) -> int:
    """A failed run leaves no half-made artifacts: its staging files and unregistered exports go."""
    return sum(delete_prefix(s3, bucket, prefix) for prefix in (f"runs/{run_id}/", f"{MODELS_PREFIX}{model}/{run_id}/"))


def record_success(state: dict[str, Any], runs: RunStore) -> dict[str, Any]:
    runs.finish(state["run_id"], STATUS_SUCCEEDED)
    return {**state, "status": STATUS_SUCCEEDED}


def record_skipped(state: dict[str, Any], runs: RunStore) -> dict[str, Any]:
    """Identical content uploaded again, or an automatic run that would train the champion again:
    the run succeeds without training (POST /runs forces it)."""
    reason = state.get("skip_reason") or f"dataset version {state['dataset']['version'][:12]} was already trained"
    runs.record_step(state["run_id"], "skipped", {"reason": reason})
    return record_success(state, runs)


def _readable_cause(failure: dict[str, Any]) -> str:
    """Step Functions hands over the Lambda's error JSON (or a failed SageMaker job's description)
    as a string; keep only its message (the job's FailureReason, named)."""
    cause = failure.get("Cause", "")
    try:
        parsed = json.loads(cause)
        if "TrainingJobName" in parsed:
            why = parsed.get("FailureReason") or parsed.get("SecondaryStatus", "")
            return f"training job {parsed['TrainingJobName']} {parsed.get('TrainingJobStatus', 'ended')}: {why}"
        return str(parsed.get("errorMessage", cause))
    except (ValueError, AttributeError):
        return str(cause) or "unknown failure"


def record_ended_execution(detail: dict[str, Any], runs: RunStore, sns: Any, topic_arn: str) -> dict[str, Any]:
    """A pipeline execution that ended without reaching its own endings still ends its run.

    Step Functions' terminal errors (a state over 256 KiB: States.DataLimitExceeded, States.Runtime)
    pass every Catch, and a timeout or an abort runs no state at all: the run would stay RUNNING.
    EventBridge's 'Execution Status Change' marks it FAILED with the execution's own reason.
    """
    run_id, status = detail["name"], detail["status"]
    request = _execution_input(detail)
    model = request.get("model", "unknown")
    runs.start(run_id, model, trigger={k: v for k, v in request.items() if k != "model"})  # no-op if it exists
    if runs.get(run_id)["status"] != STATUS_RUNNING:
        return {"run_id": run_id, "recorded": False}
    error = detail.get("error") or f"States.{status.title().replace('_', '')}"
    reason = detail.get("cause") or f"the pipeline execution ended {status}"
    runs.finish(run_id, STATUS_FAILED, failure={"error": error, "reason": reason, "execution_status": status})
    sns.publish(
        TopicArn=topic_arn,
        Subject=f"Training run {run_id} failed"[:100],
        Message=json.dumps({"run_id": run_id, "model": model, "reason": reason}),
    )
    return {"run_id": run_id, "recorded": True, "status": STATUS_FAILED}


def _execution_input(detail: dict[str, Any]) -> dict[str, Any]:
    try:
        request = json.loads(detail.get("input") or "{}")
    except ValueError:
        return {}
    return request if isinstance(request, dict) else {}
