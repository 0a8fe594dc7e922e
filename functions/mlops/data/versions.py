"""Dataset versions and their lineage in the models table: (model, "DATASET#<sha256>") items.

A version is the SHA-256 of the normalized content, so the same data uploaded twice (even with its
columns reordered or extra columns) is one version. The item records where it came from, the
manifest, the splits and baseline, and every run that used it; STATE.latest_dataset points at the
newest version.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from mlops.registry.versions import STATE_KEY
from mlops.shared.aws import query_all, table
from mlops.shared.errors import NotFound
from mlops.shared.items import from_item, now_iso, to_item
from mlops.shared.settings import get_settings

DATASET_PREFIX = "DATASET#"


class DatasetStore:
    def __init__(self, models_table: Any) -> None:
        self._models = models_table
        self._conflict = models_table.meta.client.exceptions.ConditionalCheckFailedException

    def register(self, model: str, version: str, record: dict[str, Any], run_id: str) -> bool:
        """True when this content is new; either way the run joins the version's lineage."""
        item = {
            "model": model,
            "sk": DATASET_PREFIX + version,
            "version": version,
            "created_at": now_iso(),
            "runs": [run_id],
            **record,
        }
        try:
            self._models.put_item(Item=to_item(item), ConditionExpression="attribute_not_exists(sk)")
            created = True
        except self._conflict:
            self._models.update_item(
                Key={"model": model, "sk": DATASET_PREFIX + version},
                UpdateExpression="SET #runs = list_append(#runs, :run)",
                ExpressionAttributeNames={"#runs": "runs"},
                ExpressionAttributeValues={":run": [run_id]},
            )
            created = False
        self._models.update_item(
            Key={"model": model, "sk": STATE_KEY},
            UpdateExpression="SET latest_dataset = :v, latest_dataset_at = :at",
            ExpressionAttributeValues={":v": version, ":at": now_iso()},
        )
        return created

    def get(self, model: str, version: str) -> dict[str, Any]:
        item = self._models.get_item(Key={"model": model, "sk": DATASET_PREFIX + version}).get("Item")
        if item is None:
            raise NotFound(f"model {model!r} has no dataset version {version!r}")
        return from_item(item)

    def latest(self, model: str) -> dict[str, Any]:
        state = self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})
        if "latest_dataset" not in state:
            raise NotFound(f"model {model!r} has no dataset yet: upload one under datasets/{model}/")
        return self.get(model, state["latest_dataset"])

    def list(self, model: str) -> list[dict[str, Any]]:
        items = query_all(self._models, KeyConditionExpression=Key("model").eq(model) & Key("sk").begins_with(DATASET_PREFIX))
        return sorted((from_item(i) for i in items), key=lambda i: i["created_at"], reverse=True)

    def set_prepared(self, model: str, version: str, prepared: dict[str, Any]) -> None:
        self._models.update_item(
            Key={"model": model, "sk": DATASET_PREFIX + version},
            UpdateExpression="SET prepared = :p",
            ExpressionAttributeValues={":p": to_item(prepared)},
        )


def dataset_store() -> DatasetStore:
    return DatasetStore(table(get_settings().models_table))
