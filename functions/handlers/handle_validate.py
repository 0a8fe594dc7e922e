"""Training pipeline step: validate (see mlops.data.steps.validate)."""

from mlops.data import steps
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    return steps.validate(event, client("s3"), run_store())
