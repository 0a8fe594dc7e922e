"""A draft spec from a sample of the data: what a person would otherwise type feature by feature.

From the header and up to SAMPLE_ROWS rows of a CSV, and the name of the target column: each other
column's type (numeric when every non-empty value parses as a finite number), whether it had empty
values (nullable), its observed range or its categories (at most MAX_CATEGORIES, the rest counted),
the task and classes from the target, and which columns look like personal data, by their name or
their values (e-mail addresses, phone numbers). The draft is a valid spec as it stands; it is meant
to be reviewed (ranges widened, PII confirmed) before it is registered.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from mlops.data.spec import ModelSpec
from mlops.shared.errors import DatasetRejected

SAMPLE_ROWS = 10_000
MAX_CATEGORIES = 50
# A numeric target with at most this many distinct integer values is a class label, not a quantity.
MAX_CLASSES_FROM_NUMBERS = 20
PII_NAME = re.compile(r"(e-?mail|phone|mobile|first.?name|last.?name|full.?name|surname|address|ssn|passport|birth|dob)", re.I)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d(][\d ()./-]{6,19}$")
# A measurement such as 0.0380759064 has enough digits for a phone number: one decimal point says otherwise.
DECIMAL = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")


def sample_rows(text_lines: Iterable[str], limit: int = SAMPLE_ROWS) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(_without_bom(text_lines), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(name.strip() for name in header):
            raise DatasetRejected("the sample is empty: a CSV needs a header row and data rows")
        rows = []
        for fields in reader:
            if fields:
                rows.append(fields)
            if len(rows) >= limit:
                break
    except csv.Error as error:
        raise DatasetRejected(f"the sample is not well-formed CSV near line {reader.line_num}: {error}") from error
    if not rows:
        raise DatasetRejected("the sample has a header but no rows")
    return header, rows


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    for number, line in enumerate(lines):
        yield line.lstrip("\ufeff") if number == 0 else line


def draft(header: list[str], rows: list[list[str]], target: str) -> dict[str, Any]:
    """The draft spec (a document ModelSpec accepts) and what was seen, for a person to review."""
    if target not in header:
        raise DatasetRejected(f"the target column {target!r} is not in the sample's header {header[:20]}")
    columns = {name: [row[i] if i < len(row) else "" for row in rows] for i, name in enumerate(header)}
    target_values = [v for v in columns[target] if v.strip()]
    if not target_values:
        raise DatasetRejected(f"the target column {target!r} has no values in the sample")
    task, classes = _task(target_values)
    features, notes = [], []
    for name, values in columns.items():
        if name == target or not name.strip():
            continue
        feature, note = _feature(name, values)
        features.append(feature)
        if note:
            notes.append(note)
    spec: dict[str, Any] = {
        "description": f"drafted from {len(rows)} sample rows; review before registering",
        "target": {"name": target, "task": task, **({"classes": classes} if classes else {})},
        "features": features,
        "training": {"algorithm": "logistic_regression" if task != "regression" else "ridge"},
    }
    ModelSpec.model_validate(spec)  # a draft is always a spec that registers as it stands
    return {"spec": spec, "rows_sampled": len(rows), "notes": notes}


def _task(values: list[str]) -> tuple[str, list[str] | None]:
    numbers = _numbers(values)
    distinct = sorted(set(values))
    as_label = numbers is None or (len(distinct) <= MAX_CLASSES_FROM_NUMBERS and all(float(v).is_integer() for v in distinct))
    if not as_label:
        return "regression", None
    if numbers is not None:
        distinct = sorted(distinct, key=float)
    return ("binary" if len(distinct) == 2 else "multiclass"), distinct


def _numbers(values: list[str]) -> list[float] | None:
    parsed = []
    for value in values:
        try:
            number = float(value)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        parsed.append(number)
    return parsed


def _feature(name: str, values: list[str]) -> tuple[dict[str, Any], str]:
    present = [v for v in values if v.strip()]
    feature: dict[str, Any] = {"name": name}
    if len(present) < len(values):
        feature["nullable"] = True
    numbers = _numbers(present) if present else None
    note = ""
    if numbers:
        feature.update(type="numeric", minimum=min(numbers), maximum=max(numbers))
    else:
        counts = Counter(present)
        feature["type"] = "categorical"
        if len(counts) <= MAX_CATEGORIES:
            feature["categories"] = sorted(counts)
        else:
            outside = len(present) - sum(count for _, count in counts.most_common(MAX_CATEGORIES))
            note = f"{name}: {len(counts)} distinct values, too many to list ({outside} sample values outside the top {MAX_CATEGORIES})"
    pii = _personal(name, present)
    if pii:
        feature["pii"] = True
        note = "; ".join(filter(None, [note, f"{name}: likely personal data ({pii}); captured only as the spec's pii_capture says"]))
    return feature, note


def _personal(name: str, values: list[str]) -> str:
    if PII_NAME.search(name):
        return "by its name"
    sample = values[:200]
    if sample and sum(bool(EMAIL.match(v)) for v in sample) > len(sample) / 2:
        return "its values are e-mail addresses"
    if sample and sum(_phone_like(v) for v in sample) > len(sample) / 2:
        return "its values are phone numbers"
    return ""


def _phone_like(value: str) -> bool:
    return bool(PHONE.match(value)) and not DECIMAL.match(value) and sum(c.isdigit() for c in value) >= 7


def text_lines(text: str) -> Iterator[str]:
    return iter(io.StringIO(text))
