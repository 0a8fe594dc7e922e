"""The rollout state machine (ASL next to this file) and the Lambda that does its steps."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.function_factory import FunctionFactory, log_group
from infra.constructs.storage_construct import StorageConstruct
from infra.nag import acknowledge, arn_in_finding, grant_describe_executions
from mlops.serving.rollout import ALARM_PREFIX
from mlops.shared import settings as env

ASL_FILE = Path(__file__).resolve().parent.parent / "statemachines" / "rollout.asl.json"


class RolloutConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, storage: StorageConstruct, functions: FunctionFactory) -> None:
        super().__init__(scope, construct_id)
        environment = {
            env.ENV_MODELS_TABLE: storage.models_table.table_name,
            env.ENV_AUDIT_TABLE: storage.audit_table.table_name,
            env.ENV_CAPTURE_BUCKET: storage.capture_bucket.bucket_name,
        }
        # Judging an A/B test reads the feedback captured since it started: minutes, not seconds.
        self.function = functions.zip_function(
            self,
            "Rollout",
            "handle_rollout",
            environment,
            "the rollout state machine, as a synchronous Task per step; one execution per model and version",
            timeout=Duration.minutes(5),
        )
        storage.models_table.grant_read_write_data(self.function)
        storage.audit_table.grant_write_data(self.function)
        storage.capture_bucket.grant_read(self.function)
        stack = Stack.of(self)
        alarms = f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{ALARM_PREFIX}*"
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"], resources=[alarms])
        )
        acknowledge(
            self.function,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'cloudwatch', f'alarm:{ALARM_PREFIX}*')}]",
            "The rollout creates and reads each model's challenger alarms, all named with this prefix.",
        )
        # Named, so its role may start it again (a long A/B test continues in a new execution): a Ref would be a cycle.
        self.name = f"{stack.stack_name}-Rollout"
        self.state_machine = sfn.StateMachine(
            self,
            "RolloutStateMachine",
            state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions={"RolloutFunctionArn": self.function.function_arn},
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group(self, "RolloutExecutionLogs"), level=sfn.LogLevel.ALL, include_execution_data=True),
            timeout=Duration.days(30),  # an A/B test may collect feedback for up to 28 days
        )
        self.function.grant_invoke(self.state_machine)
        itself = stack.format_arn(
            service="states", resource="stateMachine", resource_name=self.name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.state_machine.role.add_to_principal_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[itself]))

    def grant_describe_executions(self, function: lambda_.Function) -> None:
        """Asking whether a model's recorded rollout still runs (retraining waits for it)."""
        reason = "Describes the rollout machine's executions, named per model and version, to see whether one still runs."
        grant_describe_executions(self.state_machine, function, function, reason)
