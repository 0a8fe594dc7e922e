"""The two patches of moto internals local mode needs. tests/integration/test_moto_canaries.py
fails loudly if an upgrade moves either seam.

1. Lambda invokes reach the real handler. moto can run Lambda code only in Docker. Replacing
   LambdaFunction._invoke_lambda routes every invoke moto performs (direct invoke, Step Functions
   lambda:invoke Tasks, S3 notifications) to the LambdaRuntime.
2. A Distributed Map fails when more items fail than it tolerates (default: none), as in AWS.
   moto counts failed items but ends the map run SUCCEEDED whatever the count.
"""

from __future__ import annotations

import json
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from local.lambda_runtime import LambdaRuntime

PINNED_MOTO_VERSION = "5.2.5"
_original_invoke_lambda = LambdaFunction._invoke_lambda
_original_map_run = DistributedIterationComponent._map_run
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


def _map_run_with_tolerance(self: DistributedIterationComponent, env: Any, eval_input: Any) -> None:
    _original_map_run(self, env, eval_input)
    items = eval_input.map_run_record.item_counter
    failed, total = items.failed.get(), max(items.total.get(), 1)
    if failed > eval_input.tolerated_failure_count and 100.0 * failed / total > eval_input.tolerated_failure_percentage:
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
        cause = f"The specified tolerated failure threshold was exceeded: {failed} of {total} items failed"
        details = ExecutionFailedEventDetails(error=error.to_name(), cause=cause)
        event = FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.ExecutionFailed,
            event_details=EventDetails(executionFailedEventDetails=details),  # type: ignore[typeddict-item]
        )
        raise FailureEventException(failure_event=event)


def install(runtime: LambdaRuntime) -> None:
    global _active_runtime
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(f"local mode patches moto {PINNED_MOTO_VERSION} internals; found {moto.__version__}")
    _active_runtime = runtime
    LambdaFunction._invoke_lambda = _invoke_with_runtime  # type: ignore[method-assign]
    DistributedIterationComponent._map_run = _map_run_with_tolerance  # type: ignore[method-assign]


def uninstall() -> None:
    global _active_runtime
    _active_runtime = None
    LambdaFunction._invoke_lambda = _original_invoke_lambda  # type: ignore[method-assign]
    DistributedIterationComponent._map_run = _original_map_run  # type: ignore[method-assign]
