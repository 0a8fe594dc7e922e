"""Pipeline ending for content already trained: the run succeeds without retraining."""

from mlops.shared import settings as env
from mlops.shared.observability import metrics, pipeline_step
from mlops.shared.settings import require
from mlops.training import pipeline_runs
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    metrics.add_metric(name="PipelineRunsSkipped", unit="Count", value=1)
    return pipeline_runs.record_skipped(event, run_store())
