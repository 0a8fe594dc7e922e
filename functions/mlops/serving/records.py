"""A version's feature schema, compiled once from its spec: it checks prediction records and builds
the model's inputs from them directly (no pydantic model per request, no strings in between).

Built from the spec document as stored (the JSON of ModelSpec.model_dump), so the data-plane
function needs neither pydantic nor the spec module. Every field at fault is reported, each with
its location (body, records, index, feature) and a message a person reads.

Only rules refuse (a stated minimum, maximum or closed set of categories). A value beyond what the
data showed (a feature's profile: its range, its categories) is answered, the model handling it as
it was trained to (an unseen category encodes as unknown), and a warning names it per record;
monitoring counts such values against the training split itself. Missing values follow the one
rule of mlops.data.missing: null, or a string that is one of the markers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlops.data import missing
from mlops.shared.errors import InvalidInput

NUMERIC_INPUT, CATEGORICAL_INPUT = "numeric", "categorical"  # as mlops.serving.model_inputs names them


class InvalidRecords(InvalidInput):
    """Records that do not fit the spec; `errors` lists each field at fault (422)."""


class RecordSchema:
    def __init__(self, document: dict[str, Any]) -> None:
        features = document["features"]
        self.names = [f["name"] for f in features]
        self.known = frozenset(self.names)
        self.classification = document["target"]["task"] != "regression"
        self.classes = document["target"].get("classes")
        self.pii = tuple(f["name"] for f in features if f.get("pii"))
        serving = document.get("serving", {})
        self.capture_sample_rate = float(serving.get("capture_sample_rate", 1.0))
        self.pii_capture = serving.get("pii_capture", "drop")
        self.markers = missing.of_spec(document)
        # Per feature, checked in spec order: (name, numeric?, nullable, minimum, maximum, categories).
        self._checks = [
            (
                f["name"],
                f["type"] == "numeric",
                bool(f.get("nullable")),
                f.get("minimum"),
                f.get("maximum"),
                frozenset(f["categories"]) if f.get("categories") is not None else None,
                (f.get("categories") or [])[:10],
            )
            for f in features
        ]
        # Per feature, what the data showed (name -> (minimum, maximum, categories)): beyond it, a warning.
        self._profiles = {f["name"]: _seen(f.get("profile") or {}) for f in features if f.get("profile")}
        self.numeric = [f["name"] for f in features if f["type"] == "numeric"]
        self.categorical = [f["name"] for f in features if f["type"] != "numeric"]

    def check(self, records: list[dict[str, Any]]) -> tuple[list[list[float]], list[list[str]], list[dict[str, Any]]]:
        """Numeric values (NaN for null) and categorical ones per record, in spec order, and the errors."""
        errors: list[dict[str, Any]] = []
        numbers: list[list[float]] = []
        texts: list[list[str]] = []
        markers = self.markers
        for index, record in enumerate(records):
            row_numbers: list[float] = []
            row_texts: list[str] = []
            for name, numeric, nullable, minimum, maximum, categories, shown in self._checks:
                value = record.get(name)
                if value is None or (value.__class__ is str and value.strip().casefold() in markers):
                    if not nullable:
                        errors.append({"loc": ["body", "records", index, name], "msg": "required (not nullable)"})
                    (row_numbers.append(math.nan) if numeric else row_texts.append(""))
                elif numeric:
                    # The common case first: a float that is finite (inf - inf and nan - nan are nan).
                    number = value if value.__class__ is float and value - value == 0.0 else _finite(value)
                    if number is None:
                        errors.append({"loc": ["body", "records", index, name], "msg": f"{_shown(value)} is not a finite number"})
                        row_numbers.append(math.nan)
                        continue
                    if minimum is not None and number < minimum:
                        errors.append({"loc": ["body", "records", index, name], "msg": f"{value} is below the minimum {minimum}"})
                    elif maximum is not None and number > maximum:
                        errors.append({"loc": ["body", "records", index, name], "msg": f"{value} is above the maximum {maximum}"})
                    row_numbers.append(number)
                else:
                    if not isinstance(value, str):
                        errors.append({"loc": ["body", "records", index, name], "msg": f"{_shown(value)} is not a string"})
                        value = str(value)
                    elif categories is not None and value not in categories:
                        errors.append({"loc": ["body", "records", index, name], "msg": f"{value[:40]!r} is not one of {shown}"})
                    row_texts.append(value)
            if len(record) > len(self.known) or not self.known.issuperset(record):
                unknown = sorted(set(record) - self.known)
                if unknown:
                    errors.append({"loc": ["body", "records", index], "msg": f"unknown fields {unknown[:10]}"})
            numbers.append(row_numbers)
            texts.append(row_texts)
        return numbers, texts, errors

    def warnings(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Values of valid records beyond what the data showed (the features' profiles): one entry
        per record and feature, {record, feature, message}. Empty when no feature has a profile."""
        found: list[dict[str, Any]] = []
        if not self._profiles:  # a spec written without profiles: nothing to compare, no pass over the records
            return found
        for index, record in enumerate(records):
            for name, (low, high, seen) in self._profiles.items():
                value = record.get(name)
                if value is None or (value.__class__ is str and value.strip().casefold() in self.markers):
                    continue
                if seen is not None:
                    if str(value) not in seen:
                        found.append(
                            {"record": index, "feature": name, "message": f"{str(value)[:40]!r} is a category the data did not show"}
                        )
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    if low is not None and value < low:
                        found.append(
                            {"record": index, "feature": name, "message": f"{value} is below the smallest value the data showed, {low}"}
                        )
                    elif high is not None and value > high:
                        found.append(
                            {"record": index, "feature": name, "message": f"{value} is above the largest value the data showed, {high}"}
                        )
        return found

    def inputs(self, records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        """The model inputs for these records; InvalidRecords names every field at fault."""
        numbers, texts, errors = self.check(records)
        if errors:
            raise InvalidRecords(errors)
        inputs: dict[str, np.ndarray] = {}
        if self.numeric:
            inputs[NUMERIC_INPUT] = np.array(numbers, dtype=np.float32).reshape(len(records), len(self.numeric))
        if self.categorical:
            inputs[CATEGORICAL_INPUT] = np.array(texts, dtype=str).reshape(len(records), len(self.categorical))
        return inputs

    def rows(self, records: list[dict[str, Any]]) -> list[list[str]]:
        """The records as rows of strings in spec order (what a CSV file holds), or InvalidRecords."""
        numbers, texts, errors = self.check(records)
        if errors:
            raise InvalidRecords(errors)
        rows = []
        for row_numbers, row_texts in zip(numbers, texts, strict=True):
            numeric, categorical = iter(row_numbers), iter(row_texts)
            row = []
            for _, is_numeric, *_ in self._checks:
                if is_numeric:
                    value = next(numeric)
                    row.append("" if math.isnan(value) else repr(value))
                else:
                    row.append(next(categorical))
            rows.append(row)
        return rows


def _seen(profile: dict[str, Any]) -> tuple[float | None, float | None, frozenset[str] | None]:
    """A profile as (minimum, maximum, categories); categories only when the profile lists every
    value seen (a profile of many values lists the most frequent: an unlisted one may have been seen)."""
    categories: list[str] | None = profile.get("categories")
    if categories is None or profile.get("distinct", len(categories)) > len(categories):
        return profile.get("minimum"), profile.get("maximum"), None
    return profile.get("minimum"), profile.get("maximum"), frozenset(categories)


def _finite(value: Any) -> float | None:
    """The value as a finite float, or None (bools, strings, NaN, infinities and ints past float's range)."""
    if value.__class__ is bool or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: Any) -> str:
    """A value as an error message quotes it: never more than 40 characters of what was sent."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
