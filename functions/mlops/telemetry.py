"""Serving metrics (EMF) per model and variant: requests, records, latency, fallbacks, captures."""

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from mlops.serving import Prediction


def record_prediction_metrics(model: str, answer: Prediction, captured: bool) -> None:
    for name, unit, value in (
        ("PredictionRequests", MetricUnit.Count, 1),
        ("PredictedRecords", MetricUnit.Count, len(answer.results)),
        ("PredictionLatency", MetricUnit.Milliseconds, answer.seconds * 1000),
        ("ChallengerFallbacks", MetricUnit.Count, int(answer.fell_back)),
        ("PredictionsCaptured", MetricUnit.Count, int(captured)),
    ):
        with single_metric(name=name, unit=unit, value=value) as metric:
            metric.add_dimension(name="model", value=model)
            metric.add_dimension(name="variant", value=answer.variant)
