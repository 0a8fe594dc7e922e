"""Integration tests: the domain code against moto in-process (mock_aws), no server."""

from __future__ import annotations

import hashlib
import io

import boto3
import numpy as np
import pytest
from moto import mock_aws

from mlops.data.spec import ModelSpec
from mlops.data.spec_store import SpecStore
from mlops.data.versions import DatasetStore
from mlops.registry.versions import Registry
from mlops.serving import api as serving_api
from mlops.serving import predictor
from mlops.serving.model_inputs import as_matrix
from mlops.shared.settings import get_settings
from mlops.training.runs import BY_MODEL_INDEX, RunStore
from mlops.training.trainer import build_pipeline, to_onnx_bytes
from tests.unit.specs import CHURN_SPEC

BUCKET = "data-bucket"
ARTIFACTS = "artifacts-bucket"


def _table(name: str, keys: list[tuple[str, str]], indexes: list[dict] | None = None):
    dynamodb = boto3.resource("dynamodb")
    attributes = {name for name, _ in keys} | {k["AttributeName"] for i in indexes or [] for k in i["KeySchema"]}
    args = {
        "TableName": name,
        "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in keys],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        args["GlobalSecondaryIndexes"] = indexes
    return dynamodb.create_table(**args)


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=ARTIFACTS)
        yield


@pytest.fixture
def runs(aws) -> RunStore:
    index = {
        "IndexName": BY_MODEL_INDEX,
        "KeySchema": [{"AttributeName": "model", "KeyType": "HASH"}, {"AttributeName": "started_at", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    return RunStore(_table("runs", [("run_id", "HASH")], [index]))


@pytest.fixture
def model_tables(aws):
    return _table("models", [("model", "HASH"), ("sk", "RANGE")]), _table("audit", [("model", "HASH"), ("sk", "RANGE")])


@pytest.fixture
def registry(model_tables) -> Registry:
    return Registry(*model_tables)


@pytest.fixture
def specs(model_tables) -> SpecStore:
    return SpecStore(*model_tables)


@pytest.fixture
def data(model_tables) -> DatasetStore:
    return DatasetStore(model_tables[0])


SERVED_MODEL = "churn"
SERVED_SPEC = {**CHURN_SPEC, "data": {"min_rows": 5}}


@pytest.fixture
def serving(aws, model_tables, runs, monkeypatch):
    """The API in-process over moto, with a real ONNX champion of SERVED_SPEC answering for SERVED_MODEL."""
    models, audit = model_tables
    monkeypatch.setenv("MODELS_TABLE", models.name)
    monkeypatch.setenv("AUDIT_TABLE", audit.name)
    monkeypatch.setenv("RUNS_TABLE", "runs")
    monkeypatch.setenv("ARTIFACTS_BUCKET", ARTIFACTS)
    monkeypatch.setenv("TRAINING_PIPELINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline")
    get_settings.cache_clear()
    predictor.predictor.cache_clear()
    predictor.session_cache.cache_clear()
    monkeypatch.setattr(serving_api, "capture_stream", io.StringIO)
    spec = ModelSpec.model_validate(SERVED_SPEC)
    SpecStore(models, audit).put(SERVED_MODEL, spec)
    rng = np.random.default_rng(0)
    numeric = rng.uniform(0, 100, size=(200, 2)).astype(np.float32)
    categorical = rng.choice(["basic", "plus", "pro"], size=(200, 1)).astype(str)
    labels = np.where(numeric[:, 1] > 50, "yes", "no")
    model = build_pipeline(spec, {}).fit(as_matrix({"numeric": numeric, "categorical": categorical}), labels)
    onnx_bytes, inputs = to_onnx_bytes(model, spec)
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key="models/churn/v1.onnx", Body=onnx_bytes)
    artifact = {"bucket": ARTIFACTS, "key": "models/churn/v1.onnx", "sha256": hashlib.sha256(onnx_bytes).hexdigest(), "card_key": ""}
    record = {"artifact": artifact, "inputs": inputs, "metrics": {"accuracy": 1.0}, "spec_version": 1}
    Registry(models, audit).register(SERVED_MODEL, "r1", record)
    yield
    get_settings.cache_clear()
    predictor.predictor.cache_clear()
