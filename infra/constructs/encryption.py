"""The keys for what the platform writes outside its buckets and tables: log groups and queues.

Log groups hold what functions log and what API Gateway's access log records, which may include
request data; dead-letter queues hold the events that failed, which name datasets and models. One
key each per stack (rotated yearly), made by the first construct that asks for it.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import IConstruct

LOGS_KEY_ID = "LogsKey"
QUEUES_KEY_ID = "QueuesKey"


def logs_key(scope: IConstruct) -> kms.Key:
    """CloudWatch Logs encrypts with it only for this account's log groups in this region."""
    stack = Stack.of(scope)
    return _stack_key(
        stack,
        LOGS_KEY_ID,
        "log groups",
        iam.PolicyStatement(
            sid="AllowLogGroupsOfThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"}
            },
        ),
    )


def queues_key(scope: IConstruct) -> kms.Key:
    """Dead-letter queues: functions send with their grants; EventBridge, delivering a failed event
    to a rule target's queue, encrypts with this key by the key policy below."""
    stack = Stack.of(scope)
    return _stack_key(
        stack,
        QUEUES_KEY_ID,
        "dead-letter queues",
        iam.PolicyStatement(
            sid="AllowEventBridgeOfThisAccount",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
    )


def _stack_key(stack: Stack, construct_id: str, what: str, service_statement: iam.PolicyStatement) -> kms.Key:
    """The stack's one key for `what`, made by the first construct that asks for it."""
    existing = stack.node.try_find_child(construct_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    # Destroyed with the stack like the log groups and queues it encrypts (KMS waits 30 days first).
    key = kms.Key(
        stack, construct_id, description=f"MLOps platform: {what}", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY
    )
    key.add_to_resource_policy(service_statement)
    return key
