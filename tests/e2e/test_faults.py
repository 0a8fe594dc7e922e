"""Faults injected into the running pipeline: what each leaves behind."""

import json

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset

MODEL = "churn-faults"


@pytest.fixture(scope="module")
def registered(local_stack):
    assert local_stack.api("PUT", f"models/{MODEL}", CHURN_SPEC)[0] in (200, 201)


@pytest.fixture(autouse=True)
def no_fault_outlives_its_test(local_stack):
    yield
    local_stack.control("faults/clear")


def upload(local_stack, name: str, seed: int) -> None:
    local_stack.client("s3").put_object(
        Bucket=local_stack.outputs["DataBucketName"], Key=f"datasets/{MODEL}/{name}", Body=synthetic_dataset(seed=seed)
    )


def artifacts_of(local_stack, run_id: str) -> list[str]:
    s3, bucket = local_stack.client("s3"), local_stack.outputs["ArtifactsBucketName"]
    keys = []
    for prefix in (f"runs/{run_id}/", f"models/{MODEL}/{run_id}/"):
        keys += [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return keys


def test_training_killed_mid_way_fails_the_run_and_leaves_no_partial_artifacts(local_stack, registered, executions):
    # The export step's process is killed as soon as it gets the event, after training wrote its
    # staging estimator. (A delay would race the step: a warm export of this model takes ~40 ms.)
    # A crash is not retried (it is not one of the transient errors), so the run fails.
    local_stack.control("faults", {"function": "ExportOnnx", "fault": "crash", "times": 1, "after_ms": 0})
    upload(local_stack, "first.csv", seed=21)
    execution = local_stack.wait_for_execution(executions)
    assert execution["status"] == "FAILED"
    run = local_stack.api("GET", f"runs/{execution['name']}")[1]
    assert run["failure"]["error"] == "Runtime.ExitError" and "Runtime exited" in run["failure"]["reason"]
    assert run["failure"]["discarded_artifacts"] >= 1 and artifacts_of(local_stack, execution["name"]) == []
    assert local_stack.api("GET", f"models/{MODEL}/versions")[1]["versions"] == []


def test_a_throttled_step_is_retried_and_the_run_succeeds(local_stack, registered, executions):
    local_stack.control("faults", {"function": "Train", "fault": "throttle", "times": 1})
    upload(local_stack, "second.csv", seed=22)
    execution = local_stack.wait_for_execution(executions)
    assert execution["status"] == "SUCCEEDED"
    history = local_stack.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
    failures = [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert failures == ["Lambda.TooManyRequestsException"]
    assert local_stack.api("GET", f"models/{MODEL}/versions")[1]["aliases"] == {"champion": 1}


def test_a_deleted_dataset_fails_the_retraining_run_and_the_champion_keeps_serving(local_stack, registered, executions):
    # Someone deletes the version's files (data and splits) from the data bucket, then asks for a retrain.
    s3, bucket = local_stack.client("s3"), local_stack.outputs["DataBucketName"]
    (latest,) = local_stack.api("GET", f"models/{MODEL}/datasets")[1]["datasets"][:1]
    folder = latest["key"].rsplit("/", 1)[0] + "/"
    deleted = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]]
    for key in deleted:
        s3.delete_object(Bucket=bucket, Key=key)
    status, started = local_stack.api("POST", f"models/{MODEL}/runs")
    assert status == 202
    execution = local_stack.wait_for_execution(executions)
    assert execution["status"] == "FAILED"
    run = local_stack.api("GET", f"runs/{started['run_id']}")[1]
    assert run["status"] == "FAILED" and "NoSuchKey" in run["failure"]["error"] + run["failure"]["reason"], run["failure"]
    assert local_stack.api("GET", f"models/{MODEL}/versions")[1]["aliases"] == {"champion": 1}
    record = {"tenure_months": 3.0, "monthly_charges": 99.5, "support_calls": 6, "plan": "basic"}
    status, answer = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [record]})
    assert status == 200 and answer["version"] == 1


def test_an_event_a_function_keeps_failing_on_goes_to_its_dead_letter_queue(local_stack):
    # EventBridge delivers (Lambda accepted the event); Lambda tries twice more, then dead-letters
    # the event with the function's own role, which needs the queue's key as well as the queue.
    local_stack.control("faults", {"function": "ScheduledChecks", "fault": "crash", "times": 3, "after_ms": 0})
    assert local_stack.control("schedules/fire", {"rule": "ScheduledChecks"})["outcomes"] == [None]
    sqs = local_stack.client("sqs")
    url = next(u for u in sqs.list_queues()["QueueUrls"] if "ScheduleDeadLetters" in u)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, MessageAttributeNames=["All"]).get(
        "Messages", []
    )
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["detail-type"] == "Scheduled Event"
    assert "ErrorMessage" in messages[0]["MessageAttributes"]
