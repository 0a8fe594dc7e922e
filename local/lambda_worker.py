"""One warm Lambda execution environment: a child process that imports a handler and serves invokes.

Protocol: one JSON request per line on stdin ({"event", "request_id", "deadline_ms"}), one JSON
response per line on the original stdout ({"ok", "payload", "logs"}). Everything the handler prints
or logs (Powertools JSON logs, EMF metric lines) is captured per invocation and returned in "logs",
as Lambda sends it to CloudWatch Logs.
"""

import importlib
import io
import json
import os
import sys
import time
import traceback
from typing import Any


class _LineCapture(io.TextIOBase):
    """Stands in for stdout and stderr: Powertools keeps the stream it sees at first import."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        self.lines.extend(complete)
        return len(text)

    def drain(self) -> list[str]:
        if self._partial:
            self.lines.append(self._partial)
            self._partial = ""
        lines, self.lines = self.lines, []
        return lines


class _Context:
    """The attributes of the Lambda context object handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ["LOCAL_FUNCTION_ARN"]
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def isolate_path(code_dir: str) -> None:
    """As in Lambda (or a container): the code, then the layers' (or image's) and the runtime's
    packages, then the standard library. This folder must not shadow the code's modules."""
    packages = [path for path in os.environ.get("LOCAL_PYTHON_PATH", "").split(os.pathsep) if path]
    here = os.path.dirname(os.path.abspath(__file__))
    stdlib = [p for p in sys.path if p and os.path.abspath(p) != here and "site-packages" not in p]
    sys.path[:] = [code_dir, *packages, *stdlib]


def main() -> None:
    isolate_path(os.environ["LAMBDA_TASK_ROOT"])
    responses = os.fdopen(os.dup(1), "w", buffering=1)
    capture = _LineCapture()
    sys.stdout = sys.stderr = capture
    if os.environ.get("LOCAL_IAM_FILE"):
        enforce_aws_rules(os.environ["LOCAL_IAM_FILE"])
    handler, init_error = _load_handler(os.environ["_HANDLER"])
    if "--import-only" in sys.argv:
        responses.write(json.dumps(init_error or {"ok": True}) + "\n")
        sys.exit(1 if init_error else 0)
    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None:
            reply = {"ok": False, "payload": init_error}
        else:
            try:
                result = handler(request["event"], _Context(request["request_id"], request["deadline_ms"]))
                reply = {"ok": True, "payload": result}
            except Exception as error:
                traceback.print_exc()
                reply = {"ok": False, "payload": _error_payload(error)}
        reply["logs"] = capture.drain()
        responses.write(json.dumps(reply, default=str) + "\n")


def enforce_aws_rules(policy_file: str) -> None:
    """Every AWS client the handler creates checks its calls against the function's role and the
    request limits first (local/iam.py, local/limits.py): hooked where botocore creates clients, so
    a client from boto3's default session, a boto3 Session, a resource, or botocore's own session
    (as the data plane builds them, to skip boto3's imports) is checked alike."""
    import botocore.client  # the runtime's, as in Lambda

    iam, limits = _local_module("iam"), _local_module("limits")
    authorizer = iam.Authorizer.from_file(policy_file)
    create_client = botocore.client.ClientCreator.create_client

    def checked_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        iam.install(client.meta.events, authorizer)
        limits.install(client.meta.events)
        return client

    botocore.client.ClientCreator.create_client = checked_client  # type: ignore[method-assign]


def _local_module(name: str) -> Any:
    """A module of local/ loaded by its path (the worker's folder is not on the function's sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_local_{name}", os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _load_handler(handler_path: str) -> tuple[Any, dict | None]:
    """The handler, or the error every invoke answers with, as Lambda's Runtime.ImportModuleError."""
    module_name, function_name = handler_path.rsplit(".", 1)
    try:
        return getattr(importlib.import_module(module_name), function_name), None
    except Exception as error:
        payload = _error_payload(error, "Runtime.ImportModuleError")
        return None, {**payload, "errorMessage": f"Unable to import module '{module_name}': {error}"}


def _error_payload(error: BaseException, error_type: str = "") -> dict:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


if __name__ == "__main__":
    main()
