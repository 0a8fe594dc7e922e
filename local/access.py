"""Who may do what in the deployed stack, as its template says: the checks local mode makes for AWS.

- Functions and state machines call AWS with their role: `authorizer` gives local/iam.py what to
  check each call against (the role's identity policies, the keys of encrypted resources).
- Services call on a user's behalf: API Gateway and EventBridge invoke a function only where the
  function's resource policy (AWS::Lambda::Permission) lets that service, from that source;
  EventBridge publishes to a topic only where the topic's policy and its key's policy let it, and
  starts a state machine with the target's role. CloudWatch Logs hands log lines to Firehose with
  the subscription's role, and Firehose writes to S3 with the delivery stream's.
Each `*_denial` answers None when allowed, else a message naming the caller, the action and the
resource, as the AWS service would log it.
"""

from __future__ import annotations

from typing import Any

from local.deployer import Deployment
from local.iam import ALLOW, Authorizer, Check, evaluate
from local.intrinsics import ACCOUNT_ID, REGION
from local.log_subscriptions import Subscription


class StackAccess:
    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment

    def authorizer(self, role_arn: str, session: str, label: str) -> Authorizer:
        """What a call made with `role_arn` (as session `session`) is checked against."""
        return Authorizer(
            principal=f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session}",
            statements=self._deployment.role_statements.get(role_arn, []),
            keys=self._deployment.encryption_keys,
            region=REGION,
            account=ACCOUNT_ID,
            label=label,
        )

    def function_authorizer(self, role_arn: str, function: str) -> dict[str, Any]:
        """For the Lambda worker: the fields of the Authorizer its boto3 calls are checked with."""
        return vars(self.authorizer(role_arn, function, f"function {function}"))

    def state_machine_authorizer(self, state_machine_arn: str) -> Authorizer | None:
        role = self._deployment.state_machine_roles.get(state_machine_arn)
        name = state_machine_arn.rsplit(":", 1)[-1]
        return self.authorizer(role, name, f"state machine {name}") if role else None

    def firehose_denial(self, subscription: Subscription) -> str | None:
        """CloudWatch Logs puts the lines with the subscription's role; Firehose writes them with the stream's."""
        stream = self._deployment.delivery_streams.get(subscription.stream)
        if stream is None:
            return f"no delivery stream {subscription.stream} (local mode)"
        logs = self.authorizer(subscription.role_arn, "CWLtoKinesisFirehose", f"subscription of {subscription.log_group}")
        denied = logs.denial("firehose", "PutRecordBatch", {"DeliveryStreamName": subscription.stream})
        if denied is None:
            firehose = self.authorizer(stream["role"], "Firehose", f"delivery stream {subscription.stream}")
            bucket = stream["bucket_arn"].rsplit(":", 1)[-1]
            denied = firehose.denial("s3", "PutObject", {"Bucket": bucket, "Key": f"{stream['prefix']}object"})
        return denied[1] if denied else None

    def invoke_denial(self, function_arn: str, service: str, source_arn: str) -> str | None:
        """Lambda's resource policy: may `service` (e.g. apigateway.amazonaws.com) invoke it from `source_arn`?"""
        name = function_arn.split(":function:")[-1].split(":")[0]
        for permission in self._deployment.lambda_permissions:
            target = str(permission["FunctionName"])
            if target not in (function_arn, name) and target.split(":function:")[-1] != name:
                continue
            if permission.get("Principal") != service:
                continue
            if evaluate([_as_statement(permission)], Check("lambda:InvokeFunction", function_arn, {"aws:SourceArn": source_arn})) == ALLOW:
                return None
        return (
            f"{service} is not authorized to perform: lambda:InvokeFunction on resource: {function_arn} "
            f"from {source_arn}: no resource-based policy statement of the function allows it (local mode)"
        )

    def service_denial(self, service: str, action: str, resource: str, source_arn: str) -> str | None:
        """A resource policy (topic or queue) and, for an encrypted resource, its key's policy, for a service principal."""
        policies = self._deployment.resource_policies.get(resource)
        # Services call over TLS, from this account.
        context = {"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT_ID, "aws:SecureTransport": "true"}
        checks = [(policies, Check(action, resource, context))]
        key = self._deployment.encryption_keys.get(resource)
        if key:
            key_statements = self._deployment.key_policies.get(key, [])
            checks += [(key_statements, Check(kms, key, context)) for kms in ("kms:GenerateDataKey", "kms:Decrypt")]
        for statements, check in checks:
            if statements is None:
                return (
                    f"{service} is not authorized to perform: {check.action} on resource: {check.resource}: it has no policy (local mode)"
                )
            if evaluate(_for_service(statements, service), check) != ALLOW:
                return f"{service} is not authorized to perform: {check.action} on resource: {check.resource} (local mode)"
        return None


def _as_statement(permission: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": permission["Action"], "Resource": "*"}
    if "SourceArn" in permission:
        statement["Condition"] = {"ArnLike": {"aws:SourceArn": permission["SourceArn"]}}
    return statement


def _for_service(statements: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    """The statements whose Principal names the service (or everyone); the key's account-root
    statement lets only IAM policies grant, never a service on its own."""

    def names(principal: Any) -> bool:
        if principal == "*":
            return True
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        return service in (services if isinstance(services, list) else [services])

    return [s for s in statements if names(s.get("Principal", {}))]
