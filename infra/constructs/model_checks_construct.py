"""Model checks and automated retraining: two event-driven functions and their rules.

ModelCheckDue (from the scheduled checks) -> ModelCheck: drift and performance of one model, its
report, metrics, alarms and dashboard. DriftDetected / PerformanceDecayed -> Retrain: a guarded
run of the training pipeline. Both rules deliver with retries and a dead-letter queue.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.pipeline_construct import PipelineConstruct
from infra.constructs.storage_construct import StorageConstruct
from infra.nag import acknowledge, acknowledge_objects, arn_in_finding
from infra.stages import ReservedConcurrency
from mlops.monitoring import checks, schedule
from mlops.shared import settings as env
from mlops.shared.settings import MODELS_PREFIX
from mlops.training import reference


class ModelChecksConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        storage: StorageConstruct,
        functions: FunctionFactory,
        topic: sns.ITopic,
        pipeline: PipelineConstruct,
        concurrency: ReservedConcurrency | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Each queue holds its rule's undelivered events and its function's failed invocations.
        check_due, findings = dead_letter_queue(self, "ModelCheckDueDeadLetters"), dead_letter_queue(self, "FindingsRetrainDeadLetters")
        self.dead_letter_queues: list[sqs.Queue] = [check_due, findings]
        self.check_function = self._build_check_function(storage, functions, topic, check_due, concurrency)
        self.retrain_function = self._build_retrain_function(storage, functions, pipeline, findings, concurrency)
        self._route(schedule.CHECK_DUE, "ModelCheckDue", self.check_function, check_due, "A model's checks are due")
        self._route(
            list(schedule.FINDINGS),
            "FindingsRetrain",
            self.retrain_function,
            findings,
            "Drift, decay or estimated decay starts a guarded retraining run",
        )

    def _build_check_function(
        self,
        storage: StorageConstruct,
        functions: FunctionFactory,
        topic: sns.ITopic,
        dead_letters: sqs.IQueue,
        concurrency: ReservedConcurrency | None,
    ) -> lambda_.Function:
        function = functions.zip_function(
            self,
            schedule.CHECK_SERVICE,
            "handle_model_check",
            {
                env.ENV_MODELS_TABLE: storage.models_table.table_name,
                env.ENV_AUDIT_TABLE: storage.audit_table.table_name,
                env.ENV_DATA_BUCKET: storage.data_bucket.bucket_name,
                env.ENV_CAPTURE_BUCKET: storage.capture_bucket.bucket_name,
                env.ENV_ARTIFACTS_BUCKET: storage.artifacts_bucket.bucket_name,
                env.ENV_NOTIFICATION_TOPIC_ARN: topic.topic_arn,
            },
            "EventBridge, asynchronously, once per model whose checks are due (ModelCheckDue from the scheduled checks)",
            layers=("common", "serving"),  # numpy for the statistics
            memory_mb=2048,
            timeout=Duration.minutes(15),
            dead_letters=dead_letters,
            reserved_concurrency=concurrency.checks if concurrency else None,
        )
        storage.models_table.grant_read_write_data(function)
        storage.data_bucket.grant_read(function)
        storage.capture_bucket.grant_read(function)
        storage.artifacts_bucket.grant_put(function, f"{checks.REPORTS_PREFIX}*")
        storage.artifacts_bucket.grant_read(function, f"{checks.REPORTS_PREFIX}*")
        # Each version's monitoring reference and loss models, written beside it by Evaluate.
        for pattern in reference.READ_BY_CHECKS:
            storage.artifacts_bucket.grant_read(function, f"{MODELS_PREFIX}{pattern}")
        stack = Stack.of(self)
        prefix = checks.ALARM_PREFIX
        alarms = f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{prefix}*"
        dashboards = f"arn:{stack.partition}:cloudwatch::{stack.account}:dashboard/{prefix}*"
        function.add_to_role_policy(iam.PolicyStatement(actions=["cloudwatch:PutMetricAlarm"], resources=[alarms]))
        function.add_to_role_policy(iam.PolicyStatement(actions=["cloudwatch:PutDashboard"], resources=[dashboards]))
        events.EventBus.from_event_bus_name(self, "DefaultBus", "default").grant_put_events_to(function)
        artifacts = storage.artifacts_bucket
        acknowledge_objects(function, artifacts, f"{checks.REPORTS_PREFIX}*", "Writes and reads drift reports only.")
        for pattern in reference.READ_BY_CHECKS:
            acknowledge_objects(
                function,
                artifacts,
                f"{MODELS_PREFIX}{pattern}",
                "Reads each version's monitoring reference (calibration, loss models, PCA) and nothing else of the models.",
            )
        acknowledge(
            function,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'cloudwatch', f'dashboard/{prefix}*', regional=False)}]",
            "Each model's dashboard is created by its first check, all named with this prefix.",
        )
        acknowledge(
            function,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'cloudwatch', f'alarm:{prefix}*')}]",
            "Each model's drift and performance alarms are created by its first check, all named with this prefix.",
        )
        return function

    def _build_retrain_function(
        self,
        storage: StorageConstruct,
        functions: FunctionFactory,
        pipeline: PipelineConstruct,
        dead_letters: sqs.IQueue,
        concurrency: ReservedConcurrency | None,
    ) -> lambda_.Function:
        function = functions.zip_function(
            self,
            "Retrain",
            "handle_retrain",
            {
                env.ENV_MODELS_TABLE: storage.models_table.table_name,
                env.ENV_RUNS_TABLE: storage.runs_table.table_name,
                env.ENV_AUDIT_TABLE: storage.audit_table.table_name,
                env.ENV_TRAINING_PIPELINE_ARN: pipeline.state_machine.state_machine_arn,
                env.ENV_DATA_BUCKET: storage.data_bucket.bucket_name,
                env.ENV_CAPTURE_BUCKET: storage.capture_bucket.bucket_name,
            },
            "EventBridge, asynchronously, on each DriftDetected, PerformanceDecayed or EstimatedPerformanceDecayed finding",
            timeout=Duration.minutes(15),  # latest_plus_feedback copies the newest dataset version
            ephemeral_storage_mb=4096,
            dead_letters=dead_letters,
            reserved_concurrency=concurrency.retrain if concurrency else None,
        )
        storage.models_table.grant_read_write_data(function)
        storage.runs_table.grant_read_data(function)
        storage.audit_table.grant_write_data(function)
        pipeline.grant_start_run(function)
        # latest_plus_feedback: read the newest version and the labelled capture, upload a dataset.
        storage.data_bucket.grant_read(function, f"{env.VERSIONS_PREFIX}*")
        storage.data_bucket.grant_read(function, f"{env.DATASETS_PREFIX}*")
        storage.data_bucket.grant_put(function, f"{env.DATASETS_PREFIX}*")
        storage.capture_bucket.grant_read(function)
        for prefix, reason in ((env.VERSIONS_PREFIX, "Reads the newest dataset version"), (env.DATASETS_PREFIX, "Uploads a dataset")):
            acknowledge_objects(function, storage.data_bucket, f"{prefix}*", f"{reason} (latest_plus_feedback).")
        return function

    def _route(
        self, detail_types: str | list[str], construct_id: str, function: lambda_.Function, queue: sqs.IQueue, description: str
    ) -> None:
        rule = events.Rule(
            self,
            construct_id,
            description=description,
            event_pattern=events.EventPattern(
                source=[schedule.EVENT_SOURCE],
                detail_type=[detail_types] if isinstance(detail_types, str) else detail_types,
            ),
        )
        rule.add_target(targets.LambdaFunction(function, dead_letter_queue=queue, retry_attempts=3, max_event_age=Duration.hours(6)))
