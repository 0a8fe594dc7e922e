"""The registry context's routes: versions, a person's approval or rejection, the audit trail."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, Field

from mlops.registry.audit import audit_log
from mlops.registry.versions import registry
from mlops.shared.api import MODEL_NAME_PATTERN, NOT_FOUND, ModelName, caller
from mlops.shared.aws import client
from mlops.shared.errors import Conflict

router = Router()


class ModelVersion(BaseModel):
    version: int
    status: str = Field(description="pending_approval, approved, rejected, expired, champion, challenger or archived")
    run_id: str
    created_at: str
    artifact: dict[str, Any]
    metrics: dict[str, float]
    dataset_version: str
    spec_version: int
    origin: str = Field(default="trained", description="trained by the pipeline, or imported (trained elsewhere)")
    decided_by: str | None = None
    decision_reason: str | None = None


class VersionList(BaseModel):
    aliases: dict[str, int]
    versions: list[ModelVersion]


class Decision(BaseModel):
    reason: str = Field(default="", max_length=1000)


class AuditRecord(BaseModel):
    model: str
    action: str
    at: str
    detail: dict[str, Any]


class AuditTrail(BaseModel):
    records: list[AuditRecord]


@router.get("/models/<model>/versions", summary="A model's versions and aliases")
def list_versions(model: ModelName) -> VersionList:
    store = registry()
    return VersionList(aliases=store.aliases(model), versions=[ModelVersion.model_validate(v) for v in store.versions(model)])


@router.get("/models/<model>/versions/<version>", summary="One model version", responses={200: {"description": "The version"}, **NOT_FOUND})
def get_version(model: ModelName, version: Annotated[int, Path(ge=1)]) -> ModelVersion:
    return ModelVersion.model_validate(registry().version(model, version))


@router.post("/models/<model>/versions/<version>/approve", summary="Approve a version waiting for manual approval")
def approve_version(model: ModelName, version: Annotated[int, Path(ge=1)], decision: Annotated[Decision, Body()]) -> ModelVersion:
    return _decide(model, version, True, decision.reason)


@router.post("/models/<model>/versions/<version>/reject", summary="Reject a version waiting for manual approval")
def reject_version(model: ModelName, version: Annotated[int, Path(ge=1)], decision: Annotated[Decision, Body()]) -> ModelVersion:
    return _decide(model, version, False, decision.reason)


def _decide(model: str, version: int, approve: bool, reason: str) -> ModelVersion:
    store = registry()
    decided = store.decide(model, version, approve, by=caller(router), reason=reason)
    sfn = client("stepfunctions")
    try:
        if approve:
            sfn.send_task_success(taskToken=decided["task_token"], output=json.dumps({"version": version, "by": decided["decided_by"]}))
        else:
            sfn.send_task_failure(taskToken=decided["task_token"], error="Rejected", cause=f"rejected by {decided['decided_by']}: {reason}")
    except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken, sfn.exceptions.TaskDoesNotExist):
        # The run stopped waiting (the window closed, or it was stopped): the decision cannot count.
        store.expire(model, version, reason="decided after the approval window closed")
        raise Conflict(f"version {version} of {model!r} can no longer be decided: the run stopped waiting for it; it is expired") from None
    return ModelVersion.model_validate(decided)


@router.get("/audit", summary="The audit trail of a model's registry, spec and traffic changes")
def get_audit(model: Annotated[str, Query(pattern=MODEL_NAME_PATTERN)]) -> AuditTrail:
    return AuditTrail(records=[AuditRecord.model_validate(r) for r in audit_log().records(model)])
