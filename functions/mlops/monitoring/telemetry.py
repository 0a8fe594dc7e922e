"""EMF metrics of model checks: one document per metric and dimension set (model, version, feature;
model, version, variant), since one check reports on many features."""

from aws_lambda_powertools.metrics import MetricUnit, single_metric

MAX_DIMENSION_VALUE = 1024


def dimension_value(name: str) -> str:
    """A column name as a CloudWatch dimension value, which must be ASCII (1 to 1,024 characters):
    other characters are written as their escapes (`\\u00e9` for é), so each name stays distinct."""
    return name.encode("ascii", "backslashreplace").decode("ascii")[:MAX_DIMENSION_VALUE]


def record_check_metrics(report: dict) -> None:
    model, version = report["model"], str(report["version"])
    drift = report["drift"]

    def emit(name: str, value: float, unit: MetricUnit = MetricUnit.NoUnit, **dimensions: str) -> None:
        with single_metric(name=name, unit=unit, value=value) as metric:
            for key, dimension in {"model": model, **dimensions}.items():
                metric.add_dimension(name=key, value=dimension)

    for feature, result in drift["features"].items():
        if result["verdict"] != "not enough data":
            emit("DriftScore", result["effect_size"], version=version, feature=dimension_value(feature))
            emit("FeatureDrifted", float(result["verdict"] == "drift"), version=version, feature=dimension_value(feature))
    if drift["verdict"] in ("drift", "no drift"):
        emit("DataDrift", float(drift["verdict"] == "drift"))
        emit("DriftedFeatures", float(len(drift["drifted_features"])), MetricUnit.Count, version=version)
    quality = report["performance"]
    for number, entry in quality["versions"].items():
        if "live" in entry and quality["metric"] in entry["live"]:
            emit("ModelQuality", entry["live"][quality["metric"]], version=number, variant=entry["variant"], metric=quality["metric"])
    if quality["verdict"] != "not enough data":
        emit("PerformanceDecay", float(quality["verdict"] == "decayed"))
    together = drift.get("multivariate")
    if together and together["verdict"] != "not enough data":
        emit("MultivariateDriftScore", together["effect_size"], version=version)
    estimated = report["estimated_performance"]
    if estimated["verdict"] != "not enough data":
        metric = estimated["metric"]
        emit("EstimatedModelQuality", estimated["metrics"][metric]["estimate"], version=version, metric=metric)
        emit("EstimatedPerformanceDecay", float(estimated["verdict"] == "decayed"))
    data_quality = report["data_quality"]
    if data_quality["verdict"] != "not enough data":
        emit("DataQualityIssue", float(data_quality["verdict"] == "issues"))
        for feature, entry in data_quality["features"].items():
            rate = entry.get("out_of_range_rate", entry.get("unseen_rate")) or 0.0
            emit("InvalidShare", max(rate, entry["missing_rate"]), version=version, feature=dimension_value(feature))
