"""The light pipeline steps against S3 and DynamoDB in moto."""

import boto3
import pytest

from mlops import pipeline
from mlops.errors import DatasetRejected
from mlops.settings import Settings
from tests.integration.conftest import BUCKET

CSV = b"a,b,target\n" + b"".join(f"{i},{i * 2},{i % 2}\n".encode() for i in range(100))


def s3_event(key: str) -> dict:
    return {"detail": {"bucket": {"name": BUCKET}, "object": {"key": key}}}


def run_light_steps(key: str, runs, run_id: str) -> dict:
    s3 = boto3.client("s3")
    state = pipeline.ingest({"event": s3_event(key), "run_id": run_id}, s3, runs, Settings())
    for step in (pipeline.validate, pipeline.version, pipeline.split):
        state = step(state, s3, runs)
    return state


def test_an_upload_is_versioned_by_content_and_split_deterministically(runs):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="datasets/churn/one.csv", Body=CSV)
    s3.put_object(Bucket=BUCKET, Key="datasets/churn/same-bytes-again.csv", Body=CSV)
    first = run_light_steps("datasets/churn/one.csv", runs, "r1")
    second = run_light_steps("datasets/churn/same-bytes-again.csv", runs, "r2")
    # Same content, same version, same split
    assert first["dataset"]["version"] == second["dataset"]["version"]
    assert first["splits"] == second["splits"]
    assert {name: s["rows"] for name, s in first["splits"].items()} == {"train": 70, "validation": 15, "test": 15}
    train = s3.get_object(Bucket=BUCKET, Key=first["splits"]["train"]["key"])["Body"].read().decode().splitlines()
    assert train[0] == "a,b,target" and len(train) == 71
    assert runs.get("r1")["steps"]["validate"]["rows"] == 100


def test_oversized_and_empty_uploads_are_refused_before_reading(runs):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="datasets/churn/big.csv", Body=CSV)
    s3.put_object(Bucket=BUCKET, Key="datasets/churn/empty.csv", Body=b"")
    with pytest.raises(DatasetRejected, match="over the 100-byte dataset ceiling"):
        pipeline.ingest({"event": s3_event("datasets/churn/big.csv"), "run_id": "r1"}, s3, runs, Settings(MAX_DATASET_BYTES=100))
    with pytest.raises(DatasetRejected, match="0-byte file"):
        pipeline.ingest({"event": s3_event("datasets/churn/empty.csv"), "run_id": "r2"}, s3, runs, Settings())
