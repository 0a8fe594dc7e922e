"""One hyper-parameter search candidate (an iteration of the pipeline's Map state), tracked as a run."""

from mlops import training
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    return training.train_trial(event, client("s3"), run_store())
