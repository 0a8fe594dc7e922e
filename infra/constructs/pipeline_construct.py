"""The training pipeline: its step Lambdas, the state machine (ASL next to this file) and its trigger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.distributed_map import grant_child_executions, machine_name
from infra.constructs.function_factory import FunctionFactory, log_group
from infra.constructs.storage_construct import StorageConstruct
from infra.constructs.training_jobs_construct import TrainingJobsConstruct
from infra.nag import acknowledge_objects, grant_describe_executions
from mlops.shared import settings as env
from mlops.shared.settings import DATASETS_PREFIX

ASL_FILE = Path(__file__).resolve().parent.parent / "statemachines" / "training_pipeline.asl.json"


class PipelineConstruct(Construct):
    # Long enough for a person to approve: AwaitApproval waits up to spec.gates.approval_timeout_seconds (7 days at most).
    TIMEOUT = Duration.days(8)

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        storage: StorageConstruct,
        functions: FunctionFactory,
        topic: sns.ITopic,
        rollout: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self.training_jobs = TrainingJobsConstruct(self, "TrainingJobs", storage)
        self.steps = self._build_steps(functions, topic)
        # A version that becomes challenger starts its rollout.
        functions.add_environment(self.steps["Register"], env.ENV_ROLLOUT_ARN, rollout.state_machine_arn)
        rollout.grant_start_execution(self.steps["Register"])
        self.state_machine = self._build_state_machine()
        # Events EventBridge could not deliver, and invocations that failed after Lambda's retries.
        self.dead_letter_queue = dead_letter_queue(self, "TriggerDeadLetters")
        self.trigger_rule = self._build_trigger(functions)
        self.execution_ended = self._build_execution_ended(functions, topic)

    def _build_steps(self, functions: FunctionFactory, topic: sns.ITopic) -> dict[str, lambda_.Function]:
        storage = self._storage
        runs = {env.ENV_RUNS_TABLE: storage.runs_table.table_name}
        data = {env.ENV_DATA_BUCKET: storage.data_bucket.bucket_name}
        models = {env.ENV_MODELS_TABLE: storage.models_table.table_name}
        artifacts = {env.ENV_ARTIFACTS_BUCKET: storage.artifacts_bucket.bucket_name}
        audit = {env.ENV_AUDIT_TABLE: storage.audit_table.table_name}
        task = "the training pipeline's state machine, as a synchronous Task that retries and catches its errors"
        trial = f"{task}; the trials' Map runs at most 4 at once per execution"
        long_running: dict[str, Any] = {"timeout": Duration.minutes(15), "memory_mb": 2048}
        # Validation and preparation stream the data through /tmp and use numpy (the serving layer);
        # the steps that turn a Parquet upload into its plain CSV read it with DuckDB (the tables layer).
        streaming: dict[str, Any] = {**long_running, "layers": ("common", "serving"), "ephemeral_storage_mb": 4096}
        staging: dict[str, Any] = {**streaming, "layers": ("common", "serving", "tables")}
        steps: dict[str, lambda_.Function] = {
            "Ingest": functions.zip_function(self, "Ingest", "handle_ingest", {**runs, **data, **models}, task),
            "Validate": functions.zip_function(self, "Validate", "handle_validate", {**runs, **artifacts}, task, **staging),
            **self._distributed_validation_steps(functions, {**runs, **artifacts}, task, streaming, staging),
            "Version": functions.zip_function(self, "Version", "handle_version", {**runs, **models}, task),
            "Prepare": functions.zip_function(self, "Prepare", "handle_prepare", {**runs, **models}, task, **streaming),
            "TrainTrial": functions.image_function(self, "TrainTrial", "handle_train_trial", runs, trial),
            "Train": functions.image_function(self, "Train", "handle_train", {**runs, **artifacts}, task),
            **self._training_job_steps(functions, {**runs, **artifacts}, task),
            "ExportOnnx": functions.image_function(self, "ExportOnnx", "handle_export_onnx", {**runs, **artifacts}, task),
            # A model trained elsewhere (POST /models/{model}/versions) stands in for search, training and export.
            "ImportModel": functions.image_function(self, "ImportModel", "handle_import_model", {**runs, **artifacts}, task),
            "Evaluate": functions.image_function(self, "Evaluate", "handle_evaluate", {**runs, **models}, task),
            "RequestApproval": functions.zip_function(self, "RequestApproval", "handle_request_approval", {**models, **audit}, task),
            "Register": functions.zip_function(self, "Register", "handle_register", {**runs, **models, **audit}, task),
            "RecordSkipped": functions.zip_function(self, "RecordSkipped", "handle_record_skipped", runs, task),
            "RecordFailure": functions.zip_function(
                self,
                "RecordFailure",
                "handle_record_failure",
                {**runs, **artifacts, env.ENV_NOTIFICATION_TOPIC_ARN: topic.topic_arn},
                task,
            ),
        }
        for name, step in steps.items():
            if name != "ValidateChunk":  # a chunk answers to the map, not to the run
                storage.runs_table.grant_read_write_data(step)
        for name in ("Ingest", "TrainTrial", "Train", "ExportOnnx", "ImportModel", "Evaluate"):
            storage.data_bucket.grant_read(steps[name])
        for name in ("Validate", "MergeValidation", "Version", "Prepare", "RecordFailure"):
            storage.data_bucket.grant_read_write(steps[name])
        for name in ("PlanValidation", "ValidateChunk"):
            storage.data_bucket.grant_read(steps[name])
        for name in (
            "Validate",  # a compressed or Parquet upload's plain form is staged among the run's working files
            "PlanValidation",
            "ValidateChunk",
            "MergeValidation",
            "Train",
            "StageTrainingJobs",
            "CollectTrainingJob",
            "CollectTrialJob",
            "ExportOnnx",
            "ImportModel",
            "Evaluate",
            "RecordFailure",
        ):
            storage.artifacts_bucket.grant_read_write(steps[name])
        storage.models_table.grant_read_data(steps["Ingest"])
        storage.models_table.grant_read_data(steps["Evaluate"])
        for name in ("Version", "Prepare", "Register", "RequestApproval"):
            storage.models_table.grant_read_write_data(steps[name])
        storage.audit_table.grant_write_data(steps["Register"])
        storage.audit_table.grant_write_data(steps["RequestApproval"])
        topic.grant_publish(steps["RecordFailure"])
        return steps

    def _distributed_validation_steps(
        self, functions: FunctionFactory, variables: dict[str, str], task: str, streaming: dict[str, Any], staging: dict[str, Any]
    ) -> dict[str, lambda_.Function]:
        """An upload past the single Validate's budget: planned, validated chunk by chunk in a
        Distributed Map, merged. Each streams through /tmp like Validate."""
        chunk = "the training pipeline's validation Distributed Map, as a synchronous Task, at most 40 chunks at once per execution"
        return {
            "PlanValidation": functions.zip_function(self, "PlanValidation", "handle_plan_validation", variables, task, **staging),
            "ValidateChunk": functions.zip_function(self, "ValidateChunk", "handle_validate_chunk", {}, chunk, **streaming),
            # It holds every row's 8-byte digest to count duplicates across chunks: 3,008 MB.
            "MergeValidation": functions.zip_function(
                self, "MergeValidation", "handle_merge_validation", variables, task, **{**streaming, "memory_mb": 3008}
            ),
        }

    def _training_job_steps(self, functions: FunctionFactory, variables: dict[str, str], task: str) -> dict[str, lambda_.Function]:
        """The steps around the SageMaker jobs: stage their input and requests, read their output.
        Small and short: they only move JSON and the estimator between S3 and the run."""
        short: dict[str, Any] = {"timeout": Duration.minutes(5), "memory_mb": 1024}
        trial = f"{task}; inside the trial jobs' Map, at most 10 at once per execution"
        return {
            "StageTrainingJobs": functions.image_function(
                self, "StageTrainingJobs", "handle_stage_training_jobs", variables, task, **short
            ),
            "CollectTrainingJob": functions.image_function(
                self, "CollectTrainingJob", "handle_collect_training_job", variables, task, **short
            ),
            "CollectTrialJob": functions.image_function(self, "CollectTrialJob", "handle_collect_trial_job", variables, trial, **short),
        }

    def _build_state_machine(self) -> sfn.StateMachine:
        execution_logs = log_group(self, "TrainingPipelineLogs")
        name = machine_name(self, "TrainingPipeline")  # its validation's Distributed Map starts it by name
        state_machine = sfn.StateMachine(
            self,
            "TrainingPipeline",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions={
                **{f"{name}FunctionArn": fn.function_arn for name, fn in self.steps.items()},
                "TrainingJobRoleArn": self.training_jobs.role.role_arn,
                "TrainingJobImage": self.training_jobs.image.image_uri,
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=execution_logs, level=sfn.LogLevel.ALL, include_execution_data=True),
            timeout=self.TIMEOUT,
        )
        for step in self.steps.values():
            step.grant_invoke(state_machine)
        self.training_jobs.grant_run_jobs(state_machine)
        grant_child_executions(state_machine, name)
        # The Distributed Map reads its items, the chunk list PlanValidation writes, with this role.
        artifacts = self._storage.artifacts_bucket
        artifacts.grant_read(state_machine, "runs/*/validation/chunks.json")
        reason = "The validation's Distributed Map reads the chunk list each run's PlanValidation writes."
        acknowledge_objects(state_machine, artifacts, "runs/*/validation/chunks.json", reason)
        return state_machine

    def grant_start_run(self, grantee: iam.IGrantable) -> None:
        """Start a named run, and look it up first: a redelivered event finds the run it started."""
        self.state_machine.grant_start_execution(grantee)
        reason = "Describing the training pipeline's own executions by name (duplicate-start detection)."
        grant_describe_executions(self.state_machine, grantee, Stack.of(self), reason)

    def _build_execution_ended(self, functions: FunctionFactory, topic: sns.ITopic) -> lambda_.Function:
        """An execution that ends FAILED, TIMED_OUT or ABORTED without its own endings running (a
        terminal error such as States.DataLimitExceeded passes every Catch) still ends its run."""
        storage = self._storage
        function = functions.zip_function(
            self,
            "ExecutionEnded",
            "handle_execution_ended",
            {env.ENV_RUNS_TABLE: storage.runs_table.table_name, env.ENV_NOTIFICATION_TOPIC_ARN: topic.topic_arn},
            "EventBridge, asynchronously, when a training pipeline execution ends FAILED, TIMED_OUT or ABORTED",
            dead_letters=self.dead_letter_queue,
        )
        storage.runs_table.grant_read_write_data(function)
        topic.grant_publish(function)
        pattern = events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [self.state_machine.state_machine_arn]},
        )
        self._route("ExecutionEndedRule", "A training pipeline execution ended FAILED, TIMED_OUT or ABORTED", pattern, function, hours=6)
        return function

    def _route(
        self, construct_id: str, description: str, pattern: events.EventPattern, function: lambda_.Function, hours: int
    ) -> events.Rule:
        """A rule to one function, retried and dead-lettered like every delivery of the pipeline."""
        rule = events.Rule(self, construct_id, description=description, event_pattern=pattern)
        rule.add_target(
            targets.LambdaFunction(
                function, dead_letter_queue=self.dead_letter_queue, retry_attempts=3, max_event_age=Duration.hours(hours)
            )
        )
        return rule

    def _build_trigger(self, functions: FunctionFactory) -> events.Rule:
        """S3 'Object Created' under datasets/ -> StartRun, which names the execution after the upload
        so that EventBridge's at-least-once delivery still starts one run per upload."""
        self.start_run = functions.zip_function(
            self,
            "StartRun",
            "handle_start_run",
            {env.ENV_TRAINING_PIPELINE_ARN: self.state_machine.state_machine_arn},
            "EventBridge, asynchronously, once per dataset uploaded (it only starts an execution named after the upload)",
            dead_letters=self.dead_letter_queue,
        )
        self.grant_start_run(self.start_run)
        pattern = events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={"bucket": {"name": [self._storage.data_bucket.bucket_name]}, "object": {"key": [{"prefix": DATASETS_PREFIX}]}},
        )
        return self._route("DatasetUploaded", "A dataset upload starts the training pipeline", pattern, self.start_run, hours=2)
