"""The data plane: POST /models/{model}/predict and /models/{model}/feedback, as their own Lambda.

API Gateway sends these two methods to the data-plane function (handlers/handle_predict.py) and
everything else to the control-plane API. This module is all that function runs: it reads the
proxy event, checks the body by the same rules as the documented request models
(mlops.serving.api's PredictRequest and FeedbackRequest, which the OpenAPI document is generated
from), answers through mlops.serving.predictor, and writes the capture and metric lines in one
write. No pydantic, no Powertools: a cold start imports onnxruntime, numpy and boto3, no more.

The control-plane routes call `predict` and `feedback` below too, so both answer alike
(tests/integration/test_data_plane.py sends both the same fuzzed requests).
"""

from __future__ import annotations

import base64
import random
import re
import sys
from typing import Any

from mlops.serving import telemetry
from mlops.serving.capture import Capture, feedback_record, log_lines, prediction_record
from mlops.serving.predictor import MAX_RECORDS, NoModel, Predictor
from mlops.serving.records import InvalidRecords
from mlops.shared import fastjson
from mlops.shared.errors import InvalidInput, NotFound

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # as mlops.shared.api.MODEL_NAME_PATTERN
PREDICTION_ID = re.compile(r"^[0-9a-f-]{36}$")
MAX_ROUTING_KEY = 256
JSON_HEADERS = {"Content-Type": "application/json"}
MISSING = object()  # a field the body lacks, told apart from one sent as null


def predict(predictor: Predictor, model: str, records: list[dict[str, Any]], routing_key: str | None, out: Any = None) -> dict[str, Any]:
    """Answers, captures (one line, sampled by the spec) and counts one prediction request."""
    answer = predictor.predict(model, records, routing_key)
    captured = random.random() < answer.capture_sample_rate
    lines = log_lines(prediction_record(model, records, answer)) if captured else []
    Capture(out).write([*lines, *telemetry.prediction_lines(model, answer, captured)])
    body = {
        "model": model,
        "version": answer.version,
        "variant": answer.variant,
        "prediction_id": answer.prediction_id,
        "predictions": answer.results,
    }
    if answer.warnings:  # only when there is something to say: clients that never look see the body they knew
        body["warnings"] = answer.warnings
    return body


def feedback(predictor: Predictor, model: str, prediction_id: str, actual: str | float, index: int, out: Any = None) -> dict[str, Any]:
    """Ground truth for an earlier prediction, checked against the model's current classes, captured."""
    document = predictor.state.current_spec_document(model)  # feedback carries no version: the current spec's classes
    if document["target"]["task"] != "regression":
        actual = str(actual)
        classes = document["target"].get("classes")
        if classes and actual not in classes:
            raise InvalidRecords([{"loc": ["body", "actual"], "msg": f"{actual[:40]!r} is not one of {classes}"}])
    elif isinstance(actual, str):
        raise InvalidRecords([{"loc": ["body", "actual"], "msg": "a regression target takes a number"}])
    Capture(out).send([feedback_record(model, prediction_id, actual, index)])
    return {"accepted": True, "prediction_id": prediction_id}


class DataPlane:
    """The data-plane function's request handling, one per warm Lambda."""

    def __init__(self, predictor: Predictor, out: Any = None) -> None:
        self.predictor, self._out = predictor, out

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            model = _model(event)
            body = _body(event)
            if event["path"].rstrip("/").endswith("/feedback"):
                prediction_id, actual, index = _feedback_request(body)
                return _answer(202, feedback(self.predictor, model, prediction_id, actual, index, self._out))
            records, routing_key = _predict_request(body)
            return _answer(200, predict(self.predictor, model, records, routing_key, self._out))
        except _BadRequest as error:
            return _answer(400, {"message": str(error)})
        except InvalidInput as error:
            return _answer(422, {"statusCode": 422, "detail": [_detail(e) for e in error.errors]})
        except NotFound as error:
            return _answer(404, {"message": str(error)})
        except NoModel as error:
            return _answer(503, {"message": str(error)})


class _BadRequest(Exception):
    """The body is not UTF-8 (400, as the control plane answers it)."""


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": JSON_HEADERS, "body": fastjson.dumps(body), "isBase64Encoded": False}


def _detail(error: dict[str, Any]) -> dict[str, Any]:
    return {"loc": list(error["loc"]), "type": error.get("type", "value_error"), "msg": error.get("msg") or error.get("type", "invalid")}


def _invalid(loc: list[Any], kind: str, msg: str) -> InvalidInput:
    return InvalidInput([{"loc": loc, "type": kind, "msg": msg}])


def _model(event: dict[str, Any]) -> str:
    model = (event.get("pathParameters") or {}).get("model") or event["path"].strip("/").split("/")[1]
    if not MODEL_NAME.match(model):
        raise _invalid(["path", "model"], "string_pattern_mismatch", f"String should match pattern '{MODEL_NAME.pattern}'")
    return str(model)


def _body(event: dict[str, Any]) -> Any:
    raw = event.get("body")
    if raw is None:
        raise _invalid(["body"], "missing", "Field required")
    try:
        text = base64.b64decode(raw).decode("utf-8") if event.get("isBase64Encoded") else raw
    except UnicodeDecodeError:
        raise _BadRequest("the request body is not UTF-8 JSON") from None
    try:
        return fastjson.loads(text)
    except ValueError:
        raise _invalid(["body", 0], "json_invalid", "JSON decode error") from None


def _field(kind: str, msg: str, *loc: Any) -> dict[str, Any]:
    """One field's error, located in the body as the documented 422 locates it."""
    return {"loc": ["body", *loc], "type": kind, "msg": msg}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid(["body"], "model_attributes_type", "Input should be a valid dictionary or object to extract fields from")
    return body


def _predict_request(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """PredictRequest's rules: 1 to MAX_RECORDS objects, an optional routing key of at most 256 characters."""
    body = _object(body)
    errors: list[dict[str, Any]] = []
    records = body.get("records", MISSING)
    if records is MISSING:
        errors.append(_field("missing", "Field required", "records"))
    elif not isinstance(records, list):
        errors.append(_field("list_type", "Input should be a valid list", "records"))
    elif not 1 <= len(records) <= MAX_RECORDS:
        kind, bound = ("too_short", "at least 1 item") if not records else ("too_long", f"at most {MAX_RECORDS} items")
        errors.append(_field(kind, f"List should have {bound} after validation, not {len(records)}", "records"))
    else:
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                errors.append(_field("dict_type", "Input should be a valid dictionary", "records", index))
    routing_key = body.get("routing_key")
    if routing_key is not None and not isinstance(routing_key, str):
        errors.append(_field("string_type", "Input should be a valid string", "routing_key"))
    elif routing_key is not None and len(routing_key) > MAX_ROUTING_KEY:
        msg = f"String should have at most {MAX_ROUTING_KEY} characters"
        errors.append(_field("string_too_long", msg, "routing_key"))
    if errors:
        raise InvalidInput(errors)
    return records, routing_key  # type: ignore[return-value]


def _feedback_request(body: Any) -> tuple[str, str | float, int]:
    """FeedbackRequest's rules: a prediction id as /predict gave it, a label or a number, a record index."""
    body = _object(body)
    errors: list[dict[str, Any]] = []
    prediction_id = body.get("prediction_id", MISSING)
    if prediction_id is MISSING:
        errors.append(_field("missing", "Field required", "prediction_id"))
    elif not isinstance(prediction_id, str):
        errors.append(_field("string_type", "Input should be a valid string", "prediction_id"))
    elif not PREDICTION_ID.match(prediction_id):
        msg = f"String should match pattern '{PREDICTION_ID.pattern}'"
        errors.append(_field("string_pattern_mismatch", msg, "prediction_id"))
    actual = body.get("actual", MISSING)
    if actual is MISSING:
        errors.append(_field("missing", "Field required", "actual"))
    elif isinstance(actual, bool | int | float):
        try:
            actual = float(actual)  # as pydantic reads str | float: true and 1 become 1.0
        except OverflowError:
            errors.append(_field("float_parsing", "Input should be a finite number", "actual"))
    elif not isinstance(actual, str):
        errors.append(_field("string_type", "Input should be a valid string or number", "actual"))
    index = _index(body.get("index", 0), errors)
    if errors:
        raise InvalidInput(errors)
    return prediction_id, actual, index  # type: ignore[return-value]


def _index(value: Any, errors: list[dict[str, Any]]) -> int:
    """An int as pydantic's lax mode reads one (true, 2.0 and "3" are accepted), from 0 below MAX_RECORDS."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**63:
        number = int(number)
    if number.__class__ is bool:
        number = int(number)
    if not isinstance(number, int):
        errors.append(_field("int_type", "Input should be a valid integer", "index"))
        return 0
    if not 0 <= number < MAX_RECORDS:
        errors.append(_field("range", f"Input should be at least 0 and less than {MAX_RECORDS}", "index"))
    return number


def data_plane() -> DataPlane:
    """The function's one DataPlane; its predictor's clients and caches live across invocations."""
    from mlops.serving.predictor import predictor

    return DataPlane(predictor(), sys.stdout)
