"""EMF metrics of serving and of model checks.

Serving: requests, records, latency, fallbacks, captures per model and variant. They join the
invocation's one EMF document (flushed by the handler's log_metrics), with model and variant as
dimensions; one Lambda invocation serves one request, so the dimensions never mix.

Checks: one document per metric and dimension set (model, version, feature; model, version,
variant), since one check reports on many features.
"""

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from mlops.observability import metrics
from mlops.serving import Prediction


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


def record_check_metrics(report: dict) -> None:
    model, version = report["model"], str(report["version"])
    drift = report["drift"]

    def emit(name: str, value: float, unit: MetricUnit = MetricUnit.NoUnit, **dimensions: str) -> None:
        with single_metric(name=name, unit=unit, value=value) as metric:
            for key, dimension in {"model": model, **dimensions}.items():
                metric.add_dimension(name=key, value=dimension)

    for feature, result in drift["features"].items():
        if result["verdict"] != "not enough data":
            emit("DriftScore", result["effect_size"], version=version, feature=feature)
            emit("FeatureDrifted", float(result["verdict"] == "drift"), version=version, feature=feature)
    if drift["verdict"] in ("drift", "no drift"):
        emit("DataDrift", float(drift["verdict"] == "drift"))
        emit("DriftedFeatures", float(len(drift["drifted_features"])), MetricUnit.Count, version=version)
    quality = report["performance"]
    for number, entry in quality["versions"].items():
        if "live" in entry and quality["metric"] in entry["live"]:
            emit("ModelQuality", entry["live"][quality["metric"]], version=number, variant=entry["variant"], metric=quality["metric"])
    if quality["verdict"] != "not enough data":
        emit("PerformanceDecay", float(quality["verdict"] == "decayed"))
