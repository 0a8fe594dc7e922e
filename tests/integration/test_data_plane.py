"""The data-plane function (handlers/handle_predict) against moto, with a real ONNX champion: it
answers every request as the documented control-plane route does (the OpenAPI document is
generated from that route), and its cold start imports neither pydantic nor Powertools."""

import io
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops.serving.dataplane import DataPlane
from mlops.serving.predictor import predictor
from tests.api_events import proxy_event
from tests.integration.test_api_fuzz import JSON, MODEL, RECORD, assert_answered, call

ROOT = Path(__file__).resolve().parents[2]
PREDICT, FEEDBACK = f"/models/{MODEL}/predict", f"/models/{MODEL}/feedback"
GOOD_RECORD = {"tenure_months": 3, "monthly_charges": 80, "plan": "pro"}
PREDICTION_ID = st.one_of(st.uuids().map(str), st.text(max_size=40), JSON)
FEEDBACK_BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"prediction_id": PREDICTION_ID, "actual": st.one_of(JSON, st.sampled_from(["yes", "no", "maybe"]))},
        optional={"index": st.one_of(JSON, st.integers(-3, 1200), st.sampled_from(["3", " 4 ", "2.0", "x", True]))},
    ),
)
PREDICT_BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"records": st.one_of(JSON, st.lists(RECORD, max_size=3), st.lists(JSON, max_size=2))},
        optional={"routing_key": st.one_of(JSON, st.text(max_size=300))},
    ),
)


def both(path: str, body: str | None, model_path: str | None = None) -> tuple[tuple[int, object], tuple[int, object]]:
    """The control plane's answer and the data plane's to the same request."""
    event = proxy_event("POST", model_path or path, body)
    event["pathParameters"] = {"model": (model_path or path).split("/")[2]}
    answered = DataPlane(predictor(), io.StringIO()).handle(event)
    return call("POST", model_path or path, body), (answered["statusCode"], json.loads(answered["body"]))


def assert_alike(control: tuple[int, object], data: tuple[int, object], sent: str = "") -> None:
    """The same status, a documented answer, the same fields on success. (The messages of a 422
    may differ: the control plane's come from pydantic, whose quirks on odd bodies such as `[{}]`
    the data plane does not copy.)"""
    assert data[0] == control[0], (sent, control, data)
    if data[0] != 503:  # a model with no champion: documented for /predict, the fuzzed model has one
        assert_answered(*data)
    if data[0] in (200, 202):
        assert set(data[1]) == set(control[1])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=PREDICT_BODIES)
def test_predict_answers_as_the_documented_route_does(serving, body):
    assert_alike(*both(PREDICT, json.dumps(body)), json.dumps(body))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=FEEDBACK_BODIES)
def test_feedback_answers_as_the_documented_route_does(serving, body):
    assert_alike(*both(FEEDBACK, json.dumps(body)), json.dumps(body))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.text(max_size=50), st.sampled_from(["", "{", "[1,", "null", '{"records": null}', "NaN"])))
def test_bodies_that_are_not_json_objects_are_refused_alike(serving, raw):
    for path in (PREDICT, FEEDBACK):
        assert_alike(*both(path, raw), raw)


def test_an_unknown_model_and_a_malformed_name_are_refused_alike(serving):
    body = json.dumps({"records": [GOOD_RECORD]})
    for path in ("/models/nobody/predict", "/models/Not_A_Name/predict", "/models/nobody/feedback"):
        assert_alike(*both(path, body))


def test_a_prediction_is_answered_captured_and_counted_in_one_write(serving):
    # Given the data plane writing to a stream of its own
    out = io.StringIO()
    event = {
        **proxy_event("POST", PREDICT, json.dumps({"records": [GOOD_RECORD, GOOD_RECORD], "routing_key": "k"})),
        "pathParameters": {"model": MODEL},
    }

    # When it answers a prediction
    answer = DataPlane(predictor(), out).handle(event)

    # Then the body is the documented one, and one capture line and one EMF metrics line were written
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200 and body["version"] == 1 and len(body["predictions"]) == 2
    capture, metrics = (json.loads(line) for line in out.getvalue().splitlines())
    assert (
        capture["capture_schema"] == 1 and capture["prediction_id"] == body["prediction_id"] and capture["outputs"] == body["predictions"]
    )
    declared = metrics["_aws"]["CloudWatchMetrics"][0]
    assert declared["Dimensions"] == [["model", "variant", "service"]] and metrics["service"] == "Predict"
    assert {m["Name"] for m in declared["Metrics"]} <= set(metrics) and metrics["PredictedRecords"] == 2


def test_the_data_plane_cold_start_imports_neither_pydantic_nor_powertools():
    heavy = "{'pydantic', 'aws_lambda_powertools', 'aws_xray_sdk', 'sklearn', 'scipy', 'pandas', 'skl2onnx'}"
    code = f"import sys; import handlers.handle_predict; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",  # no credentials here: the init's champion scan fails fast and is logged
        "PYTHONPATH": str(ROOT / "functions"),
        "MODELS_TABLE": "models",
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "functions", env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
