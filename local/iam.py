"""IAM in local mode: each AWS call a function (or a state machine) makes, checked against the
identity policies of its own role as synthesized, before it reaches the emulator.

Three parts:
- `evaluate`: IAM's policy evaluation logic over policy statements (an explicit Deny wins, then an
  Allow, else the implicit deny), with Action/NotAction, Resource/NotResource, `*`/`?` wildcards
  and the condition operators this template uses (an unknown operator fails loudly, never passes).
- `checks`: what one API call asks IAM for, as the Service Authorization Reference names it: the
  action (HeadObject is s3:GetObject, ListObjectsV2 is s3:ListBucket, a transaction is each of its
  writes), the resource ARN built from the request's parameters, and the condition keys it carries
  (s3:prefix); plus the KMS actions an encrypted bucket, table or topic needs from the caller.
- `install`: botocore event hooks that run the checks on the client side and answer a denied call
  with the service's own AccessDenied error, which botocore raises as AWS's would be.

This module is loaded by the Lambda worker, whose path holds only the function's own packages: it
imports nothing but the standard library (and botocore, from the runtime, when a call is denied).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"
DENIAL_LOG_PREFIX = "local IAM:"
TOKEN_PREFIX = "local-token-"
# The error code each service answers an unauthorized call with.
DENIED_CODES = {"s3": "AccessDenied", "sns": "AuthorizationError", "cloudwatch": "AccessDenied", "sqs": "AccessDenied"}
DEFAULT_DENIED_CODE = "AccessDeniedException"
# botocore service names whose IAM prefix differs.
IAM_PREFIXES = {"stepfunctions": "states", "monitoring": "cloudwatch"}
# Operations whose IAM action has another name (S3's are below).
OPERATION_ACTIONS = {("lambda", "Invoke"): "InvokeFunction", ("lambda", "InvokeWithResponseStream"): "InvokeFunction"}
S3_ACTIONS = {
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "UploadPartCopy": "PutObject",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "DeleteObjects": "DeleteObject",
    "GetBucketLocation": "GetBucketLocation",
}
S3_BUCKET_LEVEL = {"ListBucket", "ListBucketVersions", "GetBucketLocation", "GetBucketNotification", "GetEncryptionConfiguration"}


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


# --- evaluation ---------------------------------------------------------------------------------


def evaluate(statements: list[dict[str, Any]], check: Check) -> str:
    allowed = False
    for statement in statements:
        if not _applies(statement, check):
            continue
        if statement["Effect"] == "Deny":
            return EXPLICIT_DENY
        allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _applies(statement: dict[str, Any], check: Check) -> bool:
    if "Action" in statement:
        if not any(_matches(p, check.action, ignore_case=True) for p in _listed(statement["Action"])):
            return False
    elif any(_matches(p, check.action, ignore_case=True) for p in _listed(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(_matches(p, check.resource) for p in _listed(statement["Resource"])):
            return False
    elif any(_matches(p, check.resource) for p in _listed(statement.get("NotResource", []))):
        return False
    return all(
        _condition(operator, key, _listed(values), check.context)
        for operator, entries in statement.get("Condition", {}).items()
        for key, values in entries.items()
    )


_STRING_TESTS = {
    "StringEquals": lambda want, got: want == got,
    "StringNotEquals": lambda want, got: want != got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: _matches(want, got),
    "StringNotLike": lambda want, got: not _matches(want, got),
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: _matches(want, got),
    "ArnNotEquals": lambda want, got: want != got,
    "ArnNotLike": lambda want, got: not _matches(want, got),
    "Bool": lambda want, got: str(want).lower() == str(got).lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition(operator: str, key: str, wanted: list[Any], context: dict[str, Any]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    present = key in context
    if base == "Null":
        return (not present) == (str(wanted[0]).lower() == "true")
    if base not in _STRING_TESTS:
        raise NotImplementedError(f"local IAM does not evaluate the condition operator {operator!r}")
    if not present:  # a negated operator holds for a key the request lacks, as IAM evaluates it
        return if_exists or base in _NEGATED
    values = [str(v) for v in _listed(context[key])]
    test = _STRING_TESTS[base]
    if base in _NEGATED:  # every value must avoid every listed one
        return all(all(test(str(w), v) for w in wanted) for v in values)
    if qualifier == "ForAllValues":
        return all(any(test(str(w), v) for w in wanted) for v in values)
    return any(test(str(w), v) for w in wanted for v in values)


# --- what a call asks for -------------------------------------------------------------------------


def checks(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> list[Check]:
    """The authorizations one API call needs (KMS ones are added by the Authorizer)."""
    prefix = IAM_PREFIXES.get(service, service)
    if prefix == "s3":
        return _s3_checks(operation, params)
    if prefix == "dynamodb":
        return _dynamodb_checks(operation, params, region, account)
    action = f"{prefix}:{OPERATION_ACTIONS.get((prefix, operation), operation)}"
    if prefix == "cloudwatch" and params.get("AlarmNames"):  # DescribeAlarms, DeleteAlarms: each alarm named
        return [Check(action, f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}") for name in params["AlarmNames"]]
    found = [Check(action, _resource(prefix, operation, params, region, account))]
    if prefix == "sagemaker" and operation == "CreateTrainingJob":
        # Handing a job its role is iam:PassRole on that role, for SageMaker; tags need AddTags.
        passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
        found.append(Check("iam:PassRole", str(params.get("RoleArn", "")), passed))
        if params.get("Tags"):
            found.append(Check("sagemaker:AddTags", found[0].resource))
    return found


def _s3_checks(operation: str, params: dict[str, Any]) -> list[Check]:
    action = S3_ACTIONS.get(operation, operation)
    if action == "GetObject" and params.get("VersionId"):
        action = "GetObjectVersion"
    bucket = params.get("Bucket", "")
    if action in S3_BUCKET_LEVEL or "Key" not in params and operation != "DeleteObjects":
        context = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
        found = [Check(f"s3:{action}", f"arn:aws:s3:::{bucket}", context)]
    elif operation == "DeleteObjects":
        found = [Check("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o['Key']}") for o in params.get("Delete", {}).get("Objects", [])]
    else:
        found = [Check(f"s3:{action}", f"arn:aws:s3:::{bucket}/{params['Key']}")]
    if operation in ("CopyObject", "UploadPartCopy"):
        source = params["CopySource"]
        if isinstance(source, str):
            path, _, query = source.lstrip("/").partition("?")
            source = {"Bucket": path.split("/", 1)[0], "Key": path.split("/", 1)[1], "VersionId": "versionId=" in query or None}
        read = "s3:GetObjectVersion" if source.get("VersionId") else "s3:GetObject"
        found.append(Check(read, f"arn:aws:s3:::{source['Bucket']}/{source['Key']}"))
    return found


_DYNAMODB_INNER = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _table_arn(name: str, region: str, account: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb_checks(operation: str, params: dict[str, Any], region: str, account: str) -> list[Check]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            (kind, inner), *_ = item.items()
            found.append(Check(f"dynamodb:{_DYNAMODB_INNER[kind]}", _table_arn(inner["TableName"], region, account)))
        return found
    if operation == "BatchWriteItem":  # its own action, per table (not PutItem/DeleteItem)
        return [Check("dynamodb:BatchWriteItem", _table_arn(table, region, account)) for table in params.get("RequestItems", {})]
    if operation == "BatchGetItem":
        return [Check("dynamodb:BatchGetItem", _table_arn(table, region, account)) for table in params.get("RequestItems", {})]
    table = params.get("TableName", "*")
    return [Check(f"dynamodb:{operation}", "*" if table == "*" else _table_arn(table, region, account, params.get("IndexName")))]


def _resource(prefix: str, operation: str, params: dict[str, Any], region: str, account: str) -> str:
    """The resource ARN an action is authorized on; `*` where the action takes no resource."""
    if prefix == "states":
        for key in ("stateMachineArn", "executionArn", "mapRunArn", "activityArn"):
            if key in params:
                return str(params[key])
        # SendTaskSuccess/Failure/Heartbeat: AWS authorizes them on the state machine that issued the token.
        return token_state_machine(str(params.get("taskToken", ""))) or "*"
    if prefix == "sns":
        return str(params.get("TopicArn") or params.get("TargetArn") or "*")
    if prefix == "sqs":
        url = str(params.get("QueueUrl", ""))
        return f"arn:aws:sqs:{region}:{account}:{url.rsplit('/', 1)[-1]}" if url else "*"
    if prefix == "events" and operation == "PutEvents":
        bus = (params.get("Entries") or [{}])[0].get("EventBusName", "default")
        return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"
    if prefix == "cloudwatch":
        if "AlarmName" in params:
            return f"arn:aws:cloudwatch:{region}:{account}:alarm:{params['AlarmName']}"
        if "DashboardName" in params:
            return f"arn:aws:cloudwatch::{account}:dashboard/{params['DashboardName']}"
        return "*"
    if prefix == "lambda" and "FunctionName" in params:
        name = str(params["FunctionName"])
        return name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
    if prefix == "firehose" and "DeliveryStreamName" in params:
        return f"arn:aws:firehose:{region}:{account}:deliverystream/{params['DeliveryStreamName']}"
    if prefix == "sagemaker" and "TrainingJobName" in params:
        return f"arn:aws:sagemaker:{region}:{account}:training-job/{str(params['TrainingJobName']).lower()}"
    if prefix == "logs" and "logGroupName" in params:
        group = f"arn:aws:logs:{region}:{account}:log-group:{params['logGroupName']}"
        return f"{group}:log-stream:{params['logStreamName']}" if "logStreamName" in params else group
    if prefix == "kms" and "KeyId" in params:
        key = str(params["KeyId"])
        return key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}"
    return "*"


def task_token(state_machine_arn: str, uid: str) -> str:
    """Local mode's task tokens carry the issuing state machine, as AWS's opaque ones do for IAM."""
    return f"{TOKEN_PREFIX}{base64.urlsafe_b64encode(state_machine_arn.encode()).decode()}.{uid}"


def token_state_machine(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    encoded = token[len(TOKEN_PREFIX) :].split(".", 1)[0]
    return base64.urlsafe_b64decode(encoded.encode()).decode()


# --- who asks -------------------------------------------------------------------------------------


# The KMS actions a caller needs on the key of an encrypted resource, per kind of access.
_KMS_FOR = {
    "s3:GetObject": ("kms:Decrypt",),
    "s3:GetObjectVersion": ("kms:Decrypt",),
    "s3:PutObject": ("kms:GenerateDataKey",),
    "sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:ReceiveMessage": ("kms:Decrypt",),
}
_DYNAMODB_DATA = re.compile(r"^dynamodb:(GetItem|PutItem|UpdateItem|DeleteItem|Query|Scan|BatchGetItem|ConditionCheckItem)$")


@dataclass
class Authorizer:
    """One principal (a function's or a state machine's role) and what its calls may touch."""

    principal: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>
    statements: list[dict[str, Any]]
    keys: dict[str, str]  # bucket, table or topic ARN -> the ARN of the KMS key it is encrypted with
    region: str
    account: str
    label: str  # who, for the message: "function <name>", "state machine <name>"

    @classmethod
    def from_file(cls, path: str) -> Authorizer:
        with open(path, encoding="utf-8") as file:
            return cls(**json.load(file))

    def denial(self, service: str, operation: str, params: dict[str, Any]) -> tuple[str, str] | None:
        """(error code, message) for a call the role may not make, else None."""
        for check in self._with_keys(checks(service, operation, params, self.region, self.account)):
            decision = evaluate(self.statements, check)
            if decision != ALLOW:
                why = "an explicit deny in an identity-based policy" if decision == EXPLICIT_DENY else "no identity-based policy allows"
                message = (
                    f"User: {self.principal} is not authorized to perform: {check.action} on resource: {check.resource} "
                    f"because {why} the {check.action} action (local mode: {self.label})"
                )
                return DENIED_CODES.get(IAM_PREFIXES.get(service, service), DEFAULT_DENIED_CODE), message
        return None

    def _with_keys(self, found: list[Check]) -> list[Check]:
        out = list(found)
        for check in found:
            owner = check.resource.split("/", 1)[0] if check.action.startswith("s3:") else check.resource.split("/index/")[0]
            key = self.keys.get(owner)
            if key is None:
                continue
            actions = _KMS_FOR.get(check.action, ())
            if _DYNAMODB_DATA.match(check.action):
                actions = ("kms:Decrypt",)
            out += [Check(action, key) for action in actions]
        return out


def install(events: Any, authorizer: Authorizer) -> None:
    """Hooks a botocore event emitter (a session's, or one client's) so every call is authorized first."""

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["local_iam_params"] = dict(params)

    def authorize(model: Any, context: dict[str, Any], **_: Any) -> Any:
        service = model.service_model.service_name
        denied = authorizer.denial(service, model.name, context.get("local_iam_params", {}))
        if denied is None:
            return None
        from botocore.awsrequest import AWSResponse

        code, message = denied
        # A line in the function's log (CloudTrail would record it); local mode echoes these lines.
        print(f"{DENIAL_LOG_PREFIX} {code}: {message}", file=sys.stderr, flush=True)
        metadata = {"HTTPStatusCode": 403, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}}
        return AWSResponse("", 403, {}, None), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}

    events.register("before-parameter-build", remember, unique_id="local-iam-remember")
    events.register("before-call", authorize, unique_id="local-iam-authorize")
