"""Pipeline runs: one item per run in the runs table, written as the run moves through its steps."""

from __future__ import annotations

import contextlib
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from mlops.shared.aws import table
from mlops.shared.errors import NotFound
from mlops.shared.items import from_item, now_iso, to_item
from mlops.shared.settings import get_settings

STATUS_RUNNING = "RUNNING"
STATUS_SUCCEEDED = "SUCCEEDED"
STATUS_FAILED = "FAILED"

BY_MODEL_INDEX = "by-model"


class RunStore:
    """Adapter over the runs table (partition key run_id; index by-model on model, started_at)."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._conflict = table.meta.client.exceptions.ConditionalCheckFailedException

    def start(self, run_id: str, model: str, trigger: dict[str, Any]) -> None:
        """Creates the run once; a redelivered start for the same run is a no-op."""
        item = {
            "run_id": run_id,
            "model": model,
            "status": STATUS_RUNNING,
            "trigger": to_item(trigger),  # a drift finding or an import carries numbers
            "started_at": now_iso(),
            "updated_at": now_iso(),
            "steps": {},
            "timings": {},
        }
        with contextlib.suppress(self._conflict):
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(run_id)")

    def record_step(self, run_id: str, step: str, detail: dict[str, Any]) -> None:
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression="SET steps.#step = :detail, updated_at = :now",
            ExpressionAttributeNames={"#step": step},
            ExpressionAttributeValues={":detail": to_item({**detail, "at": now_iso()}), ":now": now_iso()},
        )

    def finish(self, run_id: str, status: str, failure: dict[str, str] | None = None) -> None:
        """Ends a run. Only a RUNNING run can end, so a late duplicate cannot flip the outcome."""
        values: dict[str, Any] = {":status": status, ":now": now_iso(), ":running": STATUS_RUNNING}
        expression = "SET #status = :status, updated_at = :now, ended_at = :now"
        if failure is not None:
            expression += ", failure = :failure"
            values[":failure"] = failure
        with contextlib.suppress(self._conflict):
            self._table.update_item(
                Key={"run_id": run_id},
                UpdateExpression=expression,
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )

    def record_timing(self, run_id: str, step: str, seconds: float) -> None:
        """timings.<step> = seconds the step's Lambda took (the last attempt's, after retries)."""
        # One write: start() creates the timings map, so the nested path always has a parent.
        with contextlib.suppress(self._conflict):
            self._table.update_item(
                Key={"run_id": run_id},
                UpdateExpression="SET timings.#step = :s",
                ConditionExpression="attribute_exists(timings)",
                ExpressionAttributeNames={"#step": step},
                ExpressionAttributeValues={":s": to_item(round(seconds, 3))},
            )

    def set_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._set(run_id, "params", params)

    def set_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        self._set(run_id, "metrics", metrics)

    def _set(self, run_id: str, attribute: str, value: dict[str, Any]) -> None:
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression="SET #a = :v, updated_at = :now",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": to_item(value), ":now": now_iso()},
        )

    def get(self, run_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"run_id": run_id}).get("Item")
        if item is None:
            raise NotFound(f"run {run_id!r} does not exist")
        return from_item(item)

    def list_for_model(self, model: str, status: str | None = None, sort: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Runs of a model, newest first; or by a metric with sort="metric" (ascending) / "-metric"."""
        args: dict[str, Any] = {"IndexName": BY_MODEL_INDEX, "KeyConditionExpression": Key("model").eq(model), "ScanIndexForward": False}
        if status:
            args["FilterExpression"] = Attr("status").eq(status)
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            page = self._table.query(**args)
            items += [from_item(item) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if sort:
            metric, descending = sort.lstrip("-"), sort.startswith("-")
            measured = [i for i in items if metric in i.get("metrics", {})]
            items = sorted(measured, key=lambda i: i["metrics"][metric], reverse=descending)
        return items[:limit]


def run_store() -> RunStore:
    """The runs table the environment names."""
    return RunStore(table(get_settings().runs_table))
