"""Training pipeline step in the training image: score the ONNX model on the test split."""

from mlops import training
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    return training.evaluate(event, client("s3"), run_store())
