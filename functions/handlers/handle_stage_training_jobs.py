"""Training pipeline step in the training image: stage a run's SageMaker training jobs (the search's
trials, then the final fit; see mlops.training.training_jobs.stage)."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require
from mlops.training import training_jobs
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
settings = require(env.ENV_ARTIFACTS_BUCKET, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    return training_jobs.stage(event, client("s3"), settings.artifacts_bucket, run_store())
