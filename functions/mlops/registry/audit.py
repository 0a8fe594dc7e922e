"""The append-only audit trail: one item per change of registry, spec or traffic state."""

from __future__ import annotations

import uuid
from typing import Any

from boto3.dynamodb.conditions import Key

from mlops.shared.aws import table
from mlops.shared.items import from_item, now_iso, to_item
from mlops.shared.settings import get_settings


class AuditLog:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record(self, model: str, action: str, detail: dict[str, Any]) -> None:
        at = now_iso()
        item = {"model": model, "sk": f"{at}#{uuid.uuid4().hex[:8]}", "action": action, "detail": detail, "at": at}
        # Never overwrite: an audit record is written once.
        self._table.put_item(Item=to_item(item), ConditionExpression="attribute_not_exists(sk)")

    def records(self, model: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        page = self._table.query(KeyConditionExpression=Key("model").eq(model), ScanIndexForward=False, Limit=limit)
        return [from_item(item) for item in page["Items"]]


def audit_log() -> AuditLog:
    return AuditLog(table(get_settings().audit_table))
