"""Models trained elsewhere (POST /models/{model}/versions) in moto: converted outside the platform with
skl2onnx's own defaults, checked against the spec, scored and gated like a trained model."""

import boto3
import numpy as np
import pytest

from mlops.registry.releases import version_record
from mlops.serving.model_inputs import as_matrix, load_split
from mlops.shared.errors import ModelRejected
from mlops.training import imports, trainer
from tests.integration.conftest import ARTIFACTS, BUCKET
from tests.integration.test_training import spec_for, state_for


def trained_elsewhere(spec, state: dict, zipmap: bool = False, numeric_width: int | None = None) -> bytes:
    """What a team would bring: scikit-learn fitted in its own notebook, converted by skl2onnx."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    inputs, y = load_split(boto3.client("s3"), BUCKET, state["splits"]["train"]["key"], spec)
    estimator = GradientBoostingClassifier(random_state=0) if spec.is_classification else GradientBoostingRegressor(random_state=0)
    preprocess = ColumnTransformer([("n", SimpleImputer(), [0, 1]), ("c", OneHotEncoder(handle_unknown="ignore"), [2])])
    model = Pipeline([("p", preprocess), ("m", estimator)]).fit(as_matrix(inputs), y)
    types = [("numeric", FloatTensorType([None, numeric_width or 2])), ("categorical", StringTensorType([None, 1]))]
    options = {id(estimator): {"zipmap": zipmap}} if spec.is_classification else None
    return to_onnx(model, initial_types=types, options=options, target_opset=18).SerializeToString()


def imported_state(runs, spec, run_id: str, onnx_bytes: bytes, task: str) -> dict:
    state = state_for(spec, run_id, task)
    key = f"imports/m/{run_id}.onnx"
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key=key, Body=onnx_bytes)
    runs.start(run_id, "m", {})
    return {**state, "import": {"artifact_key": key, "metrics": {"auc": 0.97}, "model_card": {"team": "fraud"}}}


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_model_converted_elsewhere_is_checked_scored_and_registered_like_a_trained_one(runs, task):
    spec = spec_for(task, "hist_gradient_boosting")
    state = state_for(spec, "elsewhere-data", task)
    state = imported_state(runs, spec, "imported", trained_elsewhere(spec, state), task)
    state = imports.import_model(state, boto3.client("s3"), ARTIFACTS, runs)
    assert state["artifact"]["key"] == "models/m/imported/model.onnx" and state["artifact"]["inputs"] == ["numeric", "categorical"]
    evaluated = trainer.evaluate(state, boto3.client("s3"), runs, champion=None)
    primary = "roc_auc" if task == "binary" else "r2"
    assert evaluated["metrics"][primary] > 0.8
    record = version_record(evaluated)
    assert record["origin"] == "imported" and record["artifact"]["sha256"] == state["artifact"]["sha256"]
    card = runs.get("imported")["steps"]["import"]
    assert card["reported_metrics"] == {"auc": 0.97} and card["source"]["key"] == "imports/m/imported.onnx"


def test_a_classifier_without_classes_in_its_metadata_gets_the_specs(runs):
    spec = spec_for("binary", "hist_gradient_boosting")
    state = state_for(spec, "classes-data", "binary")
    onnx_bytes = trained_elsewhere(spec, state)
    conformed, _ = imports.conform(spec, onnx_bytes)
    import onnxruntime

    metadata = onnxruntime.InferenceSession(conformed, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert metadata["classes"].split("\x1f") == ["neg", "pos"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"zipmap": True}, "outputs: a classifier answers labels, then a float tensor"),
        ({"numeric_width": 5}, "inputs.numeric: expected tensor(float) of shape [rows, 2]"),
    ],
)
def test_a_model_that_does_not_fit_the_spec_is_refused_naming_what_differs(runs, change, message):
    spec = spec_for("binary", "hist_gradient_boosting")
    state = state_for(spec, "refused-data", "binary")
    if "numeric_width" in change:
        with pytest.raises(ModelRejected, match=message.split(":")[0]):
            imports.conform(spec, _with_declared_width(trained_elsewhere(spec, state), change["numeric_width"]))
        return
    with pytest.raises(ModelRejected, match=message):
        imports.conform(spec, trained_elsewhere(spec, state, **change))


def _with_declared_width(onnx_bytes: bytes, width: int) -> bytes:
    """The same graph, its numeric input declared wider than the spec's numeric features."""
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    (numeric,) = [i for i in model.graph.input if i.name == "numeric"]
    numeric.type.tensor_type.shape.dim[1].dim_value = width
    return model.SerializeToString()


def test_a_file_that_is_not_a_model_is_refused(runs):
    with pytest.raises(ModelRejected, match="artifact_key: not an ONNX model"):
        imports.conform(spec_for("binary", "hist_gradient_boosting"), b"PK\x03\x04 a zip, not a model")


def test_probabilities_that_are_not_probabilities_are_refused(runs, monkeypatch):
    spec = spec_for("binary", "hist_gradient_boosting")
    state = state_for(spec, "probability-data", "binary")
    onnx_bytes, _ = imports.conform(spec, trained_elsewhere(spec, state))
    inputs, _ = load_split(boto3.client("s3"), BUCKET, state["splits"]["test"]["key"], spec)
    import onnxruntime

    run = onnxruntime.InferenceSession.run
    monkeypatch.setattr(
        onnxruntime.InferenceSession, "run", lambda self, *a: [run(self, *a)[0], np.full((len(inputs["numeric"]), 2), 0.9, np.float32)]
    )
    with pytest.raises(ModelRejected, match="sum to 1"):
        imports.check_outputs(spec, onnx_bytes, inputs)
