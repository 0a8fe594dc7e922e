"""The REST API through the Powertools resolver, with the run store replaced by a dict."""

import json

import pytest

from mlops import api
from mlops.data import api as data_api
from mlops.shared.errors import NotFound
from mlops.training import api as training_api
from tests.api_events import proxy_event
from tests.unit.specs import CHURN_SPEC

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

    def list_for_model(self, model, status=None, sort=None):
        return [RUN] if model == "churn" and status in (None, RUN["status"]) else []


class FakeSpecs:
    """The routes' side of the store (the store itself is tested against DynamoDB: test_spec_store)."""

    saved: dict = {}  # model -> [spec, ...], oldest first

    def put(self, model, spec):
        versions = self.saved.setdefault(model, [])
        created = not versions or versions[-1] != spec
        if created:
            versions.append(spec)
        return len(versions), created

    def current(self, model):
        if not self.saved.get(model):
            raise NotFound(f"model {model!r} has no spec: register one with PUT /models/{model}")
        return len(self.saved[model]), self.saved[model][-1]


class FakeDatasets:
    def latest(self, model):
        raise NotFound(f"model {model!r} has no dataset yet: upload one under datasets/{model}/")

    def list(self, model):
        return []


@pytest.fixture(autouse=True)
def fakes(monkeypatch):
    FakeSpecs.saved = {}
    # Each context's router composes its own stores: replaced where they are looked up.
    monkeypatch.setattr(training_api, "run_store", FakeRuns)
    for router in (data_api, training_api):
        monkeypatch.setattr(router, "spec_store", FakeSpecs)
        monkeypatch.setattr(router, "dataset_store", FakeDatasets)


def call(method: str, path: str, query: dict | None = None, body: dict | None = None) -> tuple[int, dict]:
    event = proxy_event(method, path, json.dumps(body) if body is not None else None, query)
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


def test_a_new_spec_is_a_201_with_its_version_and_the_same_spec_again_a_200():
    FakeSpecs.saved.clear()
    status, body = call("PUT", "/models/churn", body=CHURN_SPEC)
    assert (status, body["spec_version"], body["created"]) == (201, 1, True)
    status, body = call("PUT", "/models/churn", body=CHURN_SPEC)
    assert (status, body["spec_version"], body["created"]) == (200, 1, False)
    changed = {**CHURN_SPEC, "description": "a second thought"}
    status, body = call("PUT", "/models/churn", body=changed)
    assert (status, body["spec_version"], body["created"]) == (201, 2, True)
    status, body = call("GET", "/models/churn")
    assert status == 200 and body["spec_version"] == 2 and body["spec"]["description"] == "a second thought"


def test_an_invalid_spec_is_a_422_naming_the_field():
    bad = {**CHURN_SPEC, "features": [{"name": "x", "type": "numeric", "minimum": "low"}]}
    status, body = call("PUT", "/models/churn", body=bad)
    assert status == 422
    assert body["detail"][0]["loc"][:4] == ["body", "features", 0, "minimum"]


def test_a_bad_model_name_is_a_422_on_the_path():
    status, body = call("PUT", "/models/Not_Valid", body=CHURN_SPEC)
    assert status == 422 and body["detail"][0]["loc"] == ["path", "model"]


def test_unknown_models_and_missing_datasets_are_404s_with_what_to_do():
    assert call("GET", "/models/ghost") == (404, {"message": "model 'ghost' has no spec: register one with PUT /models/ghost"})
    call("PUT", "/models/churn", body=CHURN_SPEC)
    status, body = call("POST", "/models/churn/runs")
    assert status == 404 and "upload one under datasets/churn/" in body["message"]
    assert call("GET", "/models/churn/datasets") == (200, {"datasets": []})
