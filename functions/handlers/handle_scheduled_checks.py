"""Runs on the platform schedule: publishes which models serve, and asks for the checks that are due."""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from mlops.data.spec_store import spec_store
from mlops.monitoring import schedule
from mlops.shared import settings as env
from mlops.shared.aws import client, table
from mlops.shared.observability import logger, metrics, pipeline_step
from mlops.shared.settings import get_settings, require

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_AUDIT_TABLE, env.ENV_MODELS_TABLE)


@pipeline_step
def lambda_handler(event, context):
    states = schedule.serving_states(table(get_settings().models_table))
    champions = {state["model"]: int(state["champion"]) for state in states}
    metrics.add_metric(name="ModelsServing", unit=MetricUnit.Count, value=len(champions))
    due = schedule.due_models(states, spec_store(), datetime.now(UTC))
    schedule.announce(client("events"), schedule.CHECK_DUE, [{"model": model} for model in due])
    logger.info("scheduled checks", extra={"champions": champions, "checks_due": due})
    return {"models_serving": champions, "checks_due": due}
