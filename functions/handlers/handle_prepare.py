"""Training pipeline step: stratified splits and the drift baseline (see mlops.data.splitting.prepare)."""

from mlops.data import splitting
from mlops.data.versions import dataset_store
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    return splitting.prepare(event, client("s3"), run_store(), dataset_store())
