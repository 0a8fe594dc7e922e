"""Property-based fuzzing of the API (hypothesis) against moto, with a real ONNX champion serving.

Bodies are drawn from anything JSON can say (and some things it cannot) for every route that takes
one; the API must answer every one of them with a 2xx or a documented 4xx, never a 5xx, and a 422
must say which field is at fault. The champion must still answer afterwards.
"""

import hashlib
import io
import json

import boto3
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops import api
from mlops.data.spec import ModelSpec
from mlops.data.spec_store import SpecStore
from mlops.registry.versions import Registry
from mlops.serving import api as serving_api
from mlops.serving import predictor
from mlops.serving.capture import Capture
from mlops.serving.model_inputs import as_matrix
from mlops.shared.settings import get_settings
from mlops.training.trainer import build_pipeline, to_onnx_bytes
from tests.api_events import proxy_event
from tests.integration.conftest import ARTIFACTS
from tests.unit.specs import CHURN_SPEC

MODEL = "churn"
SPEC = {**CHURN_SPEC, "data": {"min_rows": 5}}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
FEATURE_VALUES = st.one_of(JSON, st.sampled_from(["basic", "plus", "pro", "", "=1+1"]), st.floats(-1e9, 1e9), st.integers(-5, 700))
RECORD = st.dictionaries(st.sampled_from(["tenure_months", "monthly_charges", "plan", "extra"]), FEATURE_VALUES, max_size=4)
ROUTES = [
    ("POST", f"/models/{MODEL}/predict", st.one_of(JSON, st.fixed_dictionaries({"records": st.lists(RECORD, max_size=3)}))),
    ("POST", f"/models/{MODEL}/feedback", st.one_of(JSON, st.fixed_dictionaries({"prediction_id": st.text(max_size=40), "actual": JSON}))),
    ("PUT", f"/models/{MODEL}/traffic", st.one_of(JSON, st.fixed_dictionaries({"challenger_percent": JSON, "expected_revision": JSON}))),
    ("POST", f"/models/{MODEL}/batch", st.one_of(JSON, st.fixed_dictionaries({"prefix": st.text(max_size=30)}))),
    ("PUT", "/models/fuzzed", JSON),
    ("POST", f"/models/{MODEL}/rollback", JSON),
]
DOCUMENTED = {200, 201, 202, 400, 404, 409, 413, 422}


@pytest.fixture
def serving(aws, model_tables, runs, monkeypatch):
    models, audit = model_tables
    monkeypatch.setenv("MODELS_TABLE", models.name)
    monkeypatch.setenv("AUDIT_TABLE", audit.name)
    monkeypatch.setenv("RUNS_TABLE", "runs")
    monkeypatch.setenv("ARTIFACTS_BUCKET", ARTIFACTS)
    monkeypatch.setenv("TRAINING_PIPELINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline")
    get_settings.cache_clear()
    predictor.predictor.cache_clear()
    predictor.session_cache.cache_clear()
    monkeypatch.setattr(serving_api, "capture", lambda: Capture(io.StringIO()))
    spec = ModelSpec.model_validate(SPEC)
    SpecStore(models, audit).put(MODEL, spec)
    rng = np.random.default_rng(0)
    numeric = rng.uniform(0, 100, size=(200, 2)).astype(np.float32)
    categorical = rng.choice(["basic", "plus", "pro"], size=(200, 1)).astype(str)
    labels = np.where(numeric[:, 1] > 50, "yes", "no")
    model = build_pipeline(spec, {}).fit(as_matrix({"numeric": numeric, "categorical": categorical}), labels)
    onnx_bytes, inputs = to_onnx_bytes(model, spec)
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key="models/churn/v1.onnx", Body=onnx_bytes)
    artifact = {"bucket": ARTIFACTS, "key": "models/churn/v1.onnx", "sha256": hashlib.sha256(onnx_bytes).hexdigest(), "card_key": ""}
    record = {"artifact": artifact, "inputs": inputs, "metrics": {"accuracy": 1.0}, "spec_version": 1}
    Registry(models, audit).register(MODEL, "r1", record)
    yield
    get_settings.cache_clear()
    predictor.predictor.cache_clear()


def call(method: str, path: str, body: str | None) -> tuple[int, object]:
    response = api.app.resolve(proxy_event(method, path, body), None)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def assert_answered(status: int, answer: object) -> None:
    assert status in DOCUMENTED, (status, answer)
    if status == 422:
        assert isinstance(answer, dict) and answer["detail"] and all("loc" in e for e in answer["detail"]), answer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), data=st.data())
def test_no_body_makes_the_api_answer_5xx(serving, route, data):
    method, path, bodies = route
    body = json.dumps(data.draw(bodies))
    assert_answered(*call(method, path, body))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), raw=st.one_of(st.text(max_size=50), st.sampled_from(["", "{", "[1,", "null", '{"records": null}'])))
def test_bodies_that_are_not_json_are_4xx(serving, route, raw):
    method, path, _ = route
    assert_answered(*call(method, path, raw))


def test_after_the_fuzzing_the_champion_still_answers(serving):
    status, answer = call(
        "POST", f"/models/{MODEL}/predict", json.dumps({"records": [{"tenure_months": 3, "monthly_charges": 80, "plan": "pro"}]})
    )
    assert status == 200 and answer["version"] == 1 and answer["predictions"][0]["label"] in ("yes", "no")
