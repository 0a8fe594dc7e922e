"""checkov, a second IaC scanner beside cdk-nag and cfn-lint, on every stage's template: nothing
fails, and every skip is in the resource's own metadata with a reason about that resource."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"  # `make dev` installs it (requirements-scan.txt)
STAGES = ("dev", "staging", "prod")


def scan(template: Path) -> dict:
    assert CHECKOV.exists(), "checkov is not installed: run `make dev` (requirements-scan.txt)"
    # --skip-download: no call to the vendor's platform for guidelines (and no network in CI).
    done = subprocess.run(
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def reports(stage_templates) -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=len(STAGES)) as pool:  # three checkov processes at once
        return dict(zip(STAGES, pool.map(scan, (stage_templates[stage] for stage in STAGES)), strict=True))


@pytest.mark.parametrize("stage", STAGES)
def test_checkov_fails_nothing_on_the_stage_template(reports, stage):
    report = reports[stage]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 500  # it really scanned the template


@pytest.mark.parametrize("stage", STAGES)
def test_every_skip_is_in_metadata_with_a_reason_naming_what_the_resource_does(reports, stage_templates, stage):
    resources = json.loads(stage_templates[stage].read_text())["Resources"]
    skips = [
        (logical_id, skip)
        for logical_id, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert len(skips) == reports[stage]["summary"]["skipped"]
    for logical_id, skip in skips:
        assert len(skip["comment"]) > 60, (logical_id, skip)
    # A function's reasons come from its own template: the APIs its role calls, its variables, its caller.
    for logical_id, skip in skips:
        if skip["id"] == "CKV_AWS_173":
            variables = resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
            assert all(name in skip["comment"] for name in variables), (logical_id, skip["comment"])


def of_type(resources: dict, kind: str) -> dict:
    return {k: r for k, r in resources.items() if r["Type"] == kind}


def test_what_protects_users_is_fixed_rather_than_skipped(stage_templates):
    for stage in STAGES:
        resources = json.loads(stage_templates[stage].read_text())["Resources"]

        def by_type(kind: str, resources: dict = resources) -> dict:
            return {k: r for k, r in resources.items() if r["Type"] == kind}

        assert all("KmsKeyId" in r["Properties"] for r in of_type(resources, "AWS::Logs::LogGroup").values())
        assert all("KmsMasterKeyId" in r["Properties"] for r in of_type(resources, "AWS::SQS::Queue").values())
        # Every function EventBridge invokes (asynchronously) dead-letters what fails after Lambda's retries.
        asynchronous = {
            p["Properties"]["FunctionName"]["Fn::GetAtt"][0]
            for p in of_type(resources, "AWS::Lambda::Permission").values()
            if p["Properties"]["Principal"] == "events.amazonaws.com"
        }
        assert len(asynchronous) == 5
        functions = of_type(resources, "AWS::Lambda::Function")
        assert all("DeadLetterConfig" in functions[f]["Properties"] for f in asynchronous)


def test_staging_and_prod_reserve_concurrency_for_serving_and_checks(stage_templates):
    for stage in ("staging", "prod"):
        functions = {
            k: r["Properties"]
            for k, r in json.loads(stage_templates[stage].read_text())["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function"
        }
        reserved = {re.sub(r"[0-9A-F]{8}$", "", k) for k, p in functions.items() if "ReservedConcurrentExecutions" in p}
        assert reserved == {"ServingPredict", "ModelChecksModelCheck", "ModelChecksRetrain"}, reserved


def test_checkov_fails_and_skips_nothing_on_the_accounts_logging_role_stack(cloud_assembly):
    report = scan(cloud_assembly / "MlopsApiGatewayLogging.template.json")
    assert report["results"]["failed_checks"] == [] and report["summary"]["skipped"] == 0
    assert report["summary"]["passed"] > 0
