"""Serving over HTTP in local mode, and the pipeline's wall time from upload to a serving champion.

Starts `python -m local serve` in its own process (as `make local` does), registers a spec for a
100-tree, depth-10 random forest on 20 numeric features, uploads a 50k-row dataset and times the
pipeline until the champion answers. A second upload becomes the challenger at a 10% share, so
requests go through A/B routing, with capture on. Then single-record POST /predict requests over
one keep-alive connection: p50/p99 after warm-up.

Usage: python bench/http_serving.py [--requests 2000] [--rows 50000]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT / "cli"), str(ROOT)]
from local.platform import LOCAL_CREDENTIALS  # noqa: E402
from mlops.serving.predictor import POLICY_TTL_S  # noqa: E402
from mlops_cli.signing import signed_headers  # noqa: E402

MODEL = "bench-http"
BENCH_VENV = ROOT / ".venv-bench"
MLFLOW_PORT = 5055
MLFLOW_VERSION = "3.17.2"
ROUNDS = 10
N_FEATURES = 20
AWS_ENDPOINT = "http://127.0.0.1:4566"


def spec_document() -> dict:
    return {
        "target": {"name": "y", "task": "binary", "classes": ["0", "1"]},
        "features": [{"name": f"x{i}", "type": "numeric"} for i in range(N_FEATURES)],
        "training": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 100, "max_depth": 10}},
        "gates": {"min_improvement": -1.0},
        "rollout": {"strategy": "manual"},
    }


def dataset(rows: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, N_FEATURES))
    y = (x[:, :4].sum(axis=1) + rng.normal(0, 0.5, rows) > 0).astype(int)
    header = ",".join([f"x{i}" for i in range(N_FEATURES)] + ["y"])
    lines = [header] + [",".join(f"{v:.5f}" for v in row) + f",{label}" for row, label in zip(x, y, strict=True)]
    return ("\n".join(lines) + "\n").encode()


class Api:
    """One keep-alive HTTP connection to the local REST API."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlparse(url)
        self.prefix = parsed.path.rstrip("/")
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        url = f"http://{self.connection.host}:{self.connection.port}{self.prefix}/{path}"
        # Signed like any client of an IAM-authorized API (local mode refuses unsigned calls, as AWS does).
        headers = signed_headers(method, url, data, {"Content-Type": "application/json"}, LOCAL_CREDENTIALS)
        self.connection.request(method, f"{self.prefix}/{path}", body=data, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.strip() else None


def start_local(outdir: Path) -> subprocess.Popen:
    log = open(outdir / "local.log", "w")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "serve", "--outdir", str(outdir)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 180
    while "Ctrl-C stops." not in (outdir / "local.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((outdir / "local.log").read_text()[-3000:])
        time.sleep(0.5)
    return process


def upload_and_wait_for_version(s3, bucket: str, api: Api, name: str, body: bytes, version: int) -> float:
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key=f"datasets/{MODEL}/{name}", Body=body)
    while time.monotonic() - started < 900:
        status, answer = api.call("GET", f"models/{MODEL}/traffic")
        if status == 200 and version in answer["aliases"].values():
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"version {version} never registered")


MLFLOW_SAVE = """
import sys, pandas as pd, mlflow.sklearn
from sklearn.ensemble import RandomForestClassifier
table = pd.read_csv(sys.argv[1])
model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(table.drop(columns="y"), table["y"])
# We built this forest ourselves just now: its tree type is trusted for the skops serialization.
mlflow.sklearn.save_model(model, sys.argv[2], skops_trusted_types=["sklearn.tree._tree.Tree"])
"""


@contextlib.contextmanager
def mlflow_server(workdir: Path, data: bytes):
    """`mlflow models serve` (from .venv-bench) on a forest trained like ours on the same rows; None without MLflow."""
    if not (BENCH_VENV / "bin" / "mlflow").exists():
        yield None
        return
    (workdir / "train.csv").write_bytes(data)
    python = str(BENCH_VENV / "bin" / "python")
    subprocess.run([python, "-c", MLFLOW_SAVE, str(workdir / "train.csv"), str(workdir / "mlflow-model")], check=True)
    command = [str(BENCH_VENV / "bin" / "mlflow"), "models", "serve", "-m", str(workdir / "mlflow-model"), "-h", "127.0.0.1"]
    log = open(workdir / "mlflow.log", "w")  # noqa: SIM115 - lives as long as the server
    environment = {**os.environ, "PATH": f"{BENCH_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}  # its uvicorn
    command += ["-p", str(MLFLOW_PORT), "--env-manager", "local"]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    try:
        client = Api(f"http://127.0.0.1:{MLFLOW_PORT}/")
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.call("GET", "ping")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                client = Api(f"http://127.0.0.1:{MLFLOW_PORT}/")
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((workdir / "mlflow.log").read_text()[-2000:])
            time.sleep(0.5)
        for _ in range(300):  # warm
            client.call("POST", "invocations", mlflow_body({f"x{i}": 0.1 * i for i in range(N_FEATURES)}))
        yield client
    finally:
        server.terminate()
        server.wait(timeout=30)


def mlflow_body(record: dict) -> dict:
    return {"dataframe_split": {"columns": list(record), "data": [list(record.values())]}}


def timed_call(api: Api, method: str, path: str, body: object = None) -> float:
    started = time.perf_counter()
    status, answer = api.call(method, path, body)
    elapsed = (time.perf_counter() - started) * 1000
    assert status == 200, answer
    return elapsed


def timed(api: Api, requests: int, record: dict, variants: dict) -> list[float]:
    samples = []
    for i in range(requests):
        started = time.perf_counter()
        status, answer = api.call("POST", f"models/{MODEL}/predict", {"records": [record], "routing_key": f"k{i}"})
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, answer
        variants[answer["variant"]] += 1
    return samples


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def measure(requests: int, rows: int) -> dict:
    import boto3

    from infra.app_builder import build_app
    from local.outputs import read_outputs

    with tempfile.TemporaryDirectory() as workdir:
        outdir = Path(workdir) / "cdk.out"
        build_app(outdir=str(outdir)).synth()
        process = start_local(outdir)
        try:
            aws = {"endpoint_url": AWS_ENDPOINT, "region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
            outputs = read_outputs(boto3.client("cloudformation", **aws), "MlopsPlatform")
            api, s3 = Api(outputs["ApiUrl"]), boto3.client("s3", **aws)
            assert api.call("PUT", f"models/{MODEL}", spec_document())[0] in (200, 201)
            bucket = outputs["DataBucketName"]
            pipeline_s = upload_and_wait_for_version(s3, bucket, api, "v1.csv", dataset(rows, 1), 1)
            record = {f"x{i}": 0.1 * i for i in range(N_FEATURES)}
            while api.call("POST", f"models/{MODEL}/predict", {"records": [record]})[0] != 200:
                time.sleep(0.2)
            pipeline_to_serving_s = upload_and_wait_for_version(s3, bucket, api, "v2.csv", dataset(rows, 2), 2)
            revision = api.call("GET", f"models/{MODEL}/traffic")[1]["policy"]["revision"]
            api.call("PUT", f"models/{MODEL}/traffic", {"challenger_percent": 10, "expected_revision": revision})
            for i in range(300):  # warm both variants' sessions and the policy cache
                api.call("POST", f"models/{MODEL}/predict", {"records": [record], "routing_key": f"w{i}"})
            variants = {"champion": 0, "challenger": 0}
            captured: list[float] = []
            peer: list[float] = []
            with mlflow_server(Path(workdir), dataset(rows, 1)) as mlflow:
                for _ in range(ROUNDS):  # alternating, so both see the same machine state
                    captured += timed(api, requests // ROUNDS, record, variants)
                    if mlflow is not None:
                        peer += [timed_call(mlflow, "POST", "invocations", mlflow_body(record)) for _ in range(requests // ROUNDS)]
            health = sorted(timed_call(api, "GET", "health") for _ in range(requests))
            # The same requests with capture off: what the emulator's Firehose -> S3 path costs.
            api.call("PUT", f"models/{MODEL}", {**spec_document(), "serving": {"capture_sample_rate": 0.0}})
            time.sleep(POLICY_TTL_S + 1)
            uncaptured = timed(api, requests, record, {"champion": 0, "challenger": 0})
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "requests": requests,
        "mlflow": percentiles(peer) if peer else None,
        "captured": percentiles(captured),
        "uncaptured": percentiles(uncaptured),
        "health": percentiles(health),
        "variants": variants,
        "pipeline_first_champion_s": pipeline_s,
        "pipeline_second_version_s": pipeline_to_serving_s,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    result = measure(args.requests, args.rows)
    print("| path | requests | p50 | p99 |\n| --- | ---: | ---: | ---: |")
    rows = [
        ("POST /predict via local gateway, keep-alive, 1 record, A/B 90/10, capture on", result["captured"]),
        ("the same, capture off", result["uncaptured"]),
        ("GET /health via local gateway (gateway + Lambda runtime, no model)", result["health"]),
    ]
    if result["mlflow"]:
        rows.insert(1, (f"`mlflow models serve` {MLFLOW_VERSION}, same forest (scikit-learn), keep-alive, 1 record", result["mlflow"]))
    for name, (p50, p99) in rows:
        print(f"| {name} | {result['requests']} | {p50:.2f} ms | {p99:.2f} ms |")
    if result["mlflow"]:
        (peer_p50, peer_p99), (p50, p99) = result["mlflow"], result["captured"]
        print(f"MLflow / ours, p50: {peer_p50 / p50:.1f}x; p99: {peer_p99 / p99:.1f}x")
    print(f"variants served: {result['variants']}")
    print(f"pipeline, upload of {result['rows']} x {N_FEATURES} to champion serving: {result['pipeline_first_champion_s']:.1f} s")
    print(f"pipeline, second upload to registered challenger: {result['pipeline_second_version_s']:.1f} s")


if __name__ == "__main__":
    main()
