"""Capture of what was served, and of ground truth sent back later, through Kinesis Data Firehose.

Firehose buffers and writes to the capture bucket itself, so a request waits for one quick
PutRecord and never on S3. Capture must never fail a prediction: errors are counted, not raised.
Each record is one JSON line: kind "prediction" (inputs, outputs, variant, version, shadow) or
"feedback" (prediction_id and the actual value). Drift and performance checks read these.
"""

from __future__ import annotations

import json
import random
from typing import Any

from mlops.runs import now_iso
from mlops.serving import Prediction


def prediction_record(model: str, records: list[dict[str, Any]], answer: Prediction) -> dict[str, Any]:
    return {
        "kind": "prediction",
        "prediction_id": answer.prediction_id,
        "model": model,
        "version": answer.version,
        "variant": answer.variant,
        "at": now_iso(),
        "inputs": records,
        "outputs": answer.results,
        **({"shadow": answer.shadow} if answer.shadow else {}),
    }


def feedback_record(model: str, prediction_id: str, actual: Any) -> dict[str, Any]:
    return {"kind": "feedback", "prediction_id": prediction_id, "model": model, "actual": actual, "at": now_iso()}


class Capture:
    def __init__(self, firehose: Any, stream: str) -> None:
        self._firehose, self._stream = firehose, stream

    def send(self, record: dict[str, Any], sample_rate: float = 1.0) -> bool:
        """True when the record went to Firehose; False when sampled out or when Firehose failed."""
        if not self._stream or random.random() >= sample_rate:
            return False
        try:
            self._firehose.put_record(DeliveryStreamName=self._stream, Record={"Data": (json.dumps(record) + "\n").encode()})
        except Exception:  # noqa: BLE001 - capture is best effort; the caller counts the miss
            return False
        return True
