"""Training pipeline step in the training image: pick the best search trial (if any), fit the model."""

from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings
from mlops.training import trainer
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    state = trainer.select_trial(event, run_store()) if "trials" in event else event
    return trainer.train(state, client("s3"), get_settings().artifacts_bucket, run_store())
