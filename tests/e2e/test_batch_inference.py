"""Batch inference in local mode: CSVs under batch/<model>/ scored by a Distributed Map, predictions beside them."""

import csv
import io
import time

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset

MODEL = "churn-batch"
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "plan"]


def unlabelled(rows: int, seed: int) -> str:
    """Customers to score: an id, the features, no label; row 3 has a plan the spec does not know."""
    table = list(csv.reader(io.StringIO(synthetic_dataset(rows=rows, seed=seed, bad_rows=False).decode())))
    lines = [[row[0], *row[1:5]] for row in table]
    lines[3][4] = "gold"
    return "".join(",".join(line) + "\n" for line in lines)


def wait(local_stack, execution_arn: str, timeout_s: float = 120) -> dict:
    sfn, deadline = local_stack.client("stepfunctions"), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.5)
    raise TimeoutError("the batch job did not finish")


def read_csv(local_stack, key: str) -> list[dict]:
    body = local_stack.client("s3").get_object(Bucket=local_stack.outputs["DataBucketName"], Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture(scope="module")
def scored(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", CHURN_SPEC)[0] in (200, 201)
    assert local_stack.train(executions, MODEL, "v1.csv", synthetic_dataset(seed=71))["status"] == "SUCCEEDED"
    s3, bucket = local_stack.client("s3"), local_stack.outputs["DataBucketName"]
    inputs = {"a.csv": unlabelled(40, 72), "b.csv": unlabelled(25, 73), "notes.txt": "not a table"}
    for name, body in inputs.items():
        s3.put_object(Bucket=bucket, Key=f"batch/{MODEL}/day1/{name}", Body=body.encode())
    status, job = local_stack.api("POST", f"models/{MODEL}/batch", {"prefix": f"batch/{MODEL}/day1/"})
    assert status == 202, job
    return job, wait(local_stack, job["execution_arn"]), inputs


def test_every_csv_under_the_prefix_gets_predictions_beside_it(local_stack, scored):
    job, execution, inputs = scored
    assert job["version"] == 1 and execution["status"] == "SUCCEEDED", execution.get("cause", "")[:600]
    for name, rows in (("a", 40), ("b", 25)):
        predictions = read_csv(local_stack, f"batch/{MODEL}/day1/{name}.predictions.csv")
        assert len(predictions) == rows
        assert list(predictions[0])[:5] == ["customer_id", *FEATURES]
        assert list(predictions[0])[5:] == ["predicted_churned", "probability_no", "probability_yes", "prediction_error"]
    listed = local_stack.client("s3").list_objects_v2(Bucket=local_stack.outputs["DataBucketName"], Prefix=f"batch/{MODEL}/day1/")
    assert "notes.predictions.csv" not in {item["Key"].rsplit("/", 1)[-1] for item in listed["Contents"]}


def test_a_bad_row_gets_its_reason_and_the_rest_of_the_file_is_scored(local_stack, scored):
    predictions = read_csv(local_stack, f"batch/{MODEL}/day1/a.predictions.csv")
    bad = predictions[2]  # line 3 of the file, the header being line 1
    assert bad["plan"] == "gold" and "plan" in bad["prediction_error"] and bad["predicted_churned"] == ""
    good = [row for row in predictions if not row["prediction_error"]]
    assert len(good) == 39 and {row["predicted_churned"] for row in good} <= {"no", "yes"}


def test_batch_and_online_predictions_agree(local_stack, scored):
    row = read_csv(local_stack, f"batch/{MODEL}/day1/b.predictions.csv")[0]
    record = {name: (row[name] if name == "plan" else float(row[name]) if row[name] else None) for name in FEATURES}
    status, online = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [record]})
    assert status == 200 and online["version"] == 1
    assert online["predictions"][0]["label"] == row["predicted_churned"]
    assert abs(online["predictions"][0]["probabilities"]["yes"] - float(row["probability_yes"])) < 1e-5


def test_a_prefix_outside_the_models_batch_folder_is_refused(local_stack, scored):
    status, body = local_stack.api("POST", f"models/{MODEL}/batch", {"prefix": "datasets/"})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "prefix"]
    assert local_stack.api("POST", f"models/{MODEL}/batch", {"prefix": f"batch/{MODEL}/", "version": 9})[0] == 404


def test_a_file_without_the_feature_columns_fails_the_job(local_stack, scored):
    bucket = local_stack.outputs["DataBucketName"]
    local_stack.client("s3").put_object(Bucket=bucket, Key=f"batch/{MODEL}/day2/ids.csv", Body=b"customer_id\nC1\n")
    status, job = local_stack.api("POST", f"models/{MODEL}/batch", {"prefix": f"batch/{MODEL}/day2/"})
    assert status == 202
    execution = wait(local_stack, job["execution_arn"])
    # As in AWS: the map run fails once more items fail than it tolerates (none).
    assert execution["status"] == "FAILED" and execution.get("error") == "States.ExceedToleratedFailureThreshold"
