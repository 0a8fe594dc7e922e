"""Powertools logger, metrics and tracer shared by all handlers, and the decorator that applies them.

Service name and metric namespace come from POWERTOOLS_* variables set by the CDK app.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()

Handler = Callable[[Any, Any], Any]


def pipeline_step(handler: Handler) -> Handler:
    """Logs with the Lambda context, flushes metrics, traces, and logs the step's failure reason."""

    @logger.inject_lambda_context(log_event=False)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def wrapped(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except Exception:
            logger.exception("step failed")
            raise

    return wrapped
