"""EventBridge DriftDetected / PerformanceDecayed -> a guarded retraining run (see mlops.monitoring.retraining)."""

from datetime import UTC, datetime, timedelta

from mlops.data.spec_store import spec_store
from mlops.data.versions import dataset_store
from mlops.monitoring import retraining
from mlops.registry.versions import champion_record
from mlops.serving import capture_reader
from mlops.shared import settings as env
from mlops.shared.aws import client, table
from mlops.shared.errors import NotFound
from mlops.shared.observability import logger, pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training import pipeline_runs
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(
    env.ENV_AUDIT_TABLE,
    env.ENV_CAPTURE_BUCKET,
    env.ENV_DATA_BUCKET,
    env.ENV_MODELS_TABLE,
    env.ENV_RUNS_TABLE,
    env.ENV_TRAINING_PIPELINE_ARN,
)


@pipeline_step
def lambda_handler(event, context):
    detail, kind = event["detail"], retraining.KINDS[event["detail-type"]]
    model, check_id = detail["model"], detail["check_id"]
    settings = get_settings()
    retrainer = retraining.Retrainer(table(settings.models_table), run_store(), table(settings.audit_table), client("stepfunctions"))
    _, spec = spec_store().current(model)
    now = datetime.now(UTC)
    why_not = retrainer.refusal(model, kind, spec, now)
    labelled = None
    if why_not is None:
        if spec.monitoring.retraining.data == "latest_plus_feedback":
            since = now - timedelta(hours=spec.monitoring.performance.window_hours)
            labelled = list(capture_reader.outcomes(client("s3"), settings.capture_bucket, model, since, None))
        latest = _latest_dataset(model)
        why_not = retraining.nothing_new(
            champion_record(table(settings.models_table), model), latest, None if labelled is None else len(labelled)
        )
    if why_not is None and not retrainer.claim(model, check_id, now):
        why_not = "another finding started a run at the same moment"
    if why_not is not None:
        retrainer.record(model, "retraining.skipped", {"trigger": kind, "check_id": check_id, "reason": why_not})
        logger.info("retraining skipped", extra={"model": model, "reason": why_not})
        return {"model": model, "started": False, "reason": why_not}
    findings = {k: detail[k] for k in ("check_id", "report_key", "drifted_features", "metric") if k in detail}
    if labelled is not None:
        return _retrain_with_feedback(retrainer, model, kind, spec, findings, labelled)
    run_id = retraining.run_id_for(model, kind, check_id)
    started = pipeline_runs.start_requested_run(
        model, client("stepfunctions"), settings.training_pipeline_arn, run_id, f"model-check:{check_id}", trigger=kind, **findings
    )
    retrainer.record(model, "retraining.started", {"trigger": kind, "run_id": started["run_id"], **findings})
    return {"model": model, "started": True, "run_id": started["run_id"]}


def _retrain_with_feedback(retrainer, model, kind, spec, findings, labelled):
    """The newest data plus the labelled traffic, as a new upload: the upload starts the run."""
    settings = get_settings()
    latest = dataset_store().latest(model)
    finding = {"trigger": kind, "check-id": findings["check_id"]}
    uploaded = retraining.upload_with_feedback(client("s3"), settings.data_bucket, model, spec, latest, labelled, finding)
    if uploaded is None:
        return {"model": model, "started": False, "reason": "this finding's dataset was already uploaded"}
    retrainer.record(model, "retraining.started", {"trigger": kind, **uploaded, **findings})
    return {"model": model, "started": True, **uploaded}


def _latest_dataset(model):
    try:
        return dataset_store().latest(model)
    except NotFound:
        return None  # an imported champion with no dataset: the run itself will say what is missing
