"""What serving reads from the models table, with a low-level DynamoDB client and no pydantic.

The items are the registry's and the spec store's (mlops.registry.versions, mlops.data.spec_store):
the model's STATE item (aliases, traffic policy, current spec version), one item per version, one
per spec version. Versions and spec versions are immutable, so callers may keep what they read;
the STATE item changes, so routing is re-read at most every POLICY_TTL_S seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mlops.serving.bounded import BoundedCache
from mlops.shared.errors import NotFound

POLICY_TTL_S = 5.0
MAX_ROUTED_MODELS = 1024  # routing read per model name, names that exist or not: bounded all the same
STATE_KEY, VERSION_PREFIX, SPEC_PREFIX = "STATE", "VERSION#", "SPEC#"  # the registry's and the spec store's keys


class ServingState:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb, self._table = dynamodb, table
        self._routing: BoundedCache[str, tuple[float, dict[str, int], dict[str, Any]]] = BoundedCache(MAX_ROUTED_MODELS)

    def reset(self, dynamodb: Any) -> None:
        """A new client, and routing read afresh (after a SnapStart restore)."""
        self._dynamodb = dynamodb
        self._routing.clear()

    def champions(self, limit: int, pages: int = 10) -> list[tuple[str, int]]:
        """Up to `limit` models with a champion, and its version (at most `pages` scan pages read)."""
        found: list[tuple[str, int]] = []
        args: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :state AND attribute_exists(champion)",
            "ProjectionExpression": "model, champion",
            "ExpressionAttributeValues": {":state": {"S": STATE_KEY}},
        }
        for _ in range(pages):
            page = self._dynamodb.scan(**args)
            found += [(item["model"]["S"], int(item["champion"]["N"])) for item in page.get("Items", [])]
            if len(found) >= limit or "LastEvaluatedKey" not in page:
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]

    def routing(self, model: str) -> tuple[dict[str, int], dict[str, Any]]:
        """Aliases and traffic policy, from one read of the model's STATE item per POLICY_TTL_S."""
        cached = self._routing.get(model)
        now = time.monotonic()
        if cached is None or now - cached[0] > POLICY_TTL_S:
            state = self._item(model, STATE_KEY, "champion, challenger, traffic") or {}
            aliases: dict[str, int] = {alias: int(state[alias]) for alias in ("champion", "challenger") if alias in state}
            cached = (now, aliases, state.get("traffic", {}))
            self._routing.put(model, cached)
        return cached[1], cached[2]

    def version(self, model: str, number: int) -> dict[str, Any]:
        item = self._item(model, f"{VERSION_PREFIX}{number:04d}")
        if item is None:
            raise NotFound(f"model {model!r} has no version {number}")
        return item

    def spec_document(self, model: str, number: int) -> dict[str, Any]:
        """A spec version as registered (the JSON of the whole spec, defaults included)."""
        item = self._item(model, f"{SPEC_PREFIX}{number:04d}", "spec")
        if item is None:
            raise NotFound(f"model {model!r} has no spec version {number}")
        return dict(json.loads(item["spec"]))

    def current_spec_document(self, model: str) -> dict[str, Any]:
        state = self._item(model, STATE_KEY, "spec_version")
        if not state or "spec_version" not in state:
            raise NotFound(f"model {model!r} has no spec: register one with PUT /models/{model}")
        return self.spec_document(model, int(state["spec_version"]))

    def _item(self, model: str, sk: str, projection: str | None = None) -> dict[str, Any] | None:
        args: dict[str, Any] = {"TableName": self._table, "Key": {"model": {"S": model}, "sk": {"S": sk}}}
        if projection:
            args["ProjectionExpression"] = projection
        item = self._dynamodb.get_item(**args).get("Item")
        return None if item is None else {name: plain(value) for name, value in item.items()}


def plain(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as plain Python: numbers as int or float (never Decimal)."""
    kind, data = next(iter(value.items()))
    if kind == "S" or kind == "BOOL":
        return data
    if kind == "N":
        return int(data) if data.lstrip("-").isdigit() else float(data)
    if kind == "M":
        return {k: plain(v) for k, v in data.items()}
    if kind == "L":
        return [plain(v) for v in data]
    if kind == "NULL":
        return None
    if kind in ("SS", "BS"):
        return list(data)
    if kind == "NS":
        return [plain({"N": n}) for n in data]
    return data  # B: bytes
