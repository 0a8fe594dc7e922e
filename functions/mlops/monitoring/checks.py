"""Scheduled model checks: which models are due, and one model's drift and performance check.

One model's drift and performance check (the ModelCheck function; mlops.monitoring.schedule says
which models are due). A check compares the traffic captured
since the last conclusive drift check with the champion's training baseline (mlops.monitoring.drift), and the
labelled traffic of the spec's window with the metrics each serving version had at training time
(mlops.monitoring.performance). It writes the report (JSON and HTML) under reports/<model>/ in the artifacts
bucket, points the model's state at it (GET /models/{model}/drift), publishes per-feature metrics,
keeps the model's alarms and dashboard, and announces `DriftDetected` / `PerformanceDecayed`,
which the retraining rule listens for.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops.data.spec import ModelSpec
from mlops.monitoring import data_quality, drift, drift_report, estimation, performance
from mlops.monitoring.schedule import CHECK_SERVICE, DRIFT_DETECTED, ESTIMATED_PERFORMANCE_DECAYED, PERFORMANCE_DECAYED
from mlops.monitoring.telemetry import dimension_value
from mlops.registry.versions import CHALLENGER, CHAMPION, STATE_KEY, Registry, registry
from mlops.serving import capture_reader
from mlops.shared.aws import client, table
from mlops.shared.items import from_item, to_item
from mlops.shared.settings import get_settings
from mlops.shared.variables import PREDICT_SERVICE

REPORTS_PREFIX = "reports/"


ALARM_PREFIX = "mlops-"
RECENT_CHECKS = 20


class ModelChecker:
    def __init__(self, s3: Any, registry: Registry, models_table: Any, buckets: dict[str, str]) -> None:
        self._s3, self._registry, self._models, self._buckets = s3, registry, models_table, buckets
        self._conflict = models_table.meta.client.exceptions.ConditionalCheckFailedException

    def run(self, model: str, spec: ModelSpec, now: datetime | None = None) -> dict[str, Any] | None:
        """Checks one model; None when there is nothing to check or another check got there first."""
        now = now or datetime.now(UTC)
        state = from_item(self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {}))
        if CHAMPION not in state:
            return None
        version = self._registry.version(model, int(state[CHAMPION]))
        monitoring = state.get("monitoring", {})
        since = datetime.fromisoformat(monitoring.get("drift_since") or version["created_at"])
        baseline = self._json(self._buckets["data"], version["baseline_key"]) if version.get("baseline_key") else {"features": {}}
        reference = self._reference(version)
        estimate = self._estimate(reference.get("estimator"), version["version"])
        check = drift.DriftCheck(spec, baseline, version.get("prediction_baseline"), reference.get("multivariate"), estimate)
        alpha = spec.monitoring.alpha_per_check()
        drift_result = check.add_all(self._served_pairs(model, version["version"], since, now)).report(spec.monitoring.drift, alpha)
        quality = data_quality.report(check.columns, check.rows, baseline["features"], spec.monitoring.data_quality)
        serving = {state[alias] for alias in (CHAMPION, CHALLENGER) if alias in state}
        window_start = now - timedelta(hours=spec.monitoring.performance.window_hours)
        read = {version["version"]: version}  # the champion's record is already here
        trained = {v: (read.get(v) or self._registry.version(model, v)).get("metrics", {}) for v in serving}
        outcomes = capture_reader.outcomes(self._s3, self._buckets["capture"], model, window_start, serving)
        performance_result = performance.check(spec, outcomes, trained)
        estimated = (
            estimation.verdict(spec, reference["estimator"], estimate.estimate(), estimate.n, alpha)
            if estimate is not None
            else {"verdict": estimation.NOT_ENOUGH_DATA, "method": None, "reason": "this version was registered without a reference"}
        )
        check_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        report = {
            "model": model,
            "version": version["version"],
            "check_id": check_id,
            "checked_at": now.isoformat(timespec="seconds"),
            "window_start": since.isoformat(timespec="seconds"),
            "drift": drift_result,
            "data_quality": quality,
            "performance": performance_result,
            "estimated_performance": estimated,
        }
        folder = f"{REPORTS_PREFIX}{model}/{check_id}"
        report["report_key"], report["html_key"] = f"{folder}/report.json", f"{folder}/report.html"
        conclusive = drift_result["verdict"] != drift.NOT_ENOUGH_DATA  # "no baseline" never improves: move on
        latest = {key: report[key] for key in ("check_id", "checked_at", "version", "report_key", "html_key", "window_start")} | {
            "drift": drift_result["verdict"],
            "drifted_features": drift_result["drifted_features"],
            "performance": performance_result["verdict"],
            "multivariate": drift_result["multivariate_drift"],
            "data_quality": quality["verdict"],
            "estimated_performance": estimated["verdict"],
            "estimate": _estimate_summary(estimated, performance_result, version["version"]),
        }
        recent = [latest, *monitoring.get("recent", [])][:RECENT_CHECKS]
        self._write(report, recent)
        summary = {
            "last_check_at": now.isoformat(timespec="seconds"),
            # The next drift window starts here only when this one reached a verdict; too little
            # traffic keeps accumulating until it is enough.
            # Kept to the millisecond, as records carry `at`: a window cut to the second counted up to
            # a second of traffic in two windows.
            "drift_since": _instant(now if conclusive else since),
            "latest": latest,
            # The verdicts of the last checks, newest first, for a look at the trend without reading S3.
            "recent": recent,
        }
        if not self._save(model, monitoring.get("last_check_at"), summary):
            return None
        return report

    def _served_pairs(self, model: str, champion: int, since: datetime, until: datetime) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(inputs, answer) per record captured in [since, until); prediction drift is the champion's,
        so another version's answers count as missing. A record still in Firehose's buffer when
        the check runs is left out of every window: drift is judged on a sample, and losing a
        buffer's worth at random biases nothing, where counting it twice would."""
        start, end = _instant(since), _instant(until)
        for record in capture_reader.records(self._s3, self._buckets["capture"], model, since):
            if record.get("kind") != "prediction" or record.get("model") != model or not start <= record.get("at", "") < end:
                continue
            mine = record.get("version") == champion
            for inputs, output in zip(record.get("inputs", []), record.get("outputs", []), strict=False):
                yield inputs, output if mine else {}

    def _reference(self, version: dict[str, Any]) -> dict[str, Any]:
        key = version.get("monitoring_reference_key")
        return self._json(self._buckets["artifacts"], key) if key else {}

    def _estimate(self, estimator: dict[str, Any] | None, seed: int) -> Any:
        """The label-free estimate's accumulator for this version's method, or None without a reference."""
        if not estimator:
            return None
        if estimator["method"] == "cbpe":
            return estimation.ConfidenceEstimate(estimator, seed)
        models = {loss: self._bytes(self._buckets["artifacts"], key) for loss, key in estimator["models"].items()}
        return estimation.LossEstimate(estimator, models)

    def _bytes(self, bucket: str, key: str) -> bytes:
        return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def _json(self, bucket: str, key: str) -> dict[str, Any]:
        return json.loads(self._bytes(bucket, key))

    def _write(self, report: dict[str, Any], recent: list[dict[str, Any]]) -> None:
        """The report as JSON and as a page (which also shows the trend over the last checks)."""
        bucket = self._buckets["artifacts"]
        body = json.dumps(report, default=str).encode()
        self._s3.put_object(Bucket=bucket, Key=report["report_key"], Body=body, ContentType="application/json")
        page = drift_report.render(report, recent).encode()
        self._s3.put_object(Bucket=bucket, Key=report["html_key"], Body=page, ContentType="text/html; charset=utf-8")

    def _save(self, model: str, previous: str | None, summary: dict[str, Any]) -> bool:
        """One conditional write: a duplicate event for the same check finds the state moved on."""
        condition = "monitoring.last_check_at = :previous" if previous else "attribute_not_exists(monitoring.last_check_at)"
        values: dict[str, Any] = {":summary": to_item(summary)}
        if previous:
            values[":previous"] = previous
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET monitoring = :summary",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except self._conflict:
            return False
        return True

    def latest(self, model: str) -> dict[str, Any] | None:
        """The latest report, whole (GET /models/{model}/drift), with the last checks' verdicts."""
        monitoring = self._monitoring(model)
        if "latest" not in monitoring:
            return None
        return self._json(self._buckets["artifacts"], monitoring["latest"]["report_key"]) | {"recent_checks": monitoring.get("recent", [])}

    def last_check(self, model: str) -> dict[str, Any] | None:
        """The latest check's summary (id, time, verdicts, where its report is), without reading the report."""
        return self._monitoring(model).get("latest")

    def _monitoring(self, model: str) -> dict[str, Any]:
        state = self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})
        return from_item(state.get("monitoring", {}))


def _estimate_summary(estimated: dict[str, Any], realized: dict[str, Any], champion: int) -> dict[str, Any] | None:
    """The estimated metric, its interval and (once labels came back) the realized value, for the trend."""
    metric = estimated.get("metric")
    entry = estimated.get("metrics", {}).get(metric)
    if not entry:
        return None
    live = realized["versions"].get(str(champion), {}).get("live", {})
    return {"metric": metric, "estimate": entry["estimate"], "interval": entry["interval"], "realized": live.get(metric)}


def _instant(moment: datetime) -> str:
    """A moment in the form capture records carry in `at`, so the two compare as strings."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def findings(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The events a report calls for: (detail type, detail)."""
    base = {"model": report["model"], "version": report["version"], "check_id": report["check_id"], "report_key": report["report_key"]}
    found = []
    if report["drift"]["verdict"] == drift.DRIFT:
        found.append((DRIFT_DETECTED, {**base, "drifted_features": report["drift"]["drifted_features"]}))
    if report["performance"]["verdict"] == performance.DECAYED:
        found.append((PERFORMANCE_DECAYED, {**base, "metric": report["performance"]["metric"]}))
    estimated = report["estimated_performance"]
    if estimated["verdict"] == estimation.DECAYED:
        found.append((ESTIMATED_PERFORMANCE_DECAYED, {**base, "metric": estimated["metric"], "decay": estimated["decay"]}))
    return found


# Per model: alarm name suffix, the 0/1 metric each check publishes, what a breach means.
ALARMS = (
    ("drift", "DataDrift", "the traffic or the predictions drifted"),
    ("performance", "PerformanceDecay", "the labelled predictions lost quality"),
    ("estimated-performance", "EstimatedPerformanceDecay", "the label-free estimate of quality fell"),
    ("data-quality", "DataQualityIssue", "served rows miss values, leave training's range or bring unseen categories"),
)


def alarm_names(model: str) -> list[str]:
    return [f"{ALARM_PREFIX}{model}-{suffix}" for suffix, _, _ in ALARMS]


def put_alarms(cloudwatch: Any, namespace: str, model: str, topic_arn: str) -> None:
    """The model's check alarms (created on its first check, kept on later ones)."""
    dimensions = [{"Name": "model", "Value": model}, {"Name": "service", "Value": CHECK_SERVICE}]
    for name, (_, metric, meaning) in zip(alarm_names(model), ALARMS, strict=True):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace=namespace,
            MetricName=metric,
            Dimensions=dimensions,
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmDescription=f"{model}: {meaning} (see GET /models/{model}/drift)",
            AlarmActions=[topic_arn] if topic_arn else [],
            OKActions=[topic_arn] if topic_arn else [],
        )


def dashboard_body(namespace: str, region: str, model: str, version: int, features: list[str], metric: str) -> str:
    """The model's dashboard: traffic by variant, latency, drift by feature, quality, pipeline runs."""

    def graph(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries", "metrics": metrics},
        }

    variants = [
        [namespace, "PredictionRequests", "model", model, "variant", v, "service", PREDICT_SERVICE] for v in ("champion", "challenger")
    ]
    served = ["model", model, "variant", "champion", "service", PREDICT_SERVICE]
    latency = [[namespace, "PredictionLatency", *served, {"stat": s}] for s in ("p50", "p99")]
    checks = {"model": model, "version": str(version), "service": CHECK_SERVICE}
    drift_by_feature = [[namespace, "DriftScore", *_flat({**checks, "feature": dimension_value(f)})] for f in features]
    quality = [
        [namespace, "ModelQuality", *_flat({**checks, "variant": variant, "metric": metric})] for variant in ("champion", "challenger")
    ]
    runs = [
        [namespace, "PipelineRunsFailed", "service", "RecordFailure"],
        [namespace, "DataDrift", *_flat({"model": model, "service": CHECK_SERVICE})],
        [namespace, "DataQualityIssue", *_flat({"model": model, "service": CHECK_SERVICE})],
    ]
    estimated = [[namespace, "EstimatedModelQuality", *_flat({**checks, "metric": metric})]]
    together = [[namespace, "MultivariateDriftScore", *_flat(checks)]]
    invalid = [[namespace, "InvalidShare", *_flat({**checks, "feature": dimension_value(f)})] for f in features]
    widgets = [
        graph("Requests by variant", variants, 0, 0),
        graph("Latency (ms)", latency, 12, 0, stat="p99"),
        graph("Drift score by feature (PSI or JS distance)", drift_by_feature, 0, 6, stat="Maximum"),
        graph("Model quality (primary metric, live)", quality, 12, 6, stat="Average"),
        graph("Drift and data quality verdicts, failed runs", runs, 0, 12, stat="Maximum"),
        graph("Estimated quality before labels (primary metric)", estimated, 12, 12, stat="Average"),
        graph("Multivariate drift (rise of PCA reconstruction error)", together, 0, 18, stat="Maximum"),
        graph("Missing, out-of-range or unseen share by feature", invalid, 12, 18, stat="Maximum"),
    ]
    return json.dumps({"widgets": widgets})


def _flat(dimensions: dict[str, str]) -> list[str]:
    return [part for pair in dimensions.items() for part in pair]


def model_checker() -> ModelChecker:
    settings = get_settings()
    buckets = {"data": settings.data_bucket, "capture": settings.capture_bucket, "artifacts": settings.artifacts_bucket}
    return ModelChecker(client("s3"), registry(), table(settings.models_table), buckets)
