"""Training pipeline step: register the evaluated model as a new version and close the run."""

from mlops import pipeline
from mlops.observability import metrics, pipeline_step
from mlops.stores import registry, run_store


@pipeline_step
def lambda_handler(event, context):
    version = registry().register(event["model"], event["run_id"], event["artifact"], event["metrics"])
    metrics.add_metric(name="ModelVersionsRegistered", unit="Count", value=1)
    state = {**event, "registered": {"version": version["version"], "status": version["status"]}}
    return pipeline.record_success(state, run_store())
