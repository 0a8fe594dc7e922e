"""Training pipeline step: stratified splits and the drift baseline (see mlops.pipeline.prepare)."""

from mlops import pipeline
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.stores import dataset_store, run_store


@pipeline_step
def lambda_handler(event, context):
    return pipeline.prepare(event, client("s3"), run_store(), dataset_store())
