"""Rollouts in local mode: a healthy canary is promoted; a failing one is rolled back by its alarm
while every client request is still answered."""

import time

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset
from mlops.serving.predictor import POLICY_TTL_S

MODEL = "churn-rollout"
SPEC = {
    **CHURN_SPEC,
    "gates": {"minimum": {"roc_auc": 0.75}, "min_improvement": -1.0},
    "rollout": {"strategy": "canary", "canary_percent": 50, "bake_seconds": 15},
}
RECORD = {"tenure_months": 3.0, "monthly_charges": 99.5, "support_calls": 6, "plan": "basic"}


def train(local_stack, executions, seed: int) -> None:
    assert local_stack.train(executions, MODEL, f"{seed}.csv", synthetic_dataset(seed=seed))["status"] == "SUCCEEDED"


def rollout_of(local_stack, version: int) -> dict:
    return local_stack.wait_for_rollout(MODEL, version)


@pytest.fixture(scope="module")
def champion_v2(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", SPEC)[0] in (200, 201)
    train(local_stack, executions, 41)
    train(local_stack, executions, 42)
    return rollout_of(local_stack, 2)


def test_a_healthy_canary_is_promoted(local_stack, champion_v2):
    assert champion_v2["status"] == "SUCCEEDED"
    traffic = local_stack.api("GET", f"models/{MODEL}/traffic")[1]
    assert traffic["aliases"] == {"champion": 2} and traffic["policy"]["challenger_percent"] == 0
    shares = [
        r["detail"].get("challenger_percent")
        for r in local_stack.api("GET", f"audit?model={MODEL}")[1]["records"]
        if r["action"] == "traffic.policy"
    ]
    assert 50 in shares


def test_a_failing_canary_is_rolled_back_by_its_alarm_and_no_request_fails(local_stack, champion_v2, executions):
    train(local_stack, executions, 43)  # v3 becomes challenger and its canary starts
    version = local_stack.api("GET", f"models/{MODEL}/versions/3")[1]
    # Corrupt v3's artifact: its SHA-256 check fails, so every request routed to it must fall back.
    local_stack.client("s3").put_object(Bucket=version["artifact"]["bucket"], Key=version["artifact"]["key"], Body=b"corrupted")
    time.sleep(POLICY_TTL_S + 0.5)
    answers = [local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD], "routing_key": f"c{i}"}) for i in range(30)]
    assert {status for status, _ in answers} == {200}
    assert {body["version"] for _, body in answers} == {2}
    local_stack.control("alarms/evaluate")
    rollout = rollout_of(local_stack, 3)
    assert rollout["status"] == "FAILED"
    traffic = local_stack.api("GET", f"models/{MODEL}/traffic")[1]
    assert traffic["aliases"] == {"champion": 2} and traffic["policy"]["challenger_percent"] == 0
    v3 = local_stack.api("GET", f"models/{MODEL}/versions/3")[1]
    assert v3["status"] == "archived"
