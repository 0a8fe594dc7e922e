"""Scheduled platform checks: what is registered and serving, published as metrics."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from mlops.registry import STATE_KEY


def models_with_champion(models_table: Any) -> dict[str, int]:
    """model -> champion version, read from the registry's state items."""
    champions: dict[str, int] = {}
    scan_args: dict[str, Any] = {"FilterExpression": Attr("sk").eq(STATE_KEY) & Attr("champion").exists()}
    while True:
        page = models_table.scan(**scan_args)
        for item in page["Items"]:
            champions[item["model"]] = int(item["champion"])
        if "LastEvaluatedKey" not in page:
            return champions
        scan_args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
