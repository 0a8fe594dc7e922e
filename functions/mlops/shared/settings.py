"""The validated settings of the functions (pydantic), over the contract in mlops.shared.variables.

Keep this module free of heavy imports: infra/ imports it at synth time.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mlops.shared.variables import (  # noqa: F401 - the contract, re-exported for existing imports
    API_SERVICE,
    BATCH_PREFIX,
    BATCH_RESULTS_PREFIX,
    CAPTURE_PARTITION,
    CAPTURE_PREFIX,
    CAPTURE_PREFIX_EXPRESSION,
    CAPTURE_SCHEMA,
    DATASETS_PREFIX,
    DEFAULT_MAX_DATASET_BYTES,
    ENV_ARTIFACTS_BUCKET,
    ENV_AUDIT_TABLE,
    ENV_BATCH_INFERENCE_ARN,
    ENV_CAPTURE_BUCKET,
    ENV_DATA_BUCKET,
    ENV_MAX_DATASET_BYTES,
    ENV_MODELS_TABLE,
    ENV_NOTIFICATION_TOPIC_ARN,
    ENV_ROLLOUT_ARN,
    ENV_RUNS_TABLE,
    ENV_TRAINING_PIPELINE_ARN,
    IMPORTS_PREFIX,
    MAX_IMPORT_BYTES,
    MODELS_PREFIX,
    PREDICT_SERVICE,
    QUARANTINE_PREFIX,
    REPORTS_PREFIX,
    VERSIONS_PREFIX,
    MissingSetting,
    require_set,
)


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


def require(*names: str) -> Settings:
    """Called when a handler module is imported (Lambda's init phase), with the variables it needs.

    The CDK constructs set them; a function deployed without one fails its first invocation with
    this message rather than later with a confusing error from an empty table or bucket name.
    """
    require_set(*names)
    return get_settings()
