"""The monitoring loop in local mode: traffic like the training data raises nothing; traffic whose
inputs moved is found by the scheduled check, which retrains on the newest data plus the labelled
traffic (the newest data alone is what the champion learned from), and the new version goes
through the gate and a canary to champion."""

import pytest

from local.demo import CHURN_SPEC, customers, serve_with_feedback, synthetic_dataset

MODEL = "churn-drift"
SPEC = {
    **CHURN_SPEC,
    "gates": {"min_improvement": -1.0},
    "rollout": {"strategy": "canary", "canary_percent": 50, "bake_seconds": 2},
    "monitoring": {
        "check_every_minutes": 0,
        "drift": {"min_samples": 200},
        "retraining": {"cooldown_minutes": 60, "max_per_day": 1, "data": "latest_plus_feedback"},
    },
}


def serve(local_stack, records: list[dict]) -> None:
    for start in range(0, len(records), 100):
        status, body = local_stack.api("POST", f"models/{MODEL}/predict", {"records": records[start : start + 100]})
        assert status == 200, body


def check_now(local_stack) -> dict:
    return local_stack.check_now(MODEL)


@pytest.fixture(scope="module")
def champion(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", SPEC)[0] in (200, 201)
    assert local_stack.train(executions, MODEL, "v1.csv", synthetic_dataset(seed=81))["status"] == "SUCCEEDED"
    assert local_stack.api("GET", f"models/{MODEL}")[0] == 200
    return 1


@pytest.fixture(scope="module")
def steady_report(local_stack, champion):
    assert local_stack.api("GET", f"models/{MODEL}/drift")[0] == 404  # never checked yet
    serve(local_stack, customers(300, seed=82, moved=False))
    return check_now(local_stack)


@pytest.fixture(scope="module")
def drift_report(local_stack, steady_report):
    serve_with_feedback(local_stack.api, MODEL, customers(300, seed=83, moved=True))
    return check_now(local_stack)


def test_traffic_like_the_training_data_is_no_drift(steady_report):
    assert steady_report["drift"]["verdict"] == "no drift" and steady_report["drift"]["rows"] == 300
    assert steady_report["drift"]["drifted_features"] == []


def test_moved_inputs_are_flagged_feature_by_feature(drift_report):
    drift = drift_report["drift"]
    assert drift["verdict"] == "drift" and drift["rows"] == 300  # only the traffic since the last check
    assert drift["drifted_features"] == ["support_calls", "tenure_months"]
    assert drift["features"]["plan"]["verdict"] == "no drift"
    assert drift["features"]["tenure_months"]["effect_size"] > 1


def test_the_report_is_in_s3_as_json_and_html_and_alarms_and_dashboard_exist(local_stack, drift_report):
    s3, bucket = local_stack.client("s3"), local_stack.outputs["ArtifactsBucketName"]
    page = s3.get_object(Bucket=bucket, Key=drift_report["html_key"])["Body"].read().decode()
    assert "tenure_months" in page and "<svg" in page
    assert "Estimated quality before labels" in page and "Multivariate drift" in page and "Data quality" in page
    cloudwatch = local_stack.client("cloudwatch")
    names = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"mlops-{MODEL}-")["MetricAlarms"]}
    checked = ("drift", "performance", "estimated-performance", "data-quality")
    assert {f"mlops-{MODEL}-{suffix}" for suffix in checked} <= names
    assert cloudwatch.get_dashboard(DashboardName=f"mlops-{MODEL}")["DashboardBody"]


def test_drift_starts_one_retraining_run_whose_version_becomes_champion(local_stack, drift_report, executions):
    run = local_stack.wait_for_execution(executions)
    assert run["status"] == "SUCCEEDED"
    record = local_stack.api("GET", f"runs/{run['name']}")[1]
    # The finding uploaded the newest data plus the labelled traffic, naming itself; that upload trained
    assert record["trigger"]["trigger"] == "upload"
    assert record["steps"]["ingest"]["metadata"] == {"trigger": "drift", "check-id": drift_report["check_id"]}
    assert record["steps"]["validate"]["rows"]["valid"] > 600  # the first dataset's rows and the traffic's
    assert local_stack.wait_for_rollout(MODEL, 2)["status"] == "SUCCEEDED"
    assert local_stack.api("GET", f"models/{MODEL}/traffic")[1]["aliases"] == {"champion": 2}


def test_a_second_finding_within_the_cool_down_starts_nothing(local_stack, drift_report, executions):
    serve(local_stack, customers(300, seed=84, moved=True))
    report = check_now(local_stack)
    assert report["drift"]["verdict"] == "drift"

    def skipped() -> list[dict]:
        local_stack.control("events/drain")
        records = local_stack.api("GET", f"audit?model={MODEL}")[1]["records"]
        return [r for r in records if r["action"] == "retraining.skipped" and r["detail"]["check_id"] == report["check_id"]]

    (record,) = local_stack.until(skipped, bool, "the skipped retraining's audit record", timeout_s=20)
    assert "cool-down" in record["detail"]["reason"]
