"""Cold start: a fresh process to its first prediction, ours vs scikit-learn + joblib, same model.

The model is a 100-tree, depth-10 random forest on 20 numeric features, saved twice: as ONNX by
the platform's own exporter, and with joblib. Each side runs in a fresh interpreter, alternating,
timed from spawn to the printed answer:

- ours: what the serving Lambda does on a cold start: import its handler module (the API, with
  Powertools, pydantic and boto3), then load the ONNX session (onnxruntime, numpy) and answer one
  record through the same code path as /predict (validate, to inputs, run).
- peer: import scikit-learn and joblib, load the pickle, predict_proba one row.

Usage: python bench/cold_start.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
N_FEATURES = 20

from mlops.api import REQUIRED_ENVIRONMENT  # noqa: E402 - after the path is set

# The API function's cold start checks that its variables are set; their values are not used here.
API_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", **{name: "bench" for name in REQUIRED_ENVIRONMENT}}

OURS = """
import sys
sys.path[:0] = [{functions!r}]
import handlers.handle_api  # the module Lambda imports on a cold start
import onnxruntime
from mlops.serving.predictor import run_session, validate_records
from mlops.data.spec import ModelSpec
spec = ModelSpec.model_validate({spec!r})
session = onnxruntime.InferenceSession(open({onnx!r}, "rb").read(), providers=["CPUExecutionProvider"])
record = {{f"x{{i}}": 0.1 * i for i in range({n})}}
print(run_session(session, spec, validate_records(spec, [record]))[0]["label"])
"""

PEER = """
import joblib
import numpy as np
model = joblib.load({pickle!r})
print(model.predict_proba(np.array([[0.1 * i for i in range({n})]]))[0][1])
"""


def spec_document() -> dict:
    return {
        "target": {"name": "y", "task": "binary", "classes": ["0", "1"]},
        "features": [{"name": f"x{i}", "type": "numeric"} for i in range(N_FEATURES)],
        "training": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 100, "max_depth": 10}},
    }


def build_models(folder: Path) -> tuple[Path, Path]:
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from mlops.data.spec import ModelSpec
    from mlops.serving.model_inputs import as_matrix
    from mlops.training.trainer import build_pipeline, to_onnx_bytes

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, N_FEATURES)).astype(np.float32)
    y = (x[:, :4].sum(axis=1) > 0).astype(int)
    spec = ModelSpec.model_validate(spec_document())
    ours = build_pipeline(spec, spec.training.hyperparameters).fit(as_matrix({"numeric": x}), y.astype(str))
    onnx_path, pickle_path = folder / "model.onnx", folder / "model.joblib"
    onnx_path.write_bytes(to_onnx_bytes(ours, spec)[0])
    peer = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(x, y)
    joblib.dump(peer, pickle_path)
    return onnx_path, pickle_path


def timed(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env={**os.environ, **API_ENVIRONMENT})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        onnx_path, pickle_path = build_models(Path(workdir))
        ours_code = OURS.format(functions=str(ROOT / "functions"), spec=spec_document(), onnx=str(onnx_path), n=N_FEATURES)
        peer_code = PEER.format(pickle=str(pickle_path), n=N_FEATURES)
        timed(ours_code), timed(peer_code)  # warm the OS file cache for both, unmeasured
        ours, peer = [], []
        for _ in range(args.repeats):
            ours.append(timed(ours_code))
            peer.append(timed(peer_code))
    o, p = statistics.median(ours), statistics.median(peer)
    print("| path | median to first prediction | ratio |\n| --- | ---: | ---: |")
    print(f"| ours: serving handler imports + ONNX session + first record | {o * 1000:.0f} ms | {o / p:.2f} of the peer |")
    print(f"| peer: scikit-learn + joblib load + predict_proba | {p * 1000:.0f} ms | |")


if __name__ == "__main__":
    main()
