"""Runs on the monitoring schedule: publishes which models serve a champion."""

from aws_lambda_powertools.metrics import MetricUnit

from mlops.aws import table
from mlops.monitoring import models_with_champion
from mlops.observability import logger, metrics, pipeline_step
from mlops.settings import get_settings


@pipeline_step
def lambda_handler(event, context):
    champions = models_with_champion(table(get_settings().models_table))
    metrics.add_metric(name="ModelsServing", unit=MetricUnit.Count, value=len(champions))
    logger.info("scheduled checks", extra={"champions": champions})
    return {"models_serving": champions}
