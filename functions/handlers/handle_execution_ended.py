"""EventBridge 'Step Functions Execution Status Change' (FAILED, TIMED_OUT, ABORTED) of the training
pipeline: a run its own endings never reached is marked FAILED with the execution's reason."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training import pipeline_runs
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_NOTIFICATION_TOPIC_ARN, env.ENV_RUNS_TABLE)


@pipeline_step
def lambda_handler(event, context):
    return pipeline_runs.record_ended_execution(event["detail"], run_store(), client("sns"), get_settings().notification_topic_arn)
