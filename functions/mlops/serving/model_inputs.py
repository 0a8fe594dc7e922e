"""How a model sees a table: the ONNX inputs every exported model takes, built from the spec.

Models take up to two inputs: "numeric" (float32, one column per numeric feature in spec order, NaN
for null) and "categorical" (string, one column per categorical feature). Training, evaluation
and serving all build them here, so they cannot disagree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlops.data import readers
from mlops.data.spec import ModelSpec

NUMERIC_INPUT = "numeric"
CATEGORICAL_INPUT = "categorical"


def feature_groups(spec: ModelSpec) -> tuple[list[str], list[str]]:
    numeric = [f.name for f in spec.features if f.type == "numeric"]
    categorical = [f.name for f in spec.features if f.type == "categorical"]
    return numeric, categorical


def to_inputs(spec: ModelSpec, rows: list[list[str]]) -> dict[str, np.ndarray]:
    """Rows in spec column order (features, then the target, which is ignored) -> model inputs."""
    numeric, categorical = feature_groups(spec)
    kinds = [f.type for f in spec.features]
    inputs: dict[str, np.ndarray] = {}
    if numeric:
        positions = [i for i, kind in enumerate(kinds) if kind == "numeric"]
        numbers = [[float(row[i]) if row[i] != "" else np.nan for i in positions] for row in rows]
        inputs[NUMERIC_INPUT] = np.array(numbers, dtype=np.float32).reshape(len(rows), len(positions))
    if categorical:
        positions = [i for i, kind in enumerate(kinds) if kind == "categorical"]
        values = [[row[i] for i in positions] for row in rows]
        inputs[CATEGORICAL_INPUT] = np.array(values, dtype=object).reshape(len(rows), len(positions)).astype(str)
    return inputs


def load_split(s3: Any, bucket: str, key: str, spec: ModelSpec) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A normalized split (header = spec.columns) as model inputs and the target."""
    _, rows = readers.read_table(s3, bucket, key, spec.columns)
    table = [fields for _, fields, _ in rows if fields is not None]  # a normalized split has no unreadable lines
    target = [row[-1] for row in table]
    y = np.array(target, dtype=str) if spec.is_classification else np.array(target, dtype=np.float64)
    return to_inputs(spec, table), y


def as_matrix(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The same inputs as one object matrix, numeric columns first: what the scikit-learn pipeline fits on."""
    parts = [inputs[name].astype(object) for name in (NUMERIC_INPUT, CATEGORICAL_INPUT) if name in inputs]
    return np.hstack(parts)
