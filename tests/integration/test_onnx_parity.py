"""ONNX parity fitted to the output: regression values within atol + rtol * scale at any scale of the
target (float32 in ONNX carries about 7 significant digits), probabilities by an absolute tolerance."""

import numpy as np
import onnxruntime
import pytest

from mlops.data.spec import ModelSpec
from mlops.serving.model_inputs import as_matrix
from mlops.training import trainer

N_FEATURES = 6


def regression_spec(algorithm: str) -> ModelSpec:
    features = [{"name": f"x{i}", "type": "numeric"} for i in range(N_FEATURES)]
    return ModelSpec.model_validate(
        {"target": {"name": "y", "task": "regression"}, "features": features, "training": {"algorithm": algorithm}}
    )


def fitted_onnx(spec: ModelSpec, scale: float, seed: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, N_FEATURES)).astype(np.float32)
    # A target in the scale's units, offset so that it is not centred on zero (as prices or counts are)
    y = scale * (3 + x[:, 0] - 0.5 * x[:, 1] * x[:, 2] + 0.2 * rng.normal(size=len(x)))
    model = trainer.build_pipeline(spec, spec.training.hyperparameters).fit(as_matrix({"numeric": x}), y)
    onnx_bytes, _ = trainer.to_onnx_bytes(model, spec)
    outputs = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(None, {"numeric": x})
    return model, as_matrix({"numeric": x}), outputs


@pytest.mark.parametrize("algorithm", ["ridge", "random_forest", "hist_gradient_boosting"])
@pytest.mark.parametrize("scale", [1e-3, 1e2, 1e6])
def test_regression_parity_holds_at_every_scale_of_the_target(algorithm, scale):
    # Given a regressor and its ONNX export, on a target around 3 x scale
    spec = regression_spec(algorithm)
    model, matrix, outputs = fitted_onnx(spec, scale)

    # When their answers are compared
    parity = trainer.parity_of(spec, model, matrix, outputs)

    # Then they agree within the relative tolerance, and the run records both differences
    assert parity["passed"], parity
    assert parity["max_rel_diff"] <= trainer.REGRESSION_RTOL + trainer.REGRESSION_ATOL / (3 * scale) * 10
    assert parity["max_abs_diff"] >= 0 and "max_rel_diff" in parity


def test_a_real_difference_still_fails_parity():
    # Given an export whose answers are off by one part in ten thousand
    spec = regression_spec("ridge")
    model, matrix, outputs = fitted_onnx(spec, 1e2)
    skewed = [outputs[0] * (1 + 1e-4)]

    # Then parity refuses it
    parity = trainer.parity_of(spec, model, matrix, skewed)
    assert not parity["passed"] and parity["max_rel_diff"] > trainer.REGRESSION_RTOL
