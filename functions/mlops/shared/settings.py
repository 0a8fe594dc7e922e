"""The environment contract between the CDK app and the functions.

The CDK constructs import these names to set the variables, and the functions validate the
values at cold start, so the two sides cannot drift apart. Keep this module free of heavy imports:
infra/ imports it at synth time.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ENV_DATA_BUCKET = "DATA_BUCKET"
ENV_ARTIFACTS_BUCKET = "ARTIFACTS_BUCKET"
ENV_CAPTURE_BUCKET = "CAPTURE_BUCKET"
ENV_MODELS_TABLE = "MODELS_TABLE"
ENV_RUNS_TABLE = "RUNS_TABLE"
ENV_AUDIT_TABLE = "AUDIT_TABLE"
ENV_TRAINING_PIPELINE_ARN = "TRAINING_PIPELINE_ARN"
ENV_NOTIFICATION_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
ENV_MAX_DATASET_BYTES = "MAX_DATASET_BYTES"
ENV_ROLLOUT_ARN = "ROLLOUT_ARN"
ENV_BATCH_INFERENCE_ARN = "BATCH_INFERENCE_ARN"

# The API Lambda's construct id, which is also its Powertools service name (a metric dimension).
API_SERVICE = "Api"

# S3 layout inside the data bucket: uploads land under DATASETS_PREFIX/<model>/.
DATASETS_PREFIX = "datasets/"
VERSIONS_PREFIX = "versions/"
QUARANTINE_PREFIX = "quarantine/"
# Batch inference input: batch/<model>/...; predictions are written beside each CSV.
BATCH_PREFIX = "batch/"
BATCH_RESULTS_PREFIX = "batch-results/"
MODELS_PREFIX = "models/"
REPORTS_PREFIX = "reports/"
# In the capture bucket: Firehose writes captured/YYYY/MM/DD/HH/<stream>-... (UTC hours).
CAPTURE_PREFIX = "captured/"
# Capture records are log lines carrying this field; the log subscription to Firehose matches it.
CAPTURE_SCHEMA = 1

# One gibibyte: larger uploads are refused with a clear reason rather than read (see README).
DEFAULT_MAX_DATASET_BYTES = 1024**3


class Settings(BaseModel):
    """Values every function may need; each function gets the subset its role grants."""

    model_config = ConfigDict(frozen=True)

    data_bucket: str = Field(default="", alias=ENV_DATA_BUCKET)
    artifacts_bucket: str = Field(default="", alias=ENV_ARTIFACTS_BUCKET)
    capture_bucket: str = Field(default="", alias=ENV_CAPTURE_BUCKET)
    models_table: str = Field(default="", alias=ENV_MODELS_TABLE)
    runs_table: str = Field(default="", alias=ENV_RUNS_TABLE)
    audit_table: str = Field(default="", alias=ENV_AUDIT_TABLE)
    training_pipeline_arn: str = Field(default="", alias=ENV_TRAINING_PIPELINE_ARN)
    notification_topic_arn: str = Field(default="", alias=ENV_NOTIFICATION_TOPIC_ARN)
    rollout_arn: str = Field(default="", alias=ENV_ROLLOUT_ARN)
    batch_inference_arn: str = Field(default="", alias=ENV_BATCH_INFERENCE_ARN)
    max_dataset_bytes: int = Field(default=DEFAULT_MAX_DATASET_BYTES, alias=ENV_MAX_DATASET_BYTES, gt=0)

    @field_validator("*", mode="before")
    @classmethod
    def _set_means_not_empty(cls, value: Any, info: ValidationInfo) -> Any:
        """A variable that is set must have a value (an absent one keeps its default)."""
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"{info.field_name} is set but empty")
        return value


@cache
def get_settings() -> Settings:
    """Validated once per process (a Lambda cold start); tests call get_settings.cache_clear()."""
    return Settings.model_validate(dict(os.environ))


class MissingSetting(RuntimeError):
    """A function's environment lacks a variable it needs: it stops at cold start, naming it."""


def require(*names: str) -> Settings:
    """Called when a handler module is imported (Lambda's init phase), with the variables it needs.

    The CDK constructs set them; a function deployed without one fails its first invocation with
    this message rather than later with a confusing error from an empty table or bucket name.
    """
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise MissingSetting(f"{', '.join(missing)} must be set for this function (the CDK app sets them in infra/constructs)")
    return get_settings()
