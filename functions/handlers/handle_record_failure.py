"""Catch target of every pipeline step: the run ends FAILED with its reason, rejected data is
quarantined, and operators hear of it."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import metrics, pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training import pipeline_runs
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_ARTIFACTS_BUCKET, env.ENV_NOTIFICATION_TOPIC_ARN, env.ENV_RUNS_TABLE)


@pipeline_step
def lambda_handler(event, context):
    metrics.add_metric(name="PipelineRunsFailed", unit="Count", value=1)
    settings = get_settings()
    return pipeline_runs.record_failure(
        event, client("s3"), run_store(), client("sns"), settings.notification_topic_arn, settings.artifacts_bucket
    )
