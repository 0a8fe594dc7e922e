"""The REST API Lambda (API Gateway proxy): routes live in mlops.api."""

from aws_lambda_powertools.logging import correlation_paths

from mlops.api import REQUIRED_ENVIRONMENT, app
from mlops.shared.observability import logger, metrics, tracer
from mlops.shared.settings import require

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(*REQUIRED_ENVIRONMENT)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event, context):
    return app.resolve(event, context)
