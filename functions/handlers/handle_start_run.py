"""EventBridge target for dataset uploads: starts one pipeline execution per distinct upload."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import metrics, pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training import pipeline_runs

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_TRAINING_PIPELINE_ARN)


@pipeline_step
def lambda_handler(event, context):
    started = pipeline_runs.start_upload_run(event, client("stepfunctions"), get_settings().training_pipeline_arn)
    metrics.add_metric(name="DuplicateUploadEvents" if started["duplicate"] else "PipelineRunsStarted", unit="Count", value=1)
    return started
