"""Records to predict for, from what a person has at hand: a JSON document or a CSV with a header."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from mlops_cli.errors import UserError

# The platform's markers of a missing value (functions/mlops/data/missing.py; a unit test keeps the
# two equal), compared without regard to case, with those a spec adds in data.missing_values.
MISSING_MARKERS = ("", "NA", "N/A", "null", "NaN")


def missing_markers(spec: dict[str, Any]) -> frozenset[str]:
    extra = spec.get("data", {}).get("missing_values") or []
    return frozenset(marker.strip().casefold() for marker in (*MISSING_MARKERS, *extra))


def parse_records(text: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON ({"records": [...]}, a list of objects or one object) or CSV; CSV cells take the spec's types."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise UserError("no records: the input is empty")
    if stripped[0] in "[{":
        try:
            document = json.loads(stripped)
        except ValueError as error:
            raise UserError(f"the input is not valid JSON: {error}") from None
        records = document.get("records", [document]) if isinstance(document, dict) else document
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise UserError('JSON input must be {"records": [{...}]}, a list of objects or one object')
        return records
    return _from_csv(stripped, spec)


def _from_csv(text: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    numeric = {f["name"] for f in spec.get("features", []) if f.get("type") == "numeric"}
    known = {f["name"] for f in spec.get("features", [])}
    markers = missing_markers(spec)
    records = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        record: dict[str, Any] = {}
        for name, value in row.items():
            if name not in known:
                continue  # the target, ids and other columns a file carries are not features
            if value is None or value.strip().casefold() in markers:
                record[name] = None
            elif name in numeric:
                try:
                    record[name] = float(value)
                except ValueError:
                    raise UserError(f"line {line}, column {name!r}: {value!r} is not a number") from None
            else:
                record[name] = value
        records.append(record)
    if not records:
        raise UserError("the CSV has a header but no rows")
    return records


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
