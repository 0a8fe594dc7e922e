"""Where a run's fits happen: a Lambda (the training image's function) or a SageMaker training job.

`training.compute: auto` keeps a fit on Lambda while the train split's rows x features (cells)
stay within the algorithm's budget, and sends it to SageMaker above it. Measured on a 2-core
machine (the training function has 3,008 MB, about 2 vCPUs) with bench/training.py at 200,000 rows
x 20 features: a fit holds about 85 bytes per cell at its peak (the matrix as objects, then the
float64 copies of preprocessing), so 3,008 MB hold about 32 million cells; the forest classifier
fits 9 s per million cells, the forest regressor 39 s, the others 2 s or less. Each budget is half
of what the tighter of memory and 15 minutes allows, leaving room for a slower machine, a trial's
validation scoring and the forest's n log n growth.
"""

from __future__ import annotations

from typing import Any

from mlops.data.spec import ModelSpec
from mlops.serving.model_inputs import feature_groups

LAMBDA = "lambda"
SAGEMAKER = "sagemaker"

# Cells (train rows x features) a Lambda fits with half its memory and half its 15 minutes (the
# forest regressor: 39 s per million cells, so 6 million take 4 minutes before the n log n growth).
LAMBDA_CELL_BUDGET: dict[tuple[str, bool], int] = {
    ("logistic_regression", True): 16_000_000,
    ("ridge", False): 16_000_000,
    ("hist_gradient_boosting", True): 16_000_000,
    ("hist_gradient_boosting", False): 16_000_000,
    ("random_forest", True): 16_000_000,
    ("random_forest", False): 6_000_000,
}


def lambda_budget(spec: ModelSpec) -> int:
    return LAMBDA_CELL_BUDGET[(spec.training.algorithm, spec.is_classification)]


def choose(spec: ModelSpec, train_rows: int) -> dict[str, Any]:
    """The engine for this run's fits and why: the spec's choice, or the budget's under `auto`."""
    numeric, categorical = feature_groups(spec)
    cells = train_rows * (len(numeric) + len(categorical))
    budget = lambda_budget(spec)
    engine: str
    if spec.training.compute != "auto":
        engine, reason = spec.training.compute, f"training.compute is {spec.training.compute}"
    elif cells <= budget:
        engine, reason = LAMBDA, f"{cells:,} cells (rows x features) within Lambda's budget of {budget:,}"
    else:
        engine, reason = SAGEMAKER, f"{cells:,} cells (rows x features) over Lambda's budget of {budget:,}"
    return {"engine": engine, "reason": reason, "cells": cells, "lambda_budget": budget}
