"""The data context's routes: model specs and their dataset versions."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from mlops.data.spec import ModelSpec
from mlops.data.spec_store import spec_store
from mlops.data.versions import dataset_store
from mlops.shared.api import NOT_FOUND, ModelName

router = Router()


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


@router.get("/models", summary="Models with a registered spec")
def list_models() -> ModelList:
    return ModelList(models=[ModelSummary(**m) for m in spec_store().models()])


@router.put("/models/<model>", summary="Register (a new version of) a model's spec", responses={200: {"description": "The current spec"}})
def put_model(model: ModelName, spec: Annotated[ModelSpec, Body()]) -> Response[RegisteredSpec]:
    number, created = spec_store().put(model, spec)
    body = RegisteredSpec(model=model, spec_version=number, created=created, spec=spec)
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=body)


@router.get("/models/<model>", summary="A model's current spec", responses={200: {"description": "The current spec"}, **NOT_FOUND})
def get_model(model: ModelName) -> RegisteredSpec:
    number, spec = spec_store().current(model)
    return RegisteredSpec(model=model, spec_version=number, created=False, spec=spec)


@router.get("/models/<model>/datasets", summary="A model's dataset versions, newest first")
def list_datasets(model: ModelName) -> DatasetList:
    return DatasetList(datasets=[DatasetVersion.model_validate(item) for item in dataset_store().list(model)])
