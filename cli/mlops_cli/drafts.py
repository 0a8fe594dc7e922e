"""Drafting a spec from a file: the model's name from the file's, the sample the API drafts from, the
draft shown for review."""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path
from typing import Any

from mlops_cli.errors import UserError
from mlops_cli.render import cell
from mlops_cli.tables import rows_of

MAX_SAMPLE_BYTES = 1024 * 1024  # what POST /models/{model}/draft takes
SAMPLE_ROWS = 10_000  # as the API's drafting samples at most
SAMPLE_SEED = 20261206  # the same file always sends the same sample
SUFFIXES = (".spec.json", ".csv.gz", ".jsonl.gz", ".ndjson.gz", ".csv", ".jsonl", ".ndjson", ".parquet", ".parq", ".json")


def model_name_from(path: Path) -> str:
    stem = next((path.name[: -len(s)] for s in SUFFIXES if path.name.lower().endswith(s)), path.stem)
    name = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-")[:63]
    if not name:
        raise UserError(f"cannot name a model after {path.name}: pass --model")
    return name


def sample_of(data: Path) -> tuple[str, str]:
    """A uniform random sample of the whole file's rows (a seeded reservoir, kept in file order) as
    CSV text within what the draft endpoint takes, and how it was drawn. Never the file's head:
    files come sorted, by date or by their target, and the first rows describe only their start."""
    header, rows = rows_of(data)
    generator, seen = random.Random(SAMPLE_SEED), 0
    kept: list[tuple[int, list[str]]] = []
    for seen, fields in enumerate(rows, start=1):
        if len(kept) < SAMPLE_ROWS:
            kept.append((seen, fields))
        elif (slot := generator.randrange(seen)) < SAMPLE_ROWS:
            kept[slot] = (seen, fields)
    if not kept:
        raise UserError(f"{data} has a header but no rows")
    ordered = [fields for _, fields in sorted(kept, key=lambda item: item[0])]
    text = _as_csv(header, ordered)
    while len(text.encode()) > MAX_SAMPLE_BYTES and len(ordered) > 1:  # wide rows: every other one, still uniform
        ordered = ordered[::2]
        text = _as_csv(header, ordered)
    drawn = (
        f"every row of the file's {seen}"
        if len(ordered) == seen
        else f"a uniform random sample of {len(ordered)} of the file's {seen} rows"
    )
    return text, drawn


def _as_csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def feature_details(feature: dict[str, Any]) -> str:
    parts = []
    if feature.get("categories"):
        parts.append(f"rule: one of {len(feature['categories'])}")
    if feature.get("minimum") is not None or feature.get("maximum") is not None:
        parts.append(f"rule: {cell(feature.get('minimum'))} to {cell(feature.get('maximum'))}")
    profile = feature.get("profile") or {}
    if profile.get("minimum") is not None:
        parts.append(f"seen {cell(profile['minimum'])} to {cell(profile['maximum'])}")
    if profile.get("distinct"):
        parts.append(f"{profile['distinct']} values seen")
    if profile.get("missing_rate"):
        parts.append(f"{profile['missing_rate']:.1%} missing")
    parts += [flag for flag in ("pii",) if feature.get(flag)]
    return ", ".join(parts) or "-"
