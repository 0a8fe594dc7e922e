"""The patches of moto internals local mode needs. tests/integration/test_moto_canaries.py
fails loudly if an upgrade moves any seam.

1. Lambda invokes reach the real handler. moto can run Lambda code only in Docker. Replacing
   LambdaFunction._invoke_lambda routes every invoke moto performs (direct invoke, Step Functions
   lambda:invoke Tasks, S3 notifications) to the LambdaRuntime.
2. A Distributed Map fails when more items fail than it tolerates (default: none), as in AWS.
   moto counts failed items but ends the map run SUCCEEDED whatever the count. And it runs only if
   its state machine's role may start executions of that state machine (the map run's children):
   in AWS the execution fails at the Map otherwise; moto never checks.
3. A state machine's Tasks call AWS with its role. moto's engine makes every service call of a
   Task (lambda:invoke, an SDK integration, a Distributed Map's item reader and result writer)
   through one client factory, `boto_client_for`; each client it makes gets local/iam.py's hooks
   for the state machine whose execution asked for it (found as the `env` of the calling frame).
4. Step Functions' terminal errors are terminal. In AWS `States.ALL` catches and retries neither
   `States.DataLimitExceeded` (a state's input or output over 256 KiB) nor `States.Runtime`;
   moto's matcher lets States.ALL match them, so a Catch would hide a limit AWS enforces.
5. An execution fails once its history reaches 25,000 events, as in AWS (moto has no limit).
6. A task token names the state machine that issued it. AWS authorizes SendTaskSuccess/Failure on
   that state machine; moto's tokens are bare uids, so local/iam.py could not tell which it is.
7. A Map whose iteration failed with a States.* error (a job's States.TaskFailed, a Task's
   States.Timeout) fails with that error, which its Catch can take, as in AWS; moto rebuilds every
   iteration's error as a custom name, which refuses the States. prefix, and the execution dies
   with States.Runtime.
8. DynamoDB writes are atomic. A conditional write in DynamoDB checks and writes as one step; moto
   checks, then writes, so two threads (the server's, or a test's) can both pass the same condition.
   Its write operations are serialized here (`atomic_dynamodb_writes`).
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction
from moto.dynamodb.models import DynamoDBBackend
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.eval.states import ContextObject, TaskData
from moto.stepfunctions.parser.asl.utils import boto_client

from local import iam, limits
from local.lambda_runtime import LambdaRuntime

PINNED_MOTO_VERSION = "5.2.5"
_original_invoke_lambda = LambdaFunction._invoke_lambda
_original_map_run = DistributedIterationComponent._map_run
_original_boto_client_for = boto_client.boto_client_for
_original_error_equals = ErrorEqualsDecl._eval_body
_original_add_event = EventManager.add_event
_original_update_task_token = ContextObject.update_task_token
_original_iteration_error_name = iteration_worker.CustomErrorName
TERMINAL_ERRORS = (StatesErrorNameType.StatesStatesDataLimitExceeded, StatesErrorNameType.StatesRuntime)
# Events that end an execution (or its failing state) are always recorded, even past the limit.
_ENDING_EVENTS = {HistoryEventType.ExecutionFailed, HistoryEventType.ExecutionSucceeded, HistoryEventType.ExecutionAborted}
_active_runtime: LambdaRuntime | None = None
_state_machine_iam: Callable[[str], iam.Authorizer | None] | None = None
ENGINE_PACKAGE = "moto.stepfunctions.parser"


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
    _refuse_without_start_execution(env)
    _original_map_run(self, env, eval_input)
    items = eval_input.map_run_record.item_counter
    failed, total = items.failed.get(), max(items.total.get(), 1)
    if _exceeds_tolerance(failed, total, eval_input.tolerated_failure_count, eval_input.tolerated_failure_percentage):
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


def _exceeds_tolerance(failed: int, total: int, count: int, percentage: float) -> bool:
    """As the Distributed Map documents it: a map run fails past either threshold it sets; with none
    (both 0, moto's defaults when absent), past no failure at all. A threshold of 0 set beside a
    non-zero other one reads as absent: moto's engine does not say which were written."""
    count_on, percentage_on = count > 0, percentage > 0
    if not (count_on or percentage_on):
        return failed > 0
    return (count_on and failed > count) or (percentage_on and 100.0 * failed / max(total, 1) > percentage)


def _refuse_without_start_execution(env: Any) -> None:
    arn = str(env.states.context_object.context_object_data["StateMachine"]["Id"])
    authorizer = _state_machine_iam(arn) if _state_machine_iam else None
    denial = authorizer.denial("stepfunctions", "StartExecution", {"stateMachineArn": arn}) if authorizer else None
    if denial is None:
        return
    details = ExecutionFailedEventDetails(error=StatesErrorNameType.StatesRuntime.to_name(), cause=f"{denial[0]}: {denial[1]}")
    event = FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
        event_type=HistoryEventType.ExecutionFailed,
        event_details=EventDetails(executionFailedEventDetails=details),  # type: ignore[typeddict-item]
    )
    raise FailureEventException(failure_event=event)


def _error_equals_keeping_terminal_errors(self: ErrorEqualsDecl, env: Environment) -> None:
    error_name = env.stack[-1]
    terminal = isinstance(error_name, StatesErrorName) and error_name.typ in TERMINAL_ERRORS
    if terminal and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names:
        env.stack.pop()
        env.stack.append(False)  # "does not match": the error goes on up and ends the execution
        return
    _original_error_equals(self, env)


def _add_event_within_history_limit(self: EventManager, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
    if (
        len(self._history_event_list) >= limits.EXECUTION_HISTORY_EVENTS
        and event_type not in _ENDING_EVENTS
        and not getattr(self, "_local_history_full", False)
    ):
        self._local_history_full = True  # type: ignore[attr-defined]  # once: the failure itself adds events
        env = _calling_environment()
        if env is None:
            raise RuntimeError("local mode: an execution's history is full, but no state is evaluating")
        cause = f"The execution reached the maximum number of history events ({limits.EXECUTION_HISTORY_EVENTS})."
        error = StatesErrorNameType.StatesRuntime
        details = ExecutionFailedEventDetails(error=error.to_name(), cause=cause)
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=error),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=EventDetails(executionFailedEventDetails=details),  # type: ignore[typeddict-item]
            )
        )
    return _original_add_event(self, context, event_type, *args, **kwargs)


def _update_task_token_naming_its_machine(self: ContextObject) -> str:
    token = iam.task_token(str(self.context_object_data["StateMachine"]["Id"]), _original_update_task_token(self))
    self.context_object_data["Task"] = TaskData(Token=token)
    return token


def _iteration_error_name(error_name: str) -> CustomErrorName | StatesErrorName:
    return StatesErrorName.from_name(error_name) if error_name.startswith("States.") else CustomErrorName(error_name)


def _calling_environment() -> Environment | None:
    frame = sys._getframe(2)
    while frame is not None:
        env = frame.f_locals.get("env")
        if isinstance(env, Environment):
            return env
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _calling_state_machine() -> str | None:
    """The ARN of the state machine whose execution is making this client (its Environment is a local
    of a calling frame: every caller of boto_client_for has it in reach)."""
    env = _calling_environment()
    return None if env is None else str(env.states.context_object.context_object_data["StateMachine"]["Id"])


def _client_with_role(region: str, service: str, state_credentials: Any = None) -> Any:
    client = _original_boto_client_for(region, service, state_credentials)
    arn = _calling_state_machine()
    authorizer = _state_machine_iam(arn) if _state_machine_iam and arn else None
    if authorizer is None:
        raise RuntimeError(f"local mode: a Task of {arn or 'an unknown execution'} calls {service} with no role to check it against")
    iam.install(client.meta.events, authorizer)
    return client


def _engine_modules_with_client_factory() -> list[Any]:
    return [m for name, m in list(sys.modules.items()) if name.startswith(ENGINE_PACKAGE) and hasattr(m, "boto_client_for")]


DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_dynamodb_write_lock = threading.RLock()
_original_dynamodb_writes = {name: getattr(DynamoDBBackend, name) for name in DYNAMODB_WRITES}


def _serialized(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_write_lock:
            return write(*args, **kwargs)

    serialized.__serialized__ = True  # type: ignore[attr-defined]
    return serialized


def atomic_dynamodb_writes(enabled: bool = True) -> None:
    """Each DynamoDB write (its condition and its change) as one step, as DynamoDB does it."""
    for name, original in _original_dynamodb_writes.items():
        setattr(DynamoDBBackend, name, _serialized(original) if enabled else original)


def install(runtime: LambdaRuntime, state_machine_iam: Callable[[str], iam.Authorizer | None]) -> None:
    global _active_runtime, _state_machine_iam
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(f"local mode patches moto {PINNED_MOTO_VERSION} internals; found {moto.__version__}")
    _active_runtime, _state_machine_iam = runtime, state_machine_iam
    LambdaFunction._invoke_lambda = _invoke_with_runtime  # type: ignore[method-assign]
    DistributedIterationComponent._map_run = _map_run_with_tolerance  # type: ignore[method-assign]
    ErrorEqualsDecl._eval_body = _error_equals_keeping_terminal_errors  # type: ignore[method-assign]
    EventManager.add_event = _add_event_within_history_limit  # type: ignore[method-assign]
    ContextObject.update_task_token = _update_task_token_naming_its_machine  # type: ignore[method-assign]
    iteration_worker.CustomErrorName = _iteration_error_name  # type: ignore[misc,assignment]
    _import_engine()
    for module in _engine_modules_with_client_factory():
        module.boto_client_for = _client_with_role
    atomic_dynamodb_writes()


def uninstall() -> None:
    global _active_runtime, _state_machine_iam
    _active_runtime, _state_machine_iam = None, None
    LambdaFunction._invoke_lambda = _original_invoke_lambda  # type: ignore[method-assign]
    DistributedIterationComponent._map_run = _original_map_run  # type: ignore[method-assign]
    ErrorEqualsDecl._eval_body = _original_error_equals  # type: ignore[method-assign]
    EventManager.add_event = _original_add_event  # type: ignore[method-assign]
    ContextObject.update_task_token = _original_update_task_token  # type: ignore[method-assign]
    iteration_worker.CustomErrorName = _original_iteration_error_name  # type: ignore[misc]
    for module in _engine_modules_with_client_factory():
        module.boto_client_for = _original_boto_client_for
    atomic_dynamodb_writes(enabled=False)


def _import_engine() -> None:
    """Every engine module that makes clients, imported now so that its reference can be replaced."""
    import importlib
    import pkgutil

    import moto.stepfunctions.parser as engine

    for info in pkgutil.walk_packages(engine.__path__, f"{ENGINE_PACKAGE}."):
        if ".state_task." in info.name or ".item_reader." in info.name or ".result_writer." in info.name:
            importlib.import_module(info.name)
