"""How every Lambda of the platform is built: arm64, python3.12, traced, its own log group.

Zip functions share one code asset (functions/) and the dependency layers built by layers/build.py;
training functions share one container image. Callers only say what differs.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Size
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.encryption import logs_key
from infra.nag import acknowledge
from layers.build import LAYERS_DIR, ZIP_LAYERS

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
TRAINING_DOCKERFILE = "layers/training/Dockerfile"
# The image's build context is the repository root reduced to what the Dockerfile copies.
TRAINING_IMAGE_CONTEXT = ["*", "!functions", "!layers/training", "**/__pycache__", "**/*.pyc"]
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc"]
METRICS_NAMESPACE = "MLOps"


def layer_build_dir(name: str) -> Path:
    return LAYERS_DIR / name / "build"


class FunctionFactory(Construct):
    """Owns the shared code asset and layers; builds functions that differ only in what they do."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=CODE_EXCLUDES)
        self.layers = {name: self._build_layer(name) for name in ZIP_LAYERS}
        # Who invokes each function and its environment's names, by its path: the reasons given to
        # the IaC scanner (infra/checkov.py), which cannot read an environment before synthesis.
        self.invokers: dict[str, str] = {}
        self.variables: dict[str, set[str]] = {}

    def _build_layer(self, name: str) -> lambda_.LayerVersion:
        build_dir = layer_build_dir(name)
        if not (build_dir / "python").is_dir():
            raise FileNotFoundError(f"layer {name!r} is not built: run `make layers` (python layers/build.py)")
        return lambda_.LayerVersion(
            self,
            f"{name.capitalize()}Layer",
            code=lambda_.Code.from_asset(str(build_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description=f"{name} dependencies, pinned in layers/{name}/requirements.txt",
            removal_policy=RemovalPolicy.RETAIN,
        )

    def zip_function(
        self,
        scope: Construct,
        construct_id: str,
        handler: str,
        environment: dict[str, str],
        invoked_by: str,
        layers: tuple[str, ...] = ("common",),
        memory_mb: int = 512,
        timeout: Duration = Duration.seconds(60),
        ephemeral_storage_mb: int = 512,
        snap_start: bool = False,
        reserved_concurrency: int | None = None,
        dead_letters: sqs.IQueue | None = None,
    ) -> lambda_.Function:
        """invoked_by: who invokes it and how (said to the scanner); dead_letters: where an
        asynchronous invocation goes once Lambda's retries fail (every asynchronously invoked function)."""
        function = lambda_.Function(
            scope,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            code=self._code,
            handler=f"handlers.{handler}.lambda_handler",
            layers=[self.layers[name] for name in layers],
            memory_size=memory_mb,
            timeout=timeout,
            ephemeral_storage_size=Size.mebibytes(ephemeral_storage_mb),
            environment={**_observability_env(construct_id), **environment},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group(scope, f"{construct_id}Logs"),
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=dead_letters,
        )
        _acknowledge_runtime(function)
        if dead_letters is not None:
            # CDK grants sqs:SendMessage alone; the queue's key must let the role encrypt as well
            # (local mode found the failed events lost without it).
            dead_letters.grant_send_messages(function)
        self._record(function, invoked_by, environment)
        return function

    def image_function(
        self,
        scope: Construct,
        construct_id: str,
        handler: str,
        environment: dict[str, str],
        invoked_by: str,
        memory_mb: int = 3008,
        timeout: Duration = Duration.minutes(15),
    ) -> lambda_.DockerImageFunction:
        code = lambda_.DockerImageCode.from_image_asset(
            str(ROOT),
            file=TRAINING_DOCKERFILE,
            cmd=[f"handlers.{handler}.lambda_handler"],
            platform=ecr_assets.Platform.LINUX_ARM64,
            exclude=TRAINING_IMAGE_CONTEXT,
            ignore_mode=IgnoreMode.DOCKER,
        )
        function = lambda_.DockerImageFunction(
            scope,
            construct_id,
            code=code,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=memory_mb,
            timeout=timeout,
            environment={**_observability_env(construct_id), **environment},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group(scope, f"{construct_id}Logs"),
        )
        self._record(function, invoked_by, environment)
        return function

    def add_environment(self, function: lambda_.Function, name: str, value: str) -> None:
        function.add_environment(name, value)
        self.variables[function.node.path].add(name)

    def _record(self, function: lambda_.Function, invoked_by: str, environment: dict[str, str]) -> None:
        self.invokers[function.node.path] = invoked_by
        self.variables[function.node.path] = {*_observability_env(""), *environment}


def log_group(scope: Construct, construct_id: str) -> logs.LogGroup:
    """A log group kept for a month; logs are diagnostics, not records (runs and audit are in DynamoDB).
    Encrypted with the platform's logs key: a function's log or the API's access log may hold request data."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
        encryption_key=logs_key(scope),
    )


def _observability_env(construct_id: str) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": construct_id,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def _acknowledge_runtime(function: lambda_.Function) -> None:
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Pinned to python3.12: the layers are built for cp312 wheels and the image uses the 3.12 base.",
    )
