"""Training pipeline step: register the content-addressed dataset version and its manifest."""

from mlops.data import steps
from mlops.data.versions import dataset_store
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    return steps.version(event, client("s3"), run_store(), dataset_store())
