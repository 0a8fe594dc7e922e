"""The data context's routes: model specs and their dataset versions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from mlops.data import drafting
from mlops.data.spec import ModelSpec
from mlops.data.spec_store import spec_store
from mlops.data.versions import dataset_store
from mlops.shared.api import NOT_FOUND, ModelName
from mlops.shared.aws import client
from mlops.shared.errors import DatasetRejected, InvalidInput
from mlops.shared.settings import DATASETS_PREFIX, get_settings

router = Router()


class ModelSummary(BaseModel):
    model: str
    spec_version: int
    champion: int | None = None
    challenger: int | None = None
    challenger_percent: int = Field(default=0, description="the challenger's share of requests")
    rollout: dict[str, Any] | None = Field(default=None, description="the rollout under way: version, execution, started_at")
    last_check: dict[str, Any] | None = Field(default=None, description="the latest drift and performance check: id, time, verdicts")


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


@router.put(
    "/models/<model>",
    summary="Register (a new version of) a model's spec",
    responses={200: {"description": "The current spec, unchanged"}, 201: {"description": "A new spec version"}},
)
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


MAX_DRAFT_CSV = 1024 * 1024
MAX_DRAFT_READ = 4 * MAX_DRAFT_CSV  # of an uploaded file, only its head is sampled


class DraftRequest(BaseModel):
    target: str = Field(min_length=1, max_length=128, description="the column to predict, as the header names it")
    csv: str | None = Field(default=None, max_length=MAX_DRAFT_CSV, description="a sample of the data: a CSV with its header")
    key: str | None = Field(default=None, max_length=1024, description="or an uploaded CSV: datasets/<model>/... in the data bucket")


class DraftSpec(BaseModel):
    spec: dict[str, Any] = Field(description="a spec that registers as it stands (PUT /models/{model}); review it first")
    rows_sampled: int
    notes: list[str] = Field(description="what to look at: likely personal data, columns with too many values to list")


@router.post("/models/<model>/draft", summary="A draft spec from a sample of the data")
def draft_spec(model: ModelName, request: Annotated[DraftRequest, Body()]) -> DraftSpec:
    if (request.csv is None) == (request.key is None):
        raise InvalidDraft("body", "give either csv (the sample itself) or key (an uploaded file), not both")
    lines: Iterable[str]
    if request.key is not None:
        if not request.key.startswith(f"{DATASETS_PREFIX}{model}/"):
            raise InvalidDraft("key", f"the sample must be under {DATASETS_PREFIX}{model}/ in the data bucket")
        lines = _head_lines(request.key)
    else:
        lines = drafting.text_lines(request.csv or "")
    try:
        header, rows = drafting.sample_rows(lines)
        drafted = drafting.draft(header, rows, request.target)
    except DatasetRejected as error:
        raise InvalidDraft("key" if request.key else "csv", str(error)) from None
    return DraftSpec(**drafted)


def _head_lines(key: str) -> list[str]:
    """The first MAX_DRAFT_READ bytes of an uploaded CSV as whole lines (a cut last line is dropped)."""
    try:
        got = client("s3").get_object(Bucket=get_settings().data_bucket, Key=key, Range=f"bytes=0-{MAX_DRAFT_READ - 1}")
    except client("s3").exceptions.NoSuchKey:
        raise InvalidDraft("key", f"{key} does not exist in the data bucket") from None
    data = got["Body"].read()
    try:
        lines = data.decode("utf-8").lstrip("\ufeff").splitlines(keepends=True)
    except UnicodeDecodeError as error:
        raise InvalidDraft("key", f"{key} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    whole = got.get("ContentLength", len(data)) >= int(got.get("ContentRange", f"/{len(data)}").rsplit("/", 1)[-1])
    return lines if whole else lines[:-1]


class InvalidDraft(InvalidInput):
    def __init__(self, field: str, message: str) -> None:
        super().__init__([{"loc": ["body", field], "type": "value_error", "msg": message}])
