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
from mlops.runs import RunStore
from mlops.settings import MODELS_PREFIX
from mlops.spec import ModelSpec

PARITY_TOLERANCE = 1e-5


def load_matrix(s3: Any, bucket: str, key: str, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Numeric features (nulls as NaN) and the target of a normalized split (header = spec.columns)."""
    header, rows = datasets.read_table(s3, bucket, key, spec.columns)
    positions = [header.index(name) for name in numeric_features(spec)]
    x_rows, y_rows = [], []
    for _, fields, _ in rows:
        x_rows.append([float(fields[i]) if fields[i] != "" else np.nan for i in positions])
        y_rows.append(fields[-1])
    x = np.array(x_rows, dtype=np.float32).reshape(len(x_rows), len(positions))
    y = np.array(y_rows, dtype=object if spec.is_classification else np.float64)
    return x, (y.astype(str) if spec.is_classification else y)


def numeric_features(spec: ModelSpec) -> list[str]:
    # Categorical features are encoded from the training issue on; until then they are reported unused.
    return [f.name for f in spec.features if f.type == "numeric"]


def build_estimator(spec: ModelSpec) -> Any:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    choices = {
        "logistic_regression": (LogisticRegression, None, {"max_iter": 1000}),
        "ridge": (None, Ridge, {}),
        "random_forest": (RandomForestClassifier, RandomForestRegressor, {"n_estimators": 100}),
        "hist_gradient_boosting": (HistGradientBoostingClassifier, HistGradientBoostingRegressor, {}),
    }
    classifier, regressor, defaults = choices[spec.training.algorithm]
    estimator_class = classifier if spec.is_classification else regressor
    params = {**defaults, **spec.training.hyperparameters, "random_state": spec.training.seed}
    return make_pipeline(SimpleImputer(), StandardScaler(), estimator_class(**params))


def train(state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore) -> dict[str, Any]:
    spec = ModelSpec.model_validate(state["spec"])
    bucket = state["dataset"]["bucket"]
    if not numeric_features(spec):
        raise ValueError("the spec has no numeric feature; categorical encoding arrives with the training work (#4)")
    x, y = load_matrix(s3, bucket, state["splits"]["train"]["key"], spec)
    model = build_estimator(spec).fit(x, y)
    key = f"runs/{state['run_id']}/estimator.pkl"
    # Pickle only crosses between this pipeline's own steps, inside its own bucket.
    s3.put_object(Bucket=artifacts_bucket, Key=key, Body=pickle.dumps(model))
    used = numeric_features(spec)
    trained = {
        "task": spec.target.task,
        "algorithm": spec.training.algorithm,
        "features": used,
        "unused_features": [f.name for f in spec.features if f.name not in used],
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
    spec = ModelSpec.model_validate(state["spec"])
    x_test, _ = load_matrix(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"], spec)
    classification = spec.is_classification
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
    spec = ModelSpec.model_validate(state["spec"])
    x_test, y_test = load_matrix(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"], spec)
    predicted = session.run(None, {session.get_inputs()[0].name: x_test})[0].ravel()
    if spec.is_classification:
        metrics = {"accuracy": float(np.mean(predicted.astype(str) == y_test))}
    else:
        metrics = {"rmse": float(np.sqrt(np.mean((predicted - y_test) ** 2)))}
    metrics = {name: round(value, 6) for name, value in metrics.items()}
    runs.record_step(state["run_id"], "evaluate", {"metrics": metrics, "test_rows": len(y_test)})
    return {**state, "metrics": metrics}
