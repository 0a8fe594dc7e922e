"""What a version's checks will need, measured at training on the splits the model never fitted.

- Calibration (classifiers): an isotonic map per class fitted on the validation split's
  probabilities, kept only when it lowers the expected calibration error on the test split
  ("calibrate when needed", both errors recorded in the model card). Then the confidence-based
  estimate on the test split: the reference a check's estimate is compared with.
- Direct loss estimation (regressors): two gradient-boosted models learn each validation row's
  absolute and squared error from its features and the prediction, exported to ONNX beside the
  model; on the test split, their estimate and the spread of what they miss.
- Multivariate drift: the PCA reference (mlops.monitoring.multivariate).

All of it lands in S3 as monitoring_reference.json (and two loss models) in the run's folder; the
version keeps its key. In the training image: scikit-learn is here.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from mlops.data.spec import Feature, ModelSpec, Target
from mlops.monitoring import estimation, multivariate
from mlops.serving.model_inputs import CATEGORICAL_INPUT, NUMERIC_INPUT, as_matrix, feature_groups, load_split

# What the checking function may read of a model's folder (models/<model>/<run>/...).
REFERENCE_FILE, LOSS_MODELS = "monitoring_reference.json", "loss_*.onnx"
READ_BY_CHECKS = (f"*/{REFERENCE_FILE}", f"*/{LOSS_MODELS}")
ECE_BINS = 10
LOSS_TARGET = "__loss__"
PREDICTION_FEATURE = "__prediction__"


def build(
    spec: ModelSpec, onnx_bytes: bytes, s3: Any, state: dict[str, Any], test: tuple[dict[str, Any], Any]
) -> tuple[str, dict[str, Any]]:
    """Writes the reference; returns its key and the summary the model card records. `test` is the
    test split as Evaluate already read it (inputs, target); the validation split is read here."""
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    splits = {"validation": load_split(s3, state["dataset"]["bucket"], state["splits"]["validation"]["key"], spec), "test": test}
    scored = {
        name: (inputs, y, session.run(None, {k: v for k, v in inputs.items() if k in wanted})) for name, (inputs, y) in splits.items()
    }
    folder = state["artifact"]["key"].rsplit("/", 1)[0]
    (_, val_y, val_out), (_, test_y, test_out) = scored["validation"], scored["test"]
    columns = {name: _columns(spec, inputs) for name, (inputs, _, _) in scored.items()}
    reference: dict[str, Any] = {
        "multivariate": multivariate.fit(spec, columns["validation"], len(val_y), columns["test"], len(test_y)),
    }
    if spec.is_classification:
        classes = session.get_modelmeta().custom_metadata_map["classes"].split("\x1f")
        reference["estimator"] = _confidence_reference(classes, val_y, val_out, test_y, test_out, spec.training.seed)
    else:
        reference["estimator"] = _loss_reference(spec, s3, state["artifact"]["bucket"], folder, scored)
    key = f"{folder}/{REFERENCE_FILE}"
    s3.put_object(Bucket=state["artifact"]["bucket"], Key=key, Body=json.dumps(reference).encode(), ContentType="application/json")
    return key, summary(reference)


def summary(reference: dict[str, Any]) -> dict[str, Any]:
    estimator, together = reference["estimator"], reference["multivariate"]
    shown = {k: estimator[k] for k in ("method", "reference", "calibration", "residual_sd") if k in estimator}
    if "calibration" in shown:
        shown["calibration"] = {k: v for k, v in shown["calibration"].items() if k != "maps"}
    card: dict[str, Any] = {"performance_estimation": shown}
    if together:
        card["multivariate"] = {k: together[k] for k in ("explained_variance", "errors")} | {"components": len(together["components"])}
    return card


def _columns(spec: ModelSpec, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    numeric, categorical = feature_groups(spec)
    columns: dict[str, Any] = {name: inputs[NUMERIC_INPUT][:, i].astype(np.float64) for i, name in enumerate(numeric)}
    columns |= {name: inputs[CATEGORICAL_INPUT][:, i].tolist() for i, name in enumerate(categorical)}
    return columns


# --- classifiers ----------------------------------------------------------------------------


def expected_calibration_error(probabilities: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> float:
    """Over ten equal-width bins of the predicted class's probability: |accuracy - confidence|, weighted."""
    confidence = probabilities[np.arange(len(predicted)), predicted]
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    error = 0.0
    for b in np.unique(bins):
        members = bins == b
        error += members.mean() * abs(float((predicted[members] == actual[members]).mean()) - float(confidence[members].mean()))
    return float(error)


def _confidence_reference(
    classes: list[str], val_y: np.ndarray, val_out: list[np.ndarray], test_y: np.ndarray, test_out: list[np.ndarray], seed: int
) -> dict[str, Any]:
    from sklearn.isotonic import IsotonicRegression

    index = {c: i for i, c in enumerate(classes)}
    fitted = [1] if len(classes) == 2 else range(len(classes))
    maps = {}
    for j in fitted:
        isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(val_out[1][:, j], val_y == classes[j])
        maps[classes[j]] = {"x": isotonic.X_thresholds_.tolist(), "y": isotonic.y_thresholds_.tolist()}
    raw = np.asarray(test_out[1], dtype=np.float64)
    predicted = np.asarray([index[str(label)] for label in test_out[0].ravel()])
    actual = np.asarray([index.get(str(label), -1) for label in test_y])
    candidate = {"calibrated": True, "maps": maps}
    ece_raw = expected_calibration_error(raw, predicted, actual)
    ece_calibrated = expected_calibration_error(estimation.calibrated(raw, candidate, classes), predicted, actual)
    calibration = {
        "calibrated": bool(ece_calibrated < ece_raw),
        "maps": maps,
        "ece_raw": ece_raw,
        "ece_calibrated": ece_calibrated,
        "measured_on": "test split (maps fitted on the validation split)",
    }
    probabilities = estimation.calibrated(raw, calibration, classes)
    at_training = estimation.confidence_estimate(probabilities, predicted, raw[:, 1] if len(classes) == 2 else None, seed)
    return {
        "method": "cbpe",
        "classes": classes,
        "calibration": calibration,
        "reference": {metric: entry["estimate"] for metric, entry in at_training.items()},
        "reference_sd": {metric: entry["sd"] for metric, entry in at_training.items()},
    }


# --- regressors -----------------------------------------------------------------------------


def _loss_reference(spec: ModelSpec, s3: Any, bucket: str, folder: str, scored: dict[str, Any]) -> dict[str, Any]:
    """Two loss models (absolute, squared error) on features + prediction, fitted on validation."""
    from mlops.training.trainer import build_pipeline, to_onnx_bytes

    loss_spec = _loss_model_spec(spec)
    numeric, categorical = feature_groups(loss_spec)
    matrices, errors = {}, {}
    for name, (inputs, y, outputs) in scored.items():
        prediction = outputs[0].ravel().astype(np.float64)
        errors[name] = y - prediction
        columns = _columns(spec, inputs)
        numbers = [columns[n] for n in numeric if n != PREDICTION_FEATURE] + [prediction]
        model_inputs = {NUMERIC_INPUT: np.column_stack(numbers).astype(np.float32)}
        if categorical:
            model_inputs[CATEGORICAL_INPUT] = np.asarray([columns[n] for n in categorical], dtype=object).T.astype(str)
        matrices[name] = model_inputs
    reference: dict[str, Any] = {"method": "dle", "numeric": numeric[:-1], "categorical": categorical, "models": {}}
    estimates, residual_sd = {}, {}
    for loss, transform in (("absolute", np.abs), ("squared", np.square)):
        model = build_pipeline(loss_spec, {"max_iter": 100}).fit(as_matrix(matrices["validation"]), transform(errors["validation"]))
        body, _ = to_onnx_bytes(model, loss_spec)
        key = f"{folder}/loss_{loss}.onnx"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        reference["models"][loss] = key
        estimated = np.clip(model.predict(as_matrix(matrices["test"])), 0, None)
        estimates[loss] = float(estimated.mean())
        residual_sd[loss] = float(np.std(transform(errors["test"]) - estimated, ddof=1)) if len(estimated) > 1 else 0.0
    rows = max(len(errors["test"]), 1)
    rmse = math.sqrt(estimates["squared"])
    reference["reference"] = {"mae": estimates["absolute"], "rmse": rmse}
    reference["residual_sd"] = residual_sd
    mse_sd = residual_sd["squared"] / math.sqrt(rows)
    reference["reference_sd"] = {"mae": residual_sd["absolute"] / math.sqrt(rows), "rmse": mse_sd / (2 * rmse) if rmse > 0 else mse_sd}
    return reference


def _loss_model_spec(spec: ModelSpec) -> ModelSpec:
    """The loss models' own spec: the model's features but pii (never captured as sent), then the prediction."""
    features = [Feature(name=f.name, type=f.type, nullable=True) for f in spec.features if not f.pii]
    numeric = [f for f in features if f.type == "numeric"] + [Feature(name=PREDICTION_FEATURE, type="numeric")]
    return ModelSpec(
        target=Target(name=LOSS_TARGET, task="regression"),
        features=numeric + [f for f in features if f.type == "categorical"],
        training={"algorithm": "hist_gradient_boosting", "seed": spec.training.seed},
    )
