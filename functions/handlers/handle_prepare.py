"""Training pipeline step: stratified splits and the drift baseline (see mlops.data.splitting.prepare)."""

from mlops.data import splitting
from mlops.data.versions import dataset_store
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_MODELS_TABLE, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    return splitting.prepare(event, client("s3"), run_store(), dataset_store())
