"""The platform's REST API: one Powertools resolver composing one Router per bounded context,
pydantic bodies, the OpenAPI document generated from code, typed errors mapped to HTTP answers."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from mlops.data import api as data_api
from mlops.monitoring import api as monitoring_api
from mlops.registry import api as registry_api
from mlops.serving import api as serving_api
from mlops.serving.predictor import NoModel
from mlops.shared import settings
from mlops.shared.api import ErrorBody
from mlops.shared.errors import Conflict, InvalidInput, NotFound
from mlops.training import api as training_api

# What the API function's environment must hold (its handler checks at cold start; the CDK sets them).
REQUIRED_ENVIRONMENT = (
    settings.ENV_ARTIFACTS_BUCKET,
    settings.ENV_AUDIT_TABLE,
    settings.ENV_BATCH_INFERENCE_ARN,
    settings.ENV_CAPTURE_BUCKET,
    settings.ENV_DATA_BUCKET,
    settings.ENV_MODELS_TABLE,
    settings.ENV_RUNS_TABLE,
    settings.ENV_TRAINING_PIPELINE_ARN,
)
API_TITLE = "Serverless MLOps platform"
API_VERSION = "0.1.0"

app = APIGatewayRestResolver(enable_validation=True)
for context in (data_api, training_api, registry_api, serving_api, monitoring_api):
    app.include_router(context.router)


class Health(BaseModel):
    status: str = Field(description="'ok' when the API Lambda answers")
    version: str


@app.get("/health", summary="Liveness of the API")
def health() -> Health:
    return Health(status="ok", version=API_VERSION)


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document():  # a raw Response: no schema of its own in the document
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(document()))


# The answers any operation may give, whatever it returns when it succeeds: the exception handlers
# below are the resolver's, not a route's (tests/integration/test_openapi_conformance.py).
ERROR_ANSWERS = {
    "400": ("ErrorBody", "The body is not UTF-8 JSON"),
    "404": ("ErrorBody", "The model, version or run does not exist"),
    "409": ("ErrorBody", "The change does not fit the current state (a stale revision, nothing to promote)"),
    "422": ("HTTPValidationError", "Invalid input: each error's loc, type and msg"),
    "503": ("ErrorBody", "No version is deployed to answer"),
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document generated from the routes, with the answers every operation may give
    (once per warm Lambda: an unknown path or method looks it up, and it never changes)."""
    generated = json.loads(app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION))
    for operations in generated.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, (schema, description) in ERROR_ANSWERS.items():
                content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
                responses.setdefault(status, {"description": description, "content": content})
    schemas = generated.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
    return generated


@app.not_found
def not_found(_: Exception) -> Response:
    """An unknown path is a 404; a known path with a method it lacks is a 405 naming those it has."""
    path, method = app.current_event.path, app.current_event.http_method.lower()
    allowed = sorted(m.upper() for template, methods in document()["paths"].items() if _matches(template, path) for m in methods)
    if allowed and method.upper() not in allowed:
        body = ErrorBody(message=f"{method.upper()} is not allowed here; allowed: {', '.join(allowed)}").model_dump_json()
        return Response(status_code=405, content_type=content_types.APPLICATION_JSON, body=body, headers={"Allow": ", ".join(allowed)})
    return _error(404, f"no route for {path}")


def _matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


def _error(status: int, message: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=ErrorBody(message=message).model_dump_json())


@app.exception_handler(UnicodeDecodeError)
def undecodable_body(error: UnicodeDecodeError) -> Response:
    return _error(400, "the request body is not UTF-8 JSON")


def _unprocessable(errors: list[dict[str, Any]]) -> Response:
    """422 as the OpenAPI document declares it: each error with loc, type and a msg a person reads."""
    detail = [
        {"loc": list(e["loc"]), "type": e.get("type", "value_error"), "msg": e.get("msg") or e.get("type", "invalid")} for e in errors
    ]
    return Response(status_code=422, content_type=content_types.APPLICATION_JSON, body=json.dumps({"statusCode": 422, "detail": detail}))


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    # Powertools' own answer drops pydantic's msg; its msg names the rule broken, never the input.
    return _unprocessable([{"loc": e["loc"], "type": e["type"], "msg": _readable(e)} for e in error.errors()])


def _readable(error: dict[str, Any]) -> str:
    message = str(error.get("msg", ""))
    return message.removeprefix("Value error, ") or str(error.get("type", "invalid"))


@app.exception_handler(InvalidInput)
def invalid_input(error: InvalidInput) -> Response:
    return _unprocessable(error.errors)


# Typed domain errors and the HTTP answer each gets.
ERROR_STATUS: dict[type[Exception], int] = {NotFound: 404, Conflict: 409, NoModel: 503}


@app.exception_handler(list(ERROR_STATUS))
def domain_error(error: Exception) -> Response:
    return _error(ERROR_STATUS[type(error)], str(error))
