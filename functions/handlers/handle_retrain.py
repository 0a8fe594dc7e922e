"""EventBridge DriftDetected / PerformanceDecayed -> a guarded retraining run (see mlops.retraining)."""

from mlops import pipeline, retraining
from mlops.aws import client, table
from mlops.observability import logger, pipeline_step
from mlops.settings import get_settings
from mlops.stores import run_store, spec_store


@pipeline_step
def lambda_handler(event, context):
    detail, kind = event["detail"], retraining.KINDS[event["detail-type"]]
    model, check_id = detail["model"], detail["check_id"]
    settings = get_settings()
    retrainer = retraining.Retrainer(table(settings.models_table), run_store(), table(settings.audit_table))
    _, spec = spec_store().current(model)
    now = retraining.now_utc()
    why_not = retrainer.refusal(model, kind, spec, now)
    if why_not is None and not retrainer.claim(model, check_id, now):
        why_not = "another finding started a run at the same moment"
    if why_not is not None:
        retrainer.record(model, "retraining.skipped", {"trigger": kind, "check_id": check_id, "reason": why_not})
        logger.info("retraining skipped", extra={"model": model, "reason": why_not})
        return {"model": model, "started": False, "reason": why_not}
    run_id = retraining.run_id_for(model, kind, check_id)
    findings = {k: detail[k] for k in ("check_id", "report_key", "drifted_features", "metric") if k in detail}
    started = pipeline.start_requested_run(
        model, client("stepfunctions"), settings.training_pipeline_arn, run_id, f"model-check:{check_id}", trigger=kind, **findings
    )
    retrainer.record(model, "retraining.started", {"trigger": kind, "run_id": started["run_id"], **findings})
    return {"model": model, "started": True, "run_id": started["run_id"]}
