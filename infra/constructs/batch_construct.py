"""Batch inference: a Distributed Map state machine (ASL next to this file) and its scoring Lambda."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.distributed_map import grant_child_executions, machine_name
from infra.constructs.function_factory import FunctionFactory, log_group
from infra.constructs.storage_construct import StorageConstruct
from infra.nag import acknowledge_objects
from mlops.shared import settings as env

ASL_FILE = Path(__file__).resolve().parent.parent / "statemachines" / "batch_inference.asl.json"


class BatchInferenceConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, storage: StorageConstruct, functions: FunctionFactory) -> None:
        super().__init__(scope, construct_id)
        data = storage.data_bucket
        self.function = functions.zip_function(
            self,
            "Score",
            "handle_batch_inference",
            {
                env.ENV_DATA_BUCKET: data.bucket_name,
                env.ENV_MODELS_TABLE: storage.models_table.table_name,
                env.ENV_AUDIT_TABLE: storage.audit_table.table_name,  # read by nothing here; the registry's constructor takes it
            },
            "the batch-inference state machine, as a synchronous Task in a Map of at most 20 chunks at once",
            layers=("common", "serving", "tables"),  # tables: Parquet inputs
            memory_mb=2048,
            timeout=Duration.minutes(15),
            ephemeral_storage_mb=4096,  # a file's predictions are written to /tmp, then uploaded
        )
        data.grant_read(self.function, f"{env.BATCH_PREFIX}*")
        data.grant_put(self.function, f"{env.BATCH_PREFIX}*")
        self._acknowledge_prefix(storage, env.BATCH_PREFIX, "Reads the files to score and writes predictions beside them, in batch/.")
        storage.models_table.grant_read_data(self.function)
        storage.artifacts_bucket.grant_read(self.function)
        self.name = machine_name(self, "BatchInference")
        self.state_machine = sfn.StateMachine(
            self,
            "BatchInferenceStateMachine",
            state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions={
                "BatchFunctionArn": self.function.function_arn,
                "DataBucketName": data.bucket_name,
                "ResultsPrefix": env.BATCH_RESULTS_PREFIX.rstrip("/"),
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group(self, "BatchExecutionLogs"), level=sfn.LogLevel.ALL),
            timeout=Duration.days(1),
        )
        self.function.grant_invoke(self.state_machine)
        self._grant_distributed_map(storage)

    def _grant_distributed_map(self, storage: StorageConstruct) -> None:
        """What a Distributed Map needs: list the prefix, write its result files, run child executions."""
        role, data = self.state_machine.role, storage.data_bucket
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[data.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{env.BATCH_PREFIX}*"]}},
            )
        )
        data.grant_put(role, f"{env.BATCH_RESULTS_PREFIX}*")
        # ResultWriter writes its manifest and results as multipart uploads, which it reads back and
        # aborts on failure ("IAM policies for using Distributed Map states").
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                resources=[data.arn_for_objects(f"{env.BATCH_RESULTS_PREFIX}*")],
            )
        )
        self._acknowledge_prefix(storage, env.BATCH_RESULTS_PREFIX, "The Distributed Map writes its result files in batch-results/.")
        grant_child_executions(self.state_machine, self.name)

    def _acknowledge_prefix(self, storage: StorageConstruct, prefix: str, reason: str) -> None:
        acknowledge_objects(self, storage.data_bucket, f"{prefix}*", reason)
