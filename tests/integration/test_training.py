"""Train, export and evaluate on a small table in moto: the ONNX model must agree with scikit-learn."""

import random

import boto3

from mlops import training
from tests.integration.conftest import ARTIFACTS, BUCKET


def put_split(name: str, rows: list[list[float]], header=("x1", "x2", "label")) -> dict:
    body = ",".join(header) + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)
    key = f"versions/m/v/{name}.csv"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return {"key": key, "rows": len(rows)}


def table(n: int, seed: int, regression: bool = False) -> list[list[float]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        rows.append([round(x1, 4), round(x2, 4), round(3 * x1 - x2, 4) if regression else int(x1 + x2 > 0)])
    return rows


def run_heavy_steps(runs, regression: bool) -> dict:
    s3 = boto3.client("s3")
    state = {
        "run_id": "r1",
        "model": "m",
        "dataset": {"bucket": BUCKET, "key": "versions/m/v/data.csv", "version": "v"},
        "splits": {"train": put_split("train", table(200, 1, regression)), "test": put_split("test", table(50, 2, regression))},
    }
    runs.start("r1", "m", {})
    state = training.train(state, s3, ARTIFACTS, runs)
    state = training.export_onnx(state, s3, ARTIFACTS, runs)
    return training.evaluate(state, s3, runs)


def test_a_classifier_is_exported_with_parity_and_scored(runs):
    state = run_heavy_steps(runs, regression=False)
    assert state["training"]["task"] == "classification"
    assert state["artifact"]["parity_max_abs_diff"] <= training.PARITY_TOLERANCE
    assert state["metrics"]["accuracy"] > 0.9
    stored = boto3.client("s3").head_object(Bucket=ARTIFACTS, Key=state["artifact"]["key"])
    assert stored["Metadata"]["sha256"] == state["artifact"]["sha256"]


def test_a_regressor_is_exported_with_parity_and_scored(runs):
    state = run_heavy_steps(runs, regression=True)
    assert state["training"]["task"] == "regression"
    assert state["metrics"]["rmse"] < 0.01
