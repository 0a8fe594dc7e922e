"""Which models are due a check, and the events that carry checks and their findings.

The hourly platform schedule asks which models with a champion are due (their spec's
`monitoring.check_every_minutes` has passed) and puts one `ModelCheckDue` event each on the
default bus; a rule hands each to the ModelCheck function (mlops.monitoring.checks), whose
`DriftDetected` / `PerformanceDecayed` findings the retraining rule listens for. Light on purpose:
the scheduler and the retraining function import it without numpy.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from mlops.registry.versions import STATE_KEY

EVENT_SOURCE = "mlops.platform"


CHECK_DUE, DRIFT_DETECTED, PERFORMANCE_DECAYED = "ModelCheckDue", "DriftDetected", "PerformanceDecayed"
# The label-free estimate fell (mlops.monitoring.estimation): decay seen before the labels arrive.
ESTIMATED_PERFORMANCE_DECAYED = "EstimatedPerformanceDecayed"
FINDINGS = (DRIFT_DETECTED, PERFORMANCE_DECAYED, ESTIMATED_PERFORMANCE_DECAYED)


CHECK_SERVICE = "ModelCheck"  # the checking function's construct id: its metrics' service dimension


def serving_states(models_table: Any) -> list[dict[str, Any]]:
    """The state items of the models that have a champion (one scan, for every scheduled look)."""
    states, args = [], {"FilterExpression": Attr("sk").eq(STATE_KEY) & Attr("champion").exists()}
    while True:
        page = models_table.scan(**args)
        states += page["Items"]
        if "LastEvaluatedKey" not in page:
            return states
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def due_models(states: list[dict[str, Any]], specs: Any, now: datetime) -> list[str]:
    """Of these serving models, those whose last check is older than their spec's interval."""
    due = []
    for state in states:
        _, spec = specs.current(state["model"])
        last = state.get("monitoring", {}).get("last_check_at")
        if last is None or now - datetime.fromisoformat(last) >= timedelta(minutes=spec.monitoring.check_every_minutes):
            due.append(state["model"])
    return sorted(due)


def announce(events: Any, detail_type: str, details: list[dict[str, Any]]) -> None:
    for start in range(0, len(details), 10):  # PutEvents takes up to 10 entries
        entries = [{"Source": EVENT_SOURCE, "DetailType": detail_type, "Detail": json.dumps(d)} for d in details[start : start + 10]]
        failed = events.put_events(Entries=entries).get("FailedEntryCount", 0)
        if failed:
            raise RuntimeError(f"{failed} of {len(entries)} {detail_type} events were not accepted")
