"""Training pipeline step: register the content-addressed dataset version and its manifest."""

from mlops import pipeline
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.stores import dataset_store, run_store


@pipeline_step
def lambda_handler(event, context):
    return pipeline.version(event, client("s3"), run_store(), dataset_store())
