"""A draft spec from a sample of the data: what a person would otherwise type feature by feature.

The sample is spread over the whole file, never its head: files come sorted (by date, by their
target), and the first rows of a sorted file describe its first month or its smallest items. From
the sampled rows and the name of the target column the draft says, per column: its type (numeric
when every present value parses as a finite number), what it showed (a *profile*: range or
categories and missing rate, a description that never refuses a value), the task and classes from
the target, and which columns look like personal data. It writes no rules the data does not imply:
every feature may be missing (the model imputes it), and ranges and categories stay in the profile.

Columns that cannot help a model are left out of the features and said so: identifiers (unique per
row, or named as ids with values that hardly repeat), constant columns, text with too many distinct
values to encode one-hot, and dates (a model fitted on
calendar dates does not carry to the dates after training; derive month or weekday columns if the
season matters). The draft is a valid spec as it stands; it is meant to be reviewed first.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mlops.data import missing
from mlops.data.spec import ModelSpec
from mlops.shared.errors import DatasetRejected

SAMPLE_ROWS = 10_000
SAMPLE_SEED = 20261206
MAX_CATEGORIES = 50
# Fewer present values than this say too little to call a column an identifier.
MIN_IDENTIFIER_ROWS = 20
# A column named as an id whose values repeat this rarely identifies rows (`Sample Number`: 0.44).
ID_NAME_DISTINCT_SHARE = 0.3
# Text with more distinct values than this share of its rows (and more than MAX_CATEGORIES) names things.
TEXT_ID_DISTINCT_SHARE = 0.5
DATE_SHARE = 0.9
# The trainer encodes categories one-hot: past this many distinct values a column costs more memory
# and fit time than it can return (a plane's tail number in a year of flights has 4,043).
MAX_ENCODED_CATEGORIES = 200
DATES = (
    "dates (a model fitted on calendar dates does not carry to the dates after training;"
    " derive month or weekday columns if the season matters)"
)
# A numeric target with at most this many distinct integer values is a class label, not a quantity.
MAX_CLASSES_FROM_NUMBERS = 20
PII_NAME = re.compile(r"(e-?mail|phone|mobile|first.?name|last.?name|full.?name|surname|address|ssn|passport|birth|dob)", re.I)
ID_NAME = re.compile(r"(^|[^a-z])(id|ids|identifier|index|idx|key|uuid|guid|number|no|num)([^a-z]|$)|^unnamed", re.I)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d(][\d ()./-]{6,19}$")
# A measurement such as 0.0380759064 has enough digits for a phone number: one decimal point says otherwise.
DECIMAL = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")
# ISO 8601 dates and date-times (2013-01-01, 2013-01-01T10:00:00Z), 2012/01/01, 1/31/2013, 31.01.2013.
DATE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"
    r"([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?)?$"
)


@dataclass
class Sample:
    header: list[str]
    rows: list[list[str]]
    seen: int  # rows read to draw them
    drawn: str  # how they were drawn, for the draft's notes


def sample_rows(text_lines: Iterable[str], limit: int = SAMPLE_ROWS, drawn: str = "") -> Sample:
    """A uniform sample of at most `limit` rows over every row the lines hold (a seeded reservoir,
    kept in file order); all of them when there are fewer."""
    reader = csv.reader(_without_bom(text_lines), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(name.strip() for name in header):
            raise DatasetRejected("the sample is empty: a CSV needs a header row and data rows")
        kept, seen = _reservoir((fields for fields in reader if fields), limit)
    except csv.Error as error:
        raise DatasetRejected(f"the sample is not well-formed CSV near line {reader.line_num}: {error}") from error
    if not kept:
        raise DatasetRejected("the sample has a header but no rows")
    how = drawn or (f"every row of the {seen} given" if seen <= limit else f"a uniform random sample of the {seen} rows given")
    return Sample(header, kept, seen, how)


def sample_windows(windows: list[str], limit: int = SAMPLE_ROWS, drawn: str = "") -> Sample:
    """A sample from reads spread across a file: the first window holds the header; each later one
    starts and ends mid-line, so its first and last lines are dropped. A window that cannot be
    parsed (it began inside a quoted field) or a row of the wrong width is skipped, not guessed at."""
    first = sample_rows(iter(io.StringIO(windows[0])), limit=math.inf)  # type: ignore[arg-type]
    rows = list(first.rows)
    width = len(first.header)
    for window in windows[1:]:
        lines = window.splitlines(keepends=True)[1:-1]
        try:
            rows += [fields for fields in csv.reader(lines, strict=True) if len(fields) == width]
        except csv.Error:
            continue
    kept, seen = _reservoir(iter(rows), limit)
    return Sample(first.header, kept, seen, drawn)


def _reservoir(rows: Iterator[list[str]], limit: float) -> tuple[list[list[str]], int]:
    """Algorithm R with a fixed seed (the same file drafts the same spec), in file order."""
    generator = random.Random(SAMPLE_SEED)
    kept: list[tuple[int, list[str]]] = []
    seen = 0
    for seen, fields in enumerate(rows, start=1):
        if len(kept) < limit:
            kept.append((seen, fields))
        elif (slot := generator.randrange(seen)) < limit:
            kept[slot] = (seen, fields)
    return [fields for _, fields in sorted(kept, key=lambda item: item[0])], seen


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    for number, line in enumerate(lines):
        yield line.lstrip("\ufeff") if number == 0 else line


def draft(sample: Sample, target: str) -> dict[str, Any]:
    """The draft spec (a document ModelSpec accepts), the columns left out and why, the missing
    markers seen, and notes for a person to review."""
    header, rows = sample.header, sample.rows
    if target not in header:
        raise DatasetRejected(f"the target column {target!r} is not in the sample's header {header[:20]}")
    columns = {name: [row[i] if i < len(row) else "" for row in rows] for i, name in enumerate(header)}
    markers: Counter = Counter(v.strip() for values in columns.values() for v in values if missing.is_missing(v))
    target_values = [v for v in columns[target] if not missing.is_missing(v)]
    if not target_values:
        raise DatasetRejected(f"the target column {target!r} has no values in the sample")
    task, classes = _task(target_values)
    notes = [f"drafted from {len(rows)} rows: {sample.drawn}"]
    if len(target_values) < len(rows):
        notes.append(f"{target}: {len(rows) - len(target_values)} of {len(rows)} sampled rows have no label; such rows are not trained on")
    features, excluded = [], []
    for name, values in columns.items():
        if name == target or not name.strip():
            continue
        feature, reason, note = _feature(name, values)
        if reason:
            excluded.append({"name": name, "reason": reason})
            notes.append(f"{name}: left out of the features: {reason}")
        else:
            features.append(feature)
        if note:
            notes.append(note)
    if not features:
        raise DatasetRejected("no column but the target can be a feature: " + "; ".join(f"{e['name']}: {e['reason']}" for e in excluded))
    seen_markers = {marker: count for marker, count in sorted(markers.items()) if marker}
    if seen_markers:
        notes.append("missing values were written as " + ", ".join(f"{m!r} ({c})" for m, c in seen_markers.items()))
    spec: dict[str, Any] = {
        "description": f"drafted from {len(rows)} rows ({sample.drawn}); review before registering",
        "target": {"name": target, "task": task, **({"classes": classes} if classes else {})},
        "features": features,
        "training": {"algorithm": "logistic_regression" if task != "regression" else "ridge"},
    }
    ModelSpec.model_validate(spec)  # a draft is always a spec that registers as it stands
    return {
        "spec": spec,
        "rows_sampled": len(rows),
        "rows_seen": sample.seen,
        "drawn": sample.drawn,
        "excluded": excluded,
        "missing_markers": seen_markers,
        "notes": notes,
    }


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


def _feature(name: str, values: list[str]) -> tuple[dict[str, Any], str, str]:
    """(the feature, why it is left out or "", a note)."""
    present = [v.strip() for v in values if not missing.is_missing(v)]
    counts = Counter(present)
    profile: dict[str, Any] = {"rows": len(values), "missing_rate": round(1 - len(present) / len(values), 6)}
    numbers = _numbers(present) if present else None
    feature: dict[str, Any] = {"name": name, "type": "numeric" if numbers else "categorical", "nullable": True}
    pii = _personal(name, present)
    note = f"{name}: likely personal data ({pii}); captured only as the spec's pii_capture says" if pii else ""
    if pii:
        feature["pii"] = True
    reason = _left_out(name, present, counts, numbers, len(values))
    if numbers:
        profile.update(minimum=min(numbers), maximum=max(numbers))
    else:
        top = counts.most_common(MAX_CATEGORIES)
        profile.update(categories=sorted(value for value, _ in top), distinct=len(counts))
        if len(counts) > MAX_CATEGORIES and not reason:
            outside = len(present) - sum(count for _, count in top)
            many = f"{name}: {len(counts)} distinct values; the profile lists the {MAX_CATEGORIES} most frequent"
            note = "; ".join(filter(None, [note, f"{many} ({outside} sampled values are others)"]))
    feature["profile"] = profile
    return feature, reason, note


def _left_out(name: str, present: list[str], counts: Counter, numbers: list[float] | None, rows: int) -> str:
    """Why a column cannot help a model, or "" when it can."""
    if not present:
        return f"every sampled value is missing ({rows} rows)"
    if len(counts) == 1 and len(present) == rows:
        return f"a single value, {present[0][:40]!r}, in every sampled row"
    if not numbers and sum(bool(DATE.match(v)) for v in present) >= DATE_SHARE * len(present):
        return DATES
    if len(present) < MIN_IDENTIFIER_ROWS:
        return ""
    share = len(counts) / len(present)
    integers = numbers is not None and all(n.is_integer() for n in numbers)
    unique = len(counts) == len(present)
    if numbers is None and unique:
        return f"an identifier: each of the {len(present)} sampled values is different"
    # Integers unique per row identify rows when they run densely (an exported index, a row number,
    # sequential ids); sparse ones may be measurements that happen not to repeat in the sample.
    if integers and unique and numbers and max(numbers) - min(numbers) < 2 * len(present):
        return f"an identifier: {len(present)} different whole numbers from {min(numbers):g} to {max(numbers):g}, like a row number"
    if (numbers is None or integers) and ID_NAME.search(name) and share >= ID_NAME_DISTINCT_SHARE:
        return f"an identifier by its name: {len(counts)} distinct values in {len(present)} rows"
    if numbers is None and len(counts) > MAX_CATEGORIES and share > TEXT_ID_DISTINCT_SHARE:
        return f"names or codes rather than categories: {len(counts)} distinct values in {len(present)} rows"
    if numbers is None and len(counts) > MAX_ENCODED_CATEGORIES:
        return f"{len(counts)} distinct values, too many to encode one-hot (at most {MAX_ENCODED_CATEGORIES}); group them first"
    return ""


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
    return bool(PHONE.match(value)) and not DECIMAL.match(value) and not DATE.match(value) and sum(c.isdigit() for c in value) >= 7


def text_lines(text: str) -> Iterator[str]:
    return iter(io.StringIO(text))
