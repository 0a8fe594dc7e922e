"""Runs on the platform schedule: publishes which models serve, and asks for the checks that are due."""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from mlops import model_checks
from mlops.aws import client, table
from mlops.observability import logger, metrics, pipeline_step
from mlops.settings import get_settings
from mlops.stores import spec_store


@pipeline_step
def lambda_handler(event, context):
    states = model_checks.serving_states(table(get_settings().models_table))
    champions = {state["model"]: int(state["champion"]) for state in states}
    metrics.add_metric(name="ModelsServing", unit=MetricUnit.Count, value=len(champions))
    due = model_checks.due_models(states, spec_store(), datetime.now(UTC))
    model_checks.announce(client("events"), model_checks.CHECK_DUE, [{"model": model} for model in due])
    logger.info("scheduled checks", extra={"champions": champions, "checks_due": due})
    return {"models_serving": champions, "checks_due": due}
