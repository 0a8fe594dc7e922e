"""Retraining when a check finds drift or decay: guarded, idempotent, and recorded.

A `DriftDetected` or `PerformanceDecayed` event starts a training run on the latest data unless a
guard says no: the spec does not retrain on this kind of finding, a run of the model is still
going, a rollout of the model is running (retraining waits: the next check that finds the same
drift or decay starts the run once the rollout has ended), the cool-down since the last automatic
run has not passed, today's automatic runs are used up, or there is nothing new to learn from (the
newest dataset version is the champion's own and no labelled feedback is to be added: a run would
make the same model; the check's alarm still fires and the audit says why nothing started). Starting claims the slot with one
conditional write on the model's state, so a redelivered event (same check) or two findings at
once start one run, never two. The run records its trigger (which check, which report, which
features) like any other run.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from mlops.data.spec import ModelSpec
from mlops.monitoring.schedule import DRIFT_DETECTED, ESTIMATED_PERFORMANCE_DECAYED, PERFORMANCE_DECAYED
from mlops.registry.audit import AuditLog
from mlops.registry.versions import STATE_KEY
from mlops.serving.capture_reader import Outcome
from mlops.shared.items import from_item, to_item
from mlops.shared.settings import DATASETS_PREFIX
from mlops.training.runs import STATUS_RUNNING, RunStore

KINDS = {DRIFT_DETECTED: "drift", PERFORMANCE_DECAYED: "performance", ESTIMATED_PERFORMANCE_DECAYED: "estimated_performance"}
RUNNING_RUN_HORIZON = timedelta(days=1)  # a RUNNING record older than this is a run that died, not one that runs


class Retrainer:
    def __init__(self, models_table: Any, runs: RunStore, audit_table: Any, sfn: Any) -> None:
        self._models, self._runs, self._audit, self._sfn = models_table, runs, AuditLog(audit_table), sfn
        self._conflict = models_table.meta.client.exceptions.ConditionalCheckFailedException

    def refusal(self, model: str, kind: str, spec: ModelSpec, now: datetime) -> str | None:
        """Why no run may start now, or None."""
        rules = spec.monitoring.retraining
        if kind not in rules.on:
            return f"the spec does not retrain on {kind}"
        if rules.max_per_day == 0:
            return "automatic retraining is off (max_per_day 0)"
        for run in self._runs.list_for_model(model, status=STATUS_RUNNING, limit=20):
            if now - datetime.fromisoformat(run["started_at"]) < RUNNING_RUN_HORIZON:
                return f"run {run['run_id']} is still running"
        state = self._state(model)
        rollout = state.get("rollout")
        if rollout and self._still_running(rollout["execution"]):
            return (
                f"a rollout of version {rollout['version']} is running ({rollout['execution'].rsplit(':', 1)[-1]}); retraining waits for it"
            )
        last = state.get("retraining", {})
        if last.get("last_started_at"):
            wait = datetime.fromisoformat(last["last_started_at"]) + timedelta(minutes=rules.cooldown_minutes) - now
            if wait > timedelta(0):
                return f"cool-down: the last automatic run started {last['last_started_at']}; next after {int(wait.total_seconds())} s"
        if last.get("day") == f"{now:%Y-%m-%d}" and last.get("count", 0) >= rules.max_per_day:
            return f"{last['count']} automatic runs today, the daily maximum"
        return None

    def claim(self, model: str, check_id: str, now: datetime) -> bool:
        """Takes today's next slot unless another event took it since refusal() looked."""
        last = self._state(model).get("retraining", {})
        today = f"{now:%Y-%m-%d}"
        count = last.get("count", 0) + 1 if last.get("day") == today else 1
        claimed = {"last_started_at": now.isoformat(timespec="seconds"), "day": today, "count": count, "check_id": check_id}
        seen = last.get("last_started_at")
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET retraining = :claimed",
                ConditionExpression="retraining.last_started_at = :seen" if seen else "attribute_not_exists(retraining)",
                ExpressionAttributeValues={":claimed": to_item(claimed), **({":seen": seen} if seen else {})},
            )
        except self._conflict:
            return False
        return True

    def _still_running(self, execution_arn: str) -> bool:
        """Asks Step Functions, so a rollout that died past its own finish (aborted, timed out) blocks nothing."""
        if not execution_arn:
            return True
        try:
            return self._sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
        except self._sfn.exceptions.ExecutionDoesNotExist:
            return False

    def record(self, model: str, action: str, detail: dict[str, Any]) -> None:
        self._audit.record(model, action, detail)

    def _state(self, model: str) -> dict[str, Any]:
        return from_item(self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {}))


def nothing_new(champion: dict[str, Any] | None, latest: dict[str, Any] | None, feedback_rows: int | None) -> str | None:
    """Why a run could not change the model, or None. `feedback_rows` is None when the spec trains
    on the latest version alone, else the number of labelled predictions it would add."""
    if feedback_rows is not None:
        return None if feedback_rows else "no labelled feedback in the performance window to add to the newest data"
    if champion is not None and latest is not None and champion.get("dataset_version") == latest["version"]:
        return (
            f"no data the champion was not trained on: dataset {latest['version'][:12]} is the newest;"
            " upload newer data, or set monitoring.retraining.data to latest_plus_feedback to learn from feedback"
        )
    return None


def upload_with_feedback(
    s3: Any, bucket: str, model: str, spec: ModelSpec, latest: dict[str, Any], outcomes: Iterable[Outcome], finding: dict[str, str]
) -> dict[str, Any] | None:
    """`retraining.data: latest_plus_feedback`: the newest dataset version plus the labelled captured
    traffic, uploaded as a new dataset under datasets/<model>/ (the upload starts the run, which
    validates and versions it like any other). The object's metadata names the finding. None when
    this finding's file is already there: a redelivered event uploads nothing twice."""
    key = f"{DATASETS_PREFIX}{model}/retrain-{finding['check-id']}.csv"
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return None
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    handle, path = tempfile.mkstemp(suffix=".csv")
    added = 0
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            body = s3.get_object(Bucket=bucket, Key=latest["key"])["Body"]
            for line in body.iter_lines(keepends=True):  # the version is normalized: spec.columns, in order
                out.write(line.decode("utf-8"))
            writer = csv.writer(out)
            for outcome in outcomes:
                writer.writerow([_cell(outcome.inputs.get(f.name)) for f in spec.features] + [_cell(outcome.actual)])
                added += 1
        s3.upload_file(path, bucket, key, ExtraArgs={"Metadata": finding})
    finally:
        os.unlink(path)
    return {"key": key, "feedback_rows": added, "dataset_version": latest["version"]}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def run_id_for(model: str, kind: str, check_id: str) -> str:
    """Named after the check, so a redelivered event names the same execution."""
    return f"{model[:40]}-{kind}-{check_id}"[:80]
