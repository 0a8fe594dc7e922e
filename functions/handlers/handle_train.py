"""Training pipeline step in the training image: train (see mlops.training.train)."""

from mlops import training
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    return training.train(event, client("s3"), get_settings().artifacts_bucket, run_store())
