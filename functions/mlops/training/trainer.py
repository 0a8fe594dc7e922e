"""Train, search, export to ONNX and evaluate against the champion: the training image's steps.

scikit-learn, skl2onnx and onnxruntime are imported inside the functions that use them so that
importing this module stays cheap for the tests that do not train.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlops.data.preparation import numeric_profile
from mlops.data.spec import ModelSpec
from mlops.serving.model_inputs import CATEGORICAL_INPUT, NUMERIC_INPUT, as_matrix, feature_groups, load_split
from mlops.shared.errors import GateFailed
from mlops.shared.items import now_iso
from mlops.shared.settings import MODELS_PREFIX
from mlops.training import compute, gate, reference
from mlops.training.runs import STATUS_SUCCEEDED, RunStore

# ONNX answers must match scikit-learn's. Probabilities, in [0, 1], by an absolute tolerance.
# Regression values are float32 in ONNX (about 7 significant digits): |diff| <= ATOL + RTOL * scale,
# the scale being the value's own size or, if larger, the mean size of the values predicted (a
# value near zero among values in the millions carries the rounding of its large terms).
PARITY_TOLERANCE = 1e-5
REGRESSION_ATOL = 1e-5
REGRESSION_RTOL = 1e-5
ONNX_OPSET = 18
CODE_DIR = Path(__file__).resolve().parent


def code_version() -> str:
    """SHA-256 over the domain package's sources: which code trained a model, without git at run time."""
    digest = hashlib.sha256()
    for path in sorted(CODE_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_pipeline(spec: ModelSpec, hyperparameters: dict[str, Any]) -> Any:
    """Imputation, scaling and one-hot encoding, then the spec's estimator; seeded."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = feature_groups(spec)
    linear = spec.training.algorithm in ("logistic_regression", "ridge")
    transformers = []
    if numeric:
        # Trees need no scaling, and skipping it keeps their split points exact in ONNX's float32.
        steps = [SimpleImputer(strategy="median"), StandardScaler()] if linear else [SimpleImputer(strategy="median")]
        transformers.append(("numeric", make_pipeline(*steps), list(range(len(numeric)))))
    if categorical:
        columns = list(range(len(numeric), len(numeric) + len(categorical)))
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), columns))
    choices = {
        "logistic_regression": (LogisticRegression, None, {"max_iter": 2000}),
        "ridge": (None, Ridge, {}),
        # Bounded depth: unbounded forests on 50k rows made 100 MB ONNX files that took a minute to export.
        "random_forest": (RandomForestClassifier, RandomForestRegressor, {"n_estimators": 100, "max_depth": 12, "n_jobs": -1}),
        "hist_gradient_boosting": (HistGradientBoostingClassifier, HistGradientBoostingRegressor, {}),
    }
    classifier, regressor, defaults = choices[spec.training.algorithm]
    estimator_class = classifier if spec.is_classification else regressor
    estimator = estimator_class(**{**defaults, **hyperparameters, "random_state": spec.training.seed})
    return Pipeline([("preprocess", ColumnTransformer(transformers)), ("estimator", estimator)])


def metrics_for(
    spec: ModelSpec, y_true: np.ndarray, labels: np.ndarray, scores: np.ndarray | None, score_classes: list[str] | None = None
) -> dict[str, float]:
    """accuracy, F1, ROC AUC and log loss for classifiers; RMSE, MAE and R2 for regressors.

    `score_classes` names the columns of `scores` (the model's classes). A split may lack a class
    the model knows (a rare one): log loss is taken over the model's classes, and ROC AUC, which
    needs every class present, is left out rather than computed wrong.
    """
    from sklearn import metrics as m

    if not spec.is_classification:
        return {
            "rmse": float(np.sqrt(m.mean_squared_error(y_true, labels))),
            "mae": float(m.mean_absolute_error(y_true, labels)),
            "r2": float(m.r2_score(y_true, labels)),
        }
    classes = sorted(set(y_true) | set(labels))
    result = {"accuracy": float(m.accuracy_score(y_true, labels))}
    if spec.target.task == "binary":
        positive = spec.target.classes[1] if spec.target.classes else classes[-1]
        result["f1"] = float(m.f1_score(y_true, labels, pos_label=positive, zero_division=0))
    else:
        result["f1"] = float(m.f1_score(y_true, labels, average="macro", zero_division=0))
    columns = list(score_classes) if score_classes is not None else sorted(set(y_true))
    if scores is not None and len(set(y_true)) > 1 and set(y_true) <= set(columns) and scores.shape[1] == len(columns):
        result["log_loss"] = float(m.log_loss(y_true, np.clip(scores, 1e-15, 1), labels=columns))
        if set(y_true) == set(columns):
            if spec.target.task == "binary":
                result["roc_auc"] = float(m.roc_auc_score(y_true == positive, scores[:, columns.index(positive)]))
            else:
                result["roc_auc"] = float(m.roc_auc_score(y_true, scores, multi_class="ovr", labels=columns))
    return result


def _fit(state: dict[str, Any], s3: Any, hyperparameters: dict[str, Any]) -> tuple[Any, ModelSpec]:
    spec = ModelSpec.model_validate(state["spec"])
    inputs, y = load_split(s3, state["dataset"]["bucket"], state["splits"]["train"]["key"], spec)
    return build_pipeline(spec, hyperparameters).fit(as_matrix(inputs), y), spec


def fit_final(state: dict[str, Any], s3: Any) -> tuple[Any, dict[str, Any]]:
    """The spec's pipeline fitted on the train split (with the best trial's parameters after a
    search), and what to record of it. The Lambda step and the SageMaker job both call this."""
    started = time.monotonic()
    spec = ModelSpec.model_validate(state["spec"])
    hyperparameters = {**spec.training.hyperparameters, **state.get("best_trial", {}).get("hyperparameters", {})}
    model, _ = _fit(state, s3, hyperparameters)
    return model, {
        "algorithm": spec.training.algorithm,
        "hyperparameters": hyperparameters,
        "seconds": round(time.monotonic() - started, 3),
    }


def record_training(
    state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore, estimator: bytes, trained: dict[str, Any]
) -> dict[str, Any]:
    """Keeps the fitted estimator for the export step and records the fit on the run."""
    spec = ModelSpec.model_validate(state["spec"])
    key = f"runs/{state['run_id']}/estimator.pkl"
    # Pickle only crosses between this pipeline's own steps, inside its own bucket.
    s3.put_object(Bucket=artifacts_bucket, Key=key, Body=estimator)
    trained = {**trained, "estimator_key": key}
    runs.record_step(state["run_id"], "train", trained)
    runs.set_params(state["run_id"], {"algorithm": spec.training.algorithm, **trained["hyperparameters"], "seed": spec.training.seed})
    return {**state, "training": trained}


def train(state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore) -> dict[str, Any]:
    """The Lambda path: fits the model in this function."""
    model, trained = fit_final(state, s3)
    return record_training(state, s3, artifacts_bucket, runs, pickle.dumps(model), {**trained, "compute": compute.LAMBDA})


def fit_trial(state: dict[str, Any], hyperparameters: dict[str, Any], s3: Any) -> dict[str, Any]:
    """One search candidate fitted on the train split and scored on the validation split."""
    started = time.monotonic()
    spec = ModelSpec.model_validate(state["spec"])
    merged = {**spec.training.hyperparameters, **hyperparameters}
    model, _ = _fit(state, s3, merged)
    inputs, y = load_split(s3, state["dataset"]["bucket"], state["splits"]["validation"]["key"], spec)
    matrix = as_matrix(inputs)
    scores = model.predict_proba(matrix) if spec.is_classification else None
    scored = metrics_for(spec, y, model.predict(matrix), scores, [str(c) for c in model.classes_] if scores is not None else None)
    return {"hyperparameters": merged, "metrics": scored, "seconds": round(time.monotonic() - started, 3)}


def record_trial(
    state: dict[str, Any], index: int, hyperparameters: dict[str, Any], fitted: dict[str, Any], runs: RunStore
) -> dict[str, Any]:
    """A search candidate tracked as a run of its own (parent: the pipeline's run)."""
    spec = ModelSpec.model_validate(state["spec"])
    trial_id = f"{state['run_id']}-trial-{index}"
    runs.start(trial_id, state["model"], trigger={"type": "search", "parent": state["run_id"], "trial": index})
    runs.set_params(trial_id, {"algorithm": spec.training.algorithm, **fitted["hyperparameters"]})
    detail = {"seconds": fitted["seconds"], "validation_metrics": fitted["metrics"], "compute": fitted.get("compute", compute.LAMBDA)}
    if "job" in fitted:  # fitted by a SageMaker job (mlops.training.training_jobs)
        detail["job"] = fitted["job"]
    runs.record_step(trial_id, "train", detail)
    runs.set_metrics(trial_id, fitted["metrics"])
    runs.finish(trial_id, STATUS_SUCCEEDED)
    return {"index": index, "run_id": trial_id, "hyperparameters": hyperparameters, "metrics": fitted["metrics"]}


def train_trial(event: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """The Lambda path of one search candidate (an iteration of the pipeline's Map state)."""
    state, index, hyperparameters = event["state"], event["index"], event["hyperparameters"]
    return record_trial(state, index, hyperparameters, fit_trial(state, hyperparameters, s3), runs)


def select_trial(state: dict[str, Any], runs: RunStore) -> dict[str, Any]:
    """The best trial by the gate's primary metric on the validation split."""
    spec = ModelSpec.model_validate(state["spec"])
    metric = gate.primary_metric(spec)
    ranked = sorted(state["trials"], key=lambda t: -gate.improvement(metric, t["metrics"][metric], 0.0))
    best = ranked[0]
    runs.record_step(state["run_id"], "search", {"metric": metric, "best": best["run_id"], "trials": [t["run_id"] for t in ranked]})
    return {**{k: v for k, v in state.items() if k != "trials"}, "best_trial": best}


def export_onnx(state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore) -> dict[str, Any]:
    """Converts pipeline and preprocessing; refuses a model whose ONNX answers differ from scikit-learn's."""
    import onnxruntime

    spec = ModelSpec.model_validate(state["spec"])
    model = pickle.loads(s3.get_object(Bucket=artifacts_bucket, Key=state["training"]["estimator_key"])["Body"].read())
    inputs, _ = load_split(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"], spec)
    onnx_bytes, input_names = to_onnx_bytes(model, spec)
    outputs = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(None, inputs)
    matrix = as_matrix(inputs)
    parity = parity_of(spec, model, matrix, outputs)
    if not parity["passed"]:
        raise ValueError(
            f"ONNX parity failed: max difference {parity['max_abs_diff']:.2e} (relative {parity['max_rel_diff']:.2e}), "
            f"labels equal: {parity['labels_equal']}"
        )
    artifact = {
        **place_model(state, s3, artifacts_bucket, onnx_bytes, input_names),
        "parity_max_abs_diff": parity["max_abs_diff"],
        "parity_max_rel_diff": parity["max_rel_diff"],
        "parity_rows": len(matrix),
        "parity_ties": parity["ties"],
    }
    runs.record_step(state["run_id"], "export", artifact)
    return {**state, "artifact": artifact}


def place_model(state: dict[str, Any], s3: Any, artifacts_bucket: str, onnx_bytes: bytes, inputs: list[str]) -> dict[str, Any]:
    """The run's ONNX model where versions keep theirs, with its SHA-256 (the artifact Evaluate reads)."""
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    folder = f"{MODELS_PREFIX}{state['model']}/{state['run_id']}"
    s3.put_object(Bucket=artifacts_bucket, Key=f"{folder}/model.onnx", Body=onnx_bytes, Metadata={"sha256": sha})
    return {
        "bucket": artifacts_bucket,
        "key": f"{folder}/model.onnx",
        "sha256": sha,
        "inputs": inputs,
        "card_key": f"{folder}/model_card.json",
    }


def to_onnx_bytes(model: Any, spec: ModelSpec) -> tuple[bytes, list[str]]:
    """The fitted pipeline, preprocessing included, as ONNX with the model_inputs contract."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    numeric, categorical = feature_groups(spec)
    initial_types = [(NUMERIC_INPUT, FloatTensorType([None, len(numeric)]))] if numeric else []
    initial_types += [(CATEGORICAL_INPUT, StringTensorType([None, len(categorical)]))] if categorical else []
    # ZipMap (probabilities as a list of dicts) made batches 13x slower; classifiers emit a tensor.
    options = {id(model.named_steps["estimator"]): {"zipmap": False}} if spec.is_classification else None
    onnx_model = to_onnx(model, initial_types=initial_types, options=options, target_opset=ONNX_OPSET)
    if spec.is_classification:  # serving names the probability columns from this
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = "classes", "\x1f".join(str(c) for c in model.named_steps["estimator"].classes_)
    return onnx_model.SerializeToString(), [name for name, _ in initial_types]


def parity_of(spec: ModelSpec, model: Any, matrix: np.ndarray, outputs: list[np.ndarray]) -> dict[str, Any]:
    """How far ONNX's answers are from scikit-learn's: the largest probability (or value) gap, and
    whether labels agree wherever scikit-learn's top two classes are not tied within the tolerance
    (on a tie the arg-max is arbitrary and the two runtimes may break it differently)."""
    labels = outputs[0].ravel()
    if not len(matrix):
        return {"max_abs_diff": 0.0, "max_rel_diff": 0.0, "labels_equal": True, "ties": 0, "passed": True}
    if not spec.is_classification:
        expected = model.predict(matrix).astype(np.float64)
        diff = np.abs(labels.astype(np.float64) - expected)
        scale = np.maximum(np.abs(expected), np.abs(expected).mean())
        return {
            "max_abs_diff": float(diff.max()),
            "max_rel_diff": float((diff / np.maximum(scale, np.finfo(np.float64).tiny)).max()),
            "labels_equal": True,
            "ties": 0,
            "passed": bool((diff <= REGRESSION_ATOL + REGRESSION_RTOL * scale).all()),
        }
    expected = model.predict_proba(matrix)
    ordered = np.sort(expected, axis=1)
    decided = (ordered[:, -1] - ordered[:, -2]) > PARITY_TOLERANCE if expected.shape[1] > 1 else np.ones(len(matrix), bool)
    same = bool((labels.astype(str)[decided] == model.predict(matrix)[decided]).all())
    max_abs = float(np.abs(outputs[1] - expected).max())
    return {
        "max_abs_diff": max_abs,
        "max_rel_diff": max_abs,
        "labels_equal": same,
        "ties": int((~decided).sum()),
        "passed": same and max_abs <= PARITY_TOLERANCE,
    }


def score_onnx(spec: ModelSpec, onnx_bytes: bytes, inputs: dict[str, np.ndarray], y: np.ndarray) -> tuple[dict[str, float], dict[str, Any]]:
    """The model's metrics on these rows, and the distribution of its predictions (the drift
    check's reference for prediction drift: labels' frequencies, or the values' bins)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    outputs = session.run(None, {name: value for name, value in inputs.items() if name in wanted})
    labels = outputs[0].ravel()
    if spec.is_classification:
        predicted = labels.astype(str)
        names, counts = np.unique(predicted, return_counts=True)
        profile = {"type": "categorical", "frequencies": {str(n): int(c) for n, c in zip(names, counts, strict=True)}}
        classes = session.get_modelmeta().custom_metadata_map["classes"].split("\x1f")
        return metrics_for(spec, y, predicted, outputs[1], classes), profile
    values = labels.astype(np.float64)
    return metrics_for(spec, y, values, None), numeric_profile(values)


def evaluate(state: dict[str, Any], s3: Any, runs: RunStore, champion: dict[str, Any] | None) -> dict[str, Any]:
    """Scores candidate and champion on the same test split and applies the spec's gate."""
    spec = ModelSpec.model_validate(state["spec"])
    artifact = state["artifact"]
    inputs, y = load_split(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"], spec)
    onnx_bytes = _read(s3, artifact["bucket"], artifact["key"])
    candidate, predictions = score_onnx(spec, onnx_bytes, inputs, y)
    champion_metrics, champion_note = None, None
    if champion is not None:
        if champion.get("inputs") == artifact["inputs"] and champion.get("feature_schema") == _schema(spec):
            onnx = _read(s3, champion["artifact"]["bucket"], champion["artifact"]["key"])
            champion_metrics, _ = score_onnx(spec, onnx, inputs, y)
        else:
            champion_note = f"champion v{champion['version']} has other features; compared on absolute gates only"
    decision = {**gate.decide(spec, candidate, champion_metrics), "test_rows": len(y)}
    if champion is not None:
        decision["champion_version"] = champion["version"]
    if champion_note:
        decision["note"] = champion_note
    runs.record_step(state["run_id"], "evaluate", {"metrics": candidate, "gate": decision})
    runs.set_metrics(state["run_id"], candidate)
    if not decision["passed"]:
        _write_card(s3, state, spec, candidate, {})
        raise GateFailed("validation gate: " + "; ".join(decision["reasons"]))
    reference_key, monitoring = reference.build(spec, onnx_bytes, s3, state, (inputs, y))
    _write_card(s3, state, spec, candidate, monitoring)
    gate_passed = {"passed": True, "metric": decision["metric"]}
    return {
        **state,
        "metrics": candidate,
        "gate": gate_passed,
        "prediction_baseline": predictions,
        "monitoring_reference_key": reference_key,
    }


def _schema(spec: ModelSpec) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": f.type} for f in spec.features]


def _write_card(s3: Any, state: dict[str, Any], spec: ModelSpec, metrics: dict[str, float], monitoring: dict[str, Any]) -> None:
    """The model card beside the ONNX file: what it was trained on, how, how well, by which code, and
    what its checks measure against (calibration, the label-free estimate's reference)."""
    artifact = state["artifact"]
    card = {
        "model": state["model"],
        "run_id": state["run_id"],
        "dataset_version": state["dataset"]["version"],
        "spec_version": state["spec_version"],
        "task": spec.target.task,
        "target": spec.target.model_dump(mode="json"),
        "feature_schema": _schema(spec),
        "inputs": artifact["inputs"],
        "algorithm": state["training"]["algorithm"],
        "hyperparameters": state["training"]["hyperparameters"],
        **({"provided_card": state["training"]["provided_card"]} if state["training"].get("provided_card") else {}),
        **({"imported_from": state["artifact"]["source"]} if "source" in state["artifact"] else {}),
        "seed": spec.training.seed,
        "metrics": metrics,
        **monitoring,
        "onnx_sha256": artifact["sha256"],
        "code_version": code_version(),
        "created_at": now_iso(),
    }
    s3.put_object(Bucket=artifact["bucket"], Key=artifact["card_key"], Body=json.dumps(card, indent=1).encode())


def _read(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
