"""Capture of what was served, and of ground truth sent back later: JSON lines on stdout.

A request never waits for capture. The API Lambda writes each record as one JSON log line; Lambda
ships its logs asynchronously, a CloudWatch Logs subscription filter (`capture_schema = 1`) hands
those lines to Kinesis Data Firehose, which decompresses them, extracts the messages and writes
them to s3://<capture bucket>/captured/YYYY/MM/DD/HH/, one record per line (ServingConstruct).
An inline Firehose PutRecord cost every request a network round trip (bench/http_serving.py).

Records: kind "prediction" (inputs, outputs, variant, version, shadow) or "feedback" (prediction_id,
index and the actual value). A batch too large for one line is split into several (first_index says
where each starts) so no line comes near CloudWatch Logs' 256 KB event limit.
"""

from __future__ import annotations

import hashlib
import random
import sys
from typing import Any

from mlops.serving.predictor import Prediction
from mlops.shared import fastjson
from mlops.shared.items import now_iso
from mlops.shared.variables import CAPTURE_SCHEMA

# Well below CloudWatch Logs' 256 KB per event, which would truncate a longer line.
MAX_LINE_BYTES = 128 * 1024


def prediction_record(model: str, records: list[dict[str, Any]], answer: Prediction) -> dict[str, Any]:
    """The capture of one request (pii features redacted); log_lines splits it if it is large."""
    if answer.pii:
        records = [redact(model, record, answer.pii, answer.pii_capture) for record in records]
    record = {"kind": "prediction", "prediction_id": answer.prediction_id, "model": model, "version": answer.version}
    record |= {"variant": answer.variant, "at": now_iso(), "first_index": 0, "inputs": records, "outputs": answer.results}
    if answer.shadow:
        record["shadow"] = answer.shadow
    return record


def log_lines(record: dict[str, Any]) -> list[str]:
    """The record as JSON log lines: serialized once; only a line over MAX_LINE_BYTES is split, in halves."""
    line = fastjson.dumps({"capture_schema": CAPTURE_SCHEMA, **record})
    if len(line) <= MAX_LINE_BYTES or len(record.get("inputs", [])) <= 1:
        return [line]
    half = len(record["inputs"]) // 2
    return log_lines(_part(record, 0, half)) + log_lines(_part(record, half, len(record["inputs"])))


def _part(record: dict[str, Any], start: int, end: int) -> dict[str, Any]:
    part = {**record, "first_index": record["first_index"] + start, "inputs": record["inputs"][start:end]}
    part["outputs"] = record["outputs"][start:end]
    shadow = record.get("shadow")
    if shadow and "results" in shadow:
        part["shadow"] = {**shadow, "results": shadow["results"][start:end]}
    return part


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

    def send_prediction(self, model: str, records: list[dict[str, Any]], answer: Prediction) -> bool:
        """True when the request was captured, False when sampled out (then nothing is built)."""
        if random.random() >= answer.capture_sample_rate:
            return False
        self.send([prediction_record(model, records, answer)])
        return True

    def send(self, records: list[dict[str, Any]]) -> None:
        self.write([line for record in records for line in log_lines(record)])

    def write(self, lines: list[str]) -> None:
        """Log lines in one write (capture and metrics of a request together)."""
        stream = self._stream or sys.stdout
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()
