"""The account's API Gateway logging role: one per account and region, shared by every stage.

API Gateway writes a stage's access and execution logs with the role named in the account's
settings (AWS::ApiGateway::Account). Owned by a stage's stack, destroying that stage would take the
role from the others; here it lives in a stack of its own that each stage depends on (`cdk deploy
--all` deploys it first, once), and both the role and the setting are retained even if this stack
is deleted.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge

STACK_NAME = "MlopsApiGatewayLogging"
PUSH_TO_LOGS_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class ApiGatewayLoggingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str = STACK_NAME, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="MLOps platform: the account's API Gateway logging role", **kwargs)
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_LOGS_POLICY)],
            description="API Gateway writes every stage's access and execution logs with this role",
        )
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{PUSH_TO_LOGS_POLICY}]",
            "The AWS-managed policy API Gateway's account logging role is made for: log groups and streams, nothing else.",
        )
