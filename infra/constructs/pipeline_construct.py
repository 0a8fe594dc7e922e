"""The training pipeline: its step Lambdas, the state machine (ASL next to this file) and its trigger."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.function_factory import FunctionFactory, log_group
from infra.constructs.storage_construct import StorageConstruct
from mlops import settings as env
from mlops.settings import DATASETS_PREFIX

ASL_FILE = Path(__file__).resolve().parent.parent / "statemachines" / "training_pipeline.asl.json"


class PipelineConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        storage: StorageConstruct,
        functions: FunctionFactory,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self.steps = self._build_steps(functions, topic)
        self.state_machine = self._build_state_machine()
        self.dead_letter_queue = dead_letter_queue(self, "TriggerDeadLetters")
        self.trigger_rule = self._build_trigger()

    def _build_steps(self, functions: FunctionFactory, topic: sns.ITopic) -> dict[str, lambda_.Function]:
        storage = self._storage
        runs = {env.ENV_RUNS_TABLE: storage.runs_table.table_name}
        data = {env.ENV_DATA_BUCKET: storage.data_bucket.bucket_name}
        artifacts = {env.ENV_ARTIFACTS_BUCKET: storage.artifacts_bucket.bucket_name}
        steps: dict[str, lambda_.Function] = {
            "Ingest": functions.zip_function(self, "Ingest", "handle_ingest", {**runs, **data}),
            "Validate": functions.zip_function(self, "Validate", "handle_validate", runs, timeout=Duration.minutes(15)),
            "Version": functions.zip_function(self, "Version", "handle_version", runs, timeout=Duration.minutes(15)),
            "Split": functions.zip_function(self, "Split", "handle_split", runs, memory_mb=2048, timeout=Duration.minutes(15)),
            "Train": functions.image_function(self, "Train", "handle_train", {**runs, **artifacts}),
            "ExportOnnx": functions.image_function(self, "ExportOnnx", "handle_export_onnx", {**runs, **artifacts}),
            "Evaluate": functions.image_function(self, "Evaluate", "handle_evaluate", runs),
            "Register": functions.zip_function(
                self,
                "Register",
                "handle_register",
                {
                    **runs,
                    env.ENV_MODELS_TABLE: storage.models_table.table_name,
                    env.ENV_AUDIT_TABLE: storage.audit_table.table_name,
                },
            ),
            "RecordFailure": functions.zip_function(
                self, "RecordFailure", "handle_record_failure", {**runs, env.ENV_NOTIFICATION_TOPIC_ARN: topic.topic_arn}
            ),
        }
        for step in steps.values():
            storage.runs_table.grant_read_write_data(step)
        storage.data_bucket.grant_read(steps["Ingest"])
        storage.data_bucket.grant_read(steps["Validate"])
        storage.data_bucket.grant_read_write(steps["Version"])
        storage.data_bucket.grant_read_write(steps["Split"])
        for name in ("Train", "ExportOnnx", "Evaluate"):
            storage.data_bucket.grant_read(steps[name])
            storage.artifacts_bucket.grant_read_write(steps[name])
        storage.models_table.grant_read_write_data(steps["Register"])
        storage.audit_table.grant_write_data(steps["Register"])
        topic.grant_publish(steps["RecordFailure"])
        return steps

    def _build_state_machine(self) -> sfn.StateMachine:
        execution_logs = log_group(self, "TrainingPipelineLogs")
        state_machine = sfn.StateMachine(
            self,
            "TrainingPipeline",
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions={f"{name}FunctionArn": fn.function_arn for name, fn in self.steps.items()},
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=execution_logs, level=sfn.LogLevel.ALL, include_execution_data=True),
            timeout=Duration.hours(2),
        )
        for step in self.steps.values():
            step.grant_invoke(state_machine)
        return state_machine

    def _build_trigger(self) -> events.Rule:
        """S3 'Object Created' under datasets/ in the data bucket -> one pipeline execution."""
        rule = events.Rule(
            self,
            "DatasetUploaded",
            description="A dataset upload starts the training pipeline",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self._storage.data_bucket.bucket_name]},
                    "object": {"key": [{"prefix": DATASETS_PREFIX}]},
                },
            ),
        )
        rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=3,
                max_event_age=Duration.hours(2),
            )
        )
        return rule
