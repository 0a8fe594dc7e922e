"""A model trained elsewhere, registered through POST /models/{model}/versions in local mode: uploaded
to the artifacts bucket, checked against the spec, scored on the test split, gated against the
champion and served; a worse one is refused by the gate, a misshapen one by the check, and the
champion keeps serving."""

import copy
import csv
import io

import numpy as np
import pytest

from local.demo import CHURN_SPEC, synthetic_dataset

MODEL = "churn-imported"
SPEC = {**copy.deepcopy(CHURN_SPEC), "rollout": {"strategy": "all_at_once"}}
RECORD = {"tenure_months": 3, "monthly_charges": 80.5, "support_calls": 4, "plan": "basic"}


def convert_elsewhere(data: bytes, scramble: bool = False, zipmap: bool = False) -> bytes:
    """scikit-learn fitted and converted outside the platform, as a team would bring it."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rows = [
        r for r in csv.DictReader(io.StringIO(data.decode())) if r["plan"] in ("basic", "plus", "pro") and float(r["tenure_months"]) >= 0
    ]
    numeric = np.array(
        [[float(r["tenure_months"]), float(r["monthly_charges"] or "nan"), float(r["support_calls"])] for r in rows], np.float32
    )
    labels = np.array([r["churned"] for r in rows])
    if scramble:
        labels = np.random.default_rng(0).permutation(labels)
    matrix = np.concatenate([numeric.astype(object), np.array([[r["plan"]] for r in rows], dtype=object)], axis=1)
    estimator = GradientBoostingClassifier(random_state=0)
    preprocess = ColumnTransformer([("n", SimpleImputer(), [0, 1, 2]), ("c", OneHotEncoder(handle_unknown="ignore"), [3])])
    model = Pipeline([("p", preprocess), ("m", estimator)]).fit(matrix, labels)
    types = [("numeric", FloatTensorType([None, 3])), ("categorical", StringTensorType([None, 1]))]
    return to_onnx(model, initial_types=types, options={id(estimator): {"zipmap": zipmap}}, target_opset=18).SerializeToString()


def register(local_stack, executions, name: str, onnx_bytes: bytes) -> tuple[dict, dict]:
    key = f"imports/{MODEL}/{name}.onnx"
    local_stack.client("s3").put_object(Bucket=local_stack.outputs["ArtifactsBucketName"], Key=key, Body=onnx_bytes)
    status, started = local_stack.api("POST", f"models/{MODEL}/versions", {"artifact_key": key, "metrics": {"roc_auc": 0.9}})
    assert status == 202, started
    execution = local_stack.wait_for_execution(executions)
    assert execution["name"] == started["run_id"]
    return execution, local_stack.api("GET", f"runs/{started['run_id']}")[1]


@pytest.fixture(scope="module")
def imported_champion(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", SPEC)[0] in (200, 201)
    data = synthetic_dataset(seed=31)
    # The test split the import is scored on comes from the model's own data.
    assert local_stack.train(executions, MODEL, "data.csv", data)["status"] == "SUCCEEDED"
    execution, run = register(local_stack, executions, "good", convert_elsewhere(data))
    assert execution["status"] == "SUCCEEDED", run.get("failure")
    return run


def test_an_imported_model_is_checked_gated_registered_and_served(local_stack, imported_champion):
    run = imported_champion
    assert run["steps"]["import"]["source"]["key"] == f"imports/{MODEL}/good.onnx" and run["params"]["algorithm"] == "external"
    gate = run["steps"]["evaluate"]["gate"]
    assert gate["passed"] and gate["champion_version"] == 1  # scored against the trained champion on the same rows
    versions = local_stack.api("GET", f"models/{MODEL}/versions")[1]
    (imported,) = [v for v in versions["versions"] if v["run_id"] == run["run_id"]]
    assert imported["origin"] == "imported" and imported["metrics"] == run["metrics"]
    local_stack.wait_for_rollout(MODEL, imported["version"])
    status, answer = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD]})
    assert status == 200 and answer["version"] == imported["version"]
    assert set(answer["predictions"][0]["probabilities"]) == {"no", "yes"}


def test_a_worse_model_is_refused_by_the_gate_and_the_champion_stays(local_stack, imported_champion, executions):
    champion = local_stack.api("GET", f"models/{MODEL}/versions")[1]["aliases"]["champion"]
    execution, run = register(local_stack, executions, "scrambled", convert_elsewhere(synthetic_dataset(seed=31), scramble=True))
    assert execution["status"] == "FAILED" and run["failure"]["error"] == "GateFailed"
    assert local_stack.api("GET", f"models/{MODEL}/versions")[1]["aliases"]["champion"] == champion


def test_a_model_that_does_not_fit_the_spec_fails_its_run_naming_why(local_stack, imported_champion, executions):
    execution, run = register(local_stack, executions, "zipmap", convert_elsewhere(synthetic_dataset(seed=31), zipmap=True))
    assert execution["status"] == "FAILED" and run["failure"]["error"] == "ModelRejected"
    assert run["failure"]["reason"].startswith("outputs: a classifier answers labels")


def test_a_missing_file_is_a_422_naming_the_field(local_stack, imported_champion):
    status, body = local_stack.api("POST", f"models/{MODEL}/versions", {"artifact_key": f"imports/{MODEL}/nothing.onnx"})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "artifact_key"]
    status, body = local_stack.api("POST", f"models/{MODEL}/versions", {"artifact_key": "models/elsewhere.onnx"})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "artifact_key"]


def test_mlops_register_uploads_registers_and_follows_the_run(local_stack, imported_champion, tmp_path):
    from tests.e2e.conftest import Cli

    cli = Cli(tmp_path, local_stack.aws_endpoint)
    # The same model again: as good as the champion, which the gate (min_improvement 0) lets through.
    (tmp_path / "retrained.onnx").write_bytes(convert_elsewhere(synthetic_dataset(seed=31)))
    (tmp_path / "metrics.json").write_text('{"roc_auc": 0.93}')
    printed = cli("register", "retrained.onnx", "--model", MODEL, "--metrics", "metrics.json").stdout
    assert f"imports/{MODEL}/retrained.onnx" in printed and "fits the spec, runs on the test split" in printed
    assert "SUCCEEDED: version" in printed
