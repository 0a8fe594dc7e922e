"""A run's fits as SageMaker training jobs: the requests the pipeline's tasks send, and what the
finished jobs leave in S3 read back into the run.

The pipeline stages the jobs (writes the state they read and builds each CreateTrainingJob
request), Step Functions runs them with its `createTrainingJob.sync` integration, and a collect
step reads `model.tar.gz` from where SageMaker put it. The job itself runs the training image's
`mlops.training.job` module, the same fitting code the Lambda path calls.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

from mlops.data.spec import ModelSpec
from mlops.training import compute, trainer
from mlops.training.runs import RunStore

STATE_CHANNEL = "state"
STATE_FILE = "state.json"
ESTIMATOR_FILE = "estimator.pkl"
TRAINING_FILE = "training.json"
TRIAL_FILE = "trial.json"
JOB_NAME_PREFIX = "mlops-"
# Spot training without max_wait_minutes waits for capacity as long again as it may run.
DEFAULT_SPOT_WAIT_FACTOR = 2


def job_name(run_id: str, kind: str) -> str:
    """SageMaker's names: at most 63 of [a-zA-Z0-9-], never reused in an account and region."""
    return f"{JOB_NAME_PREFIX}{hashlib.sha256(run_id.encode()).hexdigest()[:20]}-{kind}"


def jobs_folder(bucket: str, run_id: str) -> str:
    return f"s3://{bucket}/runs/{run_id}/jobs"


def stage(state: dict[str, Any], s3: Any, bucket: str, runs: RunStore) -> dict[str, Any]:
    """The next jobs of a run on SageMaker: the search's trials (one job each, run in parallel by
    the pipeline's Map) while a search has not run, else the final fit with the best trial's
    parameters. Writes the state the jobs read (their `state` channel). The job's role, image and
    entry point are the stack's, in the state machine's definition."""
    spec = ModelSpec.model_validate(state["spec"])
    if spec.training.search and "trials" not in state:
        state_uri = _write_state(s3, bucket, state, "trials")
        jobs: list[dict[str, Any]] = [
            {
                "index": index,
                "hyperparameters": candidate,
                "request": _request(
                    state,
                    spec,
                    f"trial-{index}",
                    {"index": str(index), "hyperparameters": json.dumps(candidate)},
                    state_uri,
                ),
            }
            for index, candidate in enumerate(spec.training.search)
        ]
        runs.record_step(state["run_id"], "trial_jobs", {"names": [job["request"]["TrainingJobName"] for job in jobs]})
        return {**state, "trial_jobs": jobs}
    if "trials" in state:
        state = trainer.select_trial({k: v for k, v in state.items() if k != "trial_jobs"}, runs)
    request = _request(state, spec, "train", {}, _write_state(s3, bucket, state, "train"))
    runs.record_step(state["run_id"], "training_job", {"name": request["TrainingJobName"], "resources": request["ResourceConfig"]})
    return {**state, "training_job": request}


def _write_state(s3: Any, bucket: str, state: dict[str, Any], kind: str) -> str:
    key = f"runs/{state['run_id']}/jobs/{kind}-input/{STATE_FILE}"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(state).encode())
    return f"s3://{bucket}/{key}"


def _request(state: dict[str, Any], spec: ModelSpec, kind: str, hyperparameters: dict[str, str], state_uri: str) -> dict[str, Any]:
    """What varies in a CreateTrainingJob request: the job, its input and output, and its
    resources and limits from the spec's training.sagemaker."""
    machine = spec.training.sagemaker
    name = job_name(state["run_id"], kind)
    folder = jobs_folder(state_uri.split("/")[2], state["run_id"])
    stopping = {"MaxRuntimeInSeconds": machine.max_runtime_minutes * 60}
    if machine.spot:
        stopping["MaxWaitTimeInSeconds"] = (machine.max_wait_minutes or machine.max_runtime_minutes * DEFAULT_SPOT_WAIT_FACTOR) * 60
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": state_uri, "S3DataDistributionType": "FullyReplicated"}}
    return {
        "TrainingJobName": name,
        "HyperParameters": {"kind": "trial" if kind.startswith("trial") else "train", **hyperparameters},
        "InputDataConfig": [{"ChannelName": STATE_CHANNEL, "DataSource": channel}],
        "OutputDataConfig": {"S3OutputPath": folder},
        "ResourceConfig": {
            "InstanceType": machine.instance_type,
            "InstanceCount": machine.instance_count,
            "VolumeSizeInGB": machine.volume_gb,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": machine.spot,
        "CheckpointConfig": {"S3Uri": f"{folder}/{name}/checkpoints"},
        "Tags": [{"Key": "mlops:model", "Value": state["model"]}, {"Key": "mlops:run", "Value": state["run_id"]}],
    }


def read_output(s3: Any, model_artifacts: str) -> dict[str, bytes]:
    """The files of a job's model.tar.gz (what it left in /opt/ml/model), by name."""
    bucket, key = model_artifacts.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        return {member.name.removeprefix("./"): archive.extractfile(member).read() for member in archive if member.isfile()}  # type: ignore[union-attr]


def _job_summary(job: dict[str, Any]) -> dict[str, Any]:
    return {"name": job["name"], "billable_seconds": job.get("billable_seconds"), "model_artifacts": job["model_artifacts"]}


def collect_training(state: dict[str, Any], s3: Any, bucket: str, runs: RunStore) -> dict[str, Any]:
    """The final fit's estimator, from its job's output to where the export step reads it."""
    job = state["training_job_result"]
    files = read_output(s3, job["model_artifacts"])
    trained = {**json.loads(files[TRAINING_FILE]), "compute": compute.SAGEMAKER, "job": _job_summary(job)}
    rest = {k: v for k, v in state.items() if k not in ("training_job", "training_job_result")}
    return trainer.record_training(rest, s3, bucket, runs, files[ESTIMATOR_FILE], trained)


def collect_trial(item: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """A trial job's validation scores, recorded as the Lambda path's trial run is."""
    trial, job = item["trial"], item["job"]
    fitted = json.loads(read_output(s3, job["model_artifacts"])[TRIAL_FILE])
    fitted = {**fitted, "compute": compute.SAGEMAKER, "job": _job_summary(job)}
    return trainer.record_trial(item["state"], trial["index"], trial["hyperparameters"], fitted, runs)
