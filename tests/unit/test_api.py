"""The REST API through the Powertools resolver, with the run store replaced by a dict."""

import json

import pytest

from mlops import api
from mlops.errors import NotFound

RUN = {
    "run_id": "r1",
    "model": "churn",
    "status": "FAILED",
    "started_at": "2026-11-26T07:00:00+00:00",
    "updated_at": "2026-11-26T07:00:01+00:00",
    "failure": {"error": "DatasetRejected", "reason": "x.csv line 3 has 1 fields where the header has 2"},
}


class FakeRuns:
    def get(self, run_id):
        if run_id != "r1":
            raise NotFound(f"run {run_id!r} does not exist")
        return RUN

    def list_for_model(self, model):
        return [RUN] if model == "churn" else []


@pytest.fixture(autouse=True)
def fake_runs(monkeypatch):
    monkeypatch.setattr(api, "run_store", FakeRuns)


def call(method: str, path: str, query: dict | None = None) -> tuple[int, dict]:
    event = {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "requestContext": {"requestId": "req", "stage": "api", "path": path},
        "body": None,
        "isBase64Encoded": False,
    }
    response = api.app.resolve(event, None)
    return response["statusCode"], json.loads(response["body"])


def test_health():
    assert call("GET", "/health") == (200, {"status": "ok", "version": api.API_VERSION})


def test_a_run_shows_its_failure_reason():
    status, body = call("GET", "/runs/r1")
    assert status == 200
    assert body["failure"]["reason"].endswith("where the header has 2")


def test_an_unknown_run_is_a_404_with_a_message():
    assert call("GET", "/runs/nope") == (404, {"message": "run 'nope' does not exist"})


def test_runs_are_listed_per_model_and_the_model_is_validated():
    status, body = call("GET", "/runs", {"model": "churn"})
    assert status == 200 and [r["run_id"] for r in body["runs"]] == ["r1"]
    status, body = call("GET", "/runs", {"model": "Not A Name!"})
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "model"]
    assert call("GET", "/runs")[0] == 422


def test_the_openapi_document_is_generated_from_the_routes():
    status, document = call("GET", "/openapi.json")
    assert status == 200
    assert document["info"]["title"] == api.API_TITLE
    assert {"/health", "/runs", "/runs/{run_id}"} <= set(document["paths"])
    assert "/openapi.json" not in document["paths"]
