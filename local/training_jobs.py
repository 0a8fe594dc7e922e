"""SageMaker training jobs in local mode: Step Functions' createTrainingJob.sync, and the job itself.

- moto's Step Functions engine has no SageMaker integration. `SageMakerSyncTask` creates the job
  through SageMaker's API with the state machine's role (so its IAM is checked, iam:PassRole of the
  job's role included) and polls DescribeTrainingJob until the job ends, as Step Functions does. A
  job that fails or stops fails the Task with States.TaskFailed, the description as its cause.
- moto records a job as Completed at once and runs nothing. `TrainingJobRunner` runs it as
  SageMaker would: the image's ContainerEntrypoint (`python3 -m <module>`) as a process with the
  image's packages (the host build of the pinned requirements its Dockerfile installs) and the job
  role's IAM; its channels downloaded into an /opt/ml folder beside hyperparameters.json and
  resourceconfig.json; /opt/ml/model uploaded as S3OutputPath/<job>/output/model.tar.gz;
  /opt/ml/checkpoints restored from and saved to CheckpointConfig's S3Uri; its output lines in
  /aws/sagemaker/TrainingJobs, stream <job>/algo-1-<epoch>; its record moved from InProgress to
  Completed, or Failed with /opt/ml/output/failure as FailureReason, or Stopped past
  MaxRuntimeInSeconds. Every S3 and Logs call the job's side makes is checked against its role.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.exceptions import ClientError
from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import boto_client

from layers.build import build_host, runtime_site_dir
from local import iam
from local.assembly import StackArtifact
from local.intrinsics import REGION
from local.packages import TRAINING_IMAGE_REQUIREMENTS

WORKER_SCRIPT = Path(__file__).resolve().parent / "training_job_worker.py"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TERMINAL = {"Completed", "Failed", "Stopped"}
# The image's WORKDIR: the Lambda base image's LAMBDA_TASK_ROOT, where the Dockerfile copies functions/.
IMAGE_CODE_FOLDER = "functions"
_original_create = SageMakerModelBackend.create_training_job
_original_service_for = state_task_factory.state_task_service_for
_runner: TrainingJobRunner | None = None


class SageMakerSyncTask(StateTaskServiceCallback):
    """arn:aws:states:::sagemaker:createTrainingJob.sync"""

    def __init__(self) -> None:
        # moto's callback base needs a task-token endpoint for every pattern (it interrupts it when
        # the task ends); .waitForTaskToken itself is refused below, as AWS refuses it here.
        patterns: set[Any] = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
        super().__init__(supported_integration_patterns=patterns)

    def _get_supported_parameters(self) -> set[str] | None:
        if self.resource.api_action.lower() != "createtrainingjob" or self.resource.condition != ResourceCondition.Sync:
            return None  # refused when the definition is created, naming the resource
        return {
            "AlgorithmSpecification", "CheckpointConfig", "EnableManagedSpotTraining", "Environment", "HyperParameters",
            "InputDataConfig", "OutputDataConfig", "ResourceConfig", "RoleArn", "StoppingCondition", "Tags",
            "TrainingJobName", "VpcConfig", "EnableNetworkIsolation", "RetryStrategy",
        }  # fmt: skip

    def _client(self, resource_runtime_part: Any, state_credentials: Any) -> Any:
        return boto_client.boto_client_for(region=resource_runtime_part.region, service="sagemaker", state_credentials=state_credentials)

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        """A refused API call (a denied iam:PassRole, a name in use) is catchable, as in AWS."""
        if not isinstance(ex, ClientError):
            return super()._from_error(env, ex)
        error = "SageMaker.AmazonSageMakerException"
        cause = f"{ex.response['Error']['Message']} (Service: SageMaker, Error Code: {ex.response['Error']['Code']})"
        details = TaskFailedEventDetails(
            error=error, cause=cause, resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type()
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=cast(EventDetails, {"taskFailedEventDetails": details}),
        )

    def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any) -> None:
        self._client(resource_runtime_part, state_credentials).create_training_job(**normalised_parameters)
        env.stack.append({"TrainingJobName": normalised_parameters["TrainingJobName"]})

    def _build_sync_resolver(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any
    ) -> Callable[[], Any]:
        name = env.stack.pop()["TrainingJobName"]
        client = self._client(resource_runtime_part, state_credentials)

        def resolve() -> dict[str, Any] | None:
            job = client.describe_training_job(TrainingJobName=name)
            job.pop("ResponseMetadata", None)
            if job["TrainingJobStatus"] not in TERMINAL:
                return None
            described = json.loads(json.dumps(job, default=_timestamp))
            if job["TrainingJobStatus"] == "Completed":
                return described
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=cast(
                        EventDetails,
                        {
                            "taskFailedEventDetails": TaskFailedEventDetails(
                                resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type(),
                                error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                cause=json.dumps(described),
                            )
                        },
                    ),
                )
            )

        return resolve


def _timestamp(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _text(value: str | bytes | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def _record(job: FakeTrainingJob, **fields: Any) -> None:
    """Sets fields of moto's job record; DescribeTrainingJob answers every attribute, CamelCased."""
    for name, value in fields.items():
        setattr(job, name, value)


def _service_for(service_name: str) -> Any:
    return SageMakerSyncTask() if service_name == "sagemaker" else _original_service_for(service_name)


def _create_and_run(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> FakeTrainingJob:
    job = _original_create(self, *args, **kwargs)
    if _runner is not None:
        _runner.start(job)
    return job


@dataclasses.dataclass
class TrainingJobRunner:
    """Runs the jobs moto records, with what the deployed stack gives them."""

    stack: StackArtifact
    endpoint_url: str
    authorizer: Callable[[str, str], iam.Authorizer]  # (role ARN, job name) -> what its calls may touch
    _threads: list[threading.Thread] = dataclasses.field(default_factory=list)

    def start(self, job: FakeTrainingJob) -> None:
        _record(job, training_job_status="InProgress", secondary_status="Starting", training_end_time=None)
        thread = threading.Thread(target=self._run, args=(job,), daemon=True, name=f"training-job-{job.training_job_name}")
        self._threads.append(thread)
        thread.start()

    def _clients(self, authorizer: iam.Authorizer) -> tuple[Any, Any]:
        """S3 and Logs as SageMaker uses them for the job: with the job's role."""
        made = []
        for service in ("s3", "logs"):
            client = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            iam.install(client.meta.events, authorizer)
            made.append(client)
        return made[0], made[1]

    def _run(self, job: FakeTrainingJob) -> None:
        started = time.monotonic()
        authorizer = self.authorizer(job.role_arn, job.training_job_name)
        s3, logs = self._clients(authorizer)
        stream = f"{job.training_job_name}/algo-1-{int(time.time())}"
        with tempfile.TemporaryDirectory(prefix="opt-ml-") as folder:
            root = Path(folder)
            try:
                code_dir, site_dirs = self._image(job.algorithm_specification["TrainingImage"])
                self._prepare(job, root, s3)
                job.secondary_status = "Training"
                status, reason, lines = self._execute(job, root, code_dir, site_dirs, authorizer)
                if status == "Completed":
                    self._upload_model(job, root, s3)
                self._save_checkpoints(job, root, s3)
            except Exception as error:  # the platform's side failed: reported as SageMaker would, on the job
                status, reason, lines = "Failed", f"ClientError: {error}", [f"local mode: {error}"]
            self._write_logs(logs, stream, lines)
        seconds = max(1, round(time.monotonic() - started))
        now = datetime.now(UTC)
        _record(
            job,
            training_job_status=status,
            secondary_status="MaxRuntimeExceeded" if status == "Stopped" else status,
            failure_reason=reason,
            training_end_time=now,
            last_modified_time=now,
            training_time_in_seconds=seconds,
            billable_time_in_seconds=seconds,
            final_metric_data_list=[],
        )

    def _image(self, image_uri: str) -> tuple[Path, tuple[Path, ...]]:
        """The image's code folder and packages, found by the asset hash its URI is tagged with."""
        tag = image_uri.rsplit(":", 1)[-1]
        manifest = json.loads((self.stack.outdir / f"{self.stack.name}.assets.json").read_text())
        image = manifest.get("dockerImages", {}).get(tag)
        if image is None:
            raise RuntimeError(f"CannotStartContainerError: image {image_uri} is not an image asset of this stack")
        context = self.stack.outdir / image["source"]["directory"]
        return context / IMAGE_CODE_FOLDER, (build_host(context / TRAINING_IMAGE_REQUIREMENTS), runtime_site_dir())

    def _prepare(self, job: FakeTrainingJob, root: Path, s3: Any) -> None:
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (config / "hyperparameters.json").write_text(json.dumps(job.hyper_parameters or {}))
        (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
        (config / "inputdataconfig.json").write_text(json.dumps({c["ChannelName"]: {} for c in job.input_data_config}))
        for channel in job.input_data_config:
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            self._download_prefix(s3, uri, root / "input" / "data" / channel["ChannelName"])
        checkpoint_uri = (job.checkpoint_config or {}).get("S3Uri")
        if checkpoint_uri:
            self._download_prefix(s3, checkpoint_uri, root / "checkpoints")
        for folder in ("model", "output", "checkpoints"):
            (root / folder).mkdir(exist_ok=True)

    @staticmethod
    def _download_prefix(s3: Any, uri: str, folder: Path) -> None:
        """Every object under an S3 prefix into a folder, named by what follows the prefix's last '/'."""
        bucket, prefix = uri.removeprefix("s3://").split("/", 1)
        base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        folder.mkdir(parents=True, exist_ok=True)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                target = folder / item["Key"][len(base) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())

    def _execute(
        self, job: FakeTrainingJob, root: Path, code_dir: Path, site_dirs: tuple[Path, ...], authorizer: iam.Authorizer
    ) -> tuple[str, str | None, list[str]]:
        entrypoint = job.algorithm_specification.get("ContainerEntrypoint") or []
        if len(entrypoint) != 3 or entrypoint[:2] != ["python3", "-m"]:
            raise RuntimeError(f"local mode runs a ContainerEntrypoint of the form python3 -m <module>, not {entrypoint}")
        policy = Path(root.parent) / f"{root.name}-iam.json"
        policy.write_text(json.dumps(dataclasses.asdict(authorizer)))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "OPT_ML_DIR": str(root),
            "TRAINING_JOB_NAME": job.training_job_name,
            "TRAINING_JOB_ARN": job.arn,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "LOCAL_CODE_DIR": str(code_dir),
            "LOCAL_PYTHON_PATH": os.pathsep.join(str(path) for path in site_dirs),
            "LOCAL_IAM_FILE": str(policy),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        limit = int((job.stopping_condition or {}).get("MaxRuntimeInSeconds", 86400))
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-S", "-B", str(WORKER_SCRIPT), entrypoint[2]],
                env=env,
                cwd=code_dir,
                capture_output=True,
                text=True,
                timeout=limit,
            )
        except subprocess.TimeoutExpired as expired:
            output = _text(expired.stdout) + _text(expired.stderr)
            return "Stopped", None, [*output.splitlines(), f"Training job stopped: MaxRuntimeInSeconds ({limit}) exceeded"]
        finally:
            policy.unlink(missing_ok=True)
        lines = (done.stdout + done.stderr).splitlines()
        if done.returncode == 0:
            return "Completed", None, lines
        failure = root / "output" / "failure"
        reason = failure.read_text().strip() if failure.is_file() else f"AlgorithmError: exit code {done.returncode}"
        return "Failed", reason, lines

    @staticmethod
    def _upload_model(job: FakeTrainingJob, root: Path, s3: Any) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted((root / "model").rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=str(path.relative_to(root / "model")))
        bucket, key = job.model_artifacts["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())

    @staticmethod
    def _save_checkpoints(job: FakeTrainingJob, root: Path, s3: Any) -> None:
        uri = (job.checkpoint_config or {}).get("S3Uri")
        if not uri:
            return
        bucket, prefix = uri.removeprefix("s3://").split("/", 1)
        for path in sorted((root / "checkpoints").rglob("*")):
            if path.is_file():
                s3.put_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/{path.relative_to(root / 'checkpoints')}", Body=path.read_bytes())

    @staticmethod
    def _write_logs(logs: Any, stream: str, lines: list[str]) -> None:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=LOG_GROUP)
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines if line] or [{"timestamp": now, "message": "(no output)"}]
        for start in range(0, len(events), 5000):
            logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events[start : start + 5000])


def install(runner: TrainingJobRunner) -> None:
    global _runner
    _runner = runner
    SageMakerModelBackend.create_training_job = _create_and_run  # type: ignore[method-assign]
    state_task_factory.state_task_service_for = _service_for


def uninstall() -> None:
    global _runner
    _runner = None
    SageMakerModelBackend.create_training_job = _original_create  # type: ignore[method-assign]
    state_task_factory.state_task_service_for = _original_service_for
