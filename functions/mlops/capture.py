"""Capture of what was served, and of ground truth sent back later: JSON lines on stdout.

A request never waits for capture. The API Lambda writes each record as one JSON log line; Lambda
ships its logs asynchronously, a CloudWatch Logs subscription filter (`capture_schema = 1`) hands
those lines to Kinesis Data Firehose, which decompresses them, extracts the messages and writes
them to s3://<capture bucket>/captured/YYYY/MM/DD/HH/, one record per line (ServingConstruct).
An inline Firehose PutRecord cost every request a network round trip (bench/http_serving.py).

Records: kind "prediction" (inputs, outputs, variant, version, shadow) or "feedback" (prediction_id,
index and the actual value). A large batch is split into several lines (first_index says where
each starts) so no line comes near CloudWatch Logs' 256 KB event limit.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from typing import Any

from mlops.runs import now_iso
from mlops.serving import Prediction
from mlops.settings import CAPTURE_SCHEMA

# Well below CloudWatch Logs' 256 KB per event, which would truncate a longer line.
MAX_LINE_BYTES = 128 * 1024


def prediction_records(model: str, records: list[dict[str, Any]], answer: Prediction) -> list[dict[str, Any]]:
    """The capture of one request: one record, or several for a large batch."""
    head = {"kind": "prediction", "prediction_id": answer.prediction_id, "model": model, "version": answer.version}
    head |= {"variant": answer.variant, "at": now_iso()}
    if answer.pii:
        records = [redact(model, record, answer.pii, answer.pii_capture) for record in records]
    chunks, start, size = [], 0, 0
    for index, (inputs, outputs) in enumerate(zip(records, answer.results, strict=True)):
        size += len(json.dumps(inputs)) + len(json.dumps(outputs))
        if size > MAX_LINE_BYTES and index > start:
            chunks.append((start, index))
            start, size = index, len(json.dumps(inputs)) + len(json.dumps(outputs))
    chunks.append((start, len(records)))
    captured = []
    for first, end in chunks:
        record = {**head, "first_index": first, "inputs": records[first:end], "outputs": answer.results[first:end]}
        if answer.shadow:
            shadow = answer.shadow
            record["shadow"] = {**shadow, "results": shadow["results"][first:end]} if "results" in shadow else shadow
        captured.append(record)
    return captured


def redact(model: str, record: dict[str, Any], pii: tuple[str, ...], mode: str) -> dict[str, Any]:
    """The record as it may be stored: pii features dropped, or replaced by a pseudonym."""
    if mode == "drop":
        return {k: v for k, v in record.items() if k not in pii}
    return {k: pseudonym(model, v) if k in pii and v is not None else v for k, v in record.items()}


def pseudonym(model: str, value: Any) -> str:
    return "sha256:" + hashlib.sha256(f"{model}\x1f{value}".encode()).hexdigest()


def feedback_record(model: str, prediction_id: str, actual: Any, index: int = 0) -> dict[str, Any]:
    return {"kind": "feedback", "prediction_id": prediction_id, "index": index, "model": model, "actual": actual, "at": now_iso()}


class Capture:
    def __init__(self, stream: Any = None) -> None:
        self._stream = stream  # None: the stdout of the moment (Lambda's log pipe)

    def send(self, records: list[dict[str, Any]], sample_rate: float = 1.0) -> bool:
        """True when the records were captured, False when sampled out."""
        if random.random() >= sample_rate:
            return False
        lines = "".join(json.dumps({"capture_schema": CAPTURE_SCHEMA, **record}, separators=(",", ":")) + "\n" for record in records)
        stream = self._stream or sys.stdout
        stream.write(lines)
        stream.flush()
        return True
