"""The local Lambda runtime: exact environment, warm reuse, errors, timeouts and captured logs."""

from pathlib import Path

import pytest

from local.lambda_runtime import FunctionSpec, LambdaRuntime

HANDLER_CODE = """
import json, os, time

CALLS = []

def env(event, context):
    CALLS.append(1)
    return {
        "vars": {k: os.environ.get(k) for k in event["names"]},
        "calls": len(CALLS),
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }

def fail(event, context):
    print("about to fail")
    raise ValueError("bad input: field 'x'")

def slow(event, context):
    time.sleep(event["seconds"])
    return "done"

def metric(event, context):
    print(json.dumps({"_aws": {"Timestamp": 0, "CloudWatchMetrics": []}, "level": "INFO"}))
    return None
"""


@pytest.fixture
def runtime(tmp_path: Path):
    (tmp_path / "app.py").write_text(HANDLER_CODE)
    rt = LambdaRuntime("http://127.0.0.1:1", "us-east-1")

    def register(name: str, handler: str, timeout_s: int = 30) -> None:
        rt.register(
            FunctionSpec(
                name,
                f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                tmp_path,
                handler,
                {"TABLE": "runs", "POWERTOOLS_SERVICE_NAME": name},
                timeout_s,
                256,
                f"/aws/lambda/{name}",
            )
        )

    rt.register_simple = register
    yield rt
    rt.close()


def test_the_handler_sees_exactly_the_template_environment_plus_lambdas_own(runtime):
    runtime.register_simple("envfn", "app.env")
    names = ["TABLE", "POWERTOOLS_SERVICE_NAME", "AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL", "AWS_PROFILE", "VIRTUAL_ENV"]
    result = runtime.invoke("envfn", {"names": names})
    assert not result.errored and result.cold_start
    assert result.payload["vars"] == {
        "TABLE": "runs",
        "POWERTOOLS_SERVICE_NAME": "envfn",
        "AWS_LAMBDA_FUNCTION_NAME": "envfn",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_PROFILE": None,
        "VIRTUAL_ENV": None,
    }
    assert 0 < result.payload["remaining_ms"] <= 30_000


def test_a_warm_worker_is_reused(runtime):
    runtime.register_simple("envfn", "app.env")
    first = runtime.invoke("envfn", {"names": []})
    second = runtime.invoke("arn:aws:lambda:us-east-1:123456789012:function:envfn", {"names": []})
    assert (first.payload["calls"], second.payload["calls"], second.cold_start) == (1, 2, False)


def test_an_exception_is_a_function_error_with_its_type_and_logs(runtime):
    runtime.register_simple("failfn", "app.fail")
    result = runtime.invoke("failfn", {})
    assert result.errored
    assert (result.payload["errorType"], result.payload["errorMessage"]) == ("ValueError", "bad input: field 'x'")
    assert "about to fail" in result.logs


def test_a_handler_past_its_timeout_is_stopped(runtime):
    runtime.register_simple("slowfn", "app.slow", timeout_s=1)
    result = runtime.invoke("slowfn", {"seconds": 5})
    assert result.errored and result.payload["errorType"] == "Sandbox.Timedout"
    assert runtime.invoke("slowfn", {"seconds": 0}).payload == "done"


def test_a_missing_handler_answers_every_invoke_with_an_import_error(runtime):
    runtime.register_simple("ghost", "nomodule.handler")
    result = runtime.invoke("ghost", {})
    assert result.errored and result.payload["errorType"] == "Runtime.ImportModuleError"


def test_printed_lines_are_captured_per_invocation_for_metrics(runtime):
    runtime.register_simple("metricfn", "app.metric")
    seen = []
    runtime.listeners.append(seen.append)
    runtime.invoke("metricfn", {})
    assert len(seen) == 1 and seen[0].logs[0].startswith('{"_aws"')
