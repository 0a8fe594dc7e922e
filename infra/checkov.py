"""What checkov (the second IaC scanner, run by tests/infra/test_checkov.py) finds and the platform
keeps, explained in each resource's own metadata with a reason about that resource.

Fixed instead of explained: log groups encrypted with the logs key, every asynchronously invoked
function with a dead-letter queue, queues under the queues key, reserved concurrency for serving
and checks in staging and prod. What stays is said per function from what the template shows:
who invokes it, which AWS APIs its role calls, which variables its environment holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from infra.constructs.function_factory import FunctionFactory

SERVICE_NAMES = {
    "cloudwatch": "CloudWatch",
    "dynamodb": "DynamoDB",
    "events": "EventBridge",
    "kms": "KMS",
    "lambda": "Lambda",
    "logs": "CloudWatch Logs",
    "s3": "S3",
    "sns": "SNS",
    "sqs": "SQS",
    "states": "Step Functions",
    "xray": "X-Ray",
}
# CDK's own singleton handler for the data bucket's notification configuration.
CDK_HANDLER_INVOKER = "CloudFormation, during a deploy only (CDK's handler for the data bucket's notification settings)"
CDK_HANDLER_UNDELIVERED = (
    "CloudFormation invokes it during a deploy and waits for its answer: a failed invocation fails and rolls back that"
    " deploy, which reports it, so there is nothing to keep in a queue."
)


def skip(resource: CfnResource, check_id: str, reason: str) -> None:
    """A skip in the resource's Metadata.checkov.skip, beside any it already has."""
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"] = [s for s in metadata["skip"] if s["id"] != check_id] + [{"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", metadata)


def explain_findings(stack: Stack, functions: FunctionFactory, reserved_by_stage: Iterable[lambda_.Function], api: apigw.RestApi) -> None:
    """reserved_by_stage: the functions whose concurrency staging and prod reserve (cdk.json)."""
    stage_reserved = {f.node.path for f in reserved_by_stage}
    services = _services_by_role(stack)
    for function in _functions(stack):
        path = function.node.scope.node.path  # type: ignore[union-attr]
        invoker = functions.invokers.get(path, CDK_HANDLER_INVOKER)
        _explain_function(stack, function, invoker, functions.variables.get(path, set()), path in stage_reserved, services)
    stage = api.deployment_stage.node.default_child
    assert isinstance(stage, apigw.CfnStage)
    skip(
        stage,
        "CKV_AWS_120",
        "No cache: its methods are predictions (POST, each captured with its own id) and reads of registry, traffic and run"
        " state that change with every run, decision and rollout step; a cached answer would route or report stale state.",
    )


def _functions(stack: Stack) -> list[CfnResource]:
    """Every AWS::Lambda::Function: the platform's (CfnFunction) and CDK's singleton handlers (plain CfnResource)."""
    return [n for n in stack.node.find_all() if isinstance(n, CfnResource) and n.cfn_resource_type == "AWS::Lambda::Function"]


def _explain_function(
    stack: Stack, function: CfnResource, invoker: str, variables: set[str], stage_reserved: bool, services: dict[str, set[str]]
) -> None:
    properties = stack.resolve(function._cfn_properties)  # noqa: SLF001 - what the template will say, keys as CDK holds them
    role = _property(properties, "role")["Fn::GetAtt"][0]
    called = ", ".join(sorted(SERVICE_NAMES.get(s, s) for s in services.get(role, set()))) or "none"
    skip(
        function,
        "CKV_AWS_117",
        f"Calls only AWS APIs ({called}) over TLS with its IAM role, and nothing in a private network: a VPC would add"
        " NAT gateways or endpoints for each of those services and isolate nothing.",
    )
    skip(
        function,
        "CKV_AWS_173",
        f"Its environment holds resource names and settings only ({', '.join(sorted(variables)) or 'none'}), no secrets; Lambda"
        " encrypts it at rest with its service key.",
    )
    if _property(properties, "deadLetterConfig") is None:
        synchronous = (
            f"Invoked only by {invoker}: that caller receives each error and retries or records it, and nothing invokes"
            " it asynchronously, so there is nothing to dead-letter."
        )
        skip(function, "CKV_AWS_116", CDK_HANDLER_UNDELIVERED if invoker == CDK_HANDLER_INVOKER else synchronous)
    if _property(properties, "reservedConcurrentExecutions") is None:
        reason = (
            "Reserved in staging and prod (cdk.json reservedConcurrency); this stage reserves none because Lambda keeps 100"
            " of an account's concurrency unreserved and a new account has 10 in all, so any reservation fails the deploy."
            if stage_reserved
            else f"Bounded by its only caller, {invoker}; a reservation would take concurrency from every other function"
            " without protecting anything."
        )
        skip(function, "CKV_AWS_115", reason)


def _property(properties: dict[str, Any], name: str) -> Any:
    """A CfnFunction holds its properties camelCased, a plain CfnResource as the template spells them."""
    return properties.get(name, properties.get(name[0].upper() + name[1:]))


def _services_by_role(stack: Stack) -> dict[str, set[str]]:
    """The service prefixes of every action each role's inline policies allow, by the role's logical id."""
    found: dict[str, set[str]] = {}
    for policy in [n for n in stack.node.find_all() if isinstance(n, iam.CfnPolicy)]:
        actions: set[str] = set()
        for statement in stack.resolve(policy.policy_document)["Statement"]:
            listed = statement.get("Action", [])
            actions.update([listed] if isinstance(listed, str) else listed)
        for role in stack.resolve(policy.roles) or []:
            found.setdefault(role["Ref"], set()).update(a.split(":", 1)[0] for a in actions)
    # Every function's role also writes its logs through the AWS-managed basic execution policy.
    return {role: prefixes | {"logs"} for role, prefixes in found.items()}
