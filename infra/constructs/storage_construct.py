"""Buckets and tables: encrypted with the platform's own KMS keys (rotated yearly), TLS-only,
versioned, public access blocked, recoverable.

One key per kind of data, so a key policy or a grant (and CloudTrail's record of its use) is about
one thing: training data, model artifacts, captured traffic, the tables. CDK's grants on a bucket or
table also grant the key. Only the access-log bucket stays S3-managed: S3 server access logging
cannot deliver to a bucket encrypted with a customer-managed key.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.checkov import skip
from infra.nag import acknowledge
from mlops.training.runs import BY_MODEL_INDEX


class StorageConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.keys = {name: self._build_key(name) for name in ("Data", "Artifacts", "Capture", "Tables")}
        self.access_logs_bucket = self._build_access_logs_bucket()
        # Uploads under datasets/ go to EventBridge, where the pipeline rule picks them up.
        self.data_bucket = self._build_bucket("DataBucket", "data/", self.keys["Data"], event_bridge=True)
        self.artifacts_bucket = self._build_bucket("ArtifactsBucket", "artifacts/", self.keys["Artifacts"])
        # Its objects' events go to EventBridge: captured lines Firehose could not partition land under
        # capture-errors/, and a rule watches for them (ServingConstruct).
        self.capture_bucket = self._build_bucket("CaptureBucket", "capture/", self.keys["Capture"], event_bridge=True)
        self.models_table = self._build_table("ModelsTable", partition="model", sort="sk")
        self.runs_table = self._build_table("RunsTable", partition="run_id")
        self.runs_table.add_global_secondary_index(
            index_name=BY_MODEL_INDEX,
            partition_key=dynamodb.Attribute(name="model", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="started_at", type=dynamodb.AttributeType.STRING),
        )
        self.audit_table = self._build_table("AuditTable", partition="model", sort="sk")

    def _build_key(self, name: str) -> kms.Key:
        return kms.Key(
            self,
            f"{name}Key",
            description=f"MLOps platform: {name.lower()}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_access_logs_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(bucket, "AwsSolutions-S1", "This is the access-log bucket; logging it to itself would loop.")
        skip(bucket.node.default_child, "CKV_AWS_18", "This is the access-log bucket; logging it to itself would loop.")  # type: ignore[arg-type]
        return bucket

    def _build_bucket(self, construct_id: str, log_prefix: str, key: kms.Key, event_bridge: bool = False) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,  # one data key per bucket and period, not a KMS call per object
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=log_prefix,
            event_bridge_enabled=event_bridge,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_table(self, construct_id: str, partition: str, sort: str | None = None) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.keys["Tables"],
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
