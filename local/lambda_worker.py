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


def main() -> None:
    # The worker's own folder must not shadow the handler's modules.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    responses = os.fdopen(os.dup(1), "w", buffering=1)
    capture = _LineCapture()
    sys.stdout = sys.stderr = capture
    module_name, function_name = os.environ["_HANDLER"].rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        init_error = None
    except Exception as error:  # an import error answers every invoke, as Lambda's Runtime.ImportModuleError
        handler, init_error = None, _error_payload(error, "Runtime.ImportModuleError")
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


def _error_payload(error: BaseException, error_type: str = "") -> dict:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


if __name__ == "__main__":
    main()
