"""Training pipeline step in the training image: candidate vs champion on the test split, and the gate."""

from mlops.registry.versions import registry
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.training import trainer
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    return trainer.evaluate(event, client("s3"), run_store(), registry().champion_version(event["model"]))
