"""Integration tests: the domain code against moto in-process (mock_aws), no server."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from mlops.data.spec_store import SpecStore
from mlops.data.versions import DatasetStore
from mlops.registry.versions import Registry
from mlops.training.runs import BY_MODEL_INDEX, RunStore

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
