"""DynamoDB items and plain Python values: numbers as Decimal going in, back to int/float coming out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def to_item(value: Any) -> Any:
    """boto3's DynamoDB resource refuses floats: store them as Decimals of their shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: to_item(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [to_item(inner) for inner in value]
    return value


def from_item(value: Any) -> Any:
    """The reverse of to_item, for JSON answers: integral Decimals become ints, others floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: from_item(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [from_item(inner) for inner in value]
    return value


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
