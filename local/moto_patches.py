"""The one patch of moto internals local mode needs: Lambda invokes reach the real handler.

moto can run Lambda code only in Docker. Replacing LambdaFunction._invoke_lambda routes every
invoke moto performs (direct invoke, Step Functions lambda:invoke Tasks, S3 notifications) to the
LambdaRuntime. tests/integration/test_moto_canaries.py fails loudly if an upgrade moves this seam.
"""

from __future__ import annotations

import json
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction

from local.lambda_runtime import LambdaRuntime

PINNED_MOTO_VERSION = "5.2.5"
_original_invoke_lambda = LambdaFunction._invoke_lambda
_active_runtime: LambdaRuntime | None = None


def _invoke_with_runtime(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if _active_runtime is None:
        return _original_invoke_lambda(self, event)
    # moto hands over the parsed JSON body, or the string "{}" for an empty one.
    if isinstance(event, str):
        event = json.loads(event or "{}")
    result = _active_runtime.invoke(self.function_name, event)
    logs = "\n".join(result.logs)
    if logs:
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(logs)
    return result.payload_json(), result.errored, logs


def install(runtime: LambdaRuntime) -> None:
    global _active_runtime
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(f"local mode patches moto {PINNED_MOTO_VERSION} internals; found {moto.__version__}")
    _active_runtime = runtime
    LambdaFunction._invoke_lambda = _invoke_with_runtime  # type: ignore[method-assign]


def uninstall() -> None:
    global _active_runtime
    _active_runtime = None
    LambdaFunction._invoke_lambda = _original_invoke_lambda  # type: ignore[method-assign]
