"""The label-free estimate on real data sets, through the platform's own steps in moto: a model
trained, exported and evaluated as the pipeline does (which measures its calibration or fits its
loss models), served rows captured with their feedback, and the scheduled check that reads them.

A third of each published data set is kept out of training as the traffic; a real covariate
shift is a slice of it by a published feature, as a new population of patients would arrive."""

import io
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import onnxruntime
import pytest

from local.real_data import published
from mlops.data.preparation import split_rows
from mlops.data.spec import ModelSpec
from mlops.monitoring import estimation
from mlops.monitoring.checks import ModelChecker
from mlops.registry.releases import version_record
from mlops.serving import capture_reader
from mlops.serving.model_inputs import to_inputs
from mlops.training import trainer
from tests.integration.conftest import ARTIFACTS, BUCKET

CAPTURE = "capture"
MONITORING = {"drift": {"min_samples": 30}, "performance": {"min_samples": 30, "estimate_min_samples": 30}}


def trained(runs, name: str, algorithm: str) -> tuple[ModelSpec, dict, list[list]]:
    """Two thirds through the pipeline's prepare, train, export and evaluate; the rest returned as traffic."""
    data = published(name)
    spec = ModelSpec.model_validate({**data.spec(algorithm), "monitoring": MONITORING})
    order = np.random.default_rng(3).permutation(len(data.rows))
    kept, traffic = [data.rows[i] for i in order[: len(order) * 2 // 3]], [data.rows[i] for i in order[len(order) * 2 // 3 :]]
    table = [[repr(float(v)) for v in row[:-1]] + [str(row[-1])] for row in kept]
    report = {"labels": Counter(row[-1] for row in table), "rows": {"valid": len(table)}}
    files = {split: io.StringIO() for split in ("train", "validation", "test")}
    counts, baseline = split_rows(spec, report, table, files)
    s3 = boto3.client("s3")
    splits = {}
    for split, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"versions/{name}/{split}.csv", Body=body.getvalue().encode())
        splits[split] = {"key": f"versions/{name}/{split}.csv", "rows": counts[split]}
    s3.put_object(Bucket=BUCKET, Key=f"versions/{name}/baseline.json", Body=json.dumps(baseline).encode())
    state = {
        "run_id": f"{name}-1",
        "model": name,
        "spec": spec.model_dump(mode="json"),
        "spec_version": 1,
        "dataset": {"bucket": BUCKET, "key": f"versions/{name}/data.csv", "version": "v1"},
        "splits": splits,
        "baseline_key": f"versions/{name}/baseline.json",
    }
    runs.start(state["run_id"], name, {})
    state = trainer.train(state, s3, ARTIFACTS, runs)
    state = trainer.export_onnx(state, s3, ARTIFACTS, runs)
    return spec, trainer.evaluate(state, s3, runs, None), traffic


def serve(spec: ModelSpec, state: dict, name: str, rows: list[list], at: datetime) -> dict[str, float]:
    """The champion's answers to these rows captured as serving writes them, each with its feedback;
    returns the metrics those labels give (the realized ones)."""
    s3, features = boto3.client("s3"), [f.name for f in spec.features]
    body = s3.get_object(Bucket=ARTIFACTS, Key=state["artifact"]["key"])["Body"].read()
    session = onnxruntime.InferenceSession(body, providers=["CPUExecutionProvider"])
    outputs = session.run(None, to_inputs(spec, [[repr(float(v)) for v in row[:-1]] + [""] for row in rows]))
    lines = []
    for i, row in enumerate(rows):
        prediction_id = uuid.uuid4().hex
        if spec.is_classification:
            classes = spec.target.classes
            answer = {"label": str(outputs[0][i]), "probabilities": {c: float(p) for c, p in zip(classes, outputs[1][i], strict=True)}}
        else:
            answer = {"value": float(outputs[0].ravel()[i])}
        moment = (at + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
        inputs = [dict(zip(features, row[:-1], strict=True))]
        lines.append({"kind": "prediction", "prediction_id": prediction_id, "model": name, "version": 1, "variant": "champion"})
        lines[-1] |= {"at": moment, "first_index": 0, "inputs": inputs, "outputs": [answer]}
        lines.append({"kind": "feedback", "prediction_id": prediction_id, "index": 0, "model": name, "actual": row[-1], "at": moment})
    key = f"{capture_reader.hour_prefixes(name, at, at)[0]}{uuid.uuid4().hex}"
    s3.put_object(Bucket=CAPTURE, Key=key, Body="\n".join(json.dumps(line) for line in lines).encode())
    truth = np.asarray([row[-1] for row in rows])
    if spec.is_classification:
        return {"accuracy": float(np.mean(outputs[0].astype(str) == truth.astype(str)))}
    return {"mae": float(np.mean(np.abs(outputs[0].ravel() - truth.astype(float))))}


def checked(runs, registry, model_tables, name: str, algorithm: str, shifted) -> list[tuple[dict, dict]]:
    """(report, realized metrics) of a check of unshifted traffic, then of one of a shifted slice of
    it (each drift window starts where the last check ended)."""
    boto3.client("s3").create_bucket(Bucket=CAPTURE)
    spec, state, traffic = trained(runs, name, algorithm)
    registry.register(name, state["run_id"], version_record(state))
    checker = ModelChecker(boto3.client("s3"), registry, model_tables[0], {"capture": CAPTURE, "data": BUCKET, "artifacts": ARTIFACTS})
    start = datetime.now(UTC) + timedelta(seconds=1)
    steady = serve(spec, state, name, traffic, start)
    first = checker.run(name, spec, now=start + timedelta(minutes=1))
    moved = serve(spec, state, name, shifted(published(name), traffic), start + timedelta(minutes=2))
    return [(first, steady), (checker.run(name, spec, now=start + timedelta(minutes=3)), moved)]


def by_feature(feature: str, low: float, high: float):
    def slice_of(data, traffic: list[list]) -> list[list]:
        column = data.features.index(feature)
        values = np.asarray([row[column] for row in traffic])
        lo, hi = np.quantile(values, [low, high])
        return [row for row, value in zip(traffic, values, strict=True) if lo <= value <= hi]

    return slice_of


def estimate(report: dict, metric: str) -> float:
    return report["estimated_performance"]["metrics"][metric]["estimate"]


def test_breast_cancer_confidence_estimate_tracks_accuracy_under_a_shift_to_middling_tumours(runs, registry, model_tables):
    """Traffic moves to tumours of middling `worst radius`, where benign and malignant overlap."""
    (steady, steady_truth), (moved, moved_truth) = checked(
        runs, registry, model_tables, "breast_cancer", "logistic_regression", by_feature("worst radius", 0.35, 0.75)
    )
    # The first window's labelled accuracy is what the check itself reports beside the estimate.
    assert steady["performance"]["versions"]["1"]["live"]["accuracy"] == pytest.approx(steady_truth["accuracy"])
    for report, truth in ((steady, steady_truth), (moved, moved_truth)):
        estimated = report["estimated_performance"]
        assert estimated["method"] == "cbpe" and report["drift"]["multivariate"]["verdict"] != "not enough data"
        low, high = estimated["metrics"]["accuracy"]["interval"]
        shown = f"estimated {estimate(report, 'accuracy'):.3f} [{low:.3f}, {high:.3f}], realized {truth['accuracy']:.3f}"
        print(f"{report['drift']['rows']} rows: accuracy {shown}")
        assert low <= truth["accuracy"] <= high
    # Unshifted traffic stays near the estimate made at training on the test split (57 rows: that
    # estimate is itself uncertain by about 0.02), and is healthy
    assert abs(steady["estimated_performance"]["decay"]) < 0.03 and steady["estimated_performance"]["verdict"] == estimation.HEALTHY
    assert estimate(moved, "accuracy") < estimate(steady, "accuracy") and moved_truth["accuracy"] < steady_truth["accuracy"]


def test_diabetes_loss_estimate_tracks_the_error_of_heavier_patients(runs, registry, model_tables):
    """Traffic moves to the patients of the highest `bmi`, whose progression the model misses more."""
    (steady, steady_truth), (moved, moved_truth) = checked(runs, registry, model_tables, "diabetes", "ridge", by_feature("bmi", 0.6, 1.0))
    assert steady["performance"]["versions"]["1"]["live"]["mae"] == pytest.approx(steady_truth["mae"])
    for report, truth in ((steady, steady_truth), (moved, moved_truth)):
        estimated = report["estimated_performance"]
        assert estimated["method"] == "dle"
        low, high = estimated["metrics"]["mae"]["interval"]
        shown = f"estimated {estimate(report, 'mae'):.1f} [{low:.1f}, {high:.1f}], realized {truth['mae']:.1f}"
        print(f"{report['drift']['rows']} rows: MAE {shown}")
        assert low <= truth["mae"] <= high
    assert estimate(moved, "mae") > estimate(steady, "mae") and moved_truth["mae"] > steady_truth["mae"]
