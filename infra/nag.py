"""Acknowledging a cdk-nag finding always takes a reason specific to the resource."""

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def arn_in_finding(stack: Stack, service: str, resource: str, regional: bool = True) -> str:
    """An ARN as cdk-nag prints it: pseudo parameters stay <AWS::...> unless synth resolved them
    (the CDK CLI sets CDK_DEFAULT_REGION/ACCOUNT, a bare `python app.py` does not)."""

    def shown(value: str, pseudo: str) -> str:
        return f"<AWS::{pseudo}>" if Token.is_unresolved(value) else value

    region, account = shown(stack.region, "Region") if regional else "", shown(stack.account, "AccountId")
    # With a known region, @aws-cdk/core:enablePartitionLiterals writes the partition itself (infra/feature_flags.py).
    return f"arn:{shown(stack.partition, 'Partition')}:{service}:{region}:{account}:{resource}"


def objects_in_finding(bucket: s3.IBucket, pattern: str) -> str:
    """A bucket's objects matching `pattern` as cdk-nag prints them: `<BucketLogicalId.Arn>/pattern`."""
    logical_id = Stack.of(bucket).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    return f"<{logical_id}.Arn>/{pattern}"


def acknowledge_objects(scope: IConstruct, bucket: s3.IBucket, pattern: str, reason: str) -> None:
    """An IAM5 finding on a bucket's objects under a pattern (a prefix's `*`), acknowledged with the reason."""
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{objects_in_finding(bucket, pattern)}]", reason)


def grant_describe_executions(state_machine: sfn.StateMachine, grantee: iam.IGrantable, scope: IConstruct, reason: str) -> None:
    """DescribeExecution on a state machine's executions (`execution:<name>:*`, which cdk-nag
    reports as IAM5), acknowledged on `scope` with the reason."""
    state_machine.grant_execution(grantee, "states:DescribeExecution")
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{executions_in_finding(state_machine)}]", reason)


def executions_in_finding(state_machine: sfn.StateMachine) -> str:
    """`execution:<name>:*` of a state machine as cdk-nag prints it (the name split out of its ARN)."""
    stack = Stack.of(state_machine)
    machine = stack.get_logical_id(state_machine.node.default_child)  # type: ignore[arg-type]
    name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
    return arn_in_finding(stack, "states", f"execution:{name}:*")
