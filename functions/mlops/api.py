"""The platform's REST API: one Powertools resolver, pydantic bodies, OpenAPI generated from code."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, Field

from mlops import pipeline
from mlops.aws import client
from mlops.errors import NotFound
from mlops.settings import get_settings
from mlops.spec import ModelSpec
from mlops.stores import dataset_store, run_store, spec_store

API_TITLE = "Serverless MLOps platform"
API_VERSION = "0.1.0"
MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"

app = APIGatewayRestResolver(enable_validation=True)


class Health(BaseModel):
    status: str = Field(description="'ok' when the API Lambda answers")
    version: str


class Run(BaseModel):
    run_id: str
    model: str
    status: str = Field(description="RUNNING, SUCCEEDED or FAILED")
    started_at: str
    updated_at: str
    ended_at: str | None = None
    trigger: dict[str, Any] = {}
    steps: dict[str, Any] = Field(default={}, description="what each pipeline step recorded")
    failure: dict[str, str] | None = Field(default=None, description="error and readable reason of a FAILED run")


class RunList(BaseModel):
    runs: list[Run]


class ErrorBody(BaseModel):
    message: str


class ModelSummary(BaseModel):
    model: str
    spec_version: int
    champion: int | None = None


class ModelList(BaseModel):
    models: list[ModelSummary]


class RegisteredSpec(BaseModel):
    model: str
    spec_version: int
    created: bool = Field(description="false when the same spec was already current (PUT is idempotent)")
    spec: ModelSpec


class StartedRun(BaseModel):
    run_id: str
    execution_arn: str


class DatasetVersion(BaseModel):
    version: str = Field(description="SHA-256 of the normalized content")
    created_at: str
    rows: int
    key: str
    manifest_key: str
    source: dict[str, Any]
    report: dict[str, Any] = Field(description="quality report summary and its S3 key")
    runs: list[str] = Field(description="runs that used this version (lineage)")
    prepared: dict[str, Any] = Field(default={}, description="splits and baseline, once prepared")


class DatasetList(BaseModel):
    datasets: list[DatasetVersion]


ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="lower-case letters, digits and dashes")]


@app.get("/health", summary="Liveness of the API")
def health() -> Health:
    return Health(status="ok", version=API_VERSION)


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document():  # a raw Response: no schema of its own in the document
    body = app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/runs", summary="Pipeline runs of a model, newest first")
def list_runs(model: Annotated[str, Query(pattern=MODEL_NAME_PATTERN)]) -> RunList:
    return RunList(runs=[Run.model_validate(item) for item in run_store().list_for_model(model)])


NOT_FOUND = {404: {"description": "Not found", "content": {"application/json": {"model": ErrorBody}}}}


@app.get("/models", summary="Models with a registered spec")
def list_models() -> ModelList:
    return ModelList(models=[ModelSummary(**m) for m in spec_store().models()])


@app.put("/models/<model>", summary="Register (a new version of) a model's spec", responses={200: {"description": "The current spec"}})
def put_model(model: ModelName, spec: Annotated[ModelSpec, Body()]) -> Response[RegisteredSpec]:
    number, created = spec_store().put(model, spec)
    body = RegisteredSpec(model=model, spec_version=number, created=created, spec=spec)
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/models/<model>", summary="A model's current spec", responses={200: {"description": "The current spec"}, **NOT_FOUND})
def get_model(model: ModelName) -> RegisteredSpec:
    number, spec = spec_store().current(model)
    return RegisteredSpec(model=model, spec_version=number, created=False, spec=spec)


@app.post(
    "/models/<model>/runs",
    summary="Train again on the latest dataset version",
    responses={202: {"description": "Started"}, **NOT_FOUND},
)
def start_run(model: ModelName) -> Response[StartedRun]:
    spec_store().current(model)
    dataset_store().latest(model)
    run_id = f"{model[:40]}-requested-{uuid.uuid4().hex[:16]}"
    started = pipeline.start_requested_run(model, client("stepfunctions"), get_settings().training_pipeline_arn, run_id, "api")
    body = StartedRun(run_id=started["run_id"], execution_arn=started["execution_arn"])
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/models/<model>/datasets", summary="A model's dataset versions, newest first")
def list_datasets(model: ModelName) -> DatasetList:
    return DatasetList(datasets=[DatasetVersion.model_validate(item) for item in dataset_store().list(model)])


@app.get("/runs/<run_id>", summary="One pipeline run", responses={200: {"description": "The run"}, **NOT_FOUND})
def get_run(run_id: Annotated[str, Path(max_length=128)]) -> Run:
    return Run.model_validate(run_store().get(run_id))


@app.exception_handler(NotFound)
def not_found(error: NotFound) -> Response:
    return Response(status_code=404, content_type=content_types.APPLICATION_JSON, body=ErrorBody(message=str(error)).model_dump_json())
