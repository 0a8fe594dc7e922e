"""EventBridge ModelCheckDue -> one model's drift and performance check (see mlops.model_checks)."""

import os

from mlops import model_checks
from mlops.aws import client
from mlops.observability import logger, pipeline_step
from mlops.settings import get_settings
from mlops.stores import model_checker, spec_store
from mlops.telemetry import record_check_metrics


@pipeline_step
def lambda_handler(event, context):
    model = event["detail"]["model"]
    settings = get_settings()
    _, spec = spec_store().current(model)
    report = model_checker().run(model, spec)
    if report is None:
        return {"model": model, "checked": False}
    record_check_metrics(report)
    cloudwatch, namespace = client("cloudwatch"), os.environ["POWERTOOLS_METRICS_NAMESPACE"]
    model_checks.put_alarms(cloudwatch, namespace, model, settings.notification_topic_arn)
    features = [f.name for f in spec.features]
    metric = report["performance"]["metric"]
    body = model_checks.dashboard_body(namespace, os.environ["AWS_REGION"], model, report["version"], features, metric)
    cloudwatch.put_dashboard(DashboardName=f"{model_checks.ALARM_PREFIX}{model}", DashboardBody=body)
    for detail_type, detail in model_checks.findings(report):
        model_checks.announce(client("events"), detail_type, [detail])
    summary = {"drift": report["drift"]["verdict"], "performance": report["performance"]["verdict"], "report": report["report_key"]}
    logger.info("model checked", extra={"model": model, **summary})
    return {"model": model, "checked": True, **summary, "drifted_features": report["drift"]["drifted_features"]}
