"""The environment contract between the CDK app and the functions: variable names, S3 layout,
and the cold-start check that a function's variables are set.

The CDK constructs import these names to set the variables, and the functions check them at cold
start, so the two sides cannot drift apart. Standard library only: the data-plane function imports
it without pydantic (mlops.shared.settings adds the validated Settings for everything else).
"""

from __future__ import annotations

import os

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
# In the artifacts bucket: ONNX files trained elsewhere, registered by POST /models/{model}/versions.
IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "reports/"
# In the capture bucket: Firehose partitions by model and UTC hour,
# captured/model=<model>/YYYY/MM/DD/HH/<stream>-..., so a model's checks read its own objects only
# (dynamic partitioning on the records' `model` field; the Glue table projects the same layout).
CAPTURE_PREFIX = "captured/"
CAPTURE_PARTITION = "model"
# The stream's S3 prefix in Firehose's own expression language (ServingConstruct; local mode expands it).
CAPTURE_PREFIX_EXPRESSION = (
    f"{CAPTURE_PREFIX}{CAPTURE_PARTITION}=!{{partitionKeyFromQuery:{CAPTURE_PARTITION}}}/!{{timestamp:yyyy/MM/dd/HH}}/"
)
# Capture records are log lines carrying this field; the log subscription to Firehose matches it.
CAPTURE_SCHEMA = 1

# The largest upload a run takes; a larger one is refused at once, naming the ceiling (see README).
# Prepare reads a version in one Lambda at about 4.5 MB/s (measured), so 15 minutes hold about
# 4 GB: the ceiling is half that. Validation alone would go further (a Distributed Map past 1 GiB).
DEFAULT_MAX_DATASET_BYTES = 2 * 1024**3
# A model trained elsewhere is read into the training function's memory with its test split.
MAX_IMPORT_BYTES = 512 * 1024**2

# The data-plane Lambda (POST /predict and /feedback): its construct id and metric service name.
PREDICT_SERVICE = "Predict"


class MissingSetting(RuntimeError):
    """A function's environment lacks a variable it needs: it stops at cold start, naming it."""


def require_set(*names: str) -> None:
    """Stops a cold start that lacks any of these variables, naming them (the CDK app sets them)."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise MissingSetting(f"{', '.join(missing)} must be set for this function (the CDK app sets them in infra/constructs)")
