"""SageMaker training jobs for fits past a Lambda: the training image built for x86 instances, the
role the jobs run with, and what the pipeline's state machine needs to start and follow them.

The image is the training functions' Dockerfile built for linux/amd64: SageMaker trains on x86
instances, while the functions run on arm64. Same Dockerfile, same pinned packages, same code.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, IgnoreMode, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.function_factory import ROOT, TRAINING_DOCKERFILE, TRAINING_IMAGE_CONTEXT
from infra.constructs.storage_construct import StorageConstruct
from infra.nag import acknowledge, arn_in_finding, objects_in_finding
from mlops.training.training_jobs import JOB_NAME_PREFIX

# Every job the pipeline starts is named mlops-<run hash>-<kind> (mlops.training.training_jobs.job_name).
JOB_NAME_PATTERN = f"{JOB_NAME_PREFIX}*"
JOB_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Step Functions follows a .sync SageMaker job through this managed EventBridge rule.
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"


class TrainingJobsConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, storage: StorageConstruct) -> None:
        super().__init__(scope, construct_id)
        self.image = ecr_assets.DockerImageAsset(
            self,
            "TrainingJobImage",
            directory=str(ROOT),
            file=TRAINING_DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=TRAINING_IMAGE_CONTEXT,
            ignore_mode=IgnoreMode.DOCKER,
        )
        self.role = self._build_role(storage)

    def _build_role(self, storage: StorageConstruct) -> iam.Role:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "TrainingJobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker training jobs of the training pipeline: read the splits, write their output",
        )
        # The job reads the run's state and its splits; SageMaker writes model.tar.gz and
        # checkpoints under the run's jobs/ folder with this role.
        storage.data_bucket.grant_read(role)
        storage.artifacts_bucket.grant_read_write(role, "runs/*")
        self.image.repository.grant_pull(role)
        role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        log_groups = [
            stack.format_arn(service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
            for name in (JOB_LOG_GROUP, f"{JOB_LOG_GROUP}:*")
        ]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=log_groups,
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
            )
        )
        findings = {
            "*": "This training job's role: ecr:GetAuthorizationToken and cloudwatch:PutMetricData take no resource "
            "(the latter is held to SageMaker's namespace by a condition).",
            arn_in_finding(stack, "logs", f"log-group:{JOB_LOG_GROUP}:*"): "SageMaker names each job's log streams itself.",
            objects_in_finding(storage.artifacts_bucket, "runs/*"): "Each job's output and checkpoints go under runs/<run>/jobs/.",
        }
        for resource, reason in findings.items():
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        return role

    def grant_run_jobs(self, state_machine_role: iam.IGrantable) -> None:
        """What Step Functions' createTrainingJob.sync needs: start, follow and stop the pipeline's
        jobs, tag them, pass them their role, and manage the EventBridge rule it follows them with."""
        stack = Stack.of(self)
        jobs = stack.format_arn(service="sagemaker", resource="training-job", resource_name=JOB_NAME_PATTERN)
        statements = [
            iam.PolicyStatement(
                # ListTags: the .sync integration reads the job's tags (Step Functions' page on SageMaker policies)
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[jobs],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)],
            ),
        ]
        for statement in statements:
            state_machine_role.grant_principal.add_to_principal_policy(statement)
        acknowledge(
            state_machine_role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', f'training-job/{JOB_NAME_PATTERN}')}]",
            "The pipeline's jobs, named per run (mlops.training.training_jobs.job_name).",
        )
