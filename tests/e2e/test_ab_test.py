"""An A/B test in local mode, over HTTP: clients send predictions and, later, the truth; the
rollout counts the feedback per arm and promotes the challenger once the planned sample is in."""

import csv
import io
import time

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset
from mlops.serving.predictor import POLICY_TTL_S

MODEL = "churn-ab"
SPEC = {
    **CHURN_SPEC,
    "gates": {"min_improvement": -1.0},
    "rollout": {"strategy": "ab", "bake_seconds": 1, "ab": {"minimum_detectable_effect": 0.2, "check_seconds": 2}},
}
REQUESTS = 320


def traffic_with_truth(rows: int, seed: int) -> list[tuple[dict, str]]:
    """Customers drawn like the training data, each with what really happened to them."""
    table = csv.DictReader(io.StringIO(synthetic_dataset(rows=rows, seed=seed, bad_rows=False).decode()))
    return [
        (
            {
                "tenure_months": float(row["tenure_months"]),
                "monthly_charges": float(row["monthly_charges"]) if row["monthly_charges"] else None,
                "support_calls": int(row["support_calls"]),
                "plan": row["plan"],
            },
            row["churned"],
        )
        for row in table
    ]


def wait_for_experiment(local_stack) -> dict:
    return local_stack.until(
        lambda: local_stack.api("GET", f"models/{MODEL}/traffic")[1],
        lambda traffic: traffic.get("experiment") and traffic["policy"]["challenger_percent"] == 50,
        "the A/B split",
    )


@pytest.fixture(scope="module")
def decided(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", SPEC)[0] in (200, 201)
    # v1 learned from labels scrambled by a bad join (about a coin flip); v2 from the real ones.
    assert local_stack.train(executions, MODEL, "v1.csv", synthetic_dataset(seed=61, labels_lost=True))["status"] == "SUCCEEDED"
    assert local_stack.train(executions, MODEL, "v2.csv", synthetic_dataset(seed=62))["status"] == "SUCCEEDED"
    started = wait_for_experiment(local_stack)
    time.sleep(POLICY_TTL_S + 0.5)  # every warm API Lambda has read the 50/50 split
    served = []
    for i, (record, truth) in enumerate(traffic_with_truth(REQUESTS, seed=63)):
        status, answer = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [record], "routing_key": f"customer-{i}"})
        assert status == 200, answer
        served.append((answer, truth))
    for answer, truth in served:
        status, body = local_stack.api("POST", f"models/{MODEL}/feedback", {"prediction_id": answer["prediction_id"], "actual": truth})
        assert status == 202 and body["accepted"], body
    rollout = local_stack.wait_for_rollout(MODEL, 2)
    return started, served, rollout, local_stack.api("GET", f"models/{MODEL}/traffic")[1]


def test_the_split_serves_both_versions_with_a_sample_size_fixed_up_front(decided):
    started, served, _, _ = decided
    planned = started["experiment"]
    assert planned["status"] == "collecting" and planned["champion_version"] == 1 and planned["challenger_version"] == 2
    assert 30 <= planned["required_per_arm"] < REQUESTS / 2
    versions = [answer["version"] for answer, _ in served]
    assert 0.35 < versions.count(2) / len(versions) < 0.65


def test_the_test_decides_on_the_feedback_and_the_better_version_becomes_champion(decided):
    started, _, rollout, traffic = decided
    assert rollout["status"] == "SUCCEEDED"
    assert traffic["aliases"] == {"champion": 2} and traffic["policy"]["challenger_percent"] == 0
    experiment = traffic["experiment"]
    required = started["experiment"]["required_per_arm"]
    assert experiment["status"] == "promote" and experiment["p_value"] < experiment["alpha"]
    champion, challenger = experiment["arms"]["champion"], experiment["arms"]["challenger"]
    assert champion["n"] >= required and challenger["n"] >= required
    # The intervals say the same as the test: the challenger is right more often.
    assert challenger["interval"][0] > champion["interval"][1] or experiment["interval"][0] > 0


def test_the_decision_is_in_the_audit_trail(local_stack, decided):
    records = local_stack.api("GET", f"audit?model={MODEL}")[1]["records"]
    decisions = [r for r in records if r["action"] == "traffic.ab_decision"]
    promotions = [r for r in records if r["action"] == "traffic.promote"]
    assert decisions[0]["detail"]["status"] == "promote"
    assert promotions[0]["detail"]["reason"].startswith("A/B test: challenger better")
