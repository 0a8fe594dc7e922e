"""One hyper-parameter search candidate (an iteration of the pipeline's Map state), tracked as a run."""

from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.training import trainer
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    return trainer.train_trial(event, client("s3"), run_store())
