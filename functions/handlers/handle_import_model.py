"""Training pipeline step in the training image: a model trained elsewhere, checked against its spec
and placed as an export (see mlops.training.imports.import_model)."""

from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require
from mlops.training import imports
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
settings = require(env.ENV_ARTIFACTS_BUCKET, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    return imports.import_model(event, client("s3"), settings.artifacts_bucket, run_store())
