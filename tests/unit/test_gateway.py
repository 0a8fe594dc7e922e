"""The local gateway's translation from HTTP to API Gateway proxy events and back."""

import json
from pathlib import Path

import pytest

from local.deployer import Route
from local.gateway import MAX_BODY_BYTES, LocalGateway
from local.lambda_runtime import InvokeResult


class RecordingRuntime:
    def __init__(self, payload=None, errored=False):
        self.events = []
        self.payload = payload if payload is not None else {"statusCode": 200, "headers": {"X-A": "1"}, "body": "{}"}
        self.errored = errored

    def invoke(self, arn, event):
        self.events.append((arn, event))
        return InvokeResult(payload=self.payload, errored=self.errored, logs=[], duration_ms=1.0)


LOCAL = {"Host": "127.0.0.1:3000", "X-Mlops-Local": "1"}  # what local mode's own callers send to its controls

ROUTES = [
    Route("api1", "/", "ANY", "arn:root"),
    Route("api1", "/{proxy+}", "ANY", "arn:proxy"),
    Route("api1", "/health", "GET", "arn:health"),
]


def gateway(runtime) -> LocalGateway:
    return LocalGateway(runtime, ROUTES, {"api1": "api"})


def test_a_request_becomes_a_rest_proxy_event():
    runtime = RecordingRuntime()
    status, headers, body = gateway(runtime).handle(
        "POST", "/api/models/churn/predict?a=1&a=2", {"Content-Type": "application/json"}, b'{"x": 1}'
    )
    assert (status, headers["X-A"], body) == (200, "1", b"{}")
    arn, event = runtime.events[0]
    assert arn == "arn:proxy"
    assert event["path"] == "/models/churn/predict"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "models/churn/predict"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["requestContext"]["stage"] == "api"
    assert event["requestContext"]["path"] == "/api/models/churn/predict"
    assert (event["body"], event["isBase64Encoded"]) == ('{"x": 1}', False)


def test_literal_routes_win_over_the_proxy_and_the_stage_prefix_is_optional():
    runtime = RecordingRuntime()
    gateway(runtime).handle("GET", "/health", {}, b"")
    gateway(runtime).handle("GET", "/api/", {}, b"")
    assert [arn for arn, _ in runtime.events] == ["arn:health", "arn:root"]


def test_binary_bodies_are_base64_encoded():
    runtime = RecordingRuntime()
    gateway(runtime).handle("POST", "/x", {"Content-Type": "application/octet-stream"}, b"\x00\xff")
    event = runtime.events[0][1]
    assert (event["body"], event["isBase64Encoded"]) == ("AP8=", True)


def test_oversized_bodies_are_refused_before_the_lambda():
    runtime = RecordingRuntime()
    status, _, _ = gateway(runtime).handle("POST", "/x", {}, b"x" * (MAX_BODY_BYTES + 1))
    assert status == 413 and runtime.events == []


@pytest.mark.parametrize("payload,errored", [({"errorType": "Boom"}, True), ({"no": "statusCode"}, False)])
def test_a_failing_or_malformed_lambda_answer_is_a_502(payload, errored):
    status, _, body = gateway(RecordingRuntime(payload, errored)).handle("GET", "/x", {}, b"")
    assert status == 502 and json.loads(body) == {"message": "Internal server error"}


def test_no_matching_route_answers_like_api_gateway():
    only_health = LocalGateway(RecordingRuntime(), [Route("api1", "/health", "GET", "arn:health")], {"api1": "api"})
    status, _, body = only_health.handle("POST", "/health", {}, b"")
    assert status == 403 and b"Missing Authentication Token" in body


def test_controls_are_answered_by_local_mode_not_the_api():
    runtime = RecordingRuntime()
    gw = gateway(runtime)
    gw.controls[("POST", "/_local/echo")] = lambda body: {"got": body}
    assert gw.handle("POST", "/_local/echo", LOCAL, b'{"a": 1}')[2] == b'{"got": {"a": 1}}'
    assert gw.handle("POST", "/_local/nope", LOCAL, b"")[0] == 404
    assert runtime.events == []


def test_the_most_specific_resource_is_chosen_first_then_its_method_as_api_gateway_does():
    # Given the platform's layout: a data-plane POST beside a control-plane ANY on the same resource
    routes = [
        *ROUTES,
        Route("api1", "/models/{model}/predict", "POST", "arn:data:live"),
        Route("api1", "/models/{model}/predict", "ANY", "arn:control"),
        Route("api1", "/models/{model}/{proxy+}", "ANY", "arn:control"),
    ]
    runtime = RecordingRuntime()
    gateway_ = LocalGateway(runtime, routes, {"api1": "api"})

    # When POST, GET on the predict resource and a POST elsewhere arrive, and a POST on GET-only /health
    for method, path in (("POST", "/models/m/predict"), ("GET", "/models/m/predict"), ("POST", "/models/m/drift")):
        assert gateway_.handle(method, path, {}, b"{}")[0] == 200
    refused = gateway_.handle("POST", "/health", {}, b"{}")[0]

    # Then the exact method wins over ANY, and a resource without the method is a 403, not the greedy proxy
    assert [arn for arn, _ in runtime.events] == ["arn:data:live", "arn:control", "arn:control"]
    assert runtime.events[0][1]["pathParameters"] == {"model": "m"} and runtime.events[0][1]["resource"] == "/models/{model}/predict"
    assert refused == 403


@pytest.mark.parametrize("path", ["/health", "/models/m/promote", "/_local/status", "/console/"])
def test_every_path_answers_only_this_machines_host_names(path):
    # A page whose DNS name was rebound to 127.0.0.1 sends its own name as the Host
    gw = gateway(RecordingRuntime())
    gw.controls[("GET", "/_local/status")] = lambda body: {"ok": True}
    status, _, body = gw.handle("GET", path, {"Host": "evil.example:3000", "X-Mlops-Local": "1"}, b"")
    assert status == 421 and b"only on this machine" in body
    assert gw.handle("GET", "/health", {"Host": "localhost:3000"}, b"")[0] == 200


def test_controls_need_a_header_no_cross_site_form_can_send():
    gw = gateway(RecordingRuntime())
    calls = []
    gw.controls[("POST", "/_local/faults")] = calls.append
    status, _, body = gw.handle("POST", "/_local/faults", {"Host": "127.0.0.1:3000", "Content-Type": "text/plain"}, b"{}")
    assert status == 403 and b"X-Mlops-Local" in body and calls == []
    assert gw.handle("POST", "/_local/faults", LOCAL, b"{}")[0] == 200 and calls == [{}]


def test_a_gateway_asked_to_serve_beyond_this_machine_answers_any_host():
    gw = LocalGateway(RecordingRuntime(), ROUTES, {"api1": "prod"}, any_host=True)
    assert gw.handle("GET", "/health", {"Host": "10.0.0.5:3000"}, b"")[0] == 200


def test_local_mode_refuses_a_host_other_machines_reach_unless_asked(capsys):
    from local.__main__ import main

    with pytest.raises(SystemExit) as refused:
        main(["serve", "--host", "0.0.0.0"])
    assert refused.value.code == 2 and "--allow-remote" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["", "   ", "NoSuchFunction", 7])
def test_a_fault_must_name_a_deployed_function(name):
    from types import SimpleNamespace

    from local.platform import LocalPlatform

    platform = LocalPlatform(Path("cdk.out"), "MlopsPlatform")
    platform.deployment = SimpleNamespace(functions={"f": SimpleNamespace(name="MlopsPlatform-PipelineIngest")})
    assert platform._deployed_function("Ingest") == "Ingest"
    with pytest.raises(ValueError, match="no deployed function's name contains"):
        platform._deployed_function(name)


def test_an_iam_route_is_authorized_before_its_function_runs():
    from local.api_auth import ApiAuthorizer

    runtime = RecordingRuntime()
    routes = [Route("api1", "/models/{model}/promote", "POST", "arn:promote", authorization="AWS_IAM")]
    gw = LocalGateway(runtime, routes, {"api1": "api"}, authorizer=ApiAuthorizer(lambda service: None))
    # Unsigned: API Gateway's 403, and the function never runs
    status, _, body = gw.handle("POST", "/api/models/m/promote", {"Host": "127.0.0.1:3000"}, b"{}")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"}) and runtime.events == []
    # Signed with a forged key: refused before the function runs, whatever the Credential says
    forged = {"Host": "127.0.0.1:3000", "X-Amz-Date": "20261206T000000Z"}
    forged["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=local/20261206/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature="
        + "0" * 64
    )
    status, _, _ = gw.handle("POST", "/api/models/m/promote", forged, b"{}")
    assert status == 403 and runtime.events == []
