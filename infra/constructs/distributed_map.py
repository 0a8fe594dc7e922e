"""What every Distributed Map's state machine needs: to start, watch and stop its own child executions.

The role's policy has to name the state machine, and a Ref to it would be a cycle (the machine
depends on its role), so a state machine with a Distributed Map has a fixed name.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge, arn_in_finding


def machine_name(scope: Construct, suffix: str) -> str:
    return f"{Stack.of(scope).stack_name}-{suffix}"


# The machine's executions as AWS's page on Distributed Map policies names them (`<machine>:*`), and
# a map run's children, whose ARNs are `execution:<machine>/<map run label>:<id>`.
EXECUTION_PATTERNS = ("execution:{name}:*", "execution:{name}/*")


def grant_child_executions(state_machine: sfn.StateMachine, name: str) -> None:
    stack, role = Stack.of(state_machine), state_machine.role
    executions = [pattern.format(name=name) for pattern in EXECUTION_PATTERNS]
    itself = stack.format_arn(service="states", resource="stateMachine", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
    role.add_to_principal_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[itself]))
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"],
            resources=[stack.format_arn(service="states", resource=e, arn_format=ArnFormat.NO_RESOURCE_NAME) for e in executions],
        )
    )
    for pattern in executions:
        acknowledge(
            state_machine,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'states', pattern)}]",
            "The Distributed Map watches and stops its own child executions, which the map run names.",
        )
