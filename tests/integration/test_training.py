"""Train, export and evaluate on small normalized splits in moto: ONNX must agree with scikit-learn."""

import random

import boto3
import pytest

from mlops import training
from mlops.spec import ModelSpec
from tests.integration.conftest import ARTIFACTS, BUCKET


def spec_for(task: str, algorithm: str) -> ModelSpec:
    target = {"name": "label", "task": task, **({"classes": ["neg", "pos"]} if task == "binary" else {})}
    features = [
        {"name": "x1", "type": "numeric"},
        {"name": "x2", "type": "numeric", "nullable": True},
        {"name": "c", "type": "categorical"},
    ]
    return ModelSpec.model_validate({"target": target, "features": features, "training": {"algorithm": algorithm}})


def put_split(name: str, rows: list[list[str]]) -> dict:
    body = "x1,x2,c,label\n" + "".join(",".join(row) + "\n" for row in rows)
    key = f"versions/m/v/seed-1/{name}.csv"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return {"key": key, "rows": len(rows)}


def table(n: int, seed: int, task: str) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        label = repr(round(3 * x1 - x2, 4)) if task == "regression" else ("pos" if x1 + x2 > 0 else "neg")
        rows.append([repr(x1), "" if i % 17 == 0 else repr(x2), rng.choice(["a", "b"]), label])
    return rows


def run_heavy_steps(runs, task: str, algorithm: str) -> dict:
    s3 = boto3.client("s3")
    spec = spec_for(task, algorithm)
    state = {
        "run_id": "r1",
        "model": "m",
        "spec": spec.model_dump(mode="json"),
        "dataset": {"bucket": BUCKET, "key": "versions/m/v/data.csv", "version": "v"},
        "splits": {"train": put_split("train", table(300, 1, task)), "test": put_split("test", table(80, 2, task))},
    }
    runs.start("r1", "m", {})
    state = training.train(state, s3, ARTIFACTS, runs)
    state = training.export_onnx(state, s3, ARTIFACTS, runs)
    return training.evaluate(state, s3, runs)


@pytest.mark.parametrize("algorithm", ["logistic_regression", "random_forest", "hist_gradient_boosting"])
def test_a_classifier_is_exported_with_parity_and_scored(runs, algorithm):
    state = run_heavy_steps(runs, "binary", algorithm)
    assert state["training"]["unused_features"] == ["c"]
    assert state["artifact"]["parity_max_abs_diff"] <= training.PARITY_TOLERANCE
    assert state["metrics"]["accuracy"] > 0.85
    stored = boto3.client("s3").head_object(Bucket=ARTIFACTS, Key=state["artifact"]["key"])
    assert stored["Metadata"]["sha256"] == state["artifact"]["sha256"]


def test_a_regressor_is_exported_with_parity_and_scored(runs):
    state = run_heavy_steps(runs, "regression", "ridge")
    assert state["metrics"]["rmse"] < 0.2
