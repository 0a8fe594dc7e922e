"""Metrics of serving, in CloudWatch's embedded metric format: one log line per request.

Requests, records, latency, fallbacks and captures per model and variant (dimensions model,
variant, service), and PredictionErrors against the challenger when it failed and the champion
answered instead (the challenger's errors alarm watches it). Written by hand rather than through
Powertools Metrics: the data-plane function imports neither Powertools nor pydantic, and the lines
are a fixed template filled per request. CloudWatch turns each line into metrics.
"""

from __future__ import annotations

import json
import os
import time
from functools import cache

from mlops.serving.predictor import CHALLENGER, Prediction
from mlops.shared.variables import PREDICT_SERVICE

REQUEST_METRICS = (
    ("PredictionRequests", "Count"),
    ("PredictedRecords", "Count"),
    ("PredictionLatency", "Milliseconds"),
    ("ChallengerFallbacks", "Count"),
    ("PredictionsCaptured", "Count"),
)
DIMENSIONS = ["model", "variant", "service"]


@cache
def _directives() -> tuple[str, str]:
    """The `_aws` metric declarations of the two line kinds, serialized once per process."""
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MlopsPlatform")
    declare = [{"Namespace": namespace, "Dimensions": [DIMENSIONS], "Metrics": [{"Name": n, "Unit": u} for n, u in REQUEST_METRICS]}]
    errors = [{"Namespace": namespace, "Dimensions": [DIMENSIONS], "Metrics": [{"Name": "PredictionErrors", "Unit": "Count"}]}]
    return json.dumps(declare, separators=(",", ":")), json.dumps(errors, separators=(",", ":"))


def prediction_lines(model: str, answer: Prediction, captured: bool) -> list[str]:
    """The EMF lines of one answered request (a second one when the challenger failed)."""
    requests, failures = _directives()
    stamp = int(time.time() * 1000)
    where = f'"model":{json.dumps(model)},"service":"{PREDICT_SERVICE}"'
    lines = [
        f'{{"_aws":{{"Timestamp":{stamp},"CloudWatchMetrics":{requests}}},{where},"variant":"{answer.variant}",'
        f'"PredictionRequests":1,"PredictedRecords":{len(answer.results)},"PredictionLatency":{answer.seconds * 1000:.3f},'
        f'"ChallengerFallbacks":{int(answer.fell_back)},"PredictionsCaptured":{int(captured)}}}'
    ]
    if answer.fell_back:
        lines.append(
            f'{{"_aws":{{"Timestamp":{stamp},"CloudWatchMetrics":{failures}}},{where},"variant":"{CHALLENGER}","PredictionErrors":1}}'
        )
    return lines
