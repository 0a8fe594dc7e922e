"""The lifecycle in local mode, driven like a user: S3 uploads, the HTTP API, stack outputs."""

import json
import time

import pytest

from local.demo import BROKEN_DATASET, CHURN_SPEC, synthetic_dataset


@pytest.fixture(scope="module")
def spec(local_stack):
    status, body = local_stack.api("PUT", "models/churn", CHURN_SPEC)
    assert status in (200, 201), body
    return body


@pytest.fixture(scope="module")
def first_run(local_stack, spec, executions, notifications):
    """A real-looking upload with a few bad rows, trained and registered: what later tests build on."""
    local_stack.client("s3").put_object(
        Bucket=local_stack.outputs["DataBucketName"], Key="datasets/churn/2026-11-26.csv", Body=synthetic_dataset()
    )
    return local_stack.wait_for_execution(executions)


def champion(local_stack, model: str):
    table = local_stack.client("dynamodb")
    item = table.get_item(TableName=local_stack.outputs["ModelsTableName"], Key={"model": {"S": model}, "sk": {"S": "STATE"}})
    return item.get("Item", {}).get("champion", {}).get("N")


def test_outputs_name_live_buckets_and_an_answering_api(local_stack):
    buckets = {b["Name"] for b in local_stack.client("s3").list_buckets()["Buckets"]}
    assert {local_stack.outputs[k] for k in ("DataBucketName", "ArtifactsBucketName", "CaptureBucketName")} <= buckets
    assert local_stack.api("GET", "health") == (200, {"status": "ok", "version": "0.1.0"})
    status, document = local_stack.api("GET", "openapi.json")
    assert status == 200 and "/runs/{run_id}" in document["paths"]


def test_an_upload_is_validated_versioned_split_trained_and_registered(local_stack, first_run):
    assert first_run["status"] == "SUCCEEDED"
    status, run = local_stack.api("GET", f"runs/{first_run['name']}")
    assert status == 200 and run["status"] == "SUCCEEDED"
    assert run["trigger"]["source"]["key"] == "datasets/churn/2026-11-26.csv"
    assert set(run["steps"]) == {"ingest", "validate", "version", "prepare", "train", "export", "evaluate"}
    steps = {"Ingest", "Validate", "Version", "Prepare", "Train", "ExportOnnx", "Evaluate", "Register"}
    assert set(run["timings"]) == steps and all(seconds > 0 for seconds in run["timings"].values())
    validate = run["steps"]["validate"]
    assert validate["rows"]["invalid"] == 3 and "3 invalid rows were dropped (see examples)" in validate["warnings"]
    assert run["steps"]["evaluate"]["metrics"]["accuracy"] > 0.7
    assert run["steps"]["export"]["parity_max_abs_diff"] <= 1e-5
    assert champion(local_stack, "churn") == "1"
    status, listing = local_stack.api("GET", "runs?model=churn")
    assert first_run["name"] in [r["run_id"] for r in listing["runs"]]


def test_the_version_has_a_manifest_splits_and_a_baseline_in_s3(local_stack, first_run):
    status, listing = local_stack.api("GET", "models/churn/datasets")
    (dataset,) = listing["datasets"]
    s3, bucket = local_stack.client("s3"), local_stack.outputs["DataBucketName"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=dataset["manifest_key"])["Body"].read())
    assert manifest["version"] == dataset["version"] and manifest["rows"] == dataset["rows"] == 600
    assert manifest["schema"]["columns"] == ["tenure_months", "monthly_charges", "support_calls", "plan", "churned"]
    prepared = dataset["prepared"]
    assert sum(split["rows"] for split in prepared["splits"].values()) == 600
    baseline = json.loads(s3.get_object(Bucket=bucket, Key=prepared["baseline_key"])["Body"].read())
    assert len(baseline["features"]["tenure_months"]["bin_edges"]) == 9
    assert set(baseline["features"]["plan"]["frequencies"]) == {"basic", "plus", "pro"}
    assert dataset["runs"] == [first_run["name"]]


def test_the_same_upload_again_makes_no_second_version_and_no_retraining(local_stack, first_run, executions):
    s3 = local_stack.client("s3")
    s3.put_object(Bucket=local_stack.outputs["DataBucketName"], Key="datasets/churn/again.csv", Body=synthetic_dataset())
    execution = local_stack.wait_for_execution(executions)
    status, run = local_stack.api("GET", f"runs/{execution['name']}")
    assert run["status"] == "SUCCEEDED" and "skipped" in run["steps"] and "train" not in run["steps"]
    status, listing = local_stack.api("GET", "models/churn/datasets")
    assert len(listing["datasets"]) == 1 and len(listing["datasets"][0]["runs"]) == 2


def test_an_event_delivered_twice_starts_one_run(local_stack, first_run, executions):
    # Redeliver the upload's S3 event to the rule's target, as EventBridge may.
    sfn = local_stack.client("stepfunctions")
    before = sfn.list_executions(stateMachineArn=local_stack.outputs["TrainingPipelineArn"])["executions"]
    local_stack.client("events").put_events(
        Entries=[{"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(first_run_detail(local_stack, first_run))}]
    )
    local_stack.control("events/drain")
    after = sfn.list_executions(stateMachineArn=local_stack.outputs["TrainingPipelineArn"])["executions"]
    assert len(after) == len(before)


def first_run_detail(local_stack, first_run) -> dict:
    """The detail S3 sent for the first upload: bucket, key, version id and ETag of the object."""
    bucket, key = local_stack.outputs["DataBucketName"], "datasets/churn/2026-11-26.csv"
    head = local_stack.client("s3").head_object(Bucket=bucket, Key=key)
    return {"bucket": {"name": bucket}, "object": {"key": key, "version-id": head["VersionId"], "etag": head["ETag"].strip('"')}}


def test_a_requested_run_retrains_on_the_latest_version(local_stack, first_run, executions):
    status, started = local_stack.api("POST", "models/churn/runs")
    assert status == 202
    execution = local_stack.wait_for_execution(executions)
    assert execution["name"] == started["run_id"] and execution["status"] == "SUCCEEDED"
    status, run = local_stack.api("GET", f"runs/{started['run_id']}")
    assert "validate" not in run["steps"] and {"prepare", "train", "evaluate"} <= set(run["steps"])
    assert champion(local_stack, "churn") == "1"


def test_a_broken_upload_is_quarantined_and_the_champion_survives(local_stack, first_run, executions, notifications):
    # Given a serving champion, when an export without its label column arrives
    s3 = local_stack.client("s3")
    bucket = local_stack.outputs["DataBucketName"]
    s3.put_object(Bucket=bucket, Key="datasets/churn/broken.csv", Body=BROKEN_DATASET)
    execution = local_stack.wait_for_execution(executions)
    # Then the run fails with a reason a person can act on, the file is quarantined, nothing else changed
    assert execution["status"] == "FAILED"
    status, run = local_stack.api("GET", f"runs/{execution['name']}")
    assert run["status"] == "FAILED" and run["failure"]["error"] == "DatasetRejected"
    assert run["failure"]["reason"].startswith("the target column 'churned' is missing")
    quarantined = run["failure"]["quarantined"]
    assert s3.get_object(Bucket=bucket, Key=quarantined)["Body"].read() == BROKEN_DATASET
    assert "broken.csv" not in [
        o["Key"].rsplit("/", 1)[-1] for o in s3.list_objects_v2(Bucket=bucket, Prefix="datasets/").get("Contents", [])
    ]
    assert champion(local_stack, "churn") == "1"
    kept = s3.get_object(Bucket=bucket, Key="datasets/churn/2026-11-26.csv")["Body"].read()
    assert kept == synthetic_dataset()
    failures = [json.loads(m["Message"]) for m in notifications.messages() if "failed" in m.get("Subject", "")]
    assert {"run_id": execution["name"], "model": "churn", "reason": run["failure"]["reason"]} in failures


def test_the_failure_raises_alarms_that_notify(local_stack, notifications):
    # The broken upload above emitted PipelineRunsFailed (EMF) and an AWS/States ExecutionsFailed.
    # (The background loop may have evaluated first; either way the state must now be ALARM.)
    local_stack.control("alarms/evaluate")
    # (Other modules' faults may have raised other platform alarms; these two must be among them.)
    alarms = local_stack.client("cloudwatch").describe_alarms(AlarmNamePrefix="MlopsPlatform-")["MetricAlarms"]
    failing = {a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"}
    assert {"MonitoringPipelineRunsFailed", "MonitoringPipelineExecutionsFailed"} <= {name.split("-", 1)[1][:-8] for name in failing}
    subjects = {m.get("Subject", "") for m in notifications.messages()}
    assert {f"ALARM: {name}" for name in failing} <= subjects


def test_the_schedule_runs_the_checks_and_their_metrics_reach_cloudwatch(local_stack, first_run):
    outcomes = local_stack.control("schedules/fire", {"rule": "ScheduledChecks"})["outcomes"]
    serving = outcomes[0]["models_serving"]
    assert serving["churn"] == 1
    cloudwatch = local_stack.client("cloudwatch")
    points = cloudwatch.get_metric_statistics(
        Namespace="MLOps",
        MetricName="ModelsServing",
        Dimensions=[{"Name": "service", "Value": "ScheduledChecks"}],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert max(p["Maximum"] for p in points) == float(len(serving))
