"""Reading back what capture wrote: predictions and feedback as JSON lines under captured/.

Firehose names objects captured/model=<model>/YYYY/MM/DD/HH/... by the record's model and the UTC
hour it delivered them, so a model's time window is a list of hour prefixes under its own
partition, never a scan of the bucket nor another model's traffic. Objects are read line by
line (a few KiB at a time), so memory does not grow with the size of a capture file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops.shared import fastjson
from mlops.shared.variables import CAPTURE_PARTITION, CAPTURE_PREFIX

# Firehose buffers for up to this long, so a record served at t may land in the prefix of t + 1 h.
DELIVERY_SLACK = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    """One served prediction joined with the ground truth sent back for it."""

    version: int
    variant: str
    predicted: dict[str, Any]
    actual: Any
    at: str
    inputs: dict[str, Any]


def hour_prefixes(model: str, since: datetime, until: datetime) -> list[str]:
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour <= until:
        prefixes.append(f"{CAPTURE_PREFIX}{CAPTURE_PARTITION}={model}/{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return prefixes


def records(s3: Any, bucket: str, model: str, since: datetime, until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every captured record (prediction or feedback) of the model delivered from `since` on, oldest hour first."""
    until = until or datetime.now(UTC) + DELIVERY_SLACK
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in hour_prefixes(model, since, until):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield from parse_lines(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].iter_lines())


def parse_lines(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Captured JSON lines as records, parsed by orjson (13.4 s per million lines with Python's
    json and the drift statistics, in bench/drift.py; see bench/RESULTS.md for orjson's figure)."""
    for line in lines:
        if line.strip():
            yield fastjson.loads(line)


def outcomes(s3: Any, bucket: str, model: str, since: datetime, versions: set[int] | None) -> Iterator[Outcome]:
    """Predictions of `versions` (None: any) served since `since` that have feedback, each joined with its truth.

    Two passes: feedback first (one small entry per labelled prediction), then the predictions,
    streamed. Feedback is far rarer than predictions, so memory follows the labels, not the traffic.
    The last feedback for a (prediction, record) wins: a correction replaces an earlier answer.
    """
    truth: dict[tuple[str, int], Any] = {}
    for record in records(s3, bucket, model, since):
        if record.get("kind") == "feedback" and record.get("model") == model:
            truth[(record["prediction_id"], int(record.get("index", 0)))] = record["actual"]
    if not truth:
        return
    cutoff = since.astimezone(UTC).isoformat(timespec="milliseconds")
    for record in records(s3, bucket, model, since):
        if record.get("kind") != "prediction" or record.get("model") != model:
            continue
        if versions is not None and record.get("version") not in versions:
            continue
        if record.get("at", "") < cutoff:
            continue
        first = record.get("first_index", 0)
        inputs = record.get("inputs", [])
        for index, predicted in enumerate(record.get("outputs", []), start=first):
            actual = truth.get((record["prediction_id"], index))
            if actual is not None:
                features = inputs[index - first] if index - first < len(inputs) else {}
                yield Outcome(record["version"], record["variant"], predicted, actual, record["at"], features)
