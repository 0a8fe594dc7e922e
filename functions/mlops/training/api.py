"""The training context's routes: pipeline runs (experiment tracking) and asking for a new one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, Field

from mlops.data.spec_store import spec_store
from mlops.data.versions import dataset_store
from mlops.shared.api import MODEL_NAME_PATTERN, NOT_FOUND, ModelName, caller
from mlops.shared.aws import client
from mlops.shared.errors import InvalidInput
from mlops.shared.settings import MAX_IMPORT_BYTES, get_settings
from mlops.training import pipeline_runs
from mlops.training.runs import run_store

router = Router()


class Run(BaseModel):
    run_id: str
    model: str
    status: str = Field(description="RUNNING, SUCCEEDED or FAILED")
    started_at: str
    updated_at: str
    ended_at: str | None = None
    trigger: dict[str, Any] = {}
    params: dict[str, Any] = Field(default={}, description="algorithm and hyper-parameters")
    metrics: dict[str, float] = Field(default={}, description="test-split metrics (validation for search trials)")
    timings: dict[str, float] = Field(default={}, description="seconds each step's Lambda took")
    steps: dict[str, Any] = Field(default={}, description="what each pipeline step recorded")
    failure: dict[str, Any] | None = Field(default=None, description="error, readable reason, what was quarantined or discarded")


class RunList(BaseModel):
    runs: list[Run]


class RunComparison(BaseModel):
    metrics: list[str] = Field(description="every metric any of the runs measured")
    runs: list[dict[str, Any]] = Field(description="per run: id, status, data version, params and metrics, side by side")


class StartedRun(BaseModel):
    run_id: str
    execution_arn: str


@router.get("/runs", summary="Pipeline runs of a model: newest first, or sorted by a metric")
def list_runs(
    model: Annotated[str, Query(pattern=MODEL_NAME_PATTERN)],
    status: Annotated[str | None, Query(pattern="^(RUNNING|SUCCEEDED|FAILED)$")] = None,
    sort: Annotated[str | None, Query(pattern="^-?[a-z0-9_]{1,40}$", description="a metric; '-' for descending")] = None,
) -> RunList:
    return RunList(runs=[Run.model_validate(item) for item in run_store().list_for_model(model, status=status, sort=sort)])


@router.get("/runs/compare", summary="Runs side by side: parameters, data version and metrics")
def compare_runs(ids: Annotated[str, Query(pattern=r"^[A-Za-z0-9_,-]{1,2000}$", description="comma-separated run ids")]) -> RunComparison:
    runs = [run_store().get(run_id) for run_id in dict.fromkeys(ids.split(",")) if run_id]
    metrics = sorted({name for run in runs for name in run.get("metrics", {})})
    rows = [
        {
            "run_id": r["run_id"],
            "status": r["status"],
            "dataset_version": r.get("steps", {}).get("version", {}).get("version"),
            "params": r.get("params", {}),
            "metrics": r.get("metrics", {}),
        }
        for r in runs
    ]
    return RunComparison(metrics=metrics, runs=rows)


@router.post(
    "/models/<model>/runs",
    summary="Train again on the latest dataset version",
    responses={202: {"description": "Started"}, **NOT_FOUND},
)
def start_run(model: ModelName) -> Response[StartedRun]:
    spec_store().current(model)
    dataset_store().latest(model)
    return _start(model, "requested", "api")


def _start(model: str, kind: str, requested_by: str, trigger: str = "api", **details: Any) -> Response[StartedRun]:
    """A run the API asked for, named after the model and why, answered 202 with its id."""
    run_id = f"{model[:40]}-{kind}-{uuid.uuid4().hex[:16]}"
    started = pipeline_runs.start_requested_run(
        model, client("stepfunctions"), get_settings().training_pipeline_arn, run_id, requested_by, trigger=trigger, **details
    )
    body = StartedRun(run_id=started["run_id"], execution_arn=started["execution_arn"])
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


class ModelImport(BaseModel):
    """A model trained elsewhere, as an ONNX file uploaded to the artifacts bucket under imports/."""

    artifact_key: str = Field(
        pattern=r"^imports/[A-Za-z0-9!_.*'()/=-]{1,900}\.onnx$",
        description="the file's key in the artifacts bucket (ArtifactsBucketName), under imports/, ending .onnx",
    )
    metrics: dict[Annotated[str, Field(pattern="^[a-z0-9_]{1,40}$")], float] = Field(
        default={}, max_length=20, description="what its trainer measured; recorded, the gate scores it itself"
    )
    model_card: dict[str, Any] = Field(default={}, max_length=50, description="kept in the version's model card as provided_card")


@router.post(
    "/models/<model>/versions",
    summary="Register a model trained elsewhere: checked against the spec, scored and gated like a trained one",
    responses={202: {"description": "Started: the run checks, evaluates, gates and registers it"}, **NOT_FOUND},
)
def import_version(model: ModelName, request: Annotated[ModelImport, Body()]) -> Response[StartedRun]:
    spec_store().current(model)
    dataset_store().latest(model)  # the test split it is scored on comes from the latest data
    try:
        head = client("s3").head_object(Bucket=get_settings().artifacts_bucket, Key=request.artifact_key)
    except client("s3").exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        raise InvalidInput(
            [{"loc": ["body", "artifact_key"], "msg": f"no object {request.artifact_key} in the artifacts bucket"}]
        ) from error
    if head["ContentLength"] > MAX_IMPORT_BYTES:
        raise InvalidInput(
            [{"loc": ["body", "artifact_key"], "msg": f"{head['ContentLength']} bytes, over the {MAX_IMPORT_BYTES}-byte limit"}]
        )
    return _start(model, "import", caller(router), trigger="import", **{"import": request.model_dump(mode="json")})


@router.get("/runs/<run_id>", summary="One pipeline run", responses={200: {"description": "The run"}, **NOT_FOUND})
def get_run(run_id: Annotated[str, Path(max_length=128)]) -> Run:
    return Run.model_validate(run_store().get(run_id))
