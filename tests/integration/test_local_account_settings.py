"""Local mode refuses what API Gateway refuses: a stage that logs, in an account whose API Gateway
settings name no logging role (the platform's stage depends on ApiGatewayLoggingStack for it)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local.assembly import StackArtifact
from local.deployer import AccountSettingMissing, Deployer

ROOT = Path(__file__).resolve().parents[2]


def logging_stage_template() -> dict:
    return {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
            "Method": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "HttpMethod": "GET",
                    "AuthorizationType": "AWS_IAM",
                    "Integration": {"Type": "MOCK"},
                },
            },
            "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "Api"}}, "DependsOn": ["Method"]},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "DeploymentId": {"Ref": "Deployment"},
                    "StageName": "api",
                    "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["Logs", "Arn"]}, "Format": "$context.requestId"},
                },
            },
        }
    }


@pytest.fixture
def deployer(monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # the role attaches an AWS-managed policy, as local mode loads them
    with mock_aws():
        clients: dict = {}
        yield Deployer(lambda service: clients.setdefault(service, boto3.client(service, region_name="us-east-1")), lambda _: None)


def test_a_logging_stage_fails_without_the_accounts_logging_role(deployer, tmp_path):
    with pytest.raises(AccountSettingMissing, match="CloudWatch Logs role ARN must be set in account settings"):
        deployer.deploy(StackArtifact("Stage", logging_stage_template(), tmp_path))


def test_the_logging_role_stack_deployed_first_lets_the_stage_deploy(deployer, cloud_assembly):
    logging_stack = json.loads((cloud_assembly / "MlopsApiGatewayLogging.template.json").read_text())
    deployer.deploy(StackArtifact("MlopsApiGatewayLogging", logging_stack, cloud_assembly))
    deployment = deployer.deploy(StackArtifact("Stage", logging_stage_template(), cloud_assembly))
    assert deployment.stages  # the stage exists
