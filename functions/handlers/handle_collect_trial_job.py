"""One search trial's SageMaker job output, recorded as its trial run (an iteration of the
pipeline's Map state; see mlops.training.training_jobs.collect_trial)."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require
from mlops.training import training_jobs
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_ARTIFACTS_BUCKET, env.ENV_RUNS_TABLE)


@pipeline_step
def lambda_handler(event, context):
    return training_jobs.collect_trial(event, client("s3"), run_store())
