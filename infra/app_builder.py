"""Builds the CDK app; tests and local mode call this too, so every consumer synthesizes the same thing."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

ROOT = Path(__file__).resolve().parent.parent
# infra imports the environment-variable names from the functions' own settings module.
sys.path.insert(0, str(ROOT / "functions"))

from infra.platform_stack import PlatformStack  # noqa: E402

DEFAULT_STACK_NAME = "MlopsPlatform"
ASSET_METADATA_CONTEXT = {
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:enable-path-metadata": True,
}


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    app = App(outdir=outdir, context={**ASSET_METADATA_CONTEXT, **(context or {})}, analytics_reporting=False)
    stack_name = app.node.try_get_context("stackName") or DEFAULT_STACK_NAME
    PlatformStack(
        app,
        stack_name,
        # Environment-agnostic unless CDK_DEFAULT_* are set (cdk deploy sets them); never looked up.
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
        alarm_email=app.node.try_get_context("alarmEmail") or None,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # type: ignore[arg-type]
    return app
