"""EventBridge delivery for local mode: from each rule's SQS tap to the template's real targets.

moto matches events against rule patterns but can deliver only to SQS, logs and buses, and never
fires schedules. Each rule therefore has a tap queue in moto; this router drains the taps and
delivers to Lambda, Step Functions, SNS and SQS targets, applying Input, InputPath and
InputTransformer, with the target's retry policy and dead-letter queue. Schedules fire on tick().
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local.deployer import RuleSpec
from local.intrinsics import ACCOUNT_ID, REGION
from local.lambda_runtime import LambdaRuntime

if TYPE_CHECKING:
    from local.access import StackAccess

RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# AWS retries a target up to 185 times over 24 h; locally two retries show the behaviour without the wait.
DEFAULT_RETRIES = 185
LOCAL_MAX_RETRIES = 2
LAMBDA_ASYNC_RETRIES = 2  # Lambda's default MaximumRetryAttempts for asynchronous invocations
STATUS_CHANGE_FIELDS = ("executionArn", "stateMachineArn", "name", "status", "input", "output", "error", "cause")
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def schedule_seconds(expression: str) -> int | None:
    """Seconds between firings of a rate() expression; cron() is fired only on demand."""
    match = RATE.fullmatch(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2).rstrip("s")]


def scheduled_event(rule: RuleSpec) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule.arn],
        "detail": {},
    }


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return _json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: _json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
        template = transformer["InputTemplate"]

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                return match.group(0)
            value = values[name]
            # Inside quotes a string goes in as-is; elsewhere every value goes in as JSON.
            inside_string = template[: match.start()].replace('\\"', "").count('"') % 2 == 1
            return value if inside_string and isinstance(value, str) else json.dumps(value)

        text = PLACEHOLDER.sub(fill, template)
        try:
            return json.loads(text)
        except ValueError:
            return text
    return event


def _json_path(event: dict[str, Any], path: str) -> Any:
    value: Any = event
    for part in [p for p in path.lstrip("$").split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


class EventRouter:
    def __init__(
        self, clients: Callable[[str], Any], runtime: LambdaRuntime, rules: list[RuleSpec], access: StackAccess | None = None
    ) -> None:
        self._client = clients
        self._access = access
        self._runtime = runtime
        self.rules = rules
        self._next_fire = {r.name: time.monotonic() + (schedule_seconds(r.schedule) or 0) for r in rules if r.schedule}
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="eventbridge")
        self.delivered: list[dict[str, Any]] = []  # what went where, for tests and the demo summary
        self._lock = threading.Lock()

    def rule(self, name_fragment: str) -> RuleSpec:
        return next(r for r in self.rules if name_fragment in r.name)

    def drain(self, wait: bool = False) -> int:
        """Delivers everything waiting in the taps; returns how many events it took.

        With wait, returns only once every target has answered (for tests and the control endpoint).
        """
        sqs = self._client("sqs")
        taken, pending = 0, []
        for rule in self.rules:
            if not rule.tap_queue_url:
                continue
            while True:
                messages = sqs.receive_message(QueueUrl=rule.tap_queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    sqs.delete_message(QueueUrl=rule.tap_queue_url, ReceiptHandle=message["ReceiptHandle"])
                    pending += self.deliver(rule, json.loads(message["Body"]))
                    taken += 1
        if wait:
            for future in pending:
                future.result()
        return taken

    def fire_due_schedules(self) -> None:
        now = time.monotonic()
        for rule in self.rules:
            period = schedule_seconds(rule.schedule) if rule.schedule else None
            if period and now >= self._next_fire[rule.name]:
                self._next_fire[rule.name] = now + period
                self.deliver(rule, scheduled_event(rule))

    def fire_schedule(self, rule: RuleSpec, wait: bool = True) -> list[Any]:
        """Fires a scheduled rule now (as its schedule would), returning each target's outcome."""
        futures = self.deliver(rule, scheduled_event(rule))
        return [f.result() for f in futures] if wait else []

    def deliver(self, rule: RuleSpec, event: dict[str, Any]) -> list[Any]:
        return [self._pool.submit(self._deliver_to_target, rule, target, event) for target in rule.targets]

    def _deliver_to_target(self, rule: RuleSpec, target: dict[str, Any], event: dict[str, Any]) -> Any:
        payload = target_input(target, event)
        retries = int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", DEFAULT_RETRIES))
        error: str = ""
        for _ in range(1 + min(retries, LOCAL_MAX_RETRIES)):
            try:
                self._authorize(rule, target)
                outcome = self._send(target["Arn"], payload)
                self._record(rule, target, "delivered", outcome)
                return outcome
            except Exception as failure:  # a failed delivery goes to the dead-letter queue, as in AWS
                error = str(failure)
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        if dead_letter:
            self._send(dead_letter, {"event": event, "error": error, "rule": rule.arn})
        self._record(rule, target, "dead-lettered", error)
        return None

    def _authorize(self, rule: RuleSpec, target: dict[str, Any]) -> None:
        """EventBridge invokes a function by its resource policy, starts a state machine with the
        target's role, publishes to a topic by the topic's (and its key's) policy."""
        if self._access is None:
            return
        arn, service = target["Arn"], target["Arn"].split(":")[2]
        denied: str | None = None
        if service == "lambda":
            denied = self._access.invoke_denial(arn, "events.amazonaws.com", rule.arn)
        elif service == "states":
            refused = self._access.authorizer(target.get("RoleArn", ""), "events", f"rule {rule.name}").denial(
                "stepfunctions", "StartExecution", {"stateMachineArn": arn}
            )
            denied = refused[1] if refused else None
        elif service in ("sns", "sqs"):
            action = "sns:Publish" if service == "sns" else "sqs:SendMessage"
            denied = self._access.service_denial("events.amazonaws.com", action, arn, rule.arn)
        if denied is not None:
            print(f"local EventBridge: rule {rule.name} cannot deliver to {arn}: {denied}", flush=True)
            raise PermissionError(denied)

    def _send(self, arn: str, payload: Any) -> Any:
        service = arn.split(":")[2]
        if service == "lambda":
            return self._invoke_asynchronously(arn, payload)
        if service == "states":
            return self._client("stepfunctions").start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(payload))[
                "executionArn"
            ]
        if service == "sns":
            return self._client("sns").publish(TopicArn=arn, Message=json.dumps(payload))["MessageId"]
        if service == "sqs":
            name = arn.rsplit(":", 1)[1]
            url = self._client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
            return self._client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(payload))["MessageId"]
        raise NotImplementedError(f"local mode cannot deliver to {arn}")

    def _invoke_asynchronously(self, arn: str, payload: Any) -> Any:
        """EventBridge invokes with InvocationType Event: once Lambda accepts the event, EventBridge's
        delivery succeeded. A function error is Lambda's to handle: two more attempts, then the
        function's dead-letter queue, sent with the function's own role (its grant on the queue and
        on the queue's key), else the event is dropped. Each outcome is said on the console."""
        for _ in range(1 + LAMBDA_ASYNC_RETRIES):
            result = self._runtime.invoke(arn, payload, asynchronous=True)
            if not result.errored:
                return result.payload
        spec = self._runtime.spec(arn)
        error = result.payload_json()[:500]
        if not spec.dead_letter_arn:
            print(
                f"local Lambda: {spec.name} failed after {LAMBDA_ASYNC_RETRIES} retries and has no dead-letter queue: event dropped",
                flush=True,
            )
            return None
        url = self._client("sqs").get_queue_url(QueueName=spec.dead_letter_arn.rsplit(":", 1)[1])["QueueUrl"]
        if self._access is not None:
            refused = self._access.authorizer(spec.role_arn, spec.name, f"function {spec.name}").denial(
                "sqs", "SendMessage", {"QueueUrl": url}
            )
            if refused is not None:
                print(f"local Lambda: {spec.name} cannot dead-letter its failed event, which is lost: {refused[1]}", flush=True)
                return None
        attributes = {"ErrorMessage": {"DataType": "String", "StringValue": error}}
        self._client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(payload), MessageAttributes=attributes)
        print(f"local Lambda: {spec.name} failed after {LAMBDA_ASYNC_RETRIES} retries; event sent to its dead-letter queue", flush=True)
        return None

    def _record(self, rule: RuleSpec, target: dict[str, Any], status: str, outcome: Any) -> None:
        with self._lock:
            self.delivered.append({"rule": rule.name, "target": target["Arn"], "status": status, "outcome": outcome})

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ExecutionStatusEvents:
    """Step Functions puts an 'Execution Status Change' event on the default bus when an execution
    ends; moto does not. Local mode looks at the executions and puts the events itself (ended
    statuses only: no rule of the platform listens for RUNNING)."""

    ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

    def __init__(self, clients: Callable[[str], Any], state_machine_arns: list[str]) -> None:
        self._client = clients
        self._arns = state_machine_arns
        self._seen: set[str] = set()

    def collect(self) -> int:
        sfn, entries = self._client("stepfunctions"), []
        for arn in self._arns:
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
                if execution["status"] not in self.ENDED or execution["executionArn"] in self._seen:
                    continue
                self._seen.add(execution["executionArn"])
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                detail = {key: described.get(key) for key in STATUS_CHANGE_FIELDS}
                for key in ("startDate", "stopDate"):  # epoch milliseconds, as Step Functions sends them
                    detail[key] = int(described[key].timestamp() * 1000) if described.get(key) else None
                entries.append(
                    {
                        "Source": "aws.states",
                        "DetailType": "Step Functions Execution Status Change",
                        "Resources": [execution["executionArn"]],
                        "Detail": json.dumps(detail),
                    }
                )
        for start in range(0, len(entries), 10):
            self._client("events").put_events(Entries=entries[start : start + 10])
        return len(entries)
