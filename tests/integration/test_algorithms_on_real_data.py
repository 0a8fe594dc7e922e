"""Every algorithm on a real data set of each task, columns named as published: the pipeline fits,
exports to ONNX with its published feature names, and passes parity."""

import numpy as np
import onnxruntime
import pytest

from local.real_data import ALGORITHMS, published
from mlops.data.spec import ModelSpec
from mlops.serving.model_inputs import as_matrix
from mlops.serving.predictor import validate_records
from mlops.training import trainer

CASES = [
    (name, algorithm)
    for name, task in (("breast_cancer", "binary"), ("wine", "multiclass"), ("diabetes", "regression"))
    for algorithm in ALGORITHMS[task]
]


@pytest.mark.parametrize(("name", "algorithm"), CASES)
def test_every_algorithm_fits_exports_and_passes_parity_on_published_columns(name, algorithm):
    data = published(name)
    spec = ModelSpec.model_validate(data.spec(algorithm))
    x = np.array([row[:-1] for row in data.rows], dtype=np.float32)
    y = np.array([row[-1] for row in data.rows])
    model = trainer.build_pipeline(spec, spec.training.hyperparameters).fit(as_matrix({"numeric": x}), y)
    onnx_bytes, _ = trainer.to_onnx_bytes(model, spec)
    outputs = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(None, {"numeric": x})
    parity = trainer.parity_of(spec, model, as_matrix({"numeric": x}), outputs)
    assert parity["passed"], parity
    # A record keyed by the published names validates as serving would take it
    records, _ = data.records(3)
    assert len(validate_records(spec, records)) == 3
