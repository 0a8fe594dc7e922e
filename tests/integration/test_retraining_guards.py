"""Retraining guards against moto: what stops an automatic run, and one run per slot; the drift
windows whose findings start it."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from mlops.data.spec import ModelSpec
from mlops.monitoring import checks, retraining, schedule
from mlops.monitoring.checks import ModelChecker
from mlops.monitoring.retraining import Retrainer, run_id_for
from mlops.registry.versions import STATE_KEY
from mlops.serving import capture_reader
from tests.integration.conftest import ARTIFACTS
from tests.unit.specs import CHURN_SPEC

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def spec(**retraining) -> ModelSpec:
    return ModelSpec.model_validate({**CHURN_SPEC, "monitoring": {"retraining": {"cooldown_minutes": 60, "max_per_day": 2, **retraining}}})


@pytest.fixture
def retrainer(runs, model_tables):
    models, audit = model_tables
    models.put_item(Item={"model": "churn", "sk": STATE_KEY, "champion": 1})
    return Retrainer(models, runs, audit, boto3.client("stepfunctions"))


def test_a_first_finding_may_start_and_then_the_cool_down_holds(retrainer):
    assert retrainer.refusal("churn", "drift", spec(), NOW) is None
    assert retrainer.claim("churn", "check-1", NOW)
    assert retrainer.refusal("churn", "drift", spec(), NOW + timedelta(minutes=5)).startswith("cool-down")


def test_two_claims_from_the_same_reading_start_one_run(retrainer, monkeypatch):
    state = retrainer._state("churn")
    monkeypatch.setattr(retrainer, "_state", lambda model: state)  # both saw the state before either wrote
    assert retrainer.claim("churn", "check-1", NOW)
    assert not retrainer.claim("churn", "check-2", NOW)


def test_the_daily_maximum_and_the_cool_down(retrainer):
    rules = spec(cooldown_minutes=0, max_per_day=2)
    assert retrainer.claim("churn", "a", NOW) and retrainer.claim("churn", "b", NOW + timedelta(minutes=1))
    assert "daily maximum" in retrainer.refusal("churn", "drift", rules, NOW + timedelta(minutes=2))
    assert retrainer.refusal("churn", "drift", rules, NOW + timedelta(days=1)) is None


def test_a_running_run_of_the_model_blocks_a_second(retrainer, runs):
    runs.start("churn-upload-1", "churn", trigger={"trigger": "upload"})
    assert "still running" in retrainer.refusal("churn", "drift", spec(), datetime.now(UTC))


def test_the_spec_decides_which_findings_retrain(retrainer):
    assert "does not retrain on performance" in retrainer.refusal("churn", "performance", spec(on=["drift"]), NOW)
    assert "off" in retrainer.refusal("churn", "drift", spec(max_per_day=0), NOW)
    # A fall of the label-free estimate retrains only when the spec asks for it
    assert "does not retrain on estimated_performance" in retrainer.refusal("churn", "estimated_performance", spec(), NOW)
    assert retrainer.refusal("churn", "estimated_performance", spec(on=["estimated_performance"]), NOW) is None


def test_an_estimated_decay_is_announced_as_its_own_finding():
    report = {
        "model": "churn",
        "version": 1,
        "check_id": "c1",
        "report_key": "reports/churn/c1/report.json",
        "drift": {"verdict": "no drift"},
        "performance": {"verdict": "not enough data"},
        "estimated_performance": {"verdict": "decayed", "metric": "roc_auc", "decay": 0.12},
    }
    assert checks.findings(report) == [
        (
            schedule.ESTIMATED_PERFORMANCE_DECAYED,
            {"model": "churn", "version": 1, "check_id": "c1", "report_key": report["report_key"], "metric": "roc_auc", "decay": 0.12},
        )
    ]
    assert retraining.KINDS[schedule.ESTIMATED_PERFORMANCE_DECAYED] == "estimated_performance"


def test_run_ids_are_named_after_the_check():
    assert run_id_for("churn", "drift", "20261126T120000Z-abc123") == "churn-drift-20261126T120000Z-abc123"


def test_latest_plus_feedback_uploads_the_newest_version_and_the_labelled_traffic_once(aws):
    import csv as csv_module
    import io

    import boto3

    from mlops.monitoring.retraining import upload_with_feedback
    from mlops.serving.capture_reader import Outcome
    from tests.integration.conftest import BUCKET

    s3 = boto3.client("s3")
    version = b"tenure_months,monthly_charges,plan,churned\r\n1.0,20.0,basic,no\r\n"
    s3.put_object(Bucket=BUCKET, Key="versions/churn/abc/data.csv", Body=version)
    at = "2026-11-26T00:00:00"
    labelled = [
        Outcome(1, "champion", {"label": "no"}, "yes", at, {"tenure_months": 70, "monthly_charges": None, "plan": "pro"}),
        Outcome(2, "challenger", {"label": "no"}, "no", at, {"tenure_months": 3.5, "monthly_charges": 99.9, "plan": "plus"}),
    ]
    latest = {"key": "versions/churn/abc/data.csv", "version": "abc"}
    finding = {"trigger": "drift", "check-id": "c1"}
    uploaded = upload_with_feedback(s3, BUCKET, "churn", spec(), latest, labelled, finding)
    assert uploaded == {"key": "datasets/churn/retrain-c1.csv", "feedback_rows": 2, "dataset_version": "abc"}
    obj = s3.get_object(Bucket=BUCKET, Key=uploaded["key"])
    rows = list(csv_module.reader(io.StringIO(obj["Body"].read().decode())))
    assert rows == [
        ["tenure_months", "monthly_charges", "plan", "churned"],
        ["1.0", "20.0", "basic", "no"],
        ["70.0", "", "pro", "yes"],
        ["3.5", "99.9", "plus", "no"],
    ]
    assert obj["Metadata"] == finding
    # The same finding delivered again uploads nothing (an upload would start a second run).
    assert upload_with_feedback(s3, BUCKET, "churn", spec(), latest, labelled, finding) is None


def test_each_captured_prediction_counts_in_one_drift_window_only(aws, registry, model_tables):
    # Given a champion and predictions captured 200 and 500 ms into a second
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture")
    registry.register("churn", "r1", {"artifact": {"key": "r1.onnx"}, "metrics": {"accuracy": 0.8}})
    checker = ModelChecker(s3, registry, model_tables[0], {"capture": "capture", "data": "data", "artifacts": ARTIFACTS})
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    def served(at: datetime) -> None:
        record = {"kind": "prediction", "model": "churn", "version": 1, "at": at.isoformat(timespec="milliseconds")}
        record |= {"inputs": [{"tenure_months": 3, "monthly_charges": 20.0, "plan": "pro"}], "outputs": [{"label": "yes"}]}
        s3.put_object(
            Bucket="capture", Key=f"{capture_reader.hour_prefixes('churn', at, at)[0]}{uuid.uuid4().hex}", Body=json.dumps(record)
        )

    for offset in (0.2, 0.5):
        served(start + timedelta(seconds=offset))

    # When a check runs 900 ms into that second, one more prediction follows, and the next check runs
    first = checker.run("churn", spec(), now=start + timedelta(seconds=0.9))
    served(start + timedelta(seconds=0.95))
    second = checker.run("churn", spec(), now=start + timedelta(seconds=2))

    # Then the second window holds only the prediction the first did not see
    assert (first["drift"]["rows"], second["drift"]["rows"]) == (2, 1)


class ReadLog:
    """The S3 client, recording which prefixes it lists and which objects it reads."""

    def __init__(self, s3) -> None:
        self._s3, self.listed, self.read = s3, [], []

    def get_paginator(self, name: str):
        paginator = self._s3.get_paginator(name)
        log = self

        class Recorded:
            def paginate(self, **args):
                log.listed.append(args["Prefix"])
                return paginator.paginate(**args)

        return Recorded()

    def get_object(self, **args):
        self.read.append(args["Key"])
        return self._s3.get_object(**args)

    def __getattr__(self, name: str):  # writes (the report) go through as they are
        return getattr(self._s3, name)


def test_a_models_check_reads_only_its_own_capture(aws, registry, model_tables):
    # Given two models' traffic in the capture bucket, partitioned by model as Firehose writes it
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture")
    registry.register("churn", "r1", {"artifact": {"key": "r1.onnx"}, "metrics": {"accuracy": 0.8}})
    at = datetime.now(UTC) + timedelta(seconds=1)
    for model in ("churn", "fraud", "fraud"):
        record = {"kind": "prediction", "model": model, "version": 1, "at": at.isoformat(timespec="milliseconds")}
        record |= {"inputs": [{"tenure_months": 3, "monthly_charges": 20.0, "plan": "pro"}], "outputs": [{"label": "yes"}]}
        s3.put_object(Bucket="capture", Key=f"{capture_reader.hour_prefixes(model, at, at)[0]}{uuid.uuid4().hex}", Body=json.dumps(record))

    # When churn is checked
    recorded = ReadLog(s3)
    checker = ModelChecker(recorded, registry, model_tables[0], {"capture": "capture", "data": "data", "artifacts": ARTIFACTS})
    report = checker.run("churn", spec(), now=at + timedelta(seconds=1))

    # Then it listed only churn's partition and read only churn's object
    assert report["drift"]["rows"] == 1
    assert recorded.listed and all(prefix.startswith("captured/model=churn/") for prefix in recorded.listed)
    captured = {key for key in recorded.read if key.startswith("captured/")}  # read by the drift and the performance pass
    assert len(captured) == 1 and captured.pop().startswith("captured/model=churn/")
