"""EventBridge target for dataset uploads: starts one pipeline execution per distinct upload."""

from mlops import pipeline
from mlops.aws import client
from mlops.observability import metrics, pipeline_step
from mlops.settings import get_settings


@pipeline_step
def lambda_handler(event, context):
    started = pipeline.start_upload_run(event, client("stepfunctions"), get_settings().training_pipeline_arn)
    metrics.add_metric(name="DuplicateUploadEvents" if started["duplicate"] else "PipelineRunsStarted", unit="Count", value=1)
    return started
