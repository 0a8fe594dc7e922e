"""Pipeline ending for content already trained: the run succeeds without retraining."""

from mlops import pipeline
from mlops.observability import metrics, pipeline_step
from mlops.stores import run_store


@pipeline_step
def lambda_handler(event, context):
    metrics.add_metric(name="PipelineRunsSkipped", unit="Count", value=1)
    return pipeline.record_skipped(event, run_store())
