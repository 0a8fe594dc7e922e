"""Step Functions limits as local mode enforces them on moto's engine (local/moto_patches.py). A state over
256 KiB, past a Catch, is shown end to end in tests/e2e/test_seeded_faults.py."""

import json
import time

import boto3
import pytest
from moto import mock_aws

from local import limits, moto_patches
from local.lambda_runtime import LambdaRuntime

ROLE = "arn:aws:iam::123456789012:role/machine"
# A loop of Pass states that never ends on its own: only the history limit stops it.
ENDLESS = {
    "StartAt": "Tick",
    "States": {
        "Tick": {"Type": "Pass", "Next": "Tock"},
        "Tock": {"Type": "Pass", "Next": "Tick"},
    },
}


@pytest.fixture
def sfn():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_patches.install(LambdaRuntime("http://127.0.0.1:1", "us-east-1"), lambda arn: None)
        try:
            yield boto3.client("stepfunctions", region_name="us-east-1")
        finally:
            moto_patches.uninstall()


def run(sfn, definition: dict, timeout_s: float = 240) -> dict:
    arn = sfn.create_state_machine(name="probe", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="probe-1", input="{}")["executionArn"]
    deadline = time.monotonic() + timeout_s
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.5)
    return described


def test_an_execution_fails_when_its_history_reaches_25000_events(sfn):
    ended = run(sfn, ENDLESS)
    assert ended["status"] == "FAILED" and ended["error"] == "States.Runtime"
    assert str(limits.EXECUTION_HISTORY_EVENTS) in ended["cause"]
