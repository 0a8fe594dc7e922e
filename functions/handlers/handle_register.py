"""Training pipeline step: the gated (and, if asked, approved) candidate becomes a registered version."""

from mlops.registry import releases
from mlops.registry.versions import registry
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import metrics, pipeline_step
from mlops.shared.settings import get_settings, require
from mlops.training import pipeline_runs
from mlops.training.run_state import run_step
from mlops.training.runs import run_store

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_AUDIT_TABLE, env.ENV_MODELS_TABLE, env.ENV_ROLLOUT_ARN, env.ENV_RUNS_TABLE)


@pipeline_step
@run_step
def lambda_handler(event, context):
    version = releases.register(event, registry())
    metrics.add_metric(name="ModelVersionsRegistered", unit="Count", value=1)
    if version["status"] == "challenger":
        releases.start_rollout(client("stepfunctions"), get_settings().rollout_arn, event["model"], version["version"])
    return pipeline_runs.record_success({**event, "registered": {"version": version["version"], "status": version["status"]}}, run_store())
