"""Training pipeline step in the training image: export_onnx (see mlops.training.export_onnx)."""

from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings
from mlops.training import trainer
from mlops.training.runs import run_store


@pipeline_step
def lambda_handler(event, context):
    return trainer.export_onnx(event, client("s3"), get_settings().artifacts_bucket, run_store())
