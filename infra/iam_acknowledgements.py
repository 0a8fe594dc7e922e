"""cdk-nag IAM findings that come from CDK's own grant methods, each acknowledged with its reason.

Each acknowledgement names one exact finding (rule plus the action or resource it is about), so a
new wildcard that nobody has reasoned about still fails synth.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from infra.nag import acknowledge

MANAGED_POLICY = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{}]"
WILDCARD = "AwsSolutions-IAM5[{}]"

S3_GRANT_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
# What CDK's grants on a KMS-encrypted bucket or table add for its key (that one key only).
KMS_GRANT_ACTIONS = ("kms:ReEncrypt*", "kms:GenerateDataKey*")


def acknowledge_generated_grants(stack: Stack) -> None:
    acknowledge(
        stack,
        MANAGED_POLICY.format("AWSLambdaBasicExecutionRole"),
        "Lets each function write its own CloudWatch logs; the AWS-managed policy grants nothing else.",
    )
    for action in S3_GRANT_ACTIONS:
        acknowledge(
            stack,
            WILDCARD.format(f"Action::{action}"),
            f"{action} comes from CDK bucket grants, scoped to the platform's own buckets only.",
        )
    for action in KMS_GRANT_ACTIONS:
        acknowledge(
            stack,
            WILDCARD.format(f"Action::{action}"),
            f"{action} comes from CDK grants on an encrypted bucket or table, scoped to that resource's own key.",
        )
    for node in stack.node.find_all():
        _acknowledge_resource_wildcards(stack, node)


def _acknowledge_resource_wildcards(stack: Stack, node: IConstruct) -> None:
    if isinstance(node, s3.Bucket):
        acknowledge(
            stack,
            WILDCARD.format(f"Resource::<{_logical_id(stack, node)}.Arn>/*"),
            "Objects are keyed per model, dataset version and run; grants cover this one bucket's objects.",
        )
    elif isinstance(node, dynamodb.Table):
        acknowledge(
            stack,
            WILDCARD.format(f"Resource::<{_logical_id(stack, node)}.Arn>/index/*"),
            "CDK table grants include the table's own secondary indexes (runs are queried by model).",
        )
    elif isinstance(node, lambda_.Function):
        acknowledge(
            stack,
            WILDCARD.format(f"Resource::<{_logical_id(stack, node)}.Arn>:*"),
            "The state machine may invoke any published version of this one pipeline function.",
        )
        _acknowledge_tracing(node, "function")
    elif isinstance(node, sfn.StateMachine):
        _acknowledge_tracing(node, "state machine")


def _acknowledge_tracing(traced: IConstruct, kind: str) -> None:
    """Active tracing grants this one role X-Ray's two write actions, which take no resource ARN."""
    acknowledge(
        traced,
        WILDCARD.format("Resource::*"),
        f"This {kind}'s role: xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions.",
    )


def _logical_id(stack: Stack, node: IConstruct) -> str:
    return stack.get_logical_id(node.node.default_child)  # type: ignore[arg-type]
