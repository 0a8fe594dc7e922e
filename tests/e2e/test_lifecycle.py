"""The lifecycle in local mode, driven like a user: S3 uploads, the HTTP API, stack outputs."""

import json
import time

import pytest

from local.demo import BROKEN_DATASET, synthetic_dataset


class Inbox:
    """An SQS queue subscribed to the platform's notification topic, as an operator would have."""

    def __init__(self, local_stack) -> None:
        self._sqs = local_stack.client("sqs")
        self._url = self._sqs.create_queue(QueueName="e2e-operator-inbox")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        local_stack.client("sns").subscribe(TopicArn=local_stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn)
        self.seen: list[dict] = []

    def messages(self) -> list[dict]:
        """Everything received so far (messages are kept across calls)."""
        while batch := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            self.seen += [json.loads(m["Body"]) for m in batch]
        return self.seen


@pytest.fixture(scope="module")
def notifications(local_stack) -> Inbox:
    return Inbox(local_stack)


@pytest.fixture(scope="module")
def executions():
    return set()


@pytest.fixture(scope="module")
def first_run(local_stack, executions, notifications):
    """A good upload, trained and registered: what the later tests build on."""
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


def test_an_upload_trains_and_registers_the_first_champion(local_stack, first_run):
    assert first_run["status"] == "SUCCEEDED"
    status, run = local_stack.api("GET", f"runs/{first_run['name']}")
    assert status == 200 and run["status"] == "SUCCEEDED"
    assert run["trigger"]["key"] == "datasets/churn/2026-11-26.csv"
    assert set(run["steps"]) == {"ingest", "validate", "version", "split", "train", "export", "evaluate"}
    assert run["steps"]["evaluate"]["metrics"]["accuracy"] > 0.7
    assert run["steps"]["export"]["parity_max_abs_diff"] <= 1e-5
    assert champion(local_stack, "churn") == "1"
    status, listing = local_stack.api("GET", "runs?model=churn")
    assert first_run["name"] in [r["run_id"] for r in listing["runs"]]


def test_a_broken_upload_fails_with_its_reason_and_the_champion_survives(local_stack, first_run, executions, notifications):
    # Given a serving champion, when a malformed file arrives
    s3 = local_stack.client("s3")
    s3.put_object(Bucket=local_stack.outputs["DataBucketName"], Key="datasets/churn/broken.csv", Body=BROKEN_DATASET)
    execution = local_stack.wait_for_execution(executions)
    # Then the run fails with a reason a person can act on, and nothing else changed
    assert execution["status"] == "FAILED"
    status, run = local_stack.api("GET", f"runs/{execution['name']}")
    assert run["status"] == "FAILED"
    assert run["failure"] == {
        "error": "DatasetRejected",
        "reason": "datasets/churn/broken.csv line 3 has 2 fields where the header has 3",
    }
    assert champion(local_stack, "churn") == "1"
    kept = s3.get_object(Bucket=local_stack.outputs["DataBucketName"], Key="datasets/churn/2026-11-26.csv")["Body"].read()
    assert kept == synthetic_dataset()
    failures = [json.loads(m["Message"]) for m in notifications.messages() if "failed" in m.get("Subject", "")]
    assert {"run_id": execution["name"], "model": "churn", "reason": run["failure"]["reason"]} in failures


def test_the_failure_raises_alarms_that_notify(local_stack, notifications):
    # The broken upload above emitted PipelineRunsFailed (EMF) and an AWS/States ExecutionsFailed.
    # (The background loop may have evaluated first; either way the state must now be ALARM.)
    local_stack.control("alarms/evaluate")
    alarms = local_stack.client("cloudwatch").describe_alarms()["MetricAlarms"]
    state = {a["AlarmName"].split("-", 1)[1]: a["StateValue"] for a in alarms}
    failing = {name for name, value in state.items() if value == "ALARM"}
    assert {name[:-8] for name in failing} == {"MonitoringPipelineRunsFailed", "MonitoringPipelineExecutionsFailed"}
    subjects = {m.get("Subject", "") for m in notifications.messages()}
    assert {f"ALARM: MlopsPlatform-{name}" for name in failing} <= subjects


def test_the_schedule_runs_the_checks_and_their_metrics_reach_cloudwatch(local_stack, first_run):
    outcomes = local_stack.control("schedules/fire", {"rule": "ScheduledChecks"})["outcomes"]
    assert outcomes == [{"models_serving": {"churn": 1}}]
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
    assert max(p["Maximum"] for p in points) == 1.0
