"""Streaming validation of a dataset against its model spec, with a per-column quality report.

One pass, bounded memory: rows are checked and normalized one at a time; what is kept per row is
an 8-byte digest for duplicate counting. Problems are of two kinds: hard failures (the file cannot
be used: missing columns, not UTF-8, malformed CSV, too few valid rows, too many invalid ones) and
warnings (a few invalid rows dropped, extra columns ignored, duplicates, a rare class). A row whose
target is missing is neither: it is counted as unlabeled and left out of the version, so it never
reaches training, evaluation or the drift baseline (which describes what the model learned from).
Missing values are recognised by one rule everywhere (mlops.data.missing).
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mlops.data import missing
from mlops.data.spec import Feature, ModelSpec
from mlops.shared.errors import DatasetRejected

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_TRACKED_CATEGORIES = 1000
MAX_EXAMPLES = 20
STATS_BATCH = 8192


@dataclass
class ColumnProfile:
    name: str
    kind: str  # numeric or categorical
    count: int = 0
    nulls: int = 0
    invalid: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    _m2: float = 0.0
    frequencies: Counter = field(default_factory=Counter)
    overflow: bool = False
    # A chunk of a file validated in parallel keeps every category it saw, in the order it saw them;
    # the merge applies the cap in the whole file's order (mlops.data.chunks).
    cap: int | None = MAX_TRACKED_CATEGORIES

    def add_numbers(self, values: list[float]) -> None:
        """Merges a batch into the running count, mean and M2 (Chan et al.): exact, constant memory."""
        import numpy as np  # the validate function carries numpy (serving layer)

        if not values:
            return
        batch = np.fromiter(values, dtype=np.float64, count=len(values))
        mean = float(batch.mean())
        self._add_moments(len(batch), mean, float(((batch - mean) ** 2).sum()), float(batch.min()), float(batch.max()))

    def _add_moments(self, n: int, mean: float, m2: float, minimum: float, maximum: float) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self._m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.minimum, self.maximum = min(self.minimum, minimum), max(self.maximum, maximum)

    def add_category(self, value: str, times: int = 1) -> None:
        if value in self.frequencies or self.cap is None or len(self.frequencies) < self.cap:
            self.frequencies[value] += times
        else:
            self.overflow = True

    def partial(self) -> dict[str, Any]:
        """What a chunk's profile hands to the merge (JSON)."""
        moments = {"mean": self.mean, "m2": self._m2, "minimum": self.minimum, "maximum": self.maximum} if self.count else {}
        return {"count": self.count, "nulls": self.nulls, "invalid": self.invalid, "frequencies": list(self.frequencies.items()), **moments}

    def merge(self, partial: dict[str, Any]) -> None:
        """Adds the next chunk's profile, as if its rows had followed this one's."""
        self.nulls += partial["nulls"]
        self.invalid += partial["invalid"]
        if self.kind == "numeric":
            if partial["count"]:
                self._add_moments(partial["count"], partial["mean"], partial["m2"], partial["minimum"], partial["maximum"])
            return
        self.count += partial["count"]
        for value, times in partial["frequencies"]:
            self.add_category(value, times)

    def summary(self) -> dict[str, Any]:
        base = {"type": self.kind, "count": self.count, "nulls": self.nulls, "invalid": self.invalid}
        if self.kind == "numeric":
            std = math.sqrt(self._m2 / (self.count - 1)) if self.count > 1 else 0.0
            stats = {"min": self.minimum, "max": self.maximum, "mean": self.mean, "std": std} if self.count else {}
            return {**base, **stats}
        return {
            **base,
            "distinct": len(self.frequencies),
            "top": dict(self.frequencies.most_common(10)),
            "truncated": self.overflow,
        }


# The smallest class that gets a row in each of the 70/15/15 splits (mlops.data.preparation;
# tests/unit/test_preparation.py checks the two agree).
MIN_ROWS_PER_CLASS = 7


class DatasetValidator:
    """Feed it the header, then each row; it returns normalized rows and ends with a report."""

    def __init__(self, spec: ModelSpec, chunk: bool = False) -> None:
        """`chunk`: validates one chunk of a file (mlops.data.chunks), to be merged with the others."""
        self.spec = spec
        self.columns = spec.columns
        self._checks = [(f.name, f) for f in spec.features] + [(spec.target.name, None)]
        cap = None if chunk else MAX_TRACKED_CATEGORIES
        self.profiles = {name: ColumnProfile(name, self._kind(feature), cap=cap) for name, feature in self._checks}
        self.labels: Counter = Counter()
        self.rows = self.invalid_rows = self.unlabeled_rows = 0
        self._missing = missing.markers(spec.data.missing_values)
        self.examples: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self._digests = array("Q")
        self._positions: list[int] = []
        self._pending: dict[str, list[float]] = {name: [] for name, p in self.profiles.items() if p.kind == "numeric"}

    def _kind(self, feature: Feature | None) -> str:
        if feature is None:
            return "categorical" if self.spec.is_classification else "numeric"
        return feature.type

    def read_header(self, header: list[str]) -> None:
        names = [name.strip() for name in header]
        if len(set(names)) != len(names):
            raise DatasetRejected(f"the header repeats a column name: {sorted({n for n in names if names.count(n) > 1})}")
        missing = [c for c in self.columns if c not in names]
        if self.spec.target.name in missing:
            raise DatasetRejected(f"the target column {self.spec.target.name!r} is missing (columns found: {names})")
        if missing:
            raise DatasetRejected(f"required columns are missing: {missing}")
        extra = [n for n in names if n not in self.columns]
        if extra:
            self.warnings.append(f"columns not in the spec are ignored: {extra}")
        self._width = len(names)
        self._positions = [names.index(c) for c in self.columns]
        self._plan = [self._column_plan(name, feature, names.index(name)) for name, feature in self._checks]

    def _column_plan(self, name: str, feature: Feature | None, position: int) -> tuple:
        """What check_row needs per column, looked up once rather than per value."""
        numeric = self.profiles[name].kind == "numeric"
        allowed = feature.categories if feature is not None else self.spec.target.classes
        return (
            name,
            position,
            numeric,
            -math.inf if feature is None or feature.minimum is None else feature.minimum,
            math.inf if feature is None or feature.maximum is None else feature.maximum,
            feature is None or feature.nullable,  # a row without its label is counted apart (check_row)
            frozenset(allowed) if allowed is not None else None,
            allowed,
        )

    def check_row(self, line: int, fields: list[str]) -> list[str] | None:
        """The row in canonical form, or None when it is invalid or has no label (then counted and
        dropped: a row whose target is missing is not invalid, it is not labelled yet)."""
        self.rows += 1
        if len(fields) != self._width:
            self._reject(line, None, f"{len(fields)} fields where the header has {self._width}")
            return None
        normalized, numbers = [], []
        markers = self._missing
        for name, position, numeric, minimum, maximum, nullable, allowed, allowed_list in self._plan:
            raw = fields[position].strip()
            problem = None
            if not raw or raw.casefold() in markers:
                value = ""
                if not nullable:
                    problem = "is empty but not nullable"
            elif numeric:
                try:
                    number = float(raw)
                except ValueError:
                    number, problem = math.nan, f"{raw[:40]!r} is not a number"
                if problem is None:
                    if not math.isfinite(number):
                        problem = f"{raw!r} is not a finite number"
                    elif number < minimum:
                        problem = f"{number} is below the minimum {minimum}"
                    elif number > maximum:
                        problem = f"{number} is above the maximum {maximum}"
                value = repr(number)
                numbers.append((name, number))
            else:
                value = raw
                if len(raw) > 1 and raw.startswith(FORMULA_PREFIXES):
                    problem = f"{raw[:40]!r} looks like a spreadsheet formula (CSV injection)"
                elif allowed is not None and raw not in allowed:
                    problem = f"{raw[:40]!r} is not one of {allowed_list[:10]}"
            if problem:
                self.profiles[name].invalid += 1
                self._reject(line, name, problem)
                return None
            normalized.append(value)
        if normalized[-1] == "":
            self.unlabeled_rows += 1
            return None
        self._count(normalized, numbers)
        return normalized

    def reject_line(self, line: int, problem: str) -> None:
        """A line that could not even be read as a row (malformed JSON, say)."""
        self.rows += 1
        self._reject(line, None, problem)

    def _reject(self, line: int, column: str | None, problem: str) -> None:
        self.invalid_rows += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"line": line, "column": column, "problem": problem})

    def _count(self, normalized: list[str], numbers: list[tuple[str, float]]) -> None:
        for name, number in numbers:
            pending = self._pending[name]
            pending.append(number)
            if len(pending) >= STATS_BATCH:
                self.profiles[name].add_numbers(pending)
                pending.clear()
        for (name, _), value in zip(self._checks, normalized, strict=True):
            if value == "":
                self.profiles[name].nulls += 1
            elif self.profiles[name].kind != "numeric":
                self.profiles[name].count += 1
                self.profiles[name].add_category(value)
        if self.spec.is_classification:
            self.labels[normalized[-1]] += 1
        digest = hashlib.blake2b("\x1f".join(normalized).encode(), digest_size=8).digest()
        self._digests.append(int.from_bytes(digest, "little"))

    def _flush(self) -> None:
        for name, pending in self._pending.items():
            self.profiles[name].add_numbers(pending)
            pending.clear()

    def partial(self) -> dict[str, Any]:
        """This chunk's counts for the merge (JSON); its row digests go separately (`digests`)."""
        self._flush()
        return {
            "rows": self.rows,
            "invalid_rows": self.invalid_rows,
            "unlabeled_rows": self.unlabeled_rows,
            "examples": self.examples,
            "labels": list(self.labels.items()),
            "profiles": {name: profile.partial() for name, profile in self.profiles.items()},
        }

    @property
    def digests(self) -> bytes:
        return self._digests.tobytes()

    def merge(self, partial: dict[str, Any], digests: bytes) -> None:
        """Adds the next chunk's partial, as if its rows had followed: the report comes out as from
        one pass whose numeric batches ended at the same chunk boundaries."""
        self._flush()
        self.rows += partial["rows"]
        self.invalid_rows += partial["invalid_rows"]
        self.unlabeled_rows += partial.get("unlabeled_rows", 0)
        self.examples += partial["examples"][: MAX_EXAMPLES - len(self.examples)]
        for label, count in partial["labels"]:
            self.labels[label] += count
        for name, profile in partial["profiles"].items():
            self.profiles[name].merge(profile)
        self._digests.frombytes(digests)

    def report(self) -> dict[str, Any]:
        """The quality report; 'failures' is empty when the data can be used."""
        self._flush()
        valid = self.rows - self.invalid_rows - self.unlabeled_rows  # valid and labelled: what trains
        duplicates = _duplicates(self._digests)
        rules = self.spec.data
        failures: list[str] = []
        warnings = list(self.warnings)
        if self.rows == 0:
            failures.append("the file has a header but no data rows")
        elif self.invalid_rows / self.rows > rules.max_invalid_row_fraction:
            failures.append(
                f"{self.invalid_rows} of {self.rows} rows are invalid, over the {rules.max_invalid_row_fraction:.0%} allowed"
                f" (first: {_describe(self.examples[0])})"
            )
        elif self.invalid_rows:
            warnings.append(f"{self.invalid_rows} invalid rows were dropped (see examples)")
        if self.unlabeled_rows:
            warnings.append(f"{self.unlabeled_rows} rows have no {self.spec.target.name!r}: left out of training and evaluation")
        if self.rows and valid < rules.min_rows:
            unlabeled = f" ({self.unlabeled_rows} more have no label)" if self.unlabeled_rows else ""
            failures.append(f"only {valid} valid labelled rows{unlabeled}; the spec needs at least {rules.min_rows}")
        if valid and duplicates / valid > rules.max_duplicate_row_fraction:
            failures.append(f"{duplicates} of {valid} rows are duplicates, over the {rules.max_duplicate_row_fraction:.0%} allowed")
        elif duplicates:
            warnings.append(f"{duplicates} duplicate rows")
        failures += self._label_failures(valid, warnings)
        return {
            "rows": {
                "total": self.rows,
                "valid": valid,
                "invalid": self.invalid_rows,
                "unlabeled": self.unlabeled_rows,
                "duplicates": duplicates,
            },
            "columns": {name: profile.summary() for name, profile in self.profiles.items()},
            "labels": dict(self.labels),
            "failures": failures,
            "warnings": warnings,
            "invalid_examples": self.examples,
        }

    def _label_failures(self, valid: int, warnings: list[str]) -> list[str]:
        if not self.spec.is_classification or not valid:
            return []
        present = {label for label, count in self.labels.items() if count}
        if len(present) < 2:
            return [f"the target has a single class {sorted(present)}: nothing to learn"]
        if self.spec.target.task == "binary" and len(present) > 2:
            return [f"a binary target has {len(present)} classes: {sorted(present)[:10]}"]
        missing = [label for label in self.spec.target.classes or [] if label not in present]
        if missing:
            return [
                f"declared class(es) {missing[:10]} have no rows in this file: a model trained on it could never predict them; "
                "upload data with every class, or drop them from target.classes"
            ]
        scarce = {label: count for label, count in sorted(self.labels.items()) if 0 < count < MIN_ROWS_PER_CLASS}
        if scarce:  # the model still answers every class; a split without one measures without it
            warnings.append(
                f"class(es) {scarce} have fewer than {MIN_ROWS_PER_CLASS} rows: some of the train, validation and test "
                "splits hold none of them, and metrics on those splits leave them out"
            )
        for label, count in sorted(self.labels.items()):
            if count / valid < self.spec.data.min_class_fraction:
                warnings.append(f"class {label!r} is rare: {count} of {valid} rows")
        return []


def _describe(example: dict[str, Any]) -> str:
    column = f", column {example['column']}" if example["column"] else ""
    return f"line {example['line']}{column}: {example['problem']}"


def _duplicates(digests: array) -> int:
    """Rows whose content equals an earlier row's (8-byte digests; collisions are negligible)."""
    import numpy as np  # sorting 8 bytes a row in place; a Python list would take 36

    ordered = np.sort(np.frombuffer(digests, dtype=np.uint64))
    return int(np.count_nonzero(ordered[1:] == ordered[:-1]))
