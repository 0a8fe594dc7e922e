"""cfn-lint on the synthesized template: nothing but the findings below, each with its reason."""

import pytest
from cfnlint.api import ManualArgs, lint_file

EXPLAINED = {
    "W3005": "CDK adds an explicit DependsOn from each function to its role's default policy, beside the GetAtt on the role:"
    " the policy must exist before the function is invoked, which the GetAtt alone does not ensure.",
    "W7001": "CDK's Firehose construct maps regional CIDR blocks for Redshift and Splunk destinations; the capture"
    " stream writes to S3 and never reads them.",
    "W3045": "The access-log bucket's LogDeliveryWrite ACL: S3 server access logging delivers with it, and the emulator's"
    " PutBucketLogging requires it (a bucket policy for logging.s3.amazonaws.com alone is not enough there).",
}


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_cfn_lint_reports_nothing_unexplained_on_every_stage(stage_templates, stage):
    findings = lint_file(stage_templates[stage], config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    unexplained = [f"{m.rule.id} {m.message} ({m.path_string})" for m in findings if m.rule.id not in EXPLAINED]
    assert unexplained == []


def test_cfn_lint_reports_nothing_on_the_accounts_logging_role_stack(cloud_assembly):
    findings = lint_file(cloud_assembly / "MlopsApiGatewayLogging.template.json", config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [f"{m.rule.id} {m.message}" for m in findings] == []
