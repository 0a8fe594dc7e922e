"""Predictions over HTTP: validation, routing between champion and challenger, promote and rollback."""

import json
import time

import boto3
import pytest

from local.demo import CHURN_SPEC, synthetic_dataset
from mlops.serving.predictor import POLICY_TTL_S
from mlops_cli.signing import signed_json

MODEL = "churn-serving"
# Any gated candidate may become the challenger: rollouts decide on live traffic, not the gate.
SPEC = {**CHURN_SPEC, "gates": {"minimum": {"roc_auc": 0.75}, "min_improvement": -1.0}, "rollout": {"strategy": "manual"}}
RECORD = {"tenure_months": 3.0, "monthly_charges": 99.5, "support_calls": 6, "plan": "basic"}


@pytest.fixture(scope="module")
def two_versions(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", SPEC)[0] in (200, 201)
    status, _ = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD]})
    assert status == 503  # a spec but nothing deployed yet
    for seed in (31, 32):
        local_stack.client("s3").put_object(
            Bucket=local_stack.outputs["DataBucketName"], Key=f"datasets/{MODEL}/{seed}.csv", Body=synthetic_dataset(seed=seed)
        )
        assert local_stack.wait_for_execution(executions)["status"] == "SUCCEEDED"
    # The serving Lambda caches "no champion" for up to POLICY_TTL_S seconds, as it caches the policy.
    deadline = time.monotonic() + POLICY_TTL_S + 5
    while local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD]})[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
    return local_stack.api("GET", f"models/{MODEL}/traffic")[1]


def test_the_champion_answers_with_labels_probabilities_and_a_prediction_id(local_stack, two_versions):
    assert two_versions["aliases"] == {"champion": 1, "challenger": 2}
    status, body = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD, {**RECORD, "monthly_charges": None}]})
    assert status == 200 and (body["variant"], body["version"]) == ("champion", 1)
    assert len(body["predictions"]) == 2 and len(body["prediction_id"]) == 36
    first = body["predictions"][0]
    assert set(first["probabilities"]) == {"no", "yes"} and abs(sum(first["probabilities"].values()) - 1) < 1e-5
    assert first["label"] == max(first["probabilities"], key=first["probabilities"].get)


def test_bad_records_get_a_422_naming_each_field(local_stack, two_versions):
    bad = {"records": [{**RECORD, "tenure_months": -1, "plan": "gold"}, {"monthly_charges": "lots", "extra": 1}]}
    status, body = local_stack.api("POST", f"models/{MODEL}/predict", bad)
    assert status == 422
    located = {tuple(error["loc"]) for error in body["detail"]}
    assert {
        ("body", "records", 0, "tenure_months"),
        ("body", "records", 0, "plan"),
        ("body", "records", 1, "monthly_charges"),
        ("body", "records", 1, "tenure_months"),
        ("body", "records", 1),
    } <= located


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"records": []}',
        b'{"records": "x"}',
        b'{"records": [1]}',
        b'{"records": [{}]}',
        b"\xff\xfe",
        json.dumps({"records": [RECORD] * 1001}).encode(),
        b'{"records": [{"tenure_months": 1e400}]}',
    ],
)
def test_malformed_bodies_never_get_a_5xx(local_stack, two_versions, body):
    status, _ = local_stack.http(
        "POST", local_stack.outputs["ApiUrl"] + f"models/{MODEL}/predict", body, {"Content-Type": "application/json"}
    )
    assert 400 <= status < 500


def test_a_split_routes_sticky_keys_to_both_variants_then_promote_and_rollback(local_stack, two_versions):
    revision = two_versions["policy"]["revision"]
    status, traffic = local_stack.api("PUT", f"models/{MODEL}/traffic", {"challenger_percent": 50, "expected_revision": revision})
    assert status == 200 and traffic["policy"]["challenger_percent"] == 50, traffic
    assert local_stack.api("PUT", f"models/{MODEL}/traffic", {"challenger_percent": 10, "expected_revision": revision})[0] == 409
    time.sleep(POLICY_TTL_S + 0.5)  # the serving Lambda re-reads the policy every POLICY_TTL_S seconds
    seen = {}
    for key in range(40):
        body = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD], "routing_key": f"customer-{key}"})[1]
        seen[key] = body["variant"]
        again = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD], "routing_key": f"customer-{key}"})[1]
        assert again["variant"] == body["variant"]
    assert set(seen.values()) == {"champion", "challenger"}
    status, promoted = local_stack.api("POST", f"models/{MODEL}/promote")
    assert status == 200 and promoted["aliases"] == {"champion": 2} and promoted["policy"]["challenger_percent"] == 0
    status, rolled = local_stack.api("POST", f"models/{MODEL}/rollback", {"reason": "p99 latency"})
    assert status == 200 and rolled["aliases"] == {"champion": 1}
    versions = {v["version"]: v["status"] for v in local_stack.api("GET", f"models/{MODEL}/versions")[1]["versions"]}
    assert versions == {1: "champion", 2: "archived"}
    assert local_stack.api("POST", f"models/{MODEL}/promote")[0] == 409
    actions = [r["action"] for r in local_stack.api("GET", f"audit?model={MODEL}")[1]["records"]]
    assert {"traffic.policy", "traffic.promote", "traffic.rollback"} <= set(actions)


def captured_records(local_stack, prediction_id: str, expected: int, timeout_s: float = 15) -> dict[str, dict]:
    """The capture bucket's records about one prediction, by kind. Capture leaves the request
    path (log line -> subscription -> Firehose), so it arrives a little after the answer."""
    s3, bucket = local_stack.client("s3"), local_stack.outputs["CaptureBucketName"]
    deadline = time.monotonic() + timeout_s
    while True:
        lines = []
        for item in s3.list_objects_v2(Bucket=bucket, Prefix="captured/").get("Contents", []):
            lines += s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode().splitlines()
        found = {record["kind"]: record for record in map(json.loads, (line for line in lines if prediction_id in line))}
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_predictions_and_feedback_are_captured_as_json_lines(local_stack, two_versions):
    status, body = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD]})
    assert status == 200
    status, accepted = local_stack.api("POST", f"models/{MODEL}/feedback", {"prediction_id": body["prediction_id"], "actual": "yes"})
    assert status == 202 and accepted["accepted"] is True, accepted
    assert local_stack.api("POST", f"models/{MODEL}/feedback", {"prediction_id": body["prediction_id"], "actual": "maybe"})[0] == 422
    kinds = captured_records(local_stack, body["prediction_id"], expected=2)
    assert kinds["prediction"]["inputs"] == [RECORD] and kinds["prediction"]["outputs"] == body["predictions"]
    assert (kinds["prediction"]["variant"], kinds["feedback"]["actual"]) == (body["variant"], "yes")


# (method, path, body) -> which kinds of user the stack's policies let through. Bodies and models
# are chosen so that an allowed call changes nothing (the function answers 4xx for a bad body or an
# unknown model); what is asserted is whether API Gateway let the caller reach the function at all.
ROUTE_ACCESS = [
    ("POST", f"models/{MODEL}/predict", {"records": []}, {"client"}),
    ("POST", f"models/{MODEL}/feedback", {}, {"client"}),
    ("GET", "models", None, {"data_scientist", "approver"}),
    ("GET", f"audit?model={MODEL}", None, {"data_scientist", "approver"}),
    ("PUT", "models/nobody-here", {}, {"data_scientist"}),
    ("POST", "models/nobody-here/runs", {}, {"data_scientist"}),
    ("POST", "models/nobody-here/batch", {}, {"data_scientist"}),
    ("PUT", "models/nobody-here/traffic", {}, {"approver"}),
    ("POST", "models/nobody-here/promote", None, {"approver"}),
    ("POST", "models/nobody-here/rollback", {}, {"approver"}),
    ("POST", "models/nobody-here/versions/1/approve", {}, {"approver"}),
    ("POST", "models/nobody-here/versions/1/reject", {}, {"approver"}),
]


@pytest.fixture(scope="module")
def users(local_stack) -> dict[str, boto3.Session]:
    """An IAM user per kind, each with only the stack's managed policy for it, signing with its own key."""
    iam, sessions = local_stack.client("iam"), {}
    for kind, output in (("client", "ClientPolicyArn"), ("data_scientist", "DataScientistPolicyArn"), ("approver", "ApproverPolicyArn")):
        name = f"e2e-{kind.replace('_', '-')}"
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=local_stack.outputs[output])
        key = iam.create_access_key(UserName=name)["AccessKey"]
        sessions[kind] = boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1"
        )
    return sessions


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTE_ACCESS, ids=[f"{m} {p}" for m, p, _, _ in ROUTE_ACCESS])
def test_each_kind_of_user_reaches_exactly_its_routes(local_stack, two_versions, users, method, path, body, allowed):
    url = local_stack.outputs["ApiUrl"] + path
    for kind, session in users.items():
        status, answer = signed_json(method, url, body, session)
        if kind in allowed:
            assert status != 403, (kind, answer)
        else:
            assert status == 403 and "is not authorized to perform: execute-api:Invoke" in answer["message"], (kind, status, answer)
    assert local_stack.http(method, url, json.dumps(body).encode() if body is not None else None, signed=False)[0] == 403


def test_a_traffic_change_records_the_approvers_iam_identity(local_stack, two_versions, users):
    approver = users["approver"]
    revision = local_stack.api("GET", f"models/{MODEL}/traffic")[1]["policy"]["revision"]
    url = local_stack.outputs["ApiUrl"] + f"models/{MODEL}/traffic"
    status, answer = signed_json("PUT", url, {"challenger_percent": 0, "expected_revision": revision}, approver)
    assert status == 200, answer
    changes = [r for r in local_stack.api("GET", f"audit?model={MODEL}")[1]["records"] if r["action"] == "traffic.policy"]
    arn = approver.client("sts", endpoint_url=local_stack.aws_endpoint).get_caller_identity()["Arn"]
    assert changes[0]["detail"]["by"] == arn == "arn:aws:iam::123456789012:user/e2e-approver", changes[0]
