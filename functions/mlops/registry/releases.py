"""From a gated candidate to a registered version: directly, or through a person's approval."""

from __future__ import annotations

import json
from typing import Any

from mlops.registry.versions import PENDING, Registry


def version_record(state: dict[str, Any]) -> dict[str, Any]:
    """What a version keeps: its immutable artifact and where it came from."""
    artifact = state["artifact"]
    return {
        "artifact": {k: artifact[k] for k in ("bucket", "key", "sha256", "card_key")},
        "inputs": artifact["inputs"],
        "feature_schema": [{"name": f["name"], "type": f["type"]} for f in state["spec"]["features"]],
        "metrics": state["metrics"],
        "baseline_key": state.get("baseline_key"),
        "prediction_baseline": state.get("prediction_baseline"),
        "monitoring_reference_key": state.get("monitoring_reference_key"),
        "dataset_version": state["dataset"]["version"],
        "spec_version": state["spec_version"],
        "origin": "imported" if "source" in artifact else "trained",
    }


def request_approval(state: dict[str, Any], token: str, registry: Registry) -> dict[str, Any]:
    version = registry.register(state["model"], state["run_id"], {**version_record(state), "task_token": token}, status=PENDING)
    return {"pending_version": version["version"]}


def expire_approval(state: dict[str, Any], registry: Registry) -> dict[str, str]:
    """No decision came within the spec's window: the waiting version expires. The answer is the
    run's failure; RecordFailure, next, removes the run's artifacts."""
    model, window = state["model"], state["spec"]["gates"]["approval_timeout_seconds"]
    pending = registry.pending_of_run(model, state["run_id"])
    if pending is None:
        return {"Error": "ApprovalExpired", "Cause": f"no decision within {window} s; the run registered no version to expire"}
    registry.expire(model, pending["version"], reason=f"no decision within {window} s")
    return {
        "Error": "ApprovalExpired",
        "Cause": f"no decision within {window} s: version {pending['version']} expired and its artifacts are removed",
    }


def register(state: dict[str, Any], registry: Registry) -> dict[str, Any]:
    approval = state.get("approval")
    if approval:  # approved by a person: the pending version settles into its alias
        return registry.settle(state["model"], approval["version"])
    return registry.register(state["model"], state["run_id"], version_record(state))


def start_rollout(sfn: Any, rollout_arn: str, model: str, version: int) -> str:
    """One rollout per challenger version: the execution is named after it, so a retry starts nothing new."""
    name = f"{model[:60]}-v{version}"
    try:
        return sfn.start_execution(stateMachineArn=rollout_arn, name=name, input=json.dumps({"model": model, "version": version}))[
            "executionArn"
        ]
    except sfn.exceptions.ExecutionAlreadyExists:
        return f"{rollout_arn.replace(':stateMachine:', ':execution:')}:{name}"
