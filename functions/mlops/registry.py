"""Model registry: numbered, immutable model versions per model, a champion alias, an audit trail.

Items in the models table: (model, "STATE") holds the version counter and aliases;
(model, "VERSION#0001") one item per version. Every change is a conditional write plus an audit
record, so two writers racing for the same number or alias cannot both win.
"""

from __future__ import annotations

from typing import Any

from mlops.audit import AuditLog
from mlops.runs import from_item, now_iso, to_item

STATE_KEY = "STATE"


def version_key(number: int) -> str:
    return f"VERSION#{number:04d}"


class Registry:
    def __init__(self, models_table: Any, audit_table: Any) -> None:
        self._models = models_table
        self._audit = AuditLog(audit_table)
        self._errors = models_table.meta.client.exceptions

    def register(self, model: str, run_id: str, artifact: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
        """Adds a new version, and makes it champion when the model has none yet."""
        number = self._next_number(model)
        item = {
            "model": model,
            "sk": version_key(number),
            "version": number,
            "run_id": run_id,
            "artifact": artifact,
            "metrics": metrics,
            "status": "candidate",
            "created_at": now_iso(),
        }
        self._models.put_item(Item=to_item(item), ConditionExpression="attribute_not_exists(sk)")
        self._audit.record(model, "version.registered", {"version": number, "run_id": run_id})
        if self._claim_first_champion(model, number):
            self._set_status(model, number, "champion")
            item["status"] = "champion"
        return from_item(to_item(item))

    def champion(self, model: str) -> int | None:
        state = self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})
        return int(state["champion"]) if "champion" in state else None

    def _next_number(self, model: str) -> int:
        response = self._models.update_item(
            Key={"model": model, "sk": STATE_KEY},
            UpdateExpression="ADD version_counter :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["version_counter"])

    def _claim_first_champion(self, model: str, number: int) -> bool:
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET champion = :v",
                ConditionExpression="attribute_not_exists(champion)",
                ExpressionAttributeValues={":v": number},
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        self._audit.record(model, "alias.champion", {"version": number, "previous": None})
        return True

    def _set_status(self, model: str, number: int, status: str) -> None:
        self._models.update_item(
            Key={"model": model, "sk": version_key(number)},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status},
        )
