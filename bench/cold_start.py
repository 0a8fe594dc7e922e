"""Cold start: a fresh process to its first prediction, ours vs scikit-learn + joblib vs MLflow's
pyfunc, the same 100-tree, depth-10 random forest on 20 numeric features.

- ours: what the data-plane Lambda does on a cold start, split as Lambda reports it. Init (Lambda's
  Init Duration): import handlers.handle_predict, which builds its boto3 clients and loads the
  champion (a DynamoDB scan, the version record, the spec, the ONNX file from S3, its SHA-256, the
  session); with SnapStart this phase runs once at publish and a new environment resumes after it.
  First invocation (Duration): one API Gateway event through lambda_handler. AWS is a moto server
  on loopback, reached over HTTP like the real endpoints.
- peer: import scikit-learn and joblib, load the pickle from a local file, predict_proba one row.
- peer: `mlflow.pyfunc.load_model` of the same scikit-learn forest from a local folder, predict one
  row (in .venv-bench, the peers' own environment; skipped when it is absent).

Each runs in a fresh interpreter, alternating, timed from spawn to exit by the parent; ours also
reports its two phases from inside. The peers read local files, ours fetches from (local) S3.
Every path runs with compiled bytecode (written by an unmeasured first run), and ours once more
without any: Lambda's /opt is read-only, so a layer that ships no .pyc files for python3.12
compiles numpy's and onnxruntime's Python sources on every cold start.
Usage: python bench/cold_start.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
N_FEATURES = 20
MODEL = "bench"

OURS = """
import json, sys, time
started = time.perf_counter()
sys.path[:0] = [{functions!r}]
import handlers.handle_predict as function  # Lambda's init phase
initialized = time.perf_counter()
event = {{"httpMethod": "POST", "path": "/models/{model}/predict", "pathParameters": {{"model": "{model}"}},
         "body": json.dumps({{"records": [{{f"x{{i}}": 0.1 * i for i in range({n})}}]}}), "isBase64Encoded": False}}
answer = function.lambda_handler(event, None)
answered = time.perf_counter()
assert answer["statusCode"] == 200, answer
print(json.dumps({{"init": initialized - started, "first": answered - initialized}}))
"""

JOBLIB = """
import joblib
import numpy as np
model = joblib.load({pickle!r})
print(model.predict_proba(np.array([[0.1 * i for i in range({n})]]))[0][1])
"""

MLFLOW = """
import mlflow.pyfunc
import pandas as pd
model = mlflow.pyfunc.load_model({folder!r})
print(model.predict(pd.DataFrame([[0.1 * i for i in range({n})]], columns=[f"x{{i}}" for i in range({n})]))[0])
"""


def spec_document() -> dict:
    return {
        "target": {"name": "y", "task": "binary", "classes": ["0", "1"]},
        "features": [{"name": f"x{i}", "type": "numeric"} for i in range(N_FEATURES)],
        "training": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 100, "max_depth": 10}},
    }


def build_models(folder: Path) -> tuple[bytes, Path]:
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
    peer = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(x, y)
    joblib.dump(peer, folder / "model.joblib")
    return to_onnx_bytes(ours, spec)[0], folder / "model.joblib"


def serve_champion(endpoint: str, onnx_bytes: bytes) -> None:
    """The registry and the artifact as the platform writes them, in the moto server."""
    import boto3

    from mlops.data.spec import ModelSpec
    from mlops.data.spec_store import SpecStore
    from mlops.registry.versions import Registry

    dynamodb = boto3.resource("dynamodb", endpoint_url=endpoint)
    for name in ("models", "audit"):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        )
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(Bucket="artifacts", Key="models/bench/v1/model.onnx", Body=onnx_bytes)
    models, audit = dynamodb.Table("models"), dynamodb.Table("audit")
    SpecStore(models, audit).put(MODEL, ModelSpec.model_validate(spec_document()))
    artifact = {
        "bucket": "artifacts",
        "key": "models/bench/v1/model.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "card_key": "",
    }
    Registry(models, audit).register(MODEL, "r1", {"artifact": artifact, "metrics": {}, "dataset_version": "d", "spec_version": 1})


def save_mlflow(pickle_path: Path, folder: Path) -> bool:
    if not BENCH_PYTHON.exists():
        return False
    # We built this forest ourselves just now: its tree type is trusted for MLflow's skops serialization.
    trusted = "skops_trusted_types=['sklearn.tree._tree.Tree']"
    code = f"import joblib, mlflow.sklearn; mlflow.sklearn.save_model(joblib.load({str(pickle_path)!r}), {str(folder)!r}, {trusted})"
    saved = subprocess.run([str(BENCH_PYTHON), "-c", code], capture_output=True, text=True)
    if saved.returncode != 0:
        print(f"MLflow model not saved, its row is left out: {saved.stderr.strip()[-500:]}")
    return saved.returncode == 0


def timed(python: str, code: str, environment: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True, env=environment)
    return time.perf_counter() - started, result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    aws = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    os.environ.update(aws)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the unmeasured first runs write the bytecode caches
    lambda_env = {"PATH": os.environ["PATH"], **aws, "MODELS_TABLE": "models", "POWERTOOLS_METRICS_NAMESPACE": "Bench"}
    with tempfile.TemporaryDirectory() as workdir, tempfile.TemporaryDirectory() as no_cache:
        uncompiled = {**lambda_env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": no_cache}
        onnx_bytes, pickle_path = build_models(Path(workdir))
        serve_champion(endpoint, onnx_bytes)
        runs = {
            "ours": (sys.executable, OURS.format(functions=str(ROOT / "functions"), model=MODEL, n=N_FEATURES), lambda_env),
            "joblib": (sys.executable, JOBLIB.format(pickle=str(pickle_path), n=N_FEATURES), dict(os.environ)),
            "ours, no bytecode": (sys.executable, OURS.format(functions=str(ROOT / "functions"), model=MODEL, n=N_FEATURES), uncompiled),
        }
        if save_mlflow(pickle_path, Path(workdir) / "mlflow-model"):
            runs["mlflow"] = (str(BENCH_PYTHON), MLFLOW.format(folder=str(Path(workdir) / "mlflow-model"), n=N_FEATURES), dict(os.environ))
        for python, code, environment in runs.values():  # warm the OS file cache for each, unmeasured
            timed(python, code, environment)
        totals: dict[str, list[float]] = {name: [] for name in runs}
        phases: list[dict[str, float]] = []
        for _ in range(args.repeats):
            for name, (python, code, environment) in runs.items():
                seconds, last_line = timed(python, code, environment)
                totals[name].append(seconds)
                if name.startswith("ours"):
                    phases.append({"path": name, **json.loads(last_line)})
    server.stop()
    ours, joblib_ = statistics.median(totals["ours"]), statistics.median(totals["joblib"])
    init = statistics.median(p["init"] for p in phases if p["path"] == "ours")
    first = statistics.median(p["first"] for p in phases if p["path"] == "ours")
    uncompiled_init = statistics.median(p["init"] for p in phases if p["path"] != "ours")
    print("| path | median, spawn to answer | ratio to ours |\n| --- | ---: | ---: |")
    print(f"| ours: data-plane function, init + first invocation | {ours * 1000:.0f} ms | 1.00 |")
    print(f"| peer: scikit-learn + joblib load + predict_proba | {joblib_ * 1000:.0f} ms | {joblib_ / ours:.2f} |")
    if "mlflow" in totals:
        mlflow = statistics.median(totals["mlflow"])
        print(f"| peer: mlflow.pyfunc.load_model + predict | {mlflow * 1000:.0f} ms | {mlflow / ours:.2f} |")
    bare = statistics.median(totals["ours, no bytecode"])
    print(f"| ours without bytecode (layers as built today: no .pyc for python3.12) | {bare * 1000:.0f} ms | {bare / ours:.2f} |")
    print(f"\nours / scikit-learn + joblib: {ours / joblib_:.2f}")
    print(f"ours, inside the process: init (Lambda's Init Duration; SnapStart takes it at publish) {init * 1000:.0f} ms,")
    print(f"first invocation (Duration; what a SnapStart-restored environment pays, plus its restore) {first * 1000:.1f} ms;")
    print(f"init without bytecode {uncompiled_init * 1000:.0f} ms")


if __name__ == "__main__":
    main()
