"""Fits on SageMaker training jobs (training.compute) against moto: the staged requests, the job's
container contract (/opt/ml in, model.tar.gz out), and the same ONNX as the Lambda path."""

import io
import json
import tarfile
from pathlib import Path

import boto3
import pytest
from pydantic import ValidationError

from mlops.data.spec import ModelSpec
from mlops.training import compute, job, trainer, training_jobs
from tests.integration.conftest import ARTIFACTS
from tests.integration.test_training import spec_for, state_for


def run_job_as_sagemaker_does(request: dict, tmp_path: Path) -> dict:
    """What SageMaker does with a CreateTrainingJob request, in this process: the channel and the
    hyper-parameters into /opt/ml, the entry point's module, /opt/ml/model to model.tar.gz."""
    s3 = boto3.client("s3")
    root = tmp_path / request["TrainingJobName"]
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(request["HyperParameters"]))
    channel = request["InputDataConfig"][0]
    bucket, key = channel["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("s3://").split("/", 1)
    folder = root / "input" / "data" / channel["ChannelName"]
    folder.mkdir(parents=True)
    (folder / key.rsplit("/", 1)[-1]).write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    job.run(root, s3)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in sorted((root / "model").iterdir()):
            tar.add(path, arcname=path.name)
    output = f"{request['OutputDataConfig']['S3OutputPath']}/{request['TrainingJobName']}/output/model.tar.gz"
    out_bucket, out_key = output.removeprefix("s3://").split("/", 1)
    s3.put_object(Bucket=out_bucket, Key=out_key, Body=archive.getvalue())
    return {"name": request["TrainingJobName"], "model_artifacts": output, "billable_seconds": 1}


def fit_on_sagemaker(runs, state: dict, tmp_path: Path) -> dict:
    s3 = boto3.client("s3")
    runs.start(state["run_id"], "m", {})
    staged = training_jobs.stage(state, s3, ARTIFACTS, runs)
    if "trial_jobs" in staged:
        trials = []
        for trial in staged["trial_jobs"]:
            finished = run_job_as_sagemaker_does(trial["request"], tmp_path)
            trials.append(training_jobs.collect_trial({"state": staged, "trial": trial, "job": finished}, s3, runs))
        staged = training_jobs.stage({**staged, "trials": trials}, s3, ARTIFACTS, runs)
    finished = run_job_as_sagemaker_does(staged["training_job"], tmp_path)
    return training_jobs.collect_training({**staged, "training_job_result": finished}, s3, ARTIFACTS, runs)


@pytest.mark.parametrize(("task", "algorithm"), [("binary", "random_forest"), ("regression", "hist_gradient_boosting")])
def test_a_sagemaker_job_exports_the_same_onnx_bytes_as_the_lambda_step(runs, tmp_path, task, algorithm):
    s3 = boto3.client("s3")
    on_lambda = state_for(spec_for(task, algorithm), "lambda-run", task)
    runs.start("lambda-run", "m", {})
    on_lambda = trainer.export_onnx(trainer.train(on_lambda, s3, ARTIFACTS, runs), s3, ARTIFACTS, runs)
    on_sagemaker = fit_on_sagemaker(runs, {**on_lambda, "run_id": "sagemaker-run"}, tmp_path)
    assert on_sagemaker["training"]["compute"] == "sagemaker" and on_sagemaker["training"]["job"]["name"].endswith("-train")
    on_sagemaker = trainer.export_onnx({k: v for k, v in on_sagemaker.items() if k != "artifact"}, s3, ARTIFACTS, runs)
    assert on_sagemaker["artifact"]["sha256"] == on_lambda["artifact"]["sha256"]
    assert runs.get("sagemaker-run")["steps"]["train"]["compute"] == "sagemaker"


def test_the_search_runs_one_job_per_candidate_and_the_final_fit_takes_the_best(runs, tmp_path):
    spec = spec_for("binary", "random_forest").model_dump(mode="json")
    spec["training"]["search"] = [{"max_depth": 1, "n_estimators": 5}, {"max_depth": 8, "n_estimators": 30}]
    state = state_for(ModelSpec.model_validate(spec), "search-run", "binary", noise=0.0)
    fitted = fit_on_sagemaker(runs, state, tmp_path)
    assert fitted["best_trial"]["hyperparameters"] == {"max_depth": 8, "n_estimators": 30}
    assert fitted["training"]["hyperparameters"]["max_depth"] == 8
    trial = runs.get("search-run-trial-1")
    assert trial["status"] == "SUCCEEDED" and trial["steps"]["train"]["compute"] == "sagemaker"
    assert trial["steps"]["train"]["job"]["name"] == training_jobs.job_name("search-run", "trial-1")


def test_the_requests_carry_the_specs_machine_and_limits(runs):
    spec = spec_for("binary", "logistic_regression").model_dump(mode="json")
    spec["training"]["sagemaker"] = {"instance_type": "ml.c5.4xlarge", "volume_gb": 100, "max_runtime_minutes": 90, "spot": True}
    state = state_for(ModelSpec.model_validate(spec), "spot-run", "binary")
    runs.start("spot-run", "m", {})
    request = training_jobs.stage(state, boto3.client("s3"), ARTIFACTS, runs)["training_job"]
    assert request["ResourceConfig"] == {"InstanceType": "ml.c5.4xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 5400, "MaxWaitTimeInSeconds": 10800}
    assert request["EnableManagedSpotTraining"] is True
    assert request["CheckpointConfig"]["S3Uri"].startswith(f"s3://{ARTIFACTS}/runs/spot-run/jobs/")
    assert len(request["TrainingJobName"]) <= 63 and request["HyperParameters"] == {"kind": "train"}


def test_a_failing_job_writes_its_reason_where_sagemaker_reads_it(tmp_path, monkeypatch):
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"kind": "train"}))
    monkeypatch.setenv("OPT_ML_DIR", str(tmp_path))
    assert job.main() == 1  # no state channel
    assert (tmp_path / "output" / "failure").read_text().startswith("FileNotFoundError")


def test_a_restarted_spot_job_takes_its_checkpoint_instead_of_fitting_again(runs, tmp_path, monkeypatch):
    state = state_for(spec_for("binary", "logistic_regression"), "restart-run", "binary")
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / training_jobs.ESTIMATOR_FILE).write_bytes(b"fitted before the interruption")
    (checkpoints / training_jobs.TRAINING_FILE).write_text(json.dumps({"seconds": 1.0}))
    monkeypatch.setattr(trainer, "fit_final", lambda *_: pytest.fail("fitted again"))
    estimator, trained = job._fit_or_restore(checkpoints, state, boto3.client("s3"))
    assert estimator == b"fitted before the interruption" and trained == {"seconds": 1.0}


def test_auto_keeps_small_fits_on_lambda_and_sends_large_ones_to_sagemaker():
    spec = spec_for("binary", "random_forest")  # 3 features
    budget = compute.lambda_budget(spec)
    assert compute.choose(spec, budget // 3)["engine"] == "lambda"
    large = compute.choose(spec, budget // 3 + 1)
    assert large["engine"] == "sagemaker" and "over Lambda's budget" in large["reason"]
    forced = spec.model_copy(update={"training": spec.training.model_copy(update={"compute": "sagemaker"})})
    assert compute.choose(forced, 10)["engine"] == "sagemaker"


@pytest.mark.parametrize(
    ("machine", "field"),
    [
        ({"instance_count": 2}, "instance_count"),
        ({"max_wait_minutes": 200}, "spot"),
        ({"spot": True, "max_runtime_minutes": 60, "max_wait_minutes": 30}, "max_wait_minutes"),
        ({"instance_type": "m5.large"}, "instance_type"),
    ],
)
def test_a_machine_sagemaker_cannot_run_is_refused_naming_the_field(machine, field):
    spec = spec_for("binary", "logistic_regression").model_dump(mode="json")
    spec["training"]["sagemaker"] = machine
    with pytest.raises(ValidationError, match=field):
        ModelSpec.model_validate(spec)
