"""Shared fixtures: fake AWS credentials for every test, and one synthesized app per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Nothing in the suite may reach a real account: credentials are fake and the region fixed.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "MLOpsTests",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

STACK_NAME = "MlopsPlatform"


@pytest.fixture(scope="session")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app synthesized once for the whole session (cdk-nag runs here: findings fail synth)."""
    from infra.app_builder import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(outdir=str(outdir)).synth()
    return outdir


@pytest.fixture(scope="session")
def stage_templates(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every stage's template: dev from the session's synth, staging and prod synthesized once more
    each (they differ in reserved concurrency, and the scanners must pass on what each deploys)."""
    from infra.app_builder import build_app

    stages = json.loads((Path(__file__).resolve().parents[1] / "cdk.json").read_text())["context"]["stages"]
    templates = {"dev": cloud_assembly / f"{STACK_NAME}.template.json"}
    for stage in ("staging", "prod"):
        outdir = tmp_path_factory.mktemp(f"cdk.out-{stage}")
        build_app(outdir=str(outdir), context={"stage": stage}).synth()
        templates[stage] = outdir / f"{stages[stage]['stackName']}.template.json"
    return templates


@pytest.fixture(scope="session")
def template(cloud_assembly: Path) -> dict:
    return json.loads((cloud_assembly / f"{STACK_NAME}.template.json").read_text())
