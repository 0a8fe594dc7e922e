"""Training pipeline step: turn an S3 'Object Created' event into a run (see mlops.pipeline.ingest)."""

from mlops import pipeline
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    return pipeline.ingest(event, client("s3"), run_store(), get_settings())
