"""Builds the CDK app; tests and local mode call this too, so every consumer synthesizes the same thing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

ROOT = Path(__file__).resolve().parent.parent
# infra imports the environment-variable names from the functions' own settings module.
sys.path.insert(0, str(ROOT / "functions"))

from infra import feature_flags  # noqa: E402
from infra.logging_account_stack import ApiGatewayLoggingStack  # noqa: E402
from infra.platform_stack import PlatformStack  # noqa: E402
from infra.stages import stage_from_context  # noqa: E402

ASSET_METADATA_CONTEXT = {
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:enable-path-metadata": True,
}


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    defaults = json.loads((ROOT / "cdk.json").read_text())["context"]  # the CLI passes these; tests and local mode read them here
    flags = feature_flags.context()  # each with why: infra/feature_flags.py
    app = App(outdir=outdir, context={**flags, **defaults, **ASSET_METADATA_CONTEXT, **(context or {})}, analytics_reporting=False)
    _, stage = stage_from_context(app.node)
    # The stage's account/region, else CDK_DEFAULT_* (cdk deploy sets them); never looked up at synth.
    env = Environment(
        account=stage.account or os.environ.get("CDK_DEFAULT_ACCOUNT"), region=stage.region or os.environ.get("CDK_DEFAULT_REGION")
    )
    logging_role = ApiGatewayLoggingStack(app, env=env)
    platform = PlatformStack(app, stage.stack_name, env=env, alarm_email=stage.alarm_email or None, concurrency=stage.reserved_concurrency)
    platform.add_stack_dependency(logging_role, "API Gateway refuses a logging stage until the account has its logging role")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # type: ignore[arg-type]
    return app
