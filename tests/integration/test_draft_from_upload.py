"""A draft from an uploaded file reads across the whole object, never its head: a file sorted by month
over 4 MB is read in windows spread from its first byte to its last."""

import json

import boto3
import pytest

from mlops import api
from mlops.shared.settings import get_settings
from tests.api_events import proxy_event
from tests.integration.conftest import BUCKET


@pytest.fixture
def uploads(serving, monkeypatch):
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def draft(key: str, target: str = "y") -> tuple[int, dict]:
    body = json.dumps({"target": target, "key": key})
    response = api.app.resolve(proxy_event("POST", "/models/churn/draft", body), None)
    return response["statusCode"], json.loads(response["body"])


def test_a_large_file_sorted_by_month_is_drafted_from_all_of_it(uploads):
    # Given 320,000 rows (about 5 MB) sorted by month, uploaded
    quoted, plain = '"quoted, with a comma"', "plain"
    rows = [f"{1 + i * 12 // 320_000},{i % 28 + 1},{quoted if i % 7 == 0 else plain},{i % 2}" for i in range(320_000)]
    text = "month,day,note,y\n" + "\n".join(rows) + "\n"
    assert len(text) > 4 * 1024 * 1024
    boto3.client("s3").put_object(Bucket=BUCKET, Key="datasets/churn/big.csv", Body=text.encode())
    # When it is drafted by key
    status, drafted = draft("datasets/churn/big.csv")
    # Then every month is in the profile, and the draft says how the rows were read
    assert status == 200, drafted
    month = next(f for f in drafted["spec"]["features"] if f["name"] == "month")
    assert (month["profile"]["minimum"], month["profile"]["maximum"]) == (1, 12)
    assert drafted["drawn"].startswith("32 reads of 128 KiB spread evenly over the") and drafted["rows_sampled"] == 10_000
    note = next(f for f in drafted["spec"]["features"] if f["name"] == "note")
    assert note["profile"]["categories"] == ["plain", "quoted, with a comma"]


def test_a_small_file_is_read_whole_and_other_formats_are_left_to_the_cli(uploads):
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key="datasets/churn/small.csv", Body=b"x,y\n" + b"".join(f"{i % 5},{i % 2}\n".encode() for i in range(50))
    )
    status, drafted = draft("datasets/churn/small.csv")
    assert status == 200 and drafted["rows_seen"] == 50 and drafted["drawn"] == "every row of the 50 given"
    status, refused = draft("datasets/churn/lake.parquet")
    assert status == 422 and "mlops init FILE" in refused["detail"][0]["msg"]
    status, refused = draft("datasets/churn/missing.csv")
    assert status == 422 and "does not exist" in refused["detail"][0]["msg"]
    status, refused = draft("datasets/other/x.csv")
    assert status == 422 and "must be under datasets/churn/" in refused["detail"][0]["msg"]
