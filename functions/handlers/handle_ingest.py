"""Training pipeline step: record the run, pin the spec, check the upload (see mlops.data.steps.ingest)."""

from mlops.data import steps
from mlops.data.spec_store import spec_store
from mlops.data.versions import dataset_store
from mlops.registry.versions import champion_record
from mlops.shared import settings as env
from mlops.shared.aws import client, table
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_DATA_BUCKET, env.ENV_MODELS_TABLE, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    settings = get_settings()
    champion_of = lambda model: champion_record(table(settings.models_table), model)  # noqa: E731
    return steps.ingest(event, client("s3"), run_store(), spec_store(), dataset_store(), settings, champion_of)
