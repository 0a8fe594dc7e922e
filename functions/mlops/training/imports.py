"""Models trained elsewhere: an ONNX file registered through POST /models/{model}/versions.

The pipeline runs as for a training run up to the splits, then this step stands in for search,
training and export: it checks the file against the spec's model contract (mlops.serving.model_inputs:
a float32 `numeric` input and a string `categorical` input, one column per feature of each kind in
spec order; a classifier's labels and a [rows, classes] probability tensor, its classes named in the
model's metadata or by the spec; a regressor's values), runs it on the test split, and places it
where exports go. Evaluate then scores it and applies the same gate against the champion, and
Register and the rollout treat it as any other version.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from mlops.data.spec import ModelSpec
from mlops.serving.model_inputs import CATEGORICAL_INPUT, NUMERIC_INPUT, feature_groups, load_split
from mlops.shared.errors import ModelRejected
from mlops.shared.settings import MAX_IMPORT_BYTES
from mlops.training import trainer
from mlops.training.runs import RunStore

CLASSES_METADATA = "classes"
PROBABILITY_SUM_TOLERANCE = 1e-3
ONNX_TYPES = {NUMERIC_INPUT: "tensor(float)", CATEGORICAL_INPUT: "tensor(string)"}


def import_model(state: dict[str, Any], s3: Any, artifacts_bucket: str, runs: RunStore) -> dict[str, Any]:
    """Checks the registered file, gives it the platform's metadata and places it as an export."""
    spec = ModelSpec.model_validate(state["spec"])
    request = state["import"]
    source_key = request["artifact_key"]
    head = s3.head_object(Bucket=artifacts_bucket, Key=source_key)
    if head["ContentLength"] > MAX_IMPORT_BYTES:
        raise ModelRejected(f"artifact_key: {source_key} is {head['ContentLength']} bytes, over the {MAX_IMPORT_BYTES}-byte limit")
    source = s3.get_object(Bucket=artifacts_bucket, Key=source_key)["Body"].read()
    onnx_bytes, inputs = conform(spec, source)
    inputs_rows, _ = load_split(s3, state["dataset"]["bucket"], state["splits"]["test"]["key"], spec)
    check_outputs(spec, onnx_bytes, inputs_rows)
    artifact = {
        **trainer.place_model(state, s3, artifacts_bucket, onnx_bytes, inputs),
        "source": {"key": source_key, "sha256": hashlib.sha256(source).hexdigest(), "bytes": len(source)},
    }
    training = {
        "algorithm": "external",
        "hyperparameters": {},
        "compute": "external",
        "reported_metrics": request.get("metrics", {}),
        "provided_card": request.get("model_card", {}),
    }
    runs.record_step(state["run_id"], "import", {**artifact, "reported_metrics": training["reported_metrics"]})
    runs.set_params(state["run_id"], {"algorithm": "external", "source_key": source_key})
    return {**state, "training": training, "artifact": artifact}


def conform(spec: ModelSpec, onnx_bytes: bytes) -> tuple[bytes, list[str]]:
    """The model's inputs and outputs against the spec; a classifier's classes written into its
    metadata when only the spec names them (serving reads them from there). Raises ModelRejected
    naming what differs."""
    import onnx
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own types for a file that is not a model
        raise ModelRejected(f"artifact_key: not an ONNX model onnxruntime can load ({type(error).__name__}: {error})") from error
    numeric, categorical = feature_groups(spec)
    expected = {name: width for name, width in ((NUMERIC_INPUT, len(numeric)), (CATEGORICAL_INPUT, len(categorical))) if width}
    found = {i.name: i for i in session.get_inputs()}
    if set(found) != set(expected):
        raise ModelRejected(f"inputs: the spec's features need {sorted(expected)}, the model has {sorted(found)}")
    for name, width in expected.items():
        kind, shape = found[name].type, found[name].shape
        # [rows, columns]; a symbolic width (a name, or None) fits, a number must be the spec's.
        fixed_width = len(shape) == 2 and isinstance(shape[1], int)
        if kind != ONNX_TYPES[name] or len(shape) != 2 or fixed_width and shape[1] != width:
            raise ModelRejected(f"inputs.{name}: expected {ONNX_TYPES[name]} of shape [rows, {width}], the model has {kind} {shape}")
    outputs = session.get_outputs()
    if spec.is_classification:
        if len(outputs) < 2 or outputs[1].type != "tensor(float)":
            raise ModelRejected("outputs: a classifier answers labels, then a float tensor of probabilities [rows, classes] (no ZipMap)")
        classes = session.get_modelmeta().custom_metadata_map.get(CLASSES_METADATA)
        if classes is None:
            if not spec.target.classes:
                raise ModelRejected(
                    "metadata.classes: name the probability columns in the model's metadata or in the spec's target.classes"
                )
            model = onnx.load_from_string(onnx_bytes)
            entry = model.metadata_props.add()
            entry.key, entry.value = CLASSES_METADATA, "\x1f".join(spec.target.classes)
            onnx_bytes = model.SerializeToString()
    elif not outputs or outputs[0].type not in ("tensor(float)", "tensor(double)"):
        raise ModelRejected("outputs: a regressor answers its values as its first output, a float tensor")
    return onnx_bytes, [name for name in (NUMERIC_INPUT, CATEGORICAL_INPUT) if name in expected]


def check_outputs(spec: ModelSpec, onnx_bytes: bytes, inputs: dict[str, np.ndarray]) -> None:
    """Runs the model on the test split: finite answers, probabilities that are probabilities, labels
    among its classes."""
    import onnxruntime

    from mlops.serving.predictor import model_classes

    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    try:
        outputs = session.run(None, inputs)
    except Exception as error:
        raise ModelRejected(f"artifact_key: the model fails on the test split ({type(error).__name__}: {error})") from error
    rows = len(next(iter(inputs.values())))
    if not spec.is_classification:
        values = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        if len(values) != rows or not np.isfinite(values).all():
            raise ModelRejected(f"outputs: {rows} finite values expected for the test split, got {len(values)} values")
        return
    classes = model_classes(session) or []
    probabilities = np.asarray(outputs[1], dtype=np.float64)
    if probabilities.shape != (rows, len(classes)):
        raise ModelRejected(
            f"outputs: probabilities of shape [{rows}, {len(classes)}] expected (classes {classes}), got {list(probabilities.shape)}"
        )
    sums = probabilities.sum(axis=1)
    if not np.isfinite(probabilities).all() or (probabilities < 0).any() or (np.abs(sums - 1) > PROBABILITY_SUM_TOLERANCE).any():
        raise ModelRejected("outputs: probabilities must lie in [0, 1] and sum to 1 on every row of the test split")
    unknown = set(np.asarray(outputs[0]).astype(str).reshape(-1)) - set(classes)
    if unknown:
        raise ModelRejected(f"outputs: labels {sorted(unknown)[:5]} are not among the model's classes {classes}")
