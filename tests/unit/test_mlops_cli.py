"""The `mlops` command's own logic, without a stack: input parsing, error wording, finding the stack,
and the console server's guards (the end-to-end tests drive it against local mode)."""

from __future__ import annotations

import json

import pytest

from mlops_cli import drafts
from mlops_cli.console_server import GUARD_HEADER, Console
from mlops_cli.errors import ApiError, UserError
from mlops_cli.records import parse_records
from mlops_cli.target import LOCAL_ENDPOINT, Target

SPEC = {"features": [{"name": "mean radius", "type": "numeric"}, {"name": "plan", "type": "categorical"}]}


def test_csv_records_take_the_spec_types_and_leave_other_columns_out():
    # Given a CSV as exported, with the target and an id beside the features
    text = "\ufeffid,mean radius,plan,target\n7,13.5,basic,1\n8,,pro,0\n"

    # When it is read as records
    records = parse_records(text, SPEC)

    # Then numbers are numbers, empty cells are null, and only features remain
    assert records == [{"mean radius": 13.5, "plan": "basic"}, {"mean radius": None, "plan": "pro"}]


@pytest.mark.parametrize(
    "text",
    ['{"records": [{"plan": "basic"}]}', '[{"plan": "basic"}]', '{"plan": "basic"}'],
)
def test_json_records_in_each_shape(text):
    assert parse_records(text, SPEC) == [{"plan": "basic"}]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ('{"records": [1, 2]}', "list of objects"),
        ("mean radius,plan\nabc,basic\n", "line 2, column 'mean radius': 'abc' is not a number"),
        ("mean radius,plan\n", "no rows"),
    ],
)
def test_bad_input_is_named(text, says):
    with pytest.raises(UserError, match=says):
        parse_records(text, SPEC)


def test_a_422_names_each_field_at_fault():
    body = {"detail": [{"loc": ["body", "records", 0, "plan"], "msg": "not one of the categories", "type": "enum"}]}
    assert str(ApiError(422, body)) == "422: records.0.plan: not one of the categories"
    assert str(ApiError(404, {"message": "model 'x' has no spec"})) == "404: model 'x' has no spec"


def test_local_mode_unless_a_stage_or_profile_says_aws():
    local = Target.choose(None, None, None, None, None)
    assert (local.stack_name, local.endpoint_url) == ("MlopsPlatform", LOCAL_ENDPOINT)
    staging = Target.choose("staging", None, "eu-west-1", None, None)
    assert (staging.stack_name, staging.endpoint_url, staging.is_local) == ("MlopsPlatform-staging", None, False)
    assert Target.choose("prod", None, None, None, "Custom").stack_name == "Custom"


@pytest.mark.parametrize(("file", "model"), [("cancer.csv", "cancer"), ("Churn Export.csv", "churn-export"), ("churn.spec.json", "churn")])
def test_model_names_from_files(tmp_path, file, model):
    assert drafts.model_name_from(tmp_path / file) == model


# --- the console server ---------------------------------------------------------------------------


@pytest.fixture
def console():
    calls = []

    def forward(method, target, body):
        calls.append((method, target, body))
        return 200, json.dumps({"forwarded": target}).encode()

    return Console(forward), calls


def test_the_console_forwards_its_own_pages_calls(console):
    app, calls = console
    status, headers, body = app.handle("GET", "/console/api/runs?model=m", {"Host": "127.0.0.1:8642", GUARD_HEADER: "1"}, None)
    assert (status, json.loads(body)) == (200, {"forwarded": "runs?model=m"})
    assert calls == [("GET", "runs?model=m", None)]
    assert "default-src 'self'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("host", "headers", "status"),
    [
        ("evil.example:8642", {GUARD_HEADER: "1"}, 421),  # DNS rebinding: a foreign name pointed at 127.0.0.1
        ("127.0.0.1:8642", {}, 403),  # another origin's page cannot add the header without a preflight
    ],
)
def test_the_console_signs_for_nobody_else(console, host, headers, status):
    app, calls = console
    assert app.handle("POST", "/console/api/models/m/promote", {"Host": host, **headers}, None)[0] == status
    assert calls == []


def test_the_console_serves_only_its_files(console):
    app, _ = console
    host = {"Host": "localhost:3000"}
    status, headers, _ = app.handle("GET", "/console", host, None)
    assert (status, headers["Location"]) == (308, "/console/")  # its relative links resolve under /console/
    status, headers, body = app.handle("GET", "/console/", host, None)
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"app.js" in body
    assert app.handle("GET", "/console/app.js", host, None)[0] == 200
    assert app.handle("GET", "/console/../errors.py", host, None)[0] == 404
    assert app.handle("GET", "/console/%2e%2e/errors.py", host, None)[0] == 404
    assert app.handle("DELETE", "/console/index.html", host, None)[0] == 405
