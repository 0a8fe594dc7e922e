"""Train, export to ONNX and evaluate: the heavy steps, run in the training container image.

scikit-learn, skl2onnx and onnxruntime are imported inside the functions that use them so that
importing this module stays cheap for the tests that do not train.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np

from mlops import datasets
from mlops.errors import DatasetRejected
from mlops.runs import RunStore
from mlops.settings import MODELS_PREFIX

SEED = 20261126
MAX_CLASSES = 20
PARITY_TOLERANCE = 1e-5


def load_matrix(s3: Any, bucket: str, key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Numeric features and the target (the last column until model specs name it)."""
    rows = datasets.iter_rows(s3, bucket, key)
    header = next(rows)
    try:
        values = np.array([[float(v) if v != "" else np.nan for v in row] for row in rows], dtype=np.float64)
    except ValueError as error:
        raise DatasetRejected(f"{key} has a non-numeric value: {error}") from error
    return header[:-1], values[:, :-1].astype(np.float32), values[:, -1]


def is_classification(target: np.ndarray) -> bool:
    distinct = np.unique(target[~np.isnan(target)])
    return len(distinct) <= MAX_CLASSES and bool(np.all(distinct == np.round(distinct)))


def train(state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore) -> dict[str, Any]:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    dataset = state["dataset"]
    features, x, y = load_matrix(s3, dataset["bucket"], state["splits"]["train"]["key"])
    classification = is_classification(y)
    estimator = LogisticRegression(max_iter=1000, random_state=SEED) if classification else Ridge(random_state=SEED)
    model = make_pipeline(SimpleImputer(), StandardScaler(), estimator).fit(x, y.astype(int) if classification else y)
    key = f"runs/{state['run_id']}/estimator.pkl"
    # Pickle only crosses between this pipeline's own steps, inside its own bucket.
    s3.put_object(Bucket=artifacts_bucket, Key=key, Body=pickle.dumps(model))
    trained = {
        "task": "classification" if classification else "regression",
        "algorithm": type(estimator).__name__,
        "features": features,
        "estimator_key": key,
    }
    runs.record_step(state["run_id"], "train", trained)
    return {**state, "training": trained}


def export_onnx(state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore) -> dict[str, Any]:
    """Converts the fitted pipeline and refuses a model whose ONNX answers differ from scikit-learn's."""
    import onnxruntime
    from skl2onnx import to_onnx

    training = state["training"]
    model = pickle.loads(s3.get_object(Bucket=artifacts_bucket, Key=training["estimator_key"])["Body"].read())
    _, x_test, _ = load_matrix(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"])
    classification = training["task"] == "classification"
    # ZipMap (probabilities as a list of dicts) made batches 13x slower; classifiers emit a tensor.
    options = {"zipmap": False} if classification else None
    onnx_bytes = to_onnx(model, x_test[:1], options=options).SerializeToString()
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: x_test})
    if classification:
        parity = float(np.max(np.abs(outputs[1] - model.predict_proba(x_test)))) if len(x_test) else 0.0
        labels_equal = bool(np.array_equal(outputs[0].ravel(), model.predict(x_test)))
    else:
        parity = float(np.max(np.abs(outputs[0].ravel() - model.predict(x_test)))) if len(x_test) else 0.0
        labels_equal = True
    if parity > PARITY_TOLERANCE or not labels_equal:
        raise ValueError(f"ONNX parity failed: max difference {parity:.2e}, labels equal: {labels_equal}")
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    key = f"{MODELS_PREFIX}{state['model']}/{state['run_id']}/model.onnx"
    s3.put_object(Bucket=artifacts_bucket, Key=key, Body=onnx_bytes, Metadata={"sha256": sha})
    artifact = {"bucket": artifacts_bucket, "key": key, "sha256": sha, "parity_max_abs_diff": parity}
    runs.record_step(state["run_id"], "export", artifact)
    return {**state, "artifact": artifact}


def evaluate(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """Scores the exported ONNX model on the held-out test split."""
    import onnxruntime

    artifact = state["artifact"]
    onnx_bytes = s3.get_object(Bucket=artifact["bucket"], Key=artifact["key"])["Body"].read()
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    _, x_test, y_test = load_matrix(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"])
    predicted = session.run(None, {session.get_inputs()[0].name: x_test})[0].ravel()
    if state["training"]["task"] == "classification":
        metrics = {"accuracy": float(np.mean(predicted == y_test.astype(int)))}
    else:
        metrics = {"rmse": float(np.sqrt(np.mean((predicted - y_test) ** 2)))}
    metrics = {name: round(value, 6) for name, value in metrics.items()}
    runs.record_step(state["run_id"], "evaluate", {"metrics": metrics, "test_rows": len(y_test)})
    return {**state, "metrics": metrics}
