"""Training pipeline step in the training image: pick the best search trial (if any), fit the model."""

from mlops import training
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    state = training.select_trial(event, run_store()) if "trials" in event else event
    return training.train(state, client("s3"), get_settings().artifacts_bucket, run_store())
