"""Live data quality: the served rows of a check against the champion's training split.

Serving already refuses what the spec forbids (a missing required value, a number outside the
spec's bounds, a category outside its list), so what reaches the capture is valid. Quality here is
what the model never learned from: per feature, the share of rows missing it beyond the training
split's own share, the share of numbers outside the training split's range, and the share of
categories the training split never had, the last two beyond what unshifted traffic would show
(a small training split has narrow extremes and misses rare categories). Each has a threshold in `monitoring.data_quality`; a
feature over one is an issue, and any issue makes the check's verdict "issues" (a metric and an
alarm per model, see mlops.monitoring.checks).
"""

from __future__ import annotations

from typing import Any

from mlops.data.spec import DataQualityRules
from mlops.monitoring.drift import CategoricalColumn, NumericColumn

NOT_ENOUGH_DATA, ISSUES, OK = "not enough data", "issues", "ok"


def report(
    columns: dict[str, NumericColumn | CategoricalColumn], rows: int, profiles: dict[str, Any], rules: DataQualityRules
) -> dict[str, Any]:
    features = {name: _feature(column, rows, profiles.get(name, {}), rules) for name, column in columns.items()}
    if rows < rules.min_samples:
        verdict = NOT_ENOUGH_DATA
        for entry in features.values():
            entry["issues"] = []
    else:
        verdict = ISSUES if any(entry["issues"] for entry in features.values()) else OK
    failing = sorted(name for name, entry in features.items() if entry["issues"])
    return {"rows": rows, "verdict": verdict, "features_with_issues": failing, "rules": rules.model_dump(), "features": features}


def _feature(column: NumericColumn | CategoricalColumn, rows: int, profile: dict[str, Any], rules: DataQualityRules) -> dict[str, Any]:
    trained_values = profile.get("count", 0) if isinstance(column, NumericColumn) else sum(column.baseline.values())
    trained_rows = trained_values + profile.get("nulls", 0)  # a categorical baseline's nulls are not among its frequencies
    entry: dict[str, Any] = {
        "missing_rate": _share(column.nulls, rows),
        "training_missing_rate": _share(profile.get("nulls", 0), trained_rows),
    }
    issues = []
    if entry["missing_rate"] - entry["training_missing_rate"] > rules.max_missing_rate:
        issues.append("missing")
    present = column.n
    if isinstance(column, NumericColumn):
        entry["training_range"] = list(column.range) if column.range else None
        entry["out_of_range_rate"] = _share(column.out_of_range, present) if column.range else None
        # A new value from the same distribution falls outside the extremes of n values with chance 2 / (n + 1).
        entry["expected_out_of_range_rate"] = 2 / (profile.get("count", 0) + 1)
        if (
            entry["out_of_range_rate"] is not None
            and entry["out_of_range_rate"] - entry["expected_out_of_range_rate"] > rules.max_out_of_range_rate
        ):
            issues.append("out_of_range")
    else:
        entry["unseen_rate"] = _share(column.unseen, present)
        # Good-Turing: the share of new values in fresh draws is about the share of values seen once.
        once = sum(1 for count in column.baseline.values() if count == 1)
        entry["expected_unseen_rate"] = _share(once, trained_values)
        if entry["unseen_rate"] - entry["expected_unseen_rate"] > rules.max_unseen_rate:
            issues.append("unseen")
    entry["issues"] = issues
    return entry


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0
