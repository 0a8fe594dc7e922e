"""EventBridge ModelCheckDue -> one model's drift and performance check (see mlops.monitoring.checks)."""

import os

from mlops.data.spec_store import pinned_spec, spec_store
from mlops.monitoring import checks, schedule
from mlops.monitoring.checks import model_checker
from mlops.monitoring.telemetry import record_check_metrics
from mlops.registry.versions import CHAMPION, registry
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import logger, pipeline_step
from mlops.shared.settings import get_settings, require

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(
    env.ENV_ARTIFACTS_BUCKET,
    env.ENV_AUDIT_TABLE,
    env.ENV_CAPTURE_BUCKET,
    env.ENV_DATA_BUCKET,
    env.ENV_MODELS_TABLE,
    env.ENV_NOTIFICATION_TOPIC_ARN,
)


@pipeline_step
def lambda_handler(event, context):
    model = event["detail"]["model"]
    settings = get_settings()
    spec = _checked_spec(model)
    report = model_checker().run(model, spec)
    if report is None:
        return {"model": model, "checked": False}
    record_check_metrics(report)
    cloudwatch, namespace = client("cloudwatch"), os.environ["POWERTOOLS_METRICS_NAMESPACE"]
    checks.put_alarms(cloudwatch, namespace, model, settings.notification_topic_arn)
    features = [f.name for f in spec.features]
    metric = report["performance"]["metric"]
    body = checks.dashboard_body(namespace, os.environ["AWS_REGION"], model, report["version"], features, metric)
    cloudwatch.put_dashboard(DashboardName=f"{checks.ALARM_PREFIX}{model}", DashboardBody=body)
    for detail_type, detail in checks.findings(report):
        schedule.announce(client("events"), detail_type, [detail])
    summary = {"drift": report["drift"]["verdict"], "performance": report["performance"]["verdict"], "report": report["report_key"]}
    logger.info("model checked", extra={"model": model, **summary})
    return {"model": model, "checked": True, **summary, "drifted_features": report["drift"]["drifted_features"]}


def _checked_spec(model: str):
    """The champion's own spec (its features and PII rules), with the current spec's monitoring
    settings (how often, which drift rules), which an operator may change without retraining."""
    store, versions = spec_store(), registry()
    _, current = store.current(model)
    champion = versions.aliases(model).get(CHAMPION)
    if champion is None:
        return current
    return pinned_spec(store, model, versions.version(model, champion)).model_copy(update={"monitoring": current.monitoring})
