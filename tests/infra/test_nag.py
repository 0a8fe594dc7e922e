"""cdk-nag (AWS Solutions rules) runs inside synth: an unacknowledged finding fails the synth."""

import json

from infra.iam_acknowledgements import KMS_GRANT_ACTIONS, S3_GRANT_ACTIONS


def test_synth_passed_with_every_acknowledgement_giving_a_specific_reason(cloud_assembly):
    # The session fixture's synth would have raised on any unacknowledged finding.
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    acknowledged = [v for plugin in report["pluginReports"] for v in plugin.get("suppressedViolations", [])]
    assert all(plugin["conclusion"] == "success" for plugin in report["pluginReports"])
    assert acknowledged, "expected the IAM grant acknowledgements to be reported"
    for violation in acknowledged:
        assert len(violation["reason"]) > 30, violation["acknowledgedId"]


def test_no_wildcard_action_is_acknowledged_beyond_cdks_bucket_grants(cloud_assembly):
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    ids = {v["acknowledgedId"] for plugin in report["pluginReports"] for v in plugin.get("suppressedViolations", [])}
    actions = {i.split("[Action::", 1)[1].rstrip("]") for i in ids if "[Action::" in i}
    assert actions <= {*S3_GRANT_ACTIONS, *KMS_GRANT_ACTIONS}


def test_synth_also_passes_as_the_cdk_cli_runs_it_with_a_resolved_account_and_region(tmp_path, monkeypatch):
    # `cdk synth` sets CDK_DEFAULT_*; findings then name literal regions instead of <AWS::Region>.
    from infra.app_builder import build_app

    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    build_app(outdir=str(tmp_path)).synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert all(plugin["conclusion"] == "success" for plugin in report["pluginReports"])


def test_the_resource_wildcard_is_acknowledged_per_traced_function_and_state_machine_only(cloud_assembly):
    # No stack-wide `Resource::*`: each traced function and state machine acknowledges its own role's
    # X-Ray actions, and the training jobs' role the two actions SageMaker documents without a
    # resource, so a new wildcard resource anywhere else still fails synth.
    metadata = json.loads((cloud_assembly / "MlopsPlatform.metadata.json").read_text())
    wildcard = {
        path: entry["data"][rule]
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
        if rule.endswith("[Resource::*]")
    }
    assert "/MlopsPlatform" not in wildcard
    assert len(wildcard) > 20  # every traced function and state machine
    for path, reason in wildcard.items():
        expected = (
            "This function's role: xray:",
            "This state machine's role: xray:",
            "This training job's role: ecr:GetAuthorizationToken",
        )
        assert reason.startswith(expected), (path, reason)
