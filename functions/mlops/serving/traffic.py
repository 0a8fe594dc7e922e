"""The traffic policy of a model: the challenger's share of requests and an optional shadow.

Kept on the model's STATE item beside the aliases; every change is a conditional write on the
policy's revision (so two operators cannot overwrite each other unknowingly) plus an audit record.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, Field

from mlops.registry.audit import AuditLog
from mlops.registry.versions import STATE_KEY, aliases_of
from mlops.shared.aws import table
from mlops.shared.errors import Conflict
from mlops.shared.items import from_item, now_iso, to_item
from mlops.shared.settings import get_settings


class TrafficPolicy(BaseModel):
    challenger_percent: int = Field(default=0, ge=0, le=100, description="share of requests the challenger answers")
    shadow: int | None = Field(default=None, ge=1, description="a version that gets a copy of each request; never answers")
    revision: int = Field(default=0, ge=0, description="increments on every change; send it back to update")


class TrafficStore:
    def __init__(self, models_table: Any, audit_table: Any) -> None:
        self._models = models_table
        self._audit = AuditLog(audit_table)
        self._conflict = models_table.meta.client.exceptions.ConditionalCheckFailedException

    def policy(self, model: str) -> dict[str, Any]:
        return _policy_of(self._state(model))

    def routing(self, model: str) -> tuple[dict[str, int], dict[str, Any], dict[str, Any] | None]:
        """Aliases, policy and the latest A/B test, from one read of the model's state item."""
        state = self._state(model)
        return aliases_of(state), _policy_of(state), _experiment_of(state)

    def _state(self, model: str) -> dict[str, Any]:
        return self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})

    def set(
        self, model: str, challenger_percent: int, shadow: int | None, expected_revision: int, by: str, challenger: int | None = None
    ) -> dict[str, Any]:
        """With `challenger` (a rollout acting for its version) the write also requires that version
        to be the challenger still, so a share is never given to a version the rollout is not for."""
        policy = TrafficPolicy(challenger_percent=challenger_percent, shadow=shadow, revision=expected_revision + 1)
        # A revision is never negative (TrafficPolicy, TrafficRequest); a missing item has no traffic.revision.
        condition = "attribute_not_exists(traffic)" if expected_revision == 0 else "traffic.revision = :expected"  # pragma: no mutate
        values: dict[str, Any] = {
            ":policy": to_item(policy.model_dump()),
            **({":expected": expected_revision} if expected_revision else {}),
        }
        if challenger is not None:
            condition, values[":challenger"] = f"({condition}) AND challenger = :challenger", challenger
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET traffic = :policy",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except self._conflict:
            bound = f" with version {challenger} as its challenger" if challenger is not None else ""
            raise Conflict(f"the traffic policy of {model!r} is not at revision {expected_revision}{bound}; read it again") from None
        self._audit.record(model, "traffic.policy", {**policy.model_dump(), "by": by})
        return policy.model_dump()

    def reset_share(self, model: str, by: str) -> None:
        """After a promotion or rollback there is no challenger: its share goes back to zero."""
        policy = self.policy(model)
        if policy["challenger_percent"]:
            self.set(model, 0, policy["shadow"], policy["revision"], by=by)

    def experiment(self, model: str) -> dict[str, Any] | None:
        """The latest A/B test of the model (running or decided), as the rollout last wrote it."""
        return _experiment_of(self._state(model))

    def save_experiment(self, model: str, record: dict[str, Any]) -> bool:
        """Written by the rollout of the test's challenger only while that version is the challenger,
        so an older test's verdict never lands on a newer one. A decision is audited when taken."""
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET experiment = :record",
                ConditionExpression="attribute_exists(model) AND challenger = :challenger",
                ExpressionAttributeValues={":record": to_item(record), ":challenger": record["challenger_version"]},
            )
        except self._conflict:
            return False
        if record["status"] != "collecting":
            self._audit.record(model, "traffic.ab_decision", record)
        return True

    # --- the model's running rollout (one at a time; the newest version's wins) -------------------

    def begin_rollout(self, model: str, version: int, execution: str) -> bool:
        """Records that a rollout of `version` runs; False if a newer version's rollout holds the record."""
        record = {"version": version, "execution": execution, "started_at": now_iso()}
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET rollout = :record",
                ConditionExpression="attribute_not_exists(rollout) OR rollout.version <= :version",
                ExpressionAttributeValues={":record": to_item(record), ":version": version},
            )
        except self._conflict:
            return False
        self._audit.record(model, "rollout.started", record)
        return True

    def hand_over_rollout(self, model: str, version: int, execution: str) -> None:
        """A long A/B test goes on in a new execution: the record names it."""
        with contextlib.suppress(self._conflict):
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET rollout.execution = :execution",
                ConditionExpression="rollout.version = :version",
                ExpressionAttributeValues={":execution": execution, ":version": version},
            )

    def end_rollout(self, model: str, version: int, outcome: str, reason: str) -> None:
        """Clears the record if it is still this version's (a newer rollout's stays), and audits the end."""
        with contextlib.suppress(self._conflict):
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="REMOVE rollout",
                ConditionExpression="rollout.version = :version",
                ExpressionAttributeValues={":version": version},
            )
        self._audit.record(model, "rollout.ended", {"version": version, "outcome": outcome, "reason": reason})

    def running_rollout(self, model: str) -> dict[str, Any] | None:
        state = self._state(model)
        return from_item(state["rollout"]) if "rollout" in state else None


def _policy_of(state: dict[str, Any]) -> dict[str, Any]:
    return TrafficPolicy.model_validate(from_item(state.get("traffic", {}))).model_dump()


def _experiment_of(state: dict[str, Any]) -> dict[str, Any] | None:
    return from_item(state["experiment"]) if "experiment" in state else None


def traffic_store() -> TrafficStore:
    settings = get_settings()
    return TrafficStore(table(settings.models_table), table(settings.audit_table))
