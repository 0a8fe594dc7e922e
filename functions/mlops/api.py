"""The platform's REST API: one Powertools resolver, pydantic bodies, OpenAPI generated from code."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from mlops.errors import NotFound
from mlops.stores import run_store

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


NOT_FOUND = {404: {"description": "No such run", "content": {"application/json": {"model": ErrorBody}}}}


@app.get("/runs/<run_id>", summary="One pipeline run", responses={200: {"description": "The run"}, **NOT_FOUND})
def get_run(run_id: Annotated[str, Path(max_length=128)]) -> Run:
    return Run.model_validate(run_store().get(run_id))


@app.exception_handler(NotFound)
def not_found(error: NotFound) -> Response:
    return Response(
        status_code=404, content_type=content_types.APPLICATION_JSON, body=ErrorBody(message=str(error)).model_dump_json()
    )
