"""Versioned model specs in the models table: (model, "SPEC#0001") items and the current one on STATE.

Registering the same spec again returns the current version instead of adding one, so a PUT is
idempotent. Two concurrent PUTs get distinct numbers; the higher one becomes current.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from mlops.data.spec import ModelSpec
from mlops.registry.audit import AuditLog
from mlops.registry.versions import STATE_KEY
from mlops.shared.aws import query_all, table
from mlops.shared.errors import NotFound
from mlops.shared.items import from_item, now_iso
from mlops.shared.settings import get_settings

SPEC_PREFIX = "SPEC#"


def spec_key(number: int) -> str:
    return f"{SPEC_PREFIX}{number:04d}"


class SpecStore:
    def __init__(self, models_table: Any, audit_table: Any) -> None:
        self._models = models_table
        self._audit = AuditLog(audit_table)
        self._conflict = models_table.meta.client.exceptions.ConditionalCheckFailedException

    def put(self, model: str, spec: ModelSpec) -> tuple[int, bool]:
        """(version, created): the version that now describes the model, and whether it is new."""
        document = spec.model_dump(mode="json")
        try:
            number, current = self.current(model)
            if current.model_dump(mode="json") == document:
                return number, False
        except NotFound:
            pass
        number = int(
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="ADD spec_counter :one",
                ExpressionAttributeValues={":one": 1},
                ReturnValues="UPDATED_NEW",
            )["Attributes"]["spec_counter"]
        )
        self._models.put_item(
            Item={
                "model": model,
                "sk": spec_key(number),
                "spec_version": number,
                "spec": json.dumps(document),
                "created_at": now_iso(),
            },
            ConditionExpression="attribute_not_exists(sk)",
        )
        # When a newer spec was registered meanwhile, it stays current and this one joins the history.
        with contextlib.suppress(self._conflict):
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET spec_version = :n",
                ConditionExpression=Attr("spec_version").not_exists() | Attr("spec_version").lt(number),
                ExpressionAttributeValues={":n": number},
            )
        self._audit.record(model, "spec.registered", {"spec_version": number})
        return number, True

    def current(self, model: str) -> tuple[int, ModelSpec]:
        state = self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})
        if "spec_version" not in state:
            raise NotFound(f"model {model!r} has no spec: register one with PUT /models/{model}")
        return self.get(model, int(state["spec_version"]))

    def get(self, model: str, number: int) -> tuple[int, ModelSpec]:
        item = self._models.get_item(Key={"model": model, "sk": spec_key(number)}).get("Item")
        if item is None:
            raise NotFound(f"model {model!r} has no spec version {number}")
        return number, ModelSpec.model_validate_json(item["spec"])

    def models(self) -> list[dict[str, Any]]:
        """Every model with a spec, from its state: current spec version, aliases, the challenger's
        share, a running rollout, the latest check's verdicts (one scan: the console's front page)."""
        found, scan_args = [], {"FilterExpression": Attr("sk").eq(STATE_KEY) & Attr("spec_version").exists()}
        while True:
            page = self._models.scan(**scan_args)
            found += [_summary(from_item(i)) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda m: m["model"])
            scan_args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def history(self, model: str) -> list[int]:
        """Every spec version of the model: all pages (a page stops at 1 MB of items, a few hundred specs)."""
        items = query_all(self._models, KeyConditionExpression=Key("model").eq(model) & Key("sk").begins_with(SPEC_PREFIX))
        return [int(i["spec_version"]) for i in items]


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    latest = state.get("monitoring", {}).get("latest")
    return {
        "model": state["model"],
        "spec_version": int(state["spec_version"]),
        "champion": state.get("champion"),
        "challenger": state.get("challenger"),
        "challenger_percent": state.get("traffic", {}).get("challenger_percent", 0),
        "rollout": state.get("rollout"),
        "last_check": None
        if latest is None
        else {k: latest.get(k) for k in ("check_id", "checked_at", "drift", "drifted_features", "performance")},
    }


def spec_store() -> SpecStore:
    settings = get_settings()
    return SpecStore(table(settings.models_table), table(settings.audit_table))


def pinned_spec(specs: SpecStore, model: str, version: dict[str, Any]) -> ModelSpec:
    """The spec a model version was trained on (the registry records its spec version): the
    schema, classes and PII rules it serves by, whatever spec is current now."""
    return specs.get(model, int(version["spec_version"]))[1]
