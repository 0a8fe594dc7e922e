"""Training pipeline step in the training image: candidate vs champion on the test split, and the gate."""

from mlops import training
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.stores import registry, run_store


@pipeline_step
def lambda_handler(event, context):
    return training.evaluate(event, client("s3"), run_store(), registry().champion_version(event["model"]))
