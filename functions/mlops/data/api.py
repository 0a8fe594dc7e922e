"""The data context's routes: model specs and their dataset versions."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from botocore.exceptions import ClientError
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
# Of an uploaded file, this many bytes are read: whole when it is smaller, else in DRAFT_WINDOWS
# reads spread evenly from its first byte to its last (files come sorted: the head is not the file).
MAX_DRAFT_READ = 4 * MAX_DRAFT_CSV
DRAFT_WINDOWS = 32


class DraftRequest(BaseModel):
    target: str = Field(min_length=1, max_length=128, description="the column to predict, as the header names it")
    csv: str | None = Field(default=None, max_length=MAX_DRAFT_CSV, description="a sample of the data: a CSV with its header")
    key: str | None = Field(default=None, max_length=1024, description="or an uploaded CSV: datasets/<model>/... in the data bucket")
    drawn: str | None = Field(
        default=None, max_length=200, description="with csv: how its rows were drawn from the file (said in the draft's notes)"
    )


class DraftSpec(BaseModel):
    spec: dict[str, Any] = Field(description="a spec that registers as it stands (PUT /models/{model}); review it first")
    rows_sampled: int = Field(description="the rows the draft describes")
    rows_seen: int = Field(description="the rows they were drawn from")
    drawn: str = Field(description="how the sampled rows were drawn from the file")
    excluded: list[dict[str, str]] = Field(description="columns left out of the features (identifiers, constants, dates), each with why")
    missing_markers: dict[str, int] = Field(description="how missing values were written, with how many were seen")
    notes: list[str] = Field(description="what to look at: the sample, left-out columns, likely personal data, unlabeled rows")


@router.post("/models/<model>/draft", summary="A draft spec from a sample spread over the data")
def draft_spec(model: ModelName, request: Annotated[DraftRequest, Body()]) -> DraftSpec:
    if (request.csv is None) == (request.key is None):
        raise InvalidDraft("body", "give either csv (the sample itself) or key (an uploaded file), not both")
    try:
        if request.key is not None:
            sample = _sample_of_object(model, request.key)
        else:
            sample = drafting.sample_rows(drafting.text_lines(request.csv or ""), drawn=request.drawn or "")
        drafted = drafting.draft(sample, request.target)
    except DatasetRejected as error:
        raise InvalidDraft("key" if request.key else "csv", str(error)) from None
    return DraftSpec(**drafted)


def _sample_of_object(model: str, key: str) -> drafting.Sample:
    """Rows of an uploaded CSV read across the whole object (a small one whole)."""
    if not key.startswith(f"{DATASETS_PREFIX}{model}/"):
        raise InvalidDraft("key", f"the sample must be under {DATASETS_PREFIX}{model}/ in the data bucket")
    if not key.lower().endswith(".csv"):
        raise InvalidDraft(
            "key", "the API drafts from plain CSV objects; for Parquet, JSON Lines or gzip, `mlops init FILE` samples the file where it is"
        )
    s3, bucket = client("s3"), get_settings().data_bucket
    try:
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    except ClientError as error:
        raise InvalidDraft("key", f"{key} does not exist in the data bucket ({error.response['Error']['Code']})") from None
    if size <= MAX_DRAFT_READ:
        return drafting.sample_rows(drafting.text_lines(_decoded(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), key)))
    window = MAX_DRAFT_READ // DRAFT_WINDOWS
    starts = [round(i * (size - window) / (DRAFT_WINDOWS - 1)) for i in range(DRAFT_WINDOWS)]
    reads = [s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{start + window - 1}")["Body"].read() for start in starts]
    # A read cut mid-character spoils only its first or last line, which sample_windows drops.
    texts = [_decoded(reads[0][: reads[0].rfind(b"\n") + 1], key), *(read.decode("utf-8", errors="replace") for read in reads[1:])]
    drawn = f"{DRAFT_WINDOWS} reads of {window // 1024} KiB spread evenly over the {size}-byte object, then a uniform sample"
    return drafting.sample_windows(texts, drawn=drawn)


def _decoded(data: bytes, key: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidDraft("key", f"{key} is not UTF-8 text ({error.reason} at byte {error.start})") from None


class InvalidDraft(InvalidInput):
    def __init__(self, field: str, message: str) -> None:
        super().__init__([{"loc": ["body", field], "type": "value_error", "msg": message}])
