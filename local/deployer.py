"""Deploys a synthesized template into moto through its public APIs, resource by resource.

moto's own CloudFormation is not a dependable deployer for a CDK stack (see DESIGN.md), so this
module resolves intrinsics itself and has one translator per resource type. SUPPORT says what each
type becomes; a type missing from it stops the deploy with its name, never silently dropped.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.assembly import StackArtifact
from local.intrinsics import ACCOUNT_ID, REGION, Resolver, references
from local.lambda_runtime import FunctionSpec
from local.log_subscriptions import Partitioner, Subscription
from local.packages import function_site_dirs, layer_site_dir

LOGGING_SERVICE = "logging.s3.amazonaws.com"
LOG_DELIVERY_GROUP = "http://acs.amazonaws.com/groups/s3/LogDelivery"

# What local mode does with each resource type the platform's template uses.
SUPPORT = {
    "AWS::S3::Bucket": "emulated: versioning, encryption, public access block, logging, notifications",
    "AWS::S3::BucketPolicy": "kept in the template only: moto ignores Conditions, so the TLS-only Deny would refuse all",
    "AWS::DynamoDB::Table": "emulated: keys, indexes, PITR, TTL",
    "AWS::IAM::Role": "emulated; enforced: every call of a function or state machine is checked against its role (local/iam.py)",
    "AWS::KMS::Key": "created in moto with policy and rotation; enforced: a caller without a grant on the key is refused",
    "AWS::IAM::Policy": "emulated; enforced with the role it is attached to",
    "AWS::IAM::ManagedPolicy": "emulated; enforced for API callers signing as an emulator IAM user it is attached to",
    "AWS::Logs::LogGroup": "emulated with retention",
    "AWS::Lambda::LayerVersion": "published; its requirements built for the host, and only a function's own layers on its path",
    "AWS::Lambda::Function": "created in moto and run by the local Lambda runtime from its staged asset",
    "AWS::Lambda::Permission": "enforced for the API's and EventBridge's invokes",
    "AWS::Lambda::Version": "published in moto; invoking it runs the function's code (no SnapStart snapshot: init runs cold)",
    "AWS::Lambda::Alias": "created in moto; invoking its ARN runs the function it points to",
    "AWS::StepFunctions::StateMachine": "created through the API so moto's engine executes it",
    "AWS::Events::Rule": "rule in moto with an SQS tap; local mode delivers to the real targets",
    "AWS::SNS::Topic": "emulated",
    "AWS::SNS::TopicPolicy": "stored; not enforced",
    "AWS::SQS::Queue": "emulated",
    "AWS::SQS::QueuePolicy": "stored; not enforced",
    "AWS::CloudWatch::Alarm": "created in moto and evaluated by local mode",
    "AWS::CloudWatch::Dashboard": "emulated",
    "AWS::ApiGateway::RestApi": "created in moto; served by the local gateway on port 3000",
    "AWS::ApiGateway::Resource": "created in moto; routed by the local gateway",
    "AWS::ApiGateway::Method": "created in moto; routed by the local gateway",
    "AWS::ApiGateway::Deployment": "created in moto",
    "AWS::ApiGateway::Stage": "created in moto; the local gateway answers under the stage name too",
    "AWS::ApiGateway::Account": "the account's logging role, which a stage with logging requires",
    "AWS::ApiGateway::RequestValidator": "created in moto",
    "Custom::S3BucketNotifications": "translated to put_bucket_notification_configuration",
    "AWS::KinesisFirehose::DeliveryStream": "emulated: S3 destination; dynamic partitioning run by local mode (local/log_subscriptions.py)",
    "AWS::Logs::LogStream": "emulated",
    "AWS::Glue::Database": "created in moto (Athena does not run locally)",
    "AWS::Glue::Table": "created in moto with its partition projection; not queried locally",
    "AWS::Logs::SubscriptionFilter": "run by local mode: matching log lines go to the Firehose stream (local/log_subscriptions.py)",
}


# CloudFormation's AccessControl values and the canned ACLs the S3 API takes.
_CANNED_ACLS = {
    "Private": "private",
    "PublicRead": "public-read",
    "PublicReadWrite": "public-read-write",
    "AuthenticatedRead": "authenticated-read",
    "LogDeliveryWrite": "log-delivery-write",
    "BucketOwnerRead": "bucket-owner-read",
    "BucketOwnerFullControl": "bucket-owner-full-control",
    "AwsExecRead": "aws-exec-read",
}


class AccountSettingMissing(RuntimeError):
    """What CloudFormation reports when a stack needs an account-level setting no stack has made."""


class UnsupportedResources(RuntimeError):
    pass


@dataclass
class Route:
    """One API Gateway method: where it sits in the path tree and which function it proxies to."""

    rest_api_id: str
    path: str
    http_method: str
    function_arn: str
    authorization: str = "NONE"  # AWS_IAM: the gateway checks the caller's SigV4 identity (local/api_auth.py)


@dataclass
class RuleSpec:
    name: str
    arn: str
    event_bus: str
    targets: list[dict[str, Any]]
    schedule: str | None
    tap_queue_url: str = ""


@dataclass
class Deployment:
    """What the deploy produced, for the parts of local mode that act on it."""

    stack_name: str
    physical_ids: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)  # rest api id -> stage name
    api_names: dict[str, str] = field(default_factory=dict)  # rest api id -> its name: the ApiName of its metrics
    rules: list[RuleSpec] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    state_machines: list[str] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    resolved_properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    # IAM as synthesized: each role's identity-policy statements, the KMS key of each encrypted
    # resource, and the Lambda resource policies (who may invoke which function, from where).
    role_statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # role ARN -> statements
    encryption_keys: dict[str, str] = field(default_factory=dict)  # resource ARN -> KMS key ARN
    lambda_permissions: list[dict[str, Any]] = field(default_factory=list)
    state_machine_roles: dict[str, str] = field(default_factory=dict)  # state machine ARN -> role ARN
    resource_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # topic/queue ARN -> statements
    key_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key ARN -> statements
    delivery_streams: dict[str, dict[str, str]] = field(default_factory=dict)  # stream name -> role, bucket ARN, prefixes, partitioning


class Deployer:
    def __init__(self, clients: Callable[[str], Any], register_function: Callable[[FunctionSpec], None]) -> None:
        self._client = clients
        self._register_function = register_function

    def deploy(self, stack: StackArtifact) -> Deployment:
        unsupported = sorted({r["Type"] for r in stack.resources.values() if r["Type"] not in SUPPORT})
        if unsupported:
            raise UnsupportedResources(f"local mode does not emulate: {', '.join(unsupported)}")
        self.stack = stack
        parameters = {name: p.get("Default") for name, p in stack.template.get("Parameters", {}).items()}
        self.resolver = Resolver(stack.name, parameters, stack.template.get("Conditions", {}), stack.template.get("Mappings", {}))
        self.deployment = Deployment(stack_name=stack.name)
        self._paths: dict[str, str] = {}  # API Gateway resource id -> its full path
        self._role_arns: dict[str, str] = {}  # role name -> ARN
        self._after_deploy: list[Callable[[], None]] = []
        self._bucket_policies: dict[str, list[dict[str, Any]]] = {}  # bucket -> its template policy statements
        for logical_id in deploy_order(stack.resources):
            resource = stack.resources[logical_id]
            if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
                continue
            properties = self.resolver.resolve(resource.get("Properties", {}))
            self.deployment.resolved_properties[logical_id] = properties
            translate = getattr(self, "_" + resource["Type"].replace("::", "_").replace("AWS_", "", 1).lower())
            ref, attributes = translate(logical_id, properties, resource)
            self.resolver.record(logical_id, ref, attributes)
            self.deployment.physical_ids[logical_id] = ref
        for step in self._after_deploy:
            step()
        for name, output in stack.template.get("Outputs", {}).items():
            self.deployment.outputs[name] = str(self.resolver.resolve(output["Value"]))
        return self.deployment

    def _record_key(self, resource_arn: str, key: Any) -> None:
        """Customer-managed keys only: an AWS-managed key (alias/aws/...) lets any caller in the account use it."""
        if isinstance(key, str) and key.startswith("arn:aws:kms:"):
            self.deployment.encryption_keys[resource_arn] = key

    # --- naming, as CloudFormation would generate physical names -------------------------------

    def _name(self, logical_id: str, limit: int = 64, lower: bool = False) -> str:
        name = f"{self.stack.name}-{logical_id}"[:limit]
        return name.lower() if lower else name

    @staticmethod
    def _arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"

    # --- storage ------------------------------------------------------------------------------

    def _s3_bucket(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        s3 = self._client("s3")
        name = props.get("BucketName") or self._name(logical_id, 63, lower=True)
        s3.create_bucket(Bucket=name)
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        if "AccessControl" in props:
            s3.put_bucket_acl(Bucket=name, ACL=_CANNED_ACLS[props["AccessControl"]])
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "BucketEncryption" in props:
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
            for rule in rules:
                self._record_key(f"arn:aws:s3:::{name}", rule["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID"))
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "LoggingConfiguration" in props:
            # The target bucket's policy (a later resource) must exist before logging is accepted.
            self._after_deploy.append(lambda: self._enable_access_logging(name, props["LoggingConfiguration"]))
        arn = f"arn:aws:s3:::{name}"
        return name, {
            "Arn": arn,
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        }

    def _enable_access_logging(self, bucket: str, logging_config: dict[str, Any]) -> None:
        """As S3 accepts it: when the target bucket's policy lets the logging service write under the
        prefix for this source bucket. Bucket policies are not applied in moto (see _s3_bucketpolicy),
        so local mode reads the template's and, when it grants, gives moto the ACL it checks instead."""
        target, prefix = logging_config["DestinationBucketName"], logging_config.get("LogFilePrefix", "")
        if self._logging_granted(bucket, target, prefix):
            self._client("s3").put_bucket_acl(
                Bucket=target,
                GrantWrite=f"uri={LOG_DELIVERY_GROUP}",
                GrantReadACP=f"uri={LOG_DELIVERY_GROUP}",
                GrantFullControl=f"id={self._client('s3').get_bucket_acl(Bucket=target)['Owner']['ID']}",
            )
        self._client("s3").put_bucket_logging(
            Bucket=bucket,
            BucketLoggingStatus={
                "LoggingEnabled": {
                    "TargetBucket": logging_config["DestinationBucketName"],
                    "TargetPrefix": logging_config.get("LogFilePrefix", ""),
                }
            },
        )

    def _logging_granted(self, source: str, target: str, prefix: str) -> bool:
        from local.iam import ALLOW, Check, evaluate

        statements = [
            statement
            for statement in self._bucket_policies.get(target, [])
            if LOGGING_SERVICE in json.dumps(statement.get("Principal", "")) and statement.get("Effect") == "Allow"
        ]
        context = {"aws:SourceArn": f"arn:aws:s3:::{source}", "aws:SourceAccount": ACCOUNT_ID}
        return evaluate(statements, Check("s3:PutObject", f"arn:aws:s3:::{target}/{prefix}log-object", context)) == ALLOW

    def _s3_bucketpolicy(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        # Not applied: moto evaluates bucket policies but ignores their Conditions, so the TLS-only
        # Deny (aws:SecureTransport=false) would refuse every request. tests/infra checks policies.
        # Kept for what local mode itself decides by them (access logging).
        self._bucket_policies[props["Bucket"]] = props["PolicyDocument"].get("Statement", [])
        return f"{props['Bucket']}-policy", {}

    def _custom_s3bucketnotifications(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        self._client("s3").put_bucket_notification_configuration(
            Bucket=props["BucketName"], NotificationConfiguration=props["NotificationConfiguration"]
        )
        return f"{props['BucketName']}-notifications", {}

    def _dynamodb_table(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        dynamodb = self._client("dynamodb")
        name = props.get("TableName") or self._name(logical_id, 255)
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "ProvisionedThroughput" in props:
            args["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "SSESpecification" in props:
            sse = props["SSESpecification"]
            args["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))}
            if sse.get("SSEType") == "KMS":
                args["SSESpecification"]["SSEType"] = "KMS"
                if "KMSMasterKeyId" in sse:
                    args["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
        description = dynamodb.create_table(**args)["TableDescription"]
        self._record_key(description["TableArn"], props.get("SSESpecification", {}).get("KMSMasterKeyId"))
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        if props.get("TimeToLiveSpecification", {}).get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        return name, {"Arn": description["TableArn"], "StreamArn": description.get("LatestStreamArn", "")}

    # --- identity, keys and logs ---------------------------------------------------------------

    def _kms_key(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        kms = self._client("kms")
        args: dict[str, Any] = {"Description": props.get("Description", logical_id)}
        if "KeyPolicy" in props:
            args["Policy"] = json.dumps(props["KeyPolicy"])
        key = kms.create_key(**args)["KeyMetadata"]
        self.deployment.key_policies[key["Arn"]] = policy_statements(props.get("KeyPolicy", {}))
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]}

    def _iam_role(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        iam = self._client("iam")
        name = props.get("RoleName") or self._name(logical_id, 64)
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))["Role"]
        statements = self.deployment.role_statements.setdefault(role["Arn"], [])
        for arn in props.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            statements += policy_statements(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
        for policy in props.get("Policies", []):
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"]))
            statements += policy_statements(policy["PolicyDocument"])
        self._role_arns[name] = role["Arn"]
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def _iam_policy(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        iam = self._client("iam")
        for role in props.get("Roles", []):
            iam.put_role_policy(RoleName=role, PolicyName=props["PolicyName"], PolicyDocument=json.dumps(props["PolicyDocument"]))
            self.deployment.role_statements[self._role_arns[role]] += policy_statements(props["PolicyDocument"])
        return props["PolicyName"], {}

    def _iam_managedpolicy(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        name = props.get("ManagedPolicyName") or self._name(logical_id, 128)
        created = self._client("iam").create_policy(
            PolicyName=name, PolicyDocument=json.dumps(props["PolicyDocument"]), Description=props.get("Description", "")
        )
        return created["Policy"]["Arn"], {"PolicyArn": created["Policy"]["Arn"]}

    def _logs_loggroup(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        logs = self._client("logs")
        name = props.get("LogGroupName") or f"/local/{self._name(logical_id, 200)}"
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return name, {"Arn": self._arn("logs", f"log-group:{name}:*")}

    # --- compute --------------------------------------------------------------------------------

    def _lambda_layerversion(self, logical_id: str, props: dict[str, Any], resource: dict) -> tuple[str, dict]:
        # The layer's binaries are aarch64 wheels that cannot load on this host: the same pinned
        # requirements, built for the host, stand in for them on the path of each function using it.
        asset = self.stack.asset_dir(resource)
        layer_site_dir(self.stack, resource)  # built now, so the first invoke does not wait for pip
        content = _zip_bytes({"LOCAL_LAYER_SOURCE.txt": str(asset)})
        published = self._client("lambda").publish_layer_version(
            LayerName=props.get("LayerName") or self._name(logical_id, 64),
            Description=props.get("Description", ""),
            Content={"ZipFile": content},
            CompatibleRuntimes=props.get("CompatibleRuntimes", []),
            CompatibleArchitectures=props.get("CompatibleArchitectures", []),
        )
        return published["LayerVersionArn"], {"LayerVersionArn": published["LayerVersionArn"]}

    def _lambda_function(self, logical_id: str, props: dict[str, Any], resource: dict) -> tuple[str, dict]:
        name = props.get("FunctionName") or self._name(logical_id, 64)
        environment = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        is_image = props.get("PackageType") == "Image"
        args: dict[str, Any] = {
            "FunctionName": name,
            "Role": props["Role"],
            "Environment": {"Variables": environment},
            "MemorySize": int(props.get("MemorySize", 128)),
            "Timeout": int(props.get("Timeout", 3)),
            "Architectures": props.get("Architectures", ["x86_64"]),
            "TracingConfig": props.get("TracingConfig", {"Mode": "PassThrough"}),
        }
        if "LoggingConfig" in props:
            args["LoggingConfig"] = props["LoggingConfig"]
        code_dir, handler = self._function_code(props, resource, is_image)
        if is_image:
            args.update(PackageType="Image", Code={"ImageUri": props["Code"]["ImageUri"]}, ImageConfig=props.get("ImageConfig", {}))
        else:
            args.update(Runtime=props["Runtime"], Handler=handler, Layers=props.get("Layers", []), Code={"ZipFile": _zip_folder(code_dir)})
        arn = self._client("lambda").create_function(**args)["FunctionArn"]
        spec = FunctionSpec(
            name=name,
            arn=arn,
            code_dir=code_dir,
            handler=handler,
            environment=environment,
            timeout_s=args["Timeout"],
            memory_mb=args["MemorySize"],
            log_group=props.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}"),
            python_path=function_site_dirs(self.stack, resource),
            role_arn=props["Role"],
            dead_letter_arn=props.get("DeadLetterConfig", {}).get("TargetArn", ""),
        )
        self.deployment.functions[logical_id] = spec
        self._register_function(spec)
        return name, {"Arn": arn}

    def _function_code(self, props: dict[str, Any], resource: dict, is_image: bool) -> tuple[Path, str]:
        if "ZipFile" in props.get("Code", {}):
            # Inline code (CDK's own singleton handlers): written out so it can run like any other.
            folder = self.stack.outdir / "local-inline" / resource.get("Metadata", {}).get("aws:cdk:path", "fn").replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.py").write_text(props["Code"]["ZipFile"])
            return folder, props["Handler"]
        asset = self.stack.asset_dir(resource)
        if is_image:
            # The training image copies functions/ to LAMBDA_TASK_ROOT; run the same code from its context.
            return asset / "functions", props["ImageConfig"]["Command"][0]
        return asset, props["Handler"]

    def _lambda_version(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        published = self._client("lambda").publish_version(FunctionName=props["FunctionName"], Description=props.get("Description", ""))
        arn = published["FunctionArn"]
        if not arn.endswith(f":{published['Version']}"):  # moto may answer the unqualified ARN
            arn = f"{arn}:{published['Version']}"
        return arn, {"Version": published["Version"], "FunctionArn": arn}

    def _lambda_alias(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        created = self._client("lambda").create_alias(
            FunctionName=props["FunctionName"], Name=props["Name"], FunctionVersion=str(props["FunctionVersion"])
        )
        return created["AliasArn"], {"AliasArn": created["AliasArn"]}

    def _lambda_permission(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        self.deployment.lambda_permissions.append(props)
        return f"{props['FunctionName']}-{logical_id}", {}

    def _stepfunctions_statemachine(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        if "DefinitionString" in props:
            definition = props["DefinitionString"]
        elif "DefinitionS3Location" in props:
            definition = self.stack.file_asset(props["DefinitionS3Location"]["Key"]).read_text()
        else:
            definition = json.dumps(props["Definition"])
        for name, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        name = props.get("StateMachineName") or self._name(logical_id, 80)
        arn = self._client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        self.deployment.state_machines.append(arn)
        self.deployment.state_machine_roles[arn] = props["RoleArn"]
        return arn, {"Arn": arn, "Name": name}

    def _kinesisfirehose_deliverystream(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        name = props.get("DeliveryStreamName") or self._name(logical_id, 64)
        destination = props["ExtendedS3DestinationConfiguration"]
        config = {
            key: destination[key] for key in ("BucketARN", "RoleARN", "Prefix", "ErrorOutputPrefix", "BufferingHints") if key in destination
        }
        arn = self._client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType=props.get("DeliveryStreamType", "DirectPut"),
            ExtendedS3DestinationConfiguration=config,
        )["DeliveryStreamARN"]
        self.deployment.delivery_streams[name] = {
            "role": destination["RoleARN"],
            "bucket_arn": destination["BucketARN"],
            "prefix": destination.get("Prefix", ""),
            "error_prefix": destination.get("ErrorOutputPrefix", ""),
        }
        if destination.get("DynamicPartitioningConfiguration", {}).get("Enabled"):
            # moto writes every record under the literal prefix; local mode partitions as Firehose does.
            processors = destination.get("ProcessingConfiguration", {}).get("Processors", [])
            queries = [
                parameter["ParameterValue"]
                for processor in processors
                if processor["Type"] == "MetadataExtraction"
                for parameter in processor["Parameters"]
                if parameter["ParameterName"] == "MetadataExtractionQuery"
            ]
            Partitioner.parse(queries[0] if queries else "")  # an unsupported query stops the deploy, saying which
            self.deployment.delivery_streams[name]["partition_query"] = queries[0]
        return name, {"Arn": arn}

    def _glue_database(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        database = props["DatabaseInput"]
        self._client("glue").create_database(DatabaseInput=database)
        return database["Name"], {}

    def _glue_table(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        table = props["TableInput"]
        self._client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=table)
        return table["Name"], {}

    def _logs_subscriptionfilter(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        subscription = Subscription.parse(props["LogGroupName"], props["FilterPattern"], props["DestinationArn"], props.get("RoleArn", ""))
        self.deployment.subscriptions.append(subscription)
        return props.get("FilterName") or self._name(logical_id, 512), {}

    def _logs_logstream(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        name = props.get("LogStreamName") or self._name(logical_id, 200)
        self._client("logs").create_log_stream(logGroupName=props["LogGroupName"], logStreamName=name)
        return name, {}

    # --- events and messaging -----------------------------------------------------------------

    def _events_rule(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        events, sqs = self._client("events"), self._client("sqs")
        name = props.get("Name") or self._name(logical_id, 64)
        bus = props.get("EventBusName", "default")
        args: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            args["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            args["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**args)["RuleArn"]
        rule = RuleSpec(name=name, arn=arn, event_bus=bus, targets=props.get("Targets", []), schedule=props.get("ScheduleExpression"))
        if "EventPattern" in props:
            # moto delivers to SQS only: a tap queue per rule, drained by local mode to the real targets.
            rule.tap_queue_url = sqs.create_queue(QueueName=f"local-tap-{name}"[:80])["QueueUrl"]
            tap_arn = sqs.get_queue_attributes(QueueUrl=rule.tap_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "local-tap", "Arn": tap_arn}])
        self.deployment.rules.append(rule)
        return name, {"Arn": arn}

    def _sns_topic(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        sns = self._client("sns")
        attributes = {"DisplayName": props["DisplayName"]} if "DisplayName" in props else {}
        if "KmsMasterKeyId" in props:
            attributes["KmsMasterKeyId"] = props["KmsMasterKeyId"]
        arn = sns.create_topic(Name=props.get("TopicName") or self._name(logical_id, 256), Attributes=attributes)["TopicArn"]
        self._record_key(arn, props.get("KmsMasterKeyId"))
        for subscription in props.get("Subscription", []):
            sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
        return arn, {"TopicArn": arn, "TopicName": arn.rsplit(":", 1)[1]}

    def _sns_topicpolicy(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        for topic in props.get("Topics", []):
            self.deployment.resource_policies.setdefault(topic, []).extend(policy_statements(props["PolicyDocument"]))
        return f"{logical_id}-policy", {}

    def _sqs_queue(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        sqs = self._client("sqs")
        attributes = {
            key: str(props[key])
            for key in ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "SqsManagedSseEnabled")
            if key in props
        }
        url = sqs.create_queue(QueueName=props.get("QueueName") or self._name(logical_id, 80), Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._record_key(arn, props.get("KmsMasterKeyId"))
        return url, {"Arn": arn, "QueueName": url.rsplit("/", 1)[1], "QueueUrl": url}

    def _sqs_queuepolicy(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        sqs = self._client("sqs")
        for url in props.get("Queues", []):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.deployment.resource_policies.setdefault(arn, []).extend(policy_statements(props["PolicyDocument"]))
        return f"{logical_id}-policy", {}

    # --- monitoring ---------------------------------------------------------------------------

    def _cloudwatch_alarm(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        name = props.get("AlarmName") or self._name(logical_id, 255)
        args = {key: props[key] for key in props if key not in ("AlarmName",)}
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in args:
                args[key] = int(args[key])
        args["Threshold"] = float(args["Threshold"])
        self._client("cloudwatch").put_metric_alarm(AlarmName=name, **args)
        self.deployment.alarms.append(name)
        return name, {"Arn": self._arn("cloudwatch", f"alarm:{name}")}

    def _cloudwatch_dashboard(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        name = props.get("DashboardName") or self._name(logical_id, 255)
        self._client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
        return name, {}

    # --- API Gateway ----------------------------------------------------------------------------

    def _apigateway_restapi(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        endpoint_types = props.get("EndpointConfiguration", {}).get("Types", ["REGIONAL"])
        api = self._client("apigateway").create_rest_api(
            name=props.get("Name", logical_id),
            description=props.get("Description", ""),
            endpointConfiguration={"types": endpoint_types},
        )
        self.deployment.api_names[api["id"]] = api["name"]
        resources = self._client("apigateway").get_resources(restApiId=api["id"])["items"]
        root = next(r["id"] for r in resources if r["path"] == "/")
        self._paths[root] = "/"
        return api["id"], {"RootResourceId": root}

    def _apigateway_resource(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        created = self._client("apigateway").create_resource(
            restApiId=props["RestApiId"], parentId=props["ParentId"], pathPart=props["PathPart"]
        )
        parent_path = self._paths[props["ParentId"]]
        self._paths[created["id"]] = parent_path.rstrip("/") + "/" + props["PathPart"]
        return created["id"], {"ResourceId": created["id"]}

    def _apigateway_method(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        apigw = self._client("apigateway")
        api_id, resource_id, method = props["RestApiId"], props["ResourceId"], props["HttpMethod"]
        apigw.put_method(
            restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType=props.get("AuthorizationType", "NONE")
        )
        integration = props.get("Integration", {})
        if integration:
            apigw.put_integration(
                restApiId=api_id,
                resourceId=resource_id,
                httpMethod=method,
                type=integration["Type"],
                integrationHttpMethod=integration.get("IntegrationHttpMethod", "POST"),
                uri=integration.get("Uri", ""),
            )
        if integration.get("Type") == "AWS_PROXY":
            function_arn = integration["Uri"].split("/functions/", 1)[1].rsplit("/invocations", 1)[0]
            route = Route(api_id, self._paths[resource_id], method, function_arn, props.get("AuthorizationType", "NONE"))
            self.deployment.routes.append(route)
        return f"{api_id}-{resource_id}-{method}", {}

    def _apigateway_deployment(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        created = self._client("apigateway").create_deployment(restApiId=props["RestApiId"], description=props.get("Description", ""))
        return created["id"], {"DeploymentId": created["id"]}

    def _apigateway_stage(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        logs = "AccessLogSetting" in props or any(s.get("LoggingLevel", "OFF") != "OFF" for s in props.get("MethodSettings", []))
        if logs and not self._client("apigateway").get_account().get("cloudwatchRoleArn"):
            # API Gateway's own answer (a BadRequestException that fails the stage's creation).
            raise AccountSettingMissing(
                f"{logical_id}: CloudWatch Logs role ARN must be set in account settings to enable logging"
                " (deploy the stack that sets AWS::ApiGateway::Account first)"
            )
        self._client("apigateway").create_stage(
            restApiId=props["RestApiId"], stageName=props["StageName"], deploymentId=props["DeploymentId"]
        )
        self.deployment.stages[props["RestApiId"]] = props["StageName"]
        return props["StageName"], {}

    def _apigateway_account(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        """An account-wide setting: the role API Gateway writes every stage's logs with."""
        patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": props["CloudWatchRoleArn"]}]
        self._client("apigateway").update_account(patchOperations=patch)
        return f"{logical_id}-account", {}

    def _apigateway_requestvalidator(self, logical_id: str, props: dict[str, Any], _: dict) -> tuple[str, dict]:
        created = self._client("apigateway").create_request_validator(
            restApiId=props["RestApiId"],
            name=props.get("Name", logical_id),
            validateRequestBody=bool(props.get("ValidateRequestBody", False)),
            validateRequestParameters=bool(props.get("ValidateRequestParameters", False)),
        )
        return created["id"], {"RequestValidatorId": created["id"]}


def policy_statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def deploy_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Dependencies first (Ref, GetAtt, Sub, DependsOn); ties broken by template order."""
    dependencies = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        found = references(resource.get("Properties", {})) | set(depends_on)
        dependencies[logical_id] = {name for name in found if name in resources}
    ordered: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in done:
            return
        if logical_id in visiting:
            raise ValueError(f"circular dependency through {logical_id}")
        visiting.add(logical_id)
        for dependency in sorted(dependencies[logical_id]):
            visit(dependency)
        visiting.discard(logical_id)
        done.add(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered


def _zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()
