"""The A/B rollout steps against moto: feedback joined from the capture bucket decides the test."""

import json
import uuid
from datetime import UTC, datetime

import boto3
import pytest

from mlops.data.spec import ModelSpec
from mlops.serving import capture_reader, rollout
from mlops.serving.capture import feedback_record
from mlops.serving.traffic import TrafficStore
from tests.unit.specs import CHURN_SPEC

CAPTURE = "capture-bucket"
MODEL = "churn"
AB = {"strategy": "ab", "ab": {"minimum_detectable_effect": 0.25, "check_seconds": 60}}


class FakeCloudWatch:
    def put_metric_alarm(self, **alarm):
        pass


@pytest.fixture
def setup(aws, registry, model_tables):
    boto3.client("s3").create_bucket(Bucket=CAPTURE)
    for run, accuracy in (("r1", 0.6), ("r2", 0.9)):
        registry.register(MODEL, run, {"artifact": {"key": f"{run}.onnx", "sha256": "ab" * 32}, "metrics": {"accuracy": accuracy}})
    spec = ModelSpec.model_validate({**CHURN_SPEC, "rollout": AB})
    traffic = TrafficStore(*model_tables)
    state = rollout.plan({"model": MODEL, "version": 2}, spec, registry, traffic, FakeCloudWatch(), "ns", by="test")
    state = rollout.shift(state, registry, traffic, by="test")
    return spec, traffic, state, registry


def capture(records: list[dict]) -> None:
    """One object per model of the batch, under the model's UTC hour prefix, as Firehose partitions it."""
    now = datetime.now(UTC)
    for model in {r["model"] for r in records}:
        key = f"{capture_reader.hour_prefixes(model, now, now)[0]}stream-{uuid.uuid4().hex}"
        body = "".join(json.dumps(r) + "\n" for r in records if r["model"] == model)
        boto3.client("s3").put_object(Bucket=CAPTURE, Key=key, Body=body.encode())


def served(version: int, labels: list[str], model: str = MODEL, at: str | None = None, plan: str = "basic") -> dict:
    return {
        "kind": "prediction",
        "prediction_id": str(uuid.uuid4()),
        "model": model,
        "version": version,
        "variant": "champion" if version == 1 else "challenger",
        "at": at or datetime.now(UTC).isoformat(timespec="milliseconds"),
        "inputs": [{"tenure_months": 12, "monthly_charges": 30.0, "plan": plan} for _ in labels],
        "outputs": [{"label": label, "probabilities": {}} for label in labels],
    }


def labelled(version: int, right: int, wrong: int, plan: str = "basic") -> None:
    predictions = [served(version, ["yes"], plan=plan) for _ in range(right + wrong)]
    truths = [feedback_record(MODEL, p["prediction_id"], "yes" if i < right else "no") for i, p in enumerate(predictions)]
    capture(predictions + truths)


def judge(setup) -> dict:
    spec, traffic, state, registry = setup
    return rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))


def test_the_plan_fixes_the_sample_size_from_the_champions_accuracy(setup):
    _, traffic, state, _ = setup
    planned = state["experiment"]
    assert planned["champion_version"] == 1 and planned["baseline"] == 0.6 and planned["required_per_arm"] == 49
    assert traffic.policy(MODEL)["challenger_percent"] == 50
    assert traffic.experiment(MODEL)["status"] == "collecting"


def test_only_feedback_for_the_tests_versions_since_it_started_counts(setup):
    old = served(2, ["yes"], at="2020-01-01T00:00:00.000+00:00")
    other_model, other_version, batch = served(2, ["yes"], model="other"), served(3, ["yes"]), served(1, ["no", "yes"])
    capture([old, other_model, other_version, batch])
    capture([feedback_record(MODEL, p["prediction_id"], "yes") for p in (old, other_version)])
    capture([feedback_record("other", other_model["prediction_id"], "yes"), feedback_record(MODEL, batch["prediction_id"], "yes", 1)])
    joined = list(
        capture_reader.outcomes(boto3.client("s3"), CAPTURE, MODEL, datetime.fromisoformat(setup[2]["experiment"]["started_at"]), {1, 2})
    )
    assert [(o.version, o.predicted["label"], o.actual) for o in joined] == [(1, "yes", "yes")]


def test_a_better_challenger_is_promoted_once_both_arms_are_full(setup, registry, model_tables):
    labelled(1, right=24, wrong=16)
    labelled(2, right=40, wrong=0)
    early = judge(setup)
    assert early["decision"] == "collecting" and "40 and 40 of 49" in early["reason"]
    labelled(1, right=16, wrong=14)
    labelled(2, right=28, wrong=2)
    state = judge(setup)
    assert state["decision"] == "promote"
    experiment = setup[1].experiment(MODEL)
    assert experiment["arms"]["champion"]["n"] == 70 and experiment["arms"]["challenger"]["n"] == 70
    assert experiment["p_value"] < 0.05 and experiment["interval"][0] > 0
    finished = rollout.finish(state, registry, setup[1], by="test")
    assert finished["outcome"] == "promoted" and registry.aliases(MODEL) == {"champion": 2}
    assert setup[1].policy(MODEL)["challenger_percent"] == 0
    actions = [r["action"] for r in registry._audit.records(MODEL)]
    assert "traffic.ab_decision" in actions and "traffic.promote" in actions


def test_without_a_significant_difference_the_champion_stays(setup, registry):
    labelled(1, right=40, wrong=20)
    labelled(2, right=41, wrong=19)
    state = judge(setup)
    assert state["decision"] == "keep_champion"
    finished = rollout.finish(state, registry, setup[1], by="test")
    assert finished["outcome"] == "kept_champion" and registry.aliases(MODEL) == {"champion": 1}
    assert registry.version(MODEL, 2)["status"] == "archived"
    assert "A/B test: no significant difference" in registry.version(MODEL, 2)["rollback_reason"]


def test_a_long_test_hands_its_state_to_the_next_execution_with_its_checks_counted_afresh(setup):
    # Given a test some checks into its first execution
    spec, traffic, state, registry = setup
    for _ in range(3):
        state = rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))
    assert state["checks_in_execution"] == 3 and state["checks_per_execution"] == rollout.CHECKS_PER_EXECUTION

    # When it hands over, twice
    first = rollout.hand_over(state, "arn:aws:states:us-east-1:123456789012:execution:MlopsPlatform-Rollout:churn-v2", traffic)
    second = rollout.hand_over(first, "arn:aws:states:us-east-1:123456789012:execution:MlopsPlatform-Rollout:churn-v2-part1", traffic)

    # Then each continuation is named after the first execution, knows where it came from, and keeps the experiment
    assert (first["next_execution"], second["next_execution"]) == ("churn-v2-part1", "churn-v2-part2")
    assert second["continued_from"].endswith(":churn-v2-part1") and second["checks_in_execution"] == 0
    assert second["experiment"] == state["experiment"] and second["version"] == state["version"]


def started(registry, model_tables, **ab) -> tuple:
    """A test of version 2 against version 1 with these A/B settings, its split in place."""
    boto3.client("s3").create_bucket(Bucket=CAPTURE)
    for run, accuracy in (("r1", 0.6), ("r2", 0.9)):
        registry.register(MODEL, run, {"artifact": {"key": f"{run}.onnx", "sha256": "ab" * 32}, "metrics": {"accuracy": accuracy}})
    spec = ModelSpec.model_validate({**CHURN_SPEC, "rollout": {**AB, "ab": {**AB["ab"], **ab}}})
    traffic = TrafficStore(*model_tables)
    state = rollout.plan({"model": MODEL, "version": 2}, spec, registry, traffic, FakeCloudWatch(), "ns", by="test")
    return spec, traffic, rollout.shift(state, registry, traffic, by="test"), registry


@pytest.fixture
def sequential(aws, registry, model_tables):
    return started(registry, model_tables, design="sequential")


def test_a_sequential_test_stops_before_the_planned_sample_and_carries_its_p_value(sequential):
    spec, traffic, state, registry = sequential
    assert state["experiment"]["design"] == "sequential" and state["experiment"]["required_per_arm"] == 49
    # Given 30 outcomes per arm, the challenger right far more often
    labelled(1, right=15, wrong=15)
    labelled(2, right=30, wrong=0)
    first = rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))
    # Then it decides at 30 of the 49 the fixed design would wait for, with an always-valid p below alpha
    assert first["decision"] == "promote", first["reason"]
    recorded = traffic.experiment(MODEL)
    assert recorded["always_valid_p"] < 0.05 and recorded["arms"]["challenger"]["n"] == 30
    assert first["experiment"]["always_valid_p"] == recorded["always_valid_p"]  # the next check continues from it


def test_a_sequential_test_without_a_difference_keeps_collecting_then_keeps_the_champion(sequential):
    spec, traffic, state, registry = sequential
    labelled(1, right=20, wrong=20)
    labelled(2, right=21, wrong=19)
    state = rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))
    assert state["decision"] == "collecting" and "may stop at any check, or at 98 outcomes per arm" in state["reason"]
    labelled(1, right=30, wrong=28)
    labelled(2, right=30, wrong=28)
    state = rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))
    assert state["decision"] == "keep_champion" and "by 98 outcomes per arm" in state["reason"]


def test_a_segment_where_the_challenger_is_worse_is_reported_while_the_overall_result_is_neutral(aws, registry, model_tables):
    spec, traffic, state, registry = started(registry, model_tables, segment="plan")
    # Given a challenger better on basic plans and worse on pro plans, by as much each way
    labelled(1, right=30, wrong=30, plan="basic")
    labelled(2, right=54, wrong=6, plan="basic")
    labelled(1, right=54, wrong=6, plan="pro")
    labelled(2, right=30, wrong=30, plan="pro")
    state = rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))
    # Then overall there is no difference and the champion stays...
    assert state["decision"] == "keep_champion", state["reason"]
    segments = traffic.experiment(MODEL)["segments"]
    # ...while each segment is reported with its arms' intervals and its corrected verdict
    assert segments["pro"]["verdict"] == "challenger worse" and segments["basic"]["verdict"] == "challenger better"
    assert segments["pro"]["interval"][1] < 0 < segments["basic"]["interval"][0]
    assert segments["pro"]["challenger"]["n"] == 60 and len(segments["pro"]["champion"]["interval"]) == 2
    assert segments["pro"]["p_value_adjusted"] >= segments["pro"]["p_value"]
    # ...and kept check by check, for the console's chart over time
    (check,) = traffic.experiment(MODEL)["history"]
    assert check["segments"]["pro"]["verdict"] == "challenger worse" and check["n"] == [120, 120]


def test_a_guardrail_in_alarm_stops_the_test_and_rolls_the_challenger_back(aws, registry, model_tables):
    spec, traffic, state, registry = started(registry, model_tables)
    labelled(1, right=10, wrong=10)
    labelled(2, right=20, wrong=0)  # far better so far, but failing requests
    cloudwatch = boto3.client("cloudwatch")
    errors, _ = rollout.alarm_names(MODEL)
    cloudwatch.put_metric_alarm(
        AlarmName=errors,
        Namespace="ns",
        MetricName="PredictionErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=errors, StateValue="ALARM", StateReason="test: 5 failed requests")
    state = rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, cloudwatch)
    assert state["decision"] == "rollback" and state["reason"].startswith(f"guardrail: {errors} in alarm")
    finished = rollout.finish(state, registry, traffic, by="test")
    assert finished["outcome"] == "kept_champion" and registry.aliases(MODEL) == {"champion": 1}


def test_guardrail_thresholds_come_from_the_spec(aws, registry, model_tables):
    class Recorded(FakeCloudWatch):
        alarms: dict = {}

        def put_metric_alarm(self, **alarm):
            self.alarms[alarm["MetricName"]] = alarm["Threshold"]

    recorded = Recorded()
    spec = ModelSpec.model_validate({**CHURN_SPEC, "rollout": {"guardrails": {"max_errors_per_minute": 5, "max_p99_latency_ms": 80}}})
    registry.register(MODEL, "r1", {"artifact": {"key": "r1.onnx", "sha256": "ab" * 32}, "metrics": {"accuracy": 0.6}})
    registry.register(MODEL, "r2", {"artifact": {"key": "r2.onnx", "sha256": "ab" * 32}, "metrics": {"accuracy": 0.7}})
    rollout.plan({"model": MODEL, "version": 2}, spec, registry, TrafficStore(*model_tables), recorded, "ns", by="test")
    assert recorded.alarms == {"PredictionErrors": 5, "PredictionLatency": 80}


def test_a_bandit_moves_traffic_to_the_better_arm_then_its_sequential_test_promotes_it(aws, registry, model_tables):
    spec, traffic, state, registry = started(registry, model_tables, design="bandit")
    judge_now = lambda: rollout.judge(state, spec, registry, boto3.client("s3"), CAPTURE, traffic, boto3.client("cloudwatch"))  # noqa: E731
    labelled(1, right=10, wrong=10)
    labelled(2, right=14, wrong=6)
    state = judge_now()
    # Too few outcomes to decide, but the split already leans to the challenger
    assert state["decision"] == "collecting" and 50 < traffic.policy(MODEL)["challenger_percent"] < 95
    assert traffic.experiment(MODEL)["chance_challenger_better"] > 0.5
    labelled(1, right=10, wrong=10)
    labelled(2, right=38, wrong=2)
    state = judge_now()
    assert state["decision"] == "promote" and "always-valid p" in state["reason"]
    moves = [
        r for r in registry._audit.records(MODEL) if r["action"] == "traffic.policy" and r["detail"].get("by") == rollout.ROLLOUT_BANDIT
    ]
    assert moves, "the bandit's split is audited under its own name"
