"""The data steps against S3 and DynamoDB in moto, in the order the state machine runs them."""

import json

import boto3
import pytest

from mlops.data import chunks, splitting, steps, validation_steps
from mlops.data.spec import ModelSpec
from mlops.shared.errors import DatasetRejected, NotFound
from mlops.shared.settings import Settings
from mlops.training import pipeline_runs
from tests.integration.conftest import ARTIFACTS, BUCKET
from tests.unit.specs import CHURN_SPEC

SETTINGS = Settings(DATA_BUCKET=BUCKET)


def churn_csv(rows: int = 200, bad: int = 0, columns: str = "tenure_months,monthly_charges,plan,churned") -> bytes:
    lines = [columns]
    for i in range(rows):
        lines.append(f"{i % 72},{20 + i % 50}.5,{['basic', 'plus', 'pro'][i % 3]},{'yes' if i % 4 == 0 else 'no'}")
    lines += ["-5,10,basic,no"] * bad
    return ("\n".join(lines) + "\n").encode()


def upload(key: str, body: bytes) -> dict:
    version_id = boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body).get("VersionId")
    return {"model": "churn", "trigger": "upload", "source": {"bucket": BUCKET, "key": key, "version_id": version_id}}


def run_data_steps(request: dict, run_id: str, runs, specs, data) -> dict:
    s3 = boto3.client("s3")
    state = steps.ingest({"request": request, "run_id": run_id}, s3, runs, specs, data, SETTINGS)
    if state["trigger"] == "upload":  # the state machine's FromUpload and NewData choices
        state = validation_steps.validate(state, s3, runs, ARTIFACTS)
        state = steps.version(state, s3, runs, data)
    return splitting.prepare(state, s3, runs, data) if state["proceed"] else state


@pytest.fixture
def registered(specs):
    specs.put("churn", ModelSpec.model_validate(CHURN_SPEC))


def test_a_good_upload_becomes_a_version_with_manifest_splits_and_baseline(runs, specs, data, registered):
    state = run_data_steps(upload("datasets/churn/a.csv", churn_csv(bad=3)), "r1", runs, specs, data)
    s3 = boto3.client("s3")
    version = state["dataset"]["version"]
    assert state["dataset"]["new"] is True and state["dataset"]["report"]["rows"] == {
        "total": 203,
        "valid": 200,
        "invalid": 3,
        "unlabeled": 0,
        "duplicates": 0,
    }
    assert "3 invalid rows were dropped (see examples)" in state["dataset"]["report"]["warnings"]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"versions/churn/{version}/manifest.json")["Body"].read())
    assert (manifest["rows"], manifest["schema"]["columns"][-1], manifest["source"]["key"]) == (
        200,
        "churned",
        "datasets/churn/a.csv",
    )
    # per class: 50 "yes" -> 35/7/8 and 150 "no" -> 105/22/23 (fractions floored within each class)
    assert {name: s["rows"] for name, s in state["splits"].items()} == {"train": 140, "validation": 29, "test": 31}
    baseline = json.loads(s3.get_object(Bucket=BUCKET, Key=state["baseline_key"])["Body"].read())
    assert baseline["rows"] == 140 and set(baseline["features"]) == {"tenure_months", "monthly_charges", "plan"}
    listed = data.list("churn")
    assert [d["version"] for d in listed] == [version] and listed[0]["runs"] == ["r1"]
    assert runs.get("r1")["steps"]["validate"]["rows"]["invalid"] == 3


def test_the_same_content_again_is_the_same_version_and_is_not_retrained(runs, specs, data, registered):
    first = run_data_steps(upload("datasets/churn/a.csv", churn_csv()), "r1", runs, specs, data)
    reordered = b"plan,churned,extra,tenure_months,monthly_charges\n" + b"".join(
        f"{p},{c},ignored,{t},{m}\n".encode() for t, m, p, c in (line.split(",") for line in churn_csv().decode().splitlines()[1:])
    )
    second = run_data_steps(upload("datasets/churn/b.csv", reordered), "r2", runs, specs, data)
    assert second["dataset"]["version"] == first["dataset"]["version"]
    assert (second["dataset"]["new"], second["proceed"]) == (False, False)
    assert data.get("churn", first["dataset"]["version"])["runs"] == ["r1", "r2"]
    assert len(data.list("churn")) == 1


def test_a_requested_run_reuses_the_latest_version_and_its_prepared_splits(runs, specs, data, registered):
    first = run_data_steps(upload("datasets/churn/a.csv", churn_csv()), "r1", runs, specs, data)
    state = run_data_steps({"model": "churn", "trigger": "api"}, "r2", runs, specs, data)
    assert state["dataset"]["version"] == first["dataset"]["version"]
    assert state["splits"] == first["splits"]
    assert runs.get("r2")["trigger"] == {"trigger": "api"}


@pytest.mark.parametrize(("trigger", "champion_spec", "proceeds"), [("drift", 1, False), ("drift", 2, True), ("api", 1, True)])
def test_an_automatic_run_on_the_champions_own_data_and_spec_is_skipped_saying_why(
    runs, specs, data, registered, trigger, champion_spec, proceeds
):
    # Given a champion trained on the latest dataset version with spec version `champion_spec`
    first = run_data_steps(upload("datasets/churn/a.csv", churn_csv()), "r1", runs, specs, data)
    champion = {"version": 1, "dataset_version": first["dataset"]["version"], "spec_version": champion_spec}
    # When a drift finding (or a person) asks for a run on the latest data
    request = {"model": "churn", "trigger": trigger}
    state = steps.ingest({"request": request, "run_id": "r2"}, boto3.client("s3"), runs, specs, data, SETTINGS, lambda model: champion)
    # Then only the automatic run that would make the same model does not proceed, and says why
    assert state["proceed"] is proceeds
    if not proceeds:
        assert "the champion, was trained on dataset" in state["skip_reason"]
        pipeline_runs.record_skipped(state, runs)
        assert runs.get("r2")["steps"]["skipped"]["reason"] == state["skip_reason"]


def test_without_a_spec_the_run_fails_and_the_upload_stays(runs, specs, data):
    request = upload("datasets/churn/a.csv", churn_csv())
    with pytest.raises(NotFound, match="has no spec"):
        steps.ingest({"request": request, "run_id": "r1"}, boto3.client("s3"), runs, specs, data, SETTINGS)


def test_an_upload_over_the_ceiling_fails_at_once_naming_it(runs, specs, data, registered):
    request = upload("datasets/churn/big.csv", churn_csv())
    ceiling = Settings(DATA_BUCKET=BUCKET, MAX_DATASET_BYTES=1000)
    with pytest.raises(DatasetRejected, match=r"datasets/churn/big.csv is \d+ bytes, over the 1000-byte dataset ceiling"):
        steps.ingest({"request": request, "run_id": "r1"}, boto3.client("s3"), runs, specs, data, ceiling)
    # By default the ceiling leaves room past the single Lambda's budget: the Distributed Map's files.
    assert SETTINGS.max_dataset_bytes == 2 * chunks.SINGLE_PATH_BYTES


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "is a 0-byte file"),
        (b"tenure_months,monthly_charges,plan,churned\n", "header but no data rows"),
        (b"tenure_months,monthly_charges,plan\n1,2,basic\n", "the target column 'churned' is missing"),
        (churn_csv(20, bad=30), "30 of 50 rows are invalid"),
        (b"tenure_months,monthly_charges,plan,churned\n1,2,\xe9t\xe9,no\n", "not UTF-8"),
    ],
)
def test_a_rejected_upload_is_quarantined_with_its_report_and_the_run_says_why(runs, specs, data, registered, body, reason):
    s3 = boto3.client("s3")
    request = upload("datasets/churn/bad.csv", body)
    with pytest.raises(DatasetRejected, match=reason) as raised:
        run_data_steps(request, "r1", runs, specs, data)
    failure = {"Error": "DatasetRejected", "Cause": json.dumps({"errorMessage": str(raised.value)})}
    state = {"run_id": "r1", "request": request, "failure": failure}
    pipeline_runs.record_failure(state, s3, runs, boto3.client("sns"), _topic())
    run = runs.get("r1")
    assert run["status"] == "FAILED" and reason in run["failure"]["reason"]
    assert run["failure"]["quarantined"] == "quarantine/churn/r1/bad.csv"
    assert s3.get_object(Bucket=BUCKET, Key="quarantine/churn/r1/bad.csv")["Body"].read() == body
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="datasets/churn/").get("Contents", [])
    assert listed == []
    has_report = s3.list_objects_v2(Bucket=BUCKET, Prefix="quarantine/churn/r1/quality.json").get("KeyCount", 0)
    assert has_report == (0 if reason in ("is a 0-byte file", "not UTF-8", "the target column 'churned' is missing") else 1)


def _topic() -> str:
    return boto3.client("sns").create_topic(Name="notifications")["TopicArn"]


def test_an_upload_event_delivered_twice_starts_one_execution(aws):
    sfn = boto3.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/sfn"
    arn = sfn.create_state_machine(name="p", definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}), roleArn=role)[
        "stateMachineArn"
    ]
    event = {"detail": {"bucket": {"name": BUCKET}, "object": {"key": "datasets/churn/a.csv", "version-id": "v1", "etag": "e"}}}
    first = pipeline_runs.start_upload_run(event, sfn, arn)
    second = pipeline_runs.start_upload_run(event, sfn, arn)
    assert first["run_id"] == second["run_id"] and (first["duplicate"], second["duplicate"]) == (False, True)
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1
    other = pipeline_runs.start_upload_run(
        {"detail": {**event["detail"], "object": {**event["detail"]["object"], "version-id": "v2"}}}, sfn, arn
    )
    assert other["run_id"] != first["run_id"]


def test_json_lines_uploads_are_validated_like_csv(runs, specs, data, registered):
    records = [
        {
            "tenure_months": i / 2,
            "monthly_charges": None if i % 9 == 0 else 20.5 + i,
            "plan": ["basic", "plus", "pro"][i % 3],
            "churned": "yes" if i % 4 == 0 else "no",
            "customer": f"C{i}",
        }
        for i in range(150)
    ]
    lines = [json.dumps(r) for r in records] + ["{not json", "[1, 2]"]
    state = run_data_steps(upload("datasets/churn/export.jsonl", ("\n".join(lines) + "\n").encode()), "r1", runs, specs, data)
    report = state["dataset"]["report"]
    assert report["rows"] == {"total": 152, "valid": 150, "invalid": 2, "unlabeled": 0, "duplicates": 0}
    assert state["proceed"] and sum(split["rows"] for split in state["splits"].values()) == 150


def _parquet(csv_bytes: bytes) -> bytes:
    """The same rows as pandas writes them to Parquet (pyarrow): dictionary-encoded strings, and the
    nullable integer column a lake would have."""
    import io

    import pandas as pd

    frame = pd.read_csv(io.BytesIO(csv_bytes), keep_default_na=False, na_values=[""], dtype={"plan": "string", "churned": "string"})
    frame["tenure_months"] = frame["tenure_months"].astype("Int64")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False, row_group_size=64)
    return buffer.getvalue()


def test_the_same_rows_as_csv_as_csv_gz_and_as_parquet_are_one_dataset_version(runs, specs, data, registered):
    import gzip

    # Given the same rows, with missing values and unlabeled rows, in three files as lakes export them
    rows = churn_csv(120).decode().splitlines()
    rows[5] = "7,,pro,yes"  # a missing monthly charge
    rows[9] = "8,33.5,basic,"  # no label yet
    body = ("\n".join(rows) + "\n").encode()
    uploads = {"a.csv": body, "a.csv.gz": gzip.compress(body), "a.parquet": _parquet(body)}
    # When each is uploaded
    states = [
        run_data_steps(upload(f"datasets/churn/{name}", content), f"r-{i}", runs, specs, data)
        for i, (name, content) in enumerate(uploads.items())
    ]
    # Then all three are the same version, with the same report; the later two are not retrained
    versions = {state["dataset"]["version"] for state in states}
    assert len(versions) == 1, versions
    assert [state["dataset"]["new"] for state in states] == [True, False, False]
    assert {json.dumps(state["dataset"]["report"]["rows"], sort_keys=True) for state in states} == {
        json.dumps({"total": 120, "valid": 119, "invalid": 0, "unlabeled": 1, "duplicates": 0}, sort_keys=True)
    }
    # and the staged plain copies are gone with the run's working files
    assert boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS, Prefix="runs/").get("KeyCount", 0) == 0


def test_a_broken_gzip_or_parquet_upload_is_rejected_saying_why(runs, specs, data, registered):
    import gzip

    s3 = boto3.client("s3")
    for name, content, reason in [
        ("b.csv.gz", gzip.compress(churn_csv(50))[:-20], "not a whole gzip file"),
        ("b.parquet", b"PAR1 not really", "not a Parquet file"),
    ]:
        state = steps.ingest({"request": upload(f"datasets/churn/{name}", content), "run_id": f"x-{name}"}, s3, runs, specs, data, SETTINGS)
        with pytest.raises(DatasetRejected, match=reason):
            validation_steps.validate(state, s3, runs, ARTIFACTS)
