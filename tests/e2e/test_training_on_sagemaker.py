"""training.compute: sagemaker in local mode. The same data trained on Lambda and on SageMaker
training jobs (the search's trials as parallel jobs) gives byte-identical ONNX models and the same
metrics; the jobs leave their record, logs and model.tar.gz as SageMaker does; a job that fails
fails its run with the job's reason while the champion keeps serving."""

import copy

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset

SEARCH = [{"max_depth": 3, "n_estimators": 10}, {"max_depth": 8, "n_estimators": 40}]
JOB_LOGS = "/aws/sagemaker/TrainingJobs"


def spec(compute: str, **training) -> dict:
    body = copy.deepcopy(CHURN_SPEC)
    body["training"] = {"algorithm": "random_forest", "search": SEARCH, "compute": compute, **training}
    return body


@pytest.fixture(scope="module")
def trained_both_ways(local_stack, executions):
    data = synthetic_dataset(seed=23)
    finished = {}
    for compute in ("lambda", "sagemaker"):
        model = f"compute-{compute}"
        assert local_stack.api("PUT", f"models/{model}", spec(compute))[0] in (200, 201)
        execution = local_stack.train(executions, model, "same.csv", data)
        status, run = local_stack.api("GET", f"runs/{execution['name']}")
        assert execution["status"] == "SUCCEEDED", run.get("failure")
        finished[compute] = run
    return finished


def version_of(local_stack, model: str) -> dict:
    versions = local_stack.api("GET", f"models/{model}/versions")[1]
    return next(v for v in versions["versions"] if v["version"] == versions["aliases"]["champion"])


def test_lambda_and_sagemaker_give_byte_identical_onnx_and_the_same_metrics(local_stack, trained_both_ways):
    on_lambda, on_sagemaker = trained_both_ways["lambda"], trained_both_ways["sagemaker"]
    assert on_lambda["steps"]["train"]["compute"] == "lambda" and on_sagemaker["steps"]["train"]["compute"] == "sagemaker"
    assert on_sagemaker["steps"]["prepare"]["compute"]["reason"] == "training.compute is sagemaker"
    assert on_lambda["steps"]["export"]["sha256"] == on_sagemaker["steps"]["export"]["sha256"]
    assert on_lambda["metrics"] == on_sagemaker["metrics"]
    # The same trial won on both: the search's scores agree too.
    assert on_lambda["steps"]["search"]["best"].rsplit("-", 1)[1] == on_sagemaker["steps"]["search"]["best"].rsplit("-", 1)[1]
    assert version_of(local_stack, "compute-sagemaker")["artifact"]["sha256"] == on_lambda["steps"]["export"]["sha256"]


def test_the_jobs_leave_their_record_logs_and_output_as_sagemaker_does(local_stack, trained_both_ways):
    run = trained_both_ways["sagemaker"]
    sagemaker, logs, s3 = (local_stack.client(name) for name in ("sagemaker", "logs", "s3"))
    trials = [local_stack.api("GET", f"runs/{run['run_id']}-trial-{i}")[1] for i in range(len(SEARCH))]
    assert [t["steps"]["train"]["compute"] for t in trials] == ["sagemaker"] * len(SEARCH)
    names = [t["steps"]["train"]["job"]["name"] for t in trials]
    assert names == run["steps"]["trial_jobs"]["names"]
    names.append(run["steps"]["train"]["job"]["name"])
    assert names[-1] == run["steps"]["training_job"]["name"]
    for name in names:
        job = sagemaker.describe_training_job(TrainingJobName=name)
        assert job["TrainingJobStatus"] == "Completed" and job["AlgorithmSpecification"]["ContainerEntrypoint"][-1] == "mlops.training.job"
        assert job["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge" and job["BillableTimeInSeconds"] >= 1
        bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
        assert key.endswith(f"{name}/output/model.tar.gz") and s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
        stream = logs.describe_log_streams(logGroupName=JOB_LOGS, logStreamNamePrefix=f"{name}/algo-1-")["logStreams"][0]
        lines = [e["message"] for e in logs.get_log_events(logGroupName=JOB_LOGS, logStreamName=stream["logStreamName"])["events"]]
        assert "training job finished" in lines


def test_the_model_trained_on_sagemaker_serves_as_the_one_trained_on_lambda(local_stack, trained_both_ways):
    record = {"tenure_months": 3, "monthly_charges": 80.5, "support_calls": 4, "plan": "basic"}
    answers = {}
    for compute in ("lambda", "sagemaker"):
        status, answer = local_stack.api("POST", f"models/compute-{compute}/predict", {"records": [record]})
        assert status == 200, answer
        answers[compute] = answer["predictions"][0]
    assert answers["lambda"]["probabilities"] == answers["sagemaker"]["probabilities"]


def test_a_failing_job_fails_its_run_with_the_jobs_reason_and_the_champion_stays(local_stack, trained_both_ways, executions):
    champion = version_of(local_stack, "compute-sagemaker")["version"]
    broken = spec("sagemaker", search=[], hyperparameters={"n_estimators": -1})
    assert local_stack.api("PUT", "models/compute-sagemaker", broken)[0] in (200, 201)  # a new spec version
    execution = local_stack.train(executions, "compute-sagemaker", "again.csv", synthetic_dataset(seed=29))
    assert execution["status"] == "FAILED"
    run = local_stack.api("GET", f"runs/{execution['name']}")[1]
    assert run["failure"]["reason"].startswith("training job mlops-") and "Failed: " in run["failure"]["reason"]
    assert "n_estimators" in run["failure"]["reason"]
    assert version_of(local_stack, "compute-sagemaker")["version"] == champion
