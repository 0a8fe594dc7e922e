"""The platform stack: composes the constructs and names what a user needs as outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.checkov import explain_findings
from infra.constructs.batch_construct import BatchInferenceConstruct
from infra.constructs.capture_catalog_construct import CaptureCatalogConstruct
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.model_checks_construct import ModelChecksConstruct
from infra.constructs.monitoring_construct import MonitoringConstruct, NotificationsConstruct
from infra.constructs.pipeline_construct import PipelineConstruct
from infra.constructs.rollout_construct import RolloutConstruct
from infra.constructs.serving_construct import ServingConstruct
from infra.constructs.storage_construct import StorageConstruct
from infra.constructs.user_policies_construct import UserPoliciesConstruct
from infra.iam_acknowledgements import acknowledge_generated_grants
from infra.stages import ReservedConcurrency


class PlatformStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        alarm_email: str | None = None,
        concurrency: ReservedConcurrency | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="Serverless MLOps platform", **kwargs)
        storage = StorageConstruct(self, "Storage")
        functions = FunctionFactory(self, "Functions")
        notifications = NotificationsConstruct(self, "Notifications", alarm_email)
        rollout = RolloutConstruct(self, "Rollout", storage, functions)
        pipeline = PipelineConstruct(self, "Pipeline", storage, functions, notifications.topic, rollout.state_machine)
        batch = BatchInferenceConstruct(self, "Batch", storage, functions)
        serving = ServingConstruct(
            self, "Serving", storage, functions, pipeline, batch.state_machine, concurrency.serving if concurrency else None
        )
        checks = ModelChecksConstruct(self, "ModelChecks", storage, functions, notifications.topic, pipeline, concurrency)
        rollout.grant_describe_executions(checks.retrain_function)
        monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            storage,
            functions,
            notifications.topic,
            {"Pipeline": pipeline.state_machine, "Rollout": rollout.state_machine, "BatchInference": batch.state_machine},
            serving.api,
            [serving.api_function, serving.predict_function, pipeline.start_run, checks.check_function, checks.retrain_function],
            serving.capture_stream,
        )
        users = UserPoliciesConstruct(self, "UserPolicies", serving.api, storage, batch.state_machine)
        catalog = CaptureCatalogConstruct(self, "CaptureCatalog", storage)
        acknowledge_generated_grants(self)
        explain_findings(self, functions, [serving.predict_function, checks.check_function, checks.retrain_function], serving.api)
        self._outputs(
            DataBucketName=storage.data_bucket.bucket_name,
            ArtifactsBucketName=storage.artifacts_bucket.bucket_name,
            CaptureBucketName=storage.capture_bucket.bucket_name,
            CaptureDatabaseName=catalog.database_name,
            ModelsTableName=storage.models_table.table_name,
            RunsTableName=storage.runs_table.table_name,
            AuditTableName=storage.audit_table.table_name,
            TrainingPipelineArn=pipeline.state_machine.state_machine_arn,
            RolloutArn=rollout.state_machine.state_machine_arn,
            BatchInferenceArn=batch.state_machine.state_machine_arn,
            ApiUrl=serving.api.url,
            NotificationTopicArn=notifications.topic.topic_arn,
            PlatformDashboardName=monitoring.dashboard.dashboard_name,
            ClientPolicyArn=users.client.managed_policy_arn,
            DataScientistPolicyArn=users.data_scientist.managed_policy_arn,
            ApproverPolicyArn=users.approver.managed_policy_arn,
        )

    def _outputs(self, **values: str) -> None:
        for name, value in values.items():
            CfnOutput(self, name, value=value)
