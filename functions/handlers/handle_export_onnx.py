"""Training pipeline step in the training image: export_onnx (see mlops.training.export_onnx)."""

from mlops import training
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    return training.export_onnx(event, client("s3"), get_settings().artifacts_bucket, run_store())
