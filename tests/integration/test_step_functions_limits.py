"""Step Functions limits as local mode enforces them on moto's engine (local/moto_patches.py). A state over
256 KiB, past a Catch, is shown end to end in tests/e2e/test_seeded_faults.py."""

import json
import time

import boto3
import pytest
from moto import mock_aws

from local import iam, limits, moto_patches
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


# A Distributed Map over two inline items whose children only pass their item on.
DISTRIBUTED = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Pass",
                "States": {"Pass": {"Type": "Pass", "End": True}},
            },
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Succeed"},
    },
}


@pytest.fixture
def sfn_with_role():
    """moto's engine with local mode's patches, the probe machine's role holding `statements`."""
    statements: list[dict] = []
    authorizer = iam.Authorizer(f"{ROLE}/probe", statements, {}, "us-east-1", "123456789012", "state machine probe")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_patches.install(LambdaRuntime("http://127.0.0.1:1", "us-east-1"), lambda arn: authorizer)
        try:
            yield boto3.client("stepfunctions", region_name="us-east-1"), statements
        finally:
            moto_patches.uninstall()


def test_a_distributed_map_runs_only_if_its_role_may_start_its_own_state_machine(sfn_with_role):
    sfn, statements = sfn_with_role
    arn = sfn.create_state_machine(name="probe", definition=json.dumps(DISTRIBUTED), roleArn=ROLE)["stateMachineArn"]

    def ended(name: str) -> dict:
        execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"items": [1, 2]}))["executionArn"]
        deadline = time.monotonic() + 60
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.2)
        return described

    refused = ended("without")
    # As in AWS: the execution fails at the Map, past its Catch.
    assert refused["status"] == "FAILED" and refused["error"] == "States.Runtime"
    assert f"not authorized to perform: states:StartExecution on resource: {arn}" in refused["cause"]
    statements.append({"Effect": "Allow", "Action": "states:StartExecution", "Resource": arn})
    allowed = ended("with")
    assert allowed["status"] == "SUCCEEDED" and json.loads(allowed["output"]) == [1, 2]
