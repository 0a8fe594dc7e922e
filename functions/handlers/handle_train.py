"""Training pipeline step in the training image: pick the best search trial (if any), fit the model."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training import trainer
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_ARTIFACTS_BUCKET, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    state = trainer.select_trial(event, run_store()) if "trials" in event else event
    return trainer.train(state, client("s3"), get_settings().artifacts_bucket, run_store())
