"""Train, search, export and evaluate on small normalized splits in moto."""

import json
import random

import boto3
import pytest

from mlops.data.spec import ModelSpec
from mlops.registry.releases import version_record
from mlops.shared.errors import GateFailed
from mlops.training import trainer
from tests.integration.conftest import ARTIFACTS, BUCKET


def spec_for(task: str, algorithm: str, **gates) -> ModelSpec:
    target = {"name": "label", "task": task, **({"classes": ["neg", "pos"]} if task == "binary" else {})}
    features = [
        {"name": "x1", "type": "numeric"},
        {"name": "x2", "type": "numeric", "nullable": True},
        {"name": "color", "type": "categorical", "categories": ["red", "green", "blue"]},
    ]
    return ModelSpec.model_validate({"target": target, "features": features, "training": {"algorithm": algorithm}, "gates": gates})


def put_split(folder: str, name: str, rows: list[list[str]]) -> dict:
    body = "x1,x2,color,label\n" + "".join(",".join(row) + "\n" for row in rows)
    key = f"versions/m/{folder}/{name}.csv"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return {"key": key, "rows": len(rows)}


def table(n: int, seed: int, task: str, noise: float = 0.0) -> list[list[str]]:
    """The label depends on x1, x2 and the color; noise flips labels at random (worse data)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        x1, x2, color = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.choice(["red", "green", "blue"])
        signal = x1 - 0.5 * x2 + (0.8 if color == "red" else 0.0)
        if task == "regression":
            label = repr(round(3 * signal, 4))
        else:
            label = "pos" if (signal > 0.3) != (rng.random() < noise) else "neg"
        rows.append([repr(x1), "" if i % 17 == 0 else repr(x2), color, label])
    return rows


def state_for(spec: ModelSpec, run_id: str, task: str, noise: float = 0.0) -> dict:
    folder = f"{run_id}-data"
    splits = {
        name: put_split(folder, name, table(n, seed, task, noise if name == "train" else 0.0))
        for name, n, seed in (("train", 400, 1), ("validation", 100, 2), ("test", 200, 3))
    }
    return {
        "run_id": run_id,
        "model": "m",
        "spec": spec.model_dump(mode="json"),
        "spec_version": 1,
        "dataset": {"bucket": BUCKET, "key": f"versions/m/{folder}/data.csv", "version": folder},
        "splits": splits,
    }


def train_export_evaluate(runs, state: dict, champion=None) -> dict:
    s3 = boto3.client("s3")
    runs.start(state["run_id"], "m", {})
    state = trainer.train(state, s3, ARTIFACTS, runs)
    state = trainer.export_onnx(state, s3, ARTIFACTS, runs)
    return trainer.evaluate(state, s3, runs, champion)


@pytest.mark.parametrize("algorithm", ["logistic_regression", "random_forest", "hist_gradient_boosting"])
def test_a_classifier_with_a_categorical_feature_exports_with_parity(runs, algorithm):
    state = train_export_evaluate(runs, state_for(spec_for("binary", algorithm), "r1", "binary"))
    assert state["artifact"]["inputs"] == ["numeric", "categorical"]
    assert state["artifact"]["parity_max_abs_diff"] <= trainer.PARITY_TOLERANCE
    assert set(state["metrics"]) == {"accuracy", "f1", "roc_auc", "log_loss"} and state["metrics"]["roc_auc"] > 0.9
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=ARTIFACTS, Key=state["artifact"]["key"])["Metadata"]["sha256"] == state["artifact"]["sha256"]
    card = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=state["artifact"]["card_key"])["Body"].read())
    assert (card["dataset_version"], card["spec_version"], card["algorithm"]) == ("r1-data", 1, algorithm)
    assert card["metrics"] == state["metrics"] and len(card["code_version"]) == 16
    assert runs.get("r1")["params"]["algorithm"] == algorithm


@pytest.mark.parametrize("algorithm", ["ridge", "random_forest", "hist_gradient_boosting"])
def test_a_regressor_exports_with_parity(runs, algorithm):
    state = train_export_evaluate(runs, state_for(spec_for("regression", algorithm), "r1", "regression"))
    assert set(state["metrics"]) == {"rmse", "mae", "r2"} and state["metrics"]["r2"] > 0.8


def test_the_same_data_and_spec_give_the_same_model(runs):
    spec = spec_for("binary", "random_forest")
    first = train_export_evaluate(runs, state_for(spec, "r1", "binary"))
    second = train_export_evaluate(runs, {**state_for(spec, "r1", "binary"), "run_id": "r2"})
    assert first["artifact"]["sha256"] == second["artifact"]["sha256"]


def test_a_worse_candidate_fails_the_gate_against_the_champion_with_the_comparison_recorded(runs):
    spec = spec_for("binary", "logistic_regression", min_improvement=0.0)
    champion_state = train_export_evaluate(runs, state_for(spec, "r1", "binary"))
    champion = {"version": 1, **version_record({**champion_state, "metrics": champion_state["metrics"]})}
    worse = state_for(spec, "r2", "binary", noise=0.45)
    with pytest.raises(GateFailed, match="roc_auc .* vs champion .*: improvement -"):
        train_export_evaluate(runs, worse, champion)
    gate = runs.get("r2")["steps"]["evaluate"]["gate"]
    assert gate["passed"] is False and gate["champion_version"] == 1
    assert gate["champion"]["roc_auc"] > gate["candidate"]["roc_auc"]


def test_absolute_thresholds_apply_without_a_champion(runs):
    spec = spec_for("binary", "logistic_regression", minimum={"roc_auc": 0.999})
    with pytest.raises(GateFailed, match="roc_auc 0.9.* is below the minimum 0.999"):
        train_export_evaluate(runs, state_for(spec, "r1", "binary"))


def test_search_trials_are_runs_of_their_own_and_the_best_goes_on(runs):
    spec = ModelSpec.model_validate(
        {
            **spec_for("binary", "random_forest").model_dump(mode="json"),
            "training": {"algorithm": "random_forest", "search": [{"max_depth": 1}, {"max_depth": 8}]},
        }
    )
    state = state_for(spec, "r1", "binary")
    runs.start("r1", "m", {})
    s3 = boto3.client("s3")
    trials = [trainer.train_trial({"state": state, "index": i, "hyperparameters": h}, s3, runs) for i, h in enumerate(spec.training.search)]
    chosen = trainer.select_trial({**state, "trials": trials}, runs)
    assert chosen["best_trial"]["hyperparameters"] == {"max_depth": 8}
    assert runs.get("r1-trial-0")["params"]["max_depth"] == 1 and runs.get("r1-trial-0")["status"] == "SUCCEEDED"
    trained = trainer.train(chosen, s3, ARTIFACTS, runs)
    assert trained["training"]["hyperparameters"]["max_depth"] == 8
