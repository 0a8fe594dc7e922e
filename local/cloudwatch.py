"""CloudWatch for local mode: metrics from what ran, and alarms that evaluate and act.

moto stores metrics and alarms but never turns EMF log lines into metrics nor evaluates alarms.
MetricsSink publishes the EMF metrics handlers log and the AWS/Lambda metrics the service would;
AlarmEvaluator compares each alarm's metric with its threshold, sets the state, puts the
'CloudWatch Alarm State Change' event on the default bus and fires the alarm's SNS actions.
"""

from __future__ import annotations

import json
import math
import operator
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from local.intrinsics import ACCOUNT_ID, REGION
from local.lambda_runtime import InvokeResult

if TYPE_CHECKING:
    from local.access import StackAccess

RAW_VALUES_KEPT = 10_000
PUBLISH_EVERY_S = 0.2
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def emf_metric_data(line: str) -> list[dict[str, Any]]:
    """CloudWatch metric data from one Embedded Metric Format log line ([] for other lines)."""
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if not isinstance(document, dict) or "_aws" not in document:
        return []
    data = []
    timestamp = datetime.fromtimestamp(document["_aws"].get("Timestamp", 0) / 1000, UTC)
    for directive in document["_aws"].get("CloudWatchMetrics", []):
        for dimension_set in directive.get("Dimensions", [[]]):
            dimensions = [{"Name": name, "Value": str(document[name])} for name in dimension_set if name in document]
            for metric in directive.get("Metrics", []):
                values = document.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if value is None:
                        continue
                    data.append(
                        {
                            "Namespace": directive["Namespace"],
                            "MetricName": metric["Name"],
                            "Dimensions": dimensions,
                            "Value": float(value),
                            "Unit": metric.get("Unit", "None"),
                            "Timestamp": timestamp,
                        }
                    )
    return data


class MetricsSink:
    """Keeps raw values at once and publishes to moto from a background thread.

    In AWS, metrics leave the request path (EMF is extracted from logs later); publishing inline
    cost each local request two PutMetricData round trips (~4 ms of a 6 ms /health). flush()
    waits for what is queued: alarm evaluation calls it first.
    """

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self._client = clients
        # Raw values per metric: moto stores datapoints but computes no percentiles (p99 alarms).
        self.raw: dict[tuple, deque] = defaultdict(lambda: deque(maxlen=RAW_VALUES_KEPT))
        self._pending: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._publish_forever, daemon=True, name="local-metrics").start()

    def on_invoke(self, result: InvokeResult) -> None:
        """Called by the Lambda runtime after every invoke."""
        data = [item for line in result.logs for item in emf_metric_data(line)]
        dimensions = [{"Name": "FunctionName", "Value": result.function}]
        now = datetime.now(UTC)
        data += [
            _datum("AWS/Lambda", "Invocations", dimensions, 1, "Count", now),
            _datum("AWS/Lambda", "Errors", dimensions, 1 if result.errored else 0, "Count", now),
            _datum("AWS/Lambda", "Duration", dimensions, result.duration_ms, "Milliseconds", now),
        ]
        self.put(data)

    def put(self, data: list[dict[str, Any]]) -> None:
        for item in data:
            self.raw[metric_key(item["Namespace"], item["MetricName"], item["Dimensions"])].append((item["Timestamp"], item["Value"]))
        self._pending.put(data)

    def flush(self) -> None:
        self._pending.join()

    def _publish_forever(self) -> None:
        while True:
            batch = [self._pending.get()]
            time.sleep(PUBLISH_EVERY_S)  # gather what arrives meanwhile into the same PutMetricData calls
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                self._publish([item for data in batch for item in data])
            except Exception as error:  # noqa: BLE001 - a lost datapoint must not stop the thread
                print(f"local metrics: {error!r}", flush=True)
            finally:
                for _ in batch:
                    self._pending.task_done()

    def _publish(self, data: list[dict[str, Any]]) -> None:
        """One StatisticValues datum per metric, dimensions and second, as the CloudWatch agent
        aggregates: the sums, counts, minima and maxima alarms read are exact; percentiles come
        from `raw`. (A datum per value made moto parse ~12 datapoints per request.)"""
        groups: dict[tuple, list[float]] = {}
        for item in data:
            second = item["Timestamp"].replace(microsecond=0)
            key = (item["Namespace"], item["MetricName"], tuple((d["Name"], d["Value"]) for d in item["Dimensions"]), item["Unit"], second)
            groups.setdefault(key, []).append(float(item["Value"]))
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for (namespace, name, dimensions, unit, second), values in groups.items():
            by_namespace.setdefault(namespace, []).append(
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
                    "Unit": unit,
                    "Timestamp": second,
                    "StatisticValues": {"SampleCount": len(values), "Sum": sum(values), "Minimum": min(values), "Maximum": max(values)},
                }
            )
        for namespace, items in by_namespace.items():
            for start in range(0, len(items), 1000):  # PutMetricData takes up to 1000 datapoints
                self._client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=items[start : start + 1000])


def metric_key(namespace: str, name: str, dimensions: list[dict[str, str]]) -> tuple:
    return namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dimensions))


def percentile(values: list[float], statistic: str) -> float:
    """p99 -> the 99th percentile (nearest rank), as CloudWatch reports it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(float(statistic[1:]) / 100 * len(ordered)))
    return ordered[rank - 1]


def _datum(namespace: str, name: str, dimensions: list[dict[str, str]], value: float, unit: str, at: datetime) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": dimensions,
        "Value": float(value),
        "Unit": unit,
        "Timestamp": at,
    }


class AlarmEvaluator:
    def __init__(self, clients: Callable[[str], Any], sink: MetricsSink, access: StackAccess | None = None) -> None:
        self._client = clients
        self._access = access
        self._sink = sink
        self.transitions: list[dict[str, Any]] = []

    def evaluate(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Evaluates every alarm once; returns the state changes it made."""
        self._sink.flush()
        now = now or datetime.now(UTC)
        cloudwatch = self._client("cloudwatch")
        changes = []
        # Every alarm, not only the template's: rollouts create alarms per model at run time.
        alarms = [a for page in cloudwatch.get_paginator("describe_alarms").paginate() for a in page["MetricAlarms"]]
        for alarm in alarms:
            new_state, reason = self._state_for(alarm, now)
            if new_state != alarm["StateValue"]:
                cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=new_state, StateReason=reason)
                change = {"alarm": alarm["AlarmName"], "from": alarm["StateValue"], "to": new_state, "reason": reason}
                self._announce(alarm, change, now)
                changes.append(change)
        self.transitions.extend(changes)
        return changes

    def _state_for(self, alarm: dict[str, Any], now: datetime) -> tuple[str, str]:
        period = int(alarm["Period"])
        periods = int(alarm["EvaluationPeriods"])
        window = {
            "Namespace": alarm["Namespace"],
            "MetricName": alarm["MetricName"],
            "Dimensions": alarm.get("Dimensions", []),
            "StartTime": now - timedelta(seconds=period * periods),
            "EndTime": now + timedelta(seconds=1),
            "Period": period,
        }
        if "ExtendedStatistic" in alarm:  # a percentile such as p99, from the raw values local mode kept
            raw: Iterable[tuple[datetime, float]] = self._sink.raw.get(
                metric_key(alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions", [])), []
            )
            window_values = [value for at, value in raw if window["StartTime"] <= at <= window["EndTime"]]
            values = [percentile(window_values, alarm["ExtendedStatistic"])] if window_values else []
        else:
            points = self._client("cloudwatch").get_metric_statistics(**window, Statistics=[alarm.get("Statistic", "Sum")])["Datapoints"]
            values = [point[alarm.get("Statistic", "Sum")] for point in points]
        if not values:
            missing = alarm.get("TreatMissingData", "missing")
            return ("ALARM", "no data, treated as breaching") if missing == "breaching" else ("OK", "no data")
        breaching = [v for v in values if COMPARISONS[alarm["ComparisonOperator"]](v, float(alarm["Threshold"]))]
        needed = int(alarm.get("DatapointsToAlarm") or periods)
        if len(breaching) >= min(needed, len(values)):
            return "ALARM", f"{len(breaching)} datapoint(s) {breaching} crossed the threshold {alarm['Threshold']}"
        return "OK", f"datapoints {values} within the threshold {alarm['Threshold']}"

    def _announce(self, alarm: dict[str, Any], change: dict[str, Any], now: datetime) -> None:
        detail = {
            "alarmName": alarm["AlarmName"],
            "state": {"value": change["to"], "reason": change["reason"], "timestamp": now.isoformat()},
            "previousState": {"value": change["from"]},
        }
        self._client("events").put_events(
            Entries=[
                {
                    "Source": "aws.cloudwatch",
                    "DetailType": "CloudWatch Alarm State Change",
                    "Resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{alarm['AlarmName']}"],
                    "Detail": json.dumps(detail),
                }
            ]
        )
        actions = alarm.get("AlarmActions", []) if change["to"] == "ALARM" else alarm.get("OKActions", [])
        alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{alarm['AlarmName']}"
        for arn in (a for a in actions if a.startswith("arn:aws:sns:")):
            denied = self._access.service_denial("cloudwatch.amazonaws.com", "sns:Publish", arn, alarm_arn) if self._access else None
            if denied is not None:  # CloudWatch records the failed action in the alarm's history
                print(f"local CloudWatch: alarm {alarm['AlarmName']} cannot notify {arn}: {denied}", flush=True)
            else:
                self._client("sns").publish(TopicArn=arn, Subject=f"{change['to']}: {alarm['AlarmName']}"[:100], Message=json.dumps(detail))


class ExecutionMetrics:
    """The AWS/States metrics Step Functions publishes, from the executions moto ran."""

    STATUS_METRICS = {
        "SUCCEEDED": "ExecutionsSucceeded",
        "FAILED": "ExecutionsFailed",
        "TIMED_OUT": "ExecutionsTimedOut",
        "ABORTED": "ExecutionsAborted",
    }

    def __init__(self, clients: Callable[[str], Any], sink: MetricsSink, state_machine_arns: list[str]) -> None:
        self._client = clients
        self._sink = sink
        self._arns = state_machine_arns
        self._seen: set[str] = set()

    def collect(self) -> None:
        data = []
        for arn in self._arns:
            for execution in self._client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]:
                metric = self.STATUS_METRICS.get(execution["status"])
                if metric is None or execution["executionArn"] in self._seen:
                    continue
                self._seen.add(execution["executionArn"])
                dimensions = [{"Name": "StateMachineArn", "Value": arn}]
                stopped = execution["stopDate"]
                elapsed_ms = (stopped - execution["startDate"]).total_seconds() * 1000
                data += [
                    _datum("AWS/States", "ExecutionsStarted", dimensions, 1, "Count", stopped),
                    _datum("AWS/States", metric, dimensions, 1, "Count", stopped),
                    _datum("AWS/States", "ExecutionTime", dimensions, elapsed_ms, "Milliseconds", stopped),
                ]
        if data:
            self._sink.put(data)
