"""EMF metrics of serving: requests, records, latency, fallbacks, captures per model and variant.

They join the invocation's one EMF document (flushed by the handler's log_metrics), with model and
variant as dimensions; one Lambda invocation serves one request, so the dimensions never mix.
"""

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from mlops.serving.predictor import Prediction
from mlops.shared.observability import metrics


def record_prediction_metrics(model: str, answer: Prediction, captured: bool) -> None:
    metrics.add_dimension(name="model", value=model)
    metrics.add_dimension(name="variant", value=answer.variant)
    metrics.add_metric(name="PredictionRequests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="PredictedRecords", unit=MetricUnit.Count, value=len(answer.results))
    metrics.add_metric(name="PredictionLatency", unit=MetricUnit.Milliseconds, value=answer.seconds * 1000)
    metrics.add_metric(name="ChallengerFallbacks", unit=MetricUnit.Count, value=int(answer.fell_back))
    metrics.add_metric(name="PredictionsCaptured", unit=MetricUnit.Count, value=int(captured))
    if answer.fell_back:  # counted against the challenger, whose alarm the rollout watches
        with single_metric(name="PredictionErrors", unit=MetricUnit.Count, value=1) as failed:
            failed.add_dimension(name="model", value=model)
            failed.add_dimension(name="variant", value="challenger")
