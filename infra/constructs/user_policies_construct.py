"""Managed policies per kind of user, each granting `execute-api:Invoke` on exactly its routes.

- client: predictions and feedback (an application calling the model);
- data scientist: specs, drafts, runs, batch scoring and uploads, checks on demand, and every read;
- approver: every read, and the decisions: approve, reject, promote, roll back, traffic.

The API authorizes callers by IAM (SigV4) only, so these are its doors. In an execute-api ARN `*`
also matches `/`: the data scientist's `PUT /models/*` (a spec) would reach `PUT
/models/{model}/traffic`, so that policy denies the decision routes outright. Who registers specs
and trains does not decide what serves (attach both to one principal and the deny wins).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Fn, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.serving_construct import STAGE_NAME
from infra.constructs.storage_construct import StorageConstruct
from infra.nag import acknowledge, acknowledge_objects, arn_in_finding, executions_in_finding
from mlops.shared import settings as env

Route = tuple[str, str]  # (method, path with * for each path parameter)
CLIENT_ROUTES: list[Route] = [("POST", "/models/*/predict"), ("POST", "/models/*/feedback")]
READ_ROUTES: list[Route] = [("GET", "/*")]  # models, specs, datasets, runs, versions, traffic, drift, audit, health
DECISION_ROUTES: list[Route] = [
    ("POST", "/models/*/versions/*/approve"),
    ("POST", "/models/*/versions/*/reject"),
    ("POST", "/models/*/promote"),
    ("POST", "/models/*/rollback"),
    ("PUT", "/models/*/traffic"),
]
DATA_SCIENTIST_ROUTES: list[Route] = [
    *READ_ROUTES,
    ("PUT", "/models/*"),
    ("POST", "/models/*/draft"),
    ("POST", "/models/*/runs"),
    ("POST", "/models/*/batch"),
    ("POST", "/models/*/checks"),
    ("POST", "/models/*/versions"),
]
APPROVER_ROUTES: list[Route] = [*READ_ROUTES, *DECISION_ROUTES]


class UserPoliciesConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, api: apigw.RestApi, storage: StorageConstruct, batch: sfn.StateMachine) -> None:
        super().__init__(scope, construct_id)
        self._api = api
        self.client = self._policy("Client", "Applications: predictions and feedback", CLIENT_ROUTES)
        self.data_scientist = self._policy(
            "DataScientist", "Data scientists: specs, uploads, runs, batch scoring, every read", DATA_SCIENTIST_ROUTES
        )
        self.data_scientist.add_statements(
            iam.PolicyStatement(
                sid="NoDecisions", effect=iam.Effect.DENY, actions=["execute-api:Invoke"], resources=self._arns(DECISION_ROUTES)
            ),
            *self._uploads(storage),
            *self._batch_jobs_and_reports(storage, batch),
        )
        self.approver = self._policy("Approver", "Approvers: approve, reject, promote, roll back, traffic; every read", APPROVER_ROUTES)

    def _policy(self, construct_id: str, description: str, routes: list[Route]) -> iam.ManagedPolicy:
        policy = iam.ManagedPolicy(
            self,
            construct_id,
            description=f"MLOps platform API, {description}",
            statements=[iam.PolicyStatement(sid="Routes", actions=["execute-api:Invoke"], resources=self._arns(routes))],
        )
        stack = Stack.of(self)
        api_id = stack.get_logical_id(self._api.node.default_child)  # type: ignore[arg-type]
        for method, path in routes:
            if "*" in path:
                arn = arn_in_finding(stack, "execute-api", f"<{api_id}>/{STAGE_NAME}/{method}{path}")
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{arn}]",
                    f"{method} {path}: `*` stands for the path's parameters (the model, a version), on this API's stage only.",
                )
        return policy

    def _arns(self, routes: list[Route]) -> list[str]:
        return [self._api.arn_for_execute_api(method, path, STAGE_NAME) for method, path in routes]

    def _uploads(self, storage: StorageConstruct) -> list[iam.PolicyStatement]:
        """Datasets start runs; batch inputs are scored and their predictions read back (batch/)."""
        bucket, key = storage.data_bucket, storage.keys["Data"]
        statements = [
            iam.PolicyStatement(
                sid="UploadDatasets", actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{env.DATASETS_PREFIX}*")]
            ),
            iam.PolicyStatement(
                sid="BatchInputsAndPredictions",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{env.BATCH_PREFIX}*")],
            ),
            iam.PolicyStatement(sid="DataKey", actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]),
            iam.PolicyStatement(
                sid="UploadModelsTrainedElsewhere",
                actions=["s3:PutObject"],
                resources=[storage.artifacts_bucket.arn_for_objects(f"{env.IMPORTS_PREFIX}*")],
            ),
            iam.PolicyStatement(sid="ImportsKey", actions=["kms:GenerateDataKey"], resources=[storage.keys["Artifacts"].key_arn]),
        ]
        for prefix, reason in (
            (env.DATASETS_PREFIX, "Uploads datasets, one object per upload"),
            (env.BATCH_PREFIX, "Batch inputs and predictions"),
        ):
            acknowledge_objects(self.data_scientist, bucket, f"{prefix}*", f"{reason}, under {prefix} only.")
        acknowledge_objects(
            self.data_scientist,
            storage.artifacts_bucket,
            f"{env.IMPORTS_PREFIX}*",
            f"ONNX files trained elsewhere, for POST /models/{{model}}/versions, under {env.IMPORTS_PREFIX} only.",
        )
        return statements

    def _batch_jobs_and_reports(self, storage: StorageConstruct, batch: sfn.StateMachine) -> list[iam.PolicyStatement]:
        """What `mlops batch` and `mlops drift --open` read besides the API: a batch job's status, the
        files it wrote, and the HTML drift reports."""
        stack = Stack.of(self)
        # As grant_execution writes it: the name split out of the state machine's ARN.
        name = Fn.select(6, Fn.split(":", batch.state_machine_arn))
        executions = stack.format_arn(
            service="states", resource="execution", resource_name=f"{name}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        reports = storage.artifacts_bucket.arn_for_objects(f"{env.REPORTS_PREFIX}*")
        statements = [
            iam.PolicyStatement(sid="BatchJobStatus", actions=["states:DescribeExecution"], resources=[executions]),
            iam.PolicyStatement(
                sid="ListBatchFiles",
                actions=["s3:ListBucket"],
                resources=[storage.data_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{env.BATCH_PREFIX}*"]}},
            ),
            iam.PolicyStatement(sid="ReadReports", actions=["s3:GetObject"], resources=[reports]),
            iam.PolicyStatement(sid="ReportsKey", actions=["kms:Decrypt"], resources=[storage.keys["Artifacts"].key_arn]),
        ]
        acknowledge(
            self.data_scientist, f"AwsSolutions-IAM5[Resource::{executions_in_finding(batch)}]", "Batch jobs' executions, named per job."
        )
        acknowledge_objects(self.data_scientist, storage.artifacts_bucket, f"{env.REPORTS_PREFIX}*", "Drift reports, under reports/ only.")
        return statements
