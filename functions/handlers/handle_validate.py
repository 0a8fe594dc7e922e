"""Training pipeline step: validate an upload in this Lambda (see mlops.data.validation_steps.validate)."""

from mlops.data import validation_steps
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
settings = require(env.ENV_RUNS_TABLE, env.ENV_ARTIFACTS_BUCKET)


@pipeline_step
@run_step
def lambda_handler(event, context):
    return validation_steps.validate(event, client("s3"), run_store(), settings.artifacts_bucket)
