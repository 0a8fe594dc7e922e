"""Powertools logger, metrics and tracer shared by all handlers, and the decorator that applies them.

Service name and metric namespace come from POWERTOOLS_* variables set by the CDK app.
"""

import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from mlops.shared.errors import transient
from mlops.shared.settings import ENV_RUNS_TABLE

logger = Logger()
metrics = Metrics()
tracer = Tracer()

Handler = Callable[[Any, Any], Any]


def pipeline_step(handler: Handler) -> Handler:
    """Logs with the Lambda context, flushes metrics, traces, logs the step's failure reason, and
    records how long the step took on its run (experiment tracking: timings per step)."""

    @logger.inject_lambda_context(log_event=False)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def wrapped(event: Any, context: Any) -> Any:
        started = time.monotonic()
        try:
            result = handler(event, context)
        except Exception as error:
            logger.exception("step failed")
            retryable = transient(error)
            if retryable is not None:  # the name the state machines' Retry lists
                raise retryable from error
            raise
        # A step of a run (its state carries a run id) records how long it took on the run it answers for.
        step_of_run = isinstance(event, dict) and "run_id" in event and isinstance(result, dict) and "run_id" in result
        if step_of_run and os.environ.get(ENV_RUNS_TABLE):
            from mlops.training.runs import run_store  # late: only functions with a runs table record timings

            run_store().record_timing(result["run_id"], os.environ.get("POWERTOOLS_SERVICE_NAME", "step"), time.monotonic() - started)
        return result

    return wrapped
