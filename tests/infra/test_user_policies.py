"""The managed policies per kind of user: evaluated as IAM would, on every route of the served
OpenAPI document, each lets its user invoke exactly its routes and nothing else."""

from __future__ import annotations

import json
import re

import pytest

from local.iam import ALLOW, Check, evaluate
from mlops.api import app

API_ARN = "arn:aws:execute-api:us-east-1:123456789012:api1234"  # the template joins "/<stage>/<method>/<path>" to it
# Who may call each documented route; everything else is refused.
EXPECTED = {
    "client": {"POST /models/{model}/predict", "POST /models/{model}/feedback"},
    "data_scientist": {
        "PUT /models/{model}",
        "POST /models/{model}/draft",
        "POST /models/{model}/runs",
        "POST /models/{model}/batch",
        "POST /models/{model}/checks",
        "POST /models/{model}/versions",
    },
    "approver": {
        "POST /models/{model}/versions/{version}/approve",
        "POST /models/{model}/versions/{version}/reject",
        "POST /models/{model}/promote",
        "POST /models/{model}/rollback",
        "PUT /models/{model}/traffic",
    },
}
OUTPUTS = {"client": "ClientPolicyArn", "data_scientist": "DataScientistPolicyArn", "approver": "ApproverPolicyArn"}


def documented_routes() -> list[str]:
    document = app.get_openapi_schema()
    paths = document.paths or {}
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in ("get", "put", "post") if getattr(item, method)]


def statements_of(template: dict, kind: str) -> list[dict]:
    """The policy's statements with this stack's API in its ARNs (as API Gateway will check them)."""
    logical_id = template["Outputs"][OUTPUTS[kind]]["Value"]["Ref"]
    resolved = []
    for statement in template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        arns = [API_ARN + r["Fn::Join"][1][-1] for r in resources if "execute-api" in str(r)]
        if arns:
            resolved.append({**statement, "Resource": arns})
    return resolved


def method_arn(route: str) -> str:
    method, path = route.split(" ", 1)
    return f"{API_ARN}/api/{method}{re.sub(r'{[^}]+}', 'a-name', path)}"


@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_each_policy_lets_its_user_invoke_exactly_its_routes(template, kind):
    statements = statements_of(template, kind)
    allowed = {route for route in documented_routes() if evaluate(statements, Check("execute-api:Invoke", method_arn(route))) == ALLOW}
    reads = {route for route in documented_routes() if route.startswith("GET ")}
    assert allowed == EXPECTED[kind] | (reads if kind != "client" else set())


def test_the_data_scientist_may_not_decide_even_through_a_wildcard(template):
    # `PUT /models/*` (a spec) also matches `PUT /models/m/traffic` in an ARN: the explicit deny closes it.
    statements = statements_of(template, "data_scientist")
    assert any(s["Effect"] == "Deny" for s in statements)
    for route in EXPECTED["approver"]:
        assert evaluate(statements, Check("execute-api:Invoke", method_arn(route))) != ALLOW, route


def test_every_documented_route_has_a_kind_of_user(template):
    reachable = set().union(*EXPECTED.values()) | {r for r in documented_routes() if r.startswith("GET ")}
    assert set(documented_routes()) == reachable


def test_the_stack_outputs_each_policy(template):
    for output in OUTPUTS.values():
        assert template["Resources"][template["Outputs"][output]["Value"]["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy"


def test_the_data_scientist_reads_batch_jobs_and_reports_and_nothing_more(template):
    # What `mlops batch` and `mlops drift --open` need besides the API: narrow, by prefix and state machine
    logical_id = template["Outputs"]["DataScientistPolicyArn"]["Value"]["Ref"]
    statements = {s.get("Sid"): s for s in template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["BatchJobStatus"]["Action"] == "states:DescribeExecution"
    batch_machine = template["Outputs"]["BatchInferenceArn"]["Value"]["Ref"]
    assert batch_machine in json.dumps(statements["BatchJobStatus"]["Resource"])
    assert statements["ListBatchFiles"]["Condition"] == {"StringLike": {"s3:prefix": ["batch/*"]}}
    assert statements["ReadReports"]["Action"] == "s3:GetObject"
    assert json.dumps(statements["ReadReports"]["Resource"]).endswith('"/reports/*"]]}')


def _documented_match(pattern: str, arn: str) -> bool:
    """IAM's resource matching as its documentation states it, written apart from local/iam.py: `*`
    stands for any run of characters (slashes included), `?` for one, everything else literally and
    case-sensitively."""
    return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), arn) is not None


@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_each_policy_decides_as_the_iam_documentation_reads_it(template, kind):
    # An explicit Deny wins; otherwise an Allow that names the action and matches the resource allows
    statements = statements_of(template, kind)

    def decided(route: str) -> bool:
        arn = method_arn(route)
        matching = [
            s
            for s in statements
            if "execute-api:Invoke" in json.dumps(s["Action"]) and any(_documented_match(r, arn) for r in s["Resource"])
        ]
        return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)

    reads = {route for route in documented_routes() if route.startswith("GET ")}
    assert {route for route in documented_routes() if decided(route)} == EXPECTED[kind] | (reads if kind != "client" else set())


def test_the_client_policy_names_exactly_its_two_methods(template):
    # Written out from API Gateway's ARN format (arn:...:api-id/stage/VERB/path), not computed
    (statement,) = statements_of(template, "client")
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert sorted(arn.removeprefix(API_ARN) for arn in statement["Resource"]) == [
        "/api/POST/models/*/feedback",
        "/api/POST/models/*/predict",
    ]
