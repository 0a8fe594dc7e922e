"""Training pipeline step in the training image: candidate vs champion on the test split, and the gate."""

from mlops.registry.versions import registry
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require
from mlops.training import trainer
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_MODELS_TABLE, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    return trainer.evaluate(event, client("s3"), run_store(), registry().champion_version(event["model"]))
