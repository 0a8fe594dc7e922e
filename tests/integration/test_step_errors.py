"""Which failures the state machines retry: AWS throttling and 5xx become TransientError, the one
name every Retry lists besides Lambda's and Step Functions' own. (Not a unit test: Powertools'
tracer opens a socket when it is imported.)"""

import pytest


class LambdaContextStub:
    function_name, function_version, memory_limit_in_mb = "step", "$LATEST", 128
    invoked_function_arn, aws_request_id = "arn:aws:lambda:us-east-1:123456789012:function:step", "r"


def test_aws_throttling_that_outlived_boto3s_retries_becomes_the_transient_error_the_state_machines_retry():
    from botocore.exceptions import ClientError, EndpointConnectionError

    from mlops.shared.errors import TransientError
    from mlops.shared.observability import pipeline_step

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutItem")
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem")

    def failing(error):
        @pipeline_step
        def handler(event, context):
            raise error

        return handler

    with pytest.raises(TransientError, match="PutItem failed with ThrottlingException"):
        failing(throttled)({}, LambdaContextStub())
    with pytest.raises(TransientError, match="unreachable"):
        failing(EndpointConnectionError(endpoint_url="https://dynamodb"))({}, LambdaContextStub())
    with pytest.raises(ClientError):  # not worth retrying: it fails the step as it is
        failing(denied)({}, LambdaContextStub())


def test_every_retry_names_only_errors_that_can_happen():
    """Lambda's service errors, Step Functions' own, and the platform's TransientError (raised by
    mlops.shared.observability for AWS throttling and 5xx)."""
    import json
    from pathlib import Path

    lambda_service = {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    }
    # StartExecution's own error when too many executions run (the A/B test's continuation).
    allowed = lambda_service | {"TransientError", "States.Timeout", "States.TaskFailed", "StepFunctions.ExecutionLimitExceededException"}
    for path in (Path(__file__).resolve().parents[2] / "infra/statemachines").glob("*.asl.json"):
        for name, state in _states(json.loads(path.read_text())):
            for retry in state.get("Retry", []):
                assert set(retry["ErrorEquals"]) <= allowed, f"{path.name} {name}: {retry['ErrorEquals']}"


def _states(definition):
    for name, state in definition["States"].items():
        yield name, state
        for nested in [state.get("ItemProcessor") or state.get("Iterator")] + state.get("Branches", []):
            if nested:
                yield from _states(nested)
