"""Training and export benchmark: each algorithm on 50,000 rows x 20 features (18 numeric, 2 categorical).

Times the training image's real code (build_pipeline, fit, to_onnx_bytes) and reports the ONNX
parity on 10,000 held-out rows: the largest probability (or value) difference from scikit-learn and
whether every label agrees. Usage: python bench/training.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from mlops.data.spec import ModelSpec  # noqa: E402
from mlops.serving.model_inputs import as_matrix  # noqa: E402
from mlops.training.trainer import build_pipeline, parity_of, to_onnx_bytes  # noqa: E402

N_NUMERIC, CATEGORIES = 18, ["a", "b", "c", "d", "e"]
ALGORITHMS = {
    "binary": ["logistic_regression", "random_forest", "hist_gradient_boosting"],
    "regression": ["ridge", "random_forest", "hist_gradient_boosting"],
}


def spec(task: str, algorithm: str) -> ModelSpec:
    features = [{"name": f"x{i}", "type": "numeric", "nullable": True} for i in range(N_NUMERIC)]
    features += [{"name": f"c{i}", "type": "categorical"} for i in range(2)]
    target = {"name": "y", "task": task, **({"classes": ["0", "1"]} if task == "binary" else {})}
    return ModelSpec.model_validate({"target": target, "features": features, "training": {"algorithm": algorithm}})


def data(rows: int, task: str, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, N_NUMERIC)).astype(np.float32)
    numeric[rng.random((rows, N_NUMERIC)) < 0.01] = np.nan
    categorical = rng.choice(CATEGORIES, size=(rows, 2))
    signal = np.nan_to_num(numeric[:, :5]).sum(axis=1) + (categorical[:, 0] == "a") * 1.5 + rng.normal(scale=0.5, size=rows)
    y = (signal > 0).astype(int).astype(str) if task == "binary" else signal
    return {"numeric": numeric, "categorical": categorical}, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    import onnxruntime

    lines = ["| task | algorithm | fit s | export s | max abs diff | labels equal | ties |"]
    lines.append("| --- | --- | ---: | ---: | ---: | --- | ---: |")
    for task, algorithms in ALGORITHMS.items():
        train_inputs, y = data(args.rows, task, seed=1)
        test_inputs, _ = data(10_000, task, seed=2)
        for algorithm in algorithms:
            model_spec = spec(task, algorithm)
            started = time.perf_counter()
            model = build_pipeline(model_spec, {}).fit(as_matrix(train_inputs), y)
            fitted = time.perf_counter()
            onnx_bytes, _ = to_onnx_bytes(model, model_spec)
            exported = time.perf_counter()
            outputs = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(None, test_inputs)
            result = parity_of(model_spec, model, as_matrix(test_inputs), outputs)
            lines.append(
                f"| {task} | {algorithm} | {fitted - started:.2f} | {exported - fitted:.2f} | "
                f"{result['max_abs_diff']:.1e} | {result['labels_equal']} | {result['ties']} |"
            )
            print(lines[-1], flush=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "training.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
