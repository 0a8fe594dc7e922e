"""Training pipeline step: record the run, pin the spec, check the upload (see mlops.pipeline.ingest)."""

from mlops import pipeline
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import dataset_store, run_store, spec_store


@pipeline_step
def lambda_handler(event, context):
    return pipeline.ingest(event, client("s3"), run_store(), spec_store(), dataset_store(), get_settings())
