"""Serving benchmark: the data-plane Lambda's handler in-process, API Gateway event in, response
out, beside its floor: a bare onnxruntime `InferenceSession.run` of the same model on the same row.

A 100-tree, depth-10 random forest on 20 numeric features is trained, exported with the platform's
own code and registered as champion (and a challenger at 10%), in moto in-process. Capture and
metric lines are written to /dev/null (in Lambda they go to the log pipe), so the number is the
handler's own cost: routing, validation, the model, capture and metrics. Reports p50/p99 per
single-record request after warm-up, both paths measured alternately in one run.
Usage: python bench/serving.py [--requests 3000] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_SERVICE_NAME": "Api",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "MODELS_TABLE": "models",
        "AUDIT_TABLE": "audit",
        "RUNS_TABLE": "runs",
        # The control-plane API's cold start requires these set (this benchmark never uses them).
        "ARTIFACTS_BUCKET": "artifacts",
        "CAPTURE_BUCKET": "capture",
        "DATA_BUCKET": "data",
        "BATCH_INFERENCE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
        "TRAINING_PIPELINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    }
)

N_FEATURES = 20


def spec_document() -> dict:
    features = [{"name": f"x{i}", "type": "numeric"} for i in range(N_FEATURES)]
    return {
        "target": {"name": "y", "task": "binary", "classes": ["0", "1"]},
        "features": features,
        "training": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 100, "max_depth": 10}},
    }


def setup() -> dict:
    import boto3
    import numpy as np

    from mlops.data.spec import ModelSpec
    from mlops.data.spec_store import SpecStore
    from mlops.registry.versions import Registry
    from mlops.serving.model_inputs import as_matrix
    from mlops.training.trainer import build_pipeline, to_onnx_bytes

    dynamodb = boto3.resource("dynamodb")
    for name, keys in (
        ("models", [("model", "HASH"), ("sk", "RANGE")]),
        ("audit", [("model", "HASH"), ("sk", "RANGE")]),
        ("runs", [("run_id", "HASH")]),
    ):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
        )
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="artifacts")
    spec = ModelSpec.model_validate(spec_document())
    SpecStore(dynamodb.Table("models"), dynamodb.Table("audit")).put("bench", spec)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, N_FEATURES)).astype(np.float32)
    y = (x[:, :4].sum(axis=1) > 0).astype(int).astype(str)
    model = build_pipeline(spec, spec.training.hyperparameters).fit(as_matrix({"numeric": x}), y)
    onnx_bytes, inputs = to_onnx_bytes(model, spec)
    import hashlib

    registry = Registry(dynamodb.Table("models"), dynamodb.Table("audit"))
    for version in (1, 2):
        key = f"models/bench/v{version}/model.onnx"
        s3.put_object(Bucket="artifacts", Key=key, Body=onnx_bytes)
        artifact = {"bucket": "artifacts", "key": key, "sha256": hashlib.sha256(onnx_bytes).hexdigest(), "card_key": ""}
        registry.register(
            "bench", f"r{version}", {"artifact": artifact, "inputs": inputs, "metrics": {}, "dataset_version": "d", "spec_version": 1}
        )
    from mlops.serving.traffic import TrafficStore

    TrafficStore(dynamodb.Table("models"), dynamodb.Table("audit")).set("bench", 10, None, 0, by="bench")
    return {f"x{i}": float(v) for i, v in enumerate(x[0])}, onnx_bytes


def event(body: dict, key: int) -> dict:
    return {
        "resource": "/models/{model}/predict",
        "path": "/models/bench/predict",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"model": "bench"},
        "requestContext": {"requestId": f"r{key}", "stage": "api", "path": "/api/models/bench/predict", "identity": {}},
        "body": json.dumps({**body, "routing_key": f"k{key}"}),
        "isBase64Encoded": False,
    }


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "Predict", 1024, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Predict:live"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="print the handler's cProfile top lines instead")
    args = parser.parse_args()
    from moto import mock_aws

    with mock_aws():
        record, onnx_bytes = setup()
        import numpy as np
        import onnxruntime

        from handlers import handle_api, handle_predict

        devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
        handle_predict.service._out = devnull  # capture and metric lines: written, then discarded
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        bare = onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        row = {"numeric": np.array([list(record.values())], dtype=np.float32)}
        body = {"records": [record]}
        events = [event(body, i) for i in range(args.requests)]
        for i in range(200):  # warm: sessions loaded, policy cached
            assert handle_predict.lambda_handler(events[i], Context())["statusCode"] == 200
            bare.run(None, row)
        if args.profile:
            profile(handle_predict.lambda_handler, events)
            return
        handle_api.app  # noqa: B018 - imported: the control-plane handler, the path /predict took before the data plane
        import mlops.serving.api as control_routes

        control_routes.capture_stream = lambda: devnull  # type: ignore[assignment]
        for i in range(200):
            assert handle_api.lambda_handler(events[i], Context())["statusCode"] == 200
        ours, floor, control = [], [], []
        deadline = time.monotonic() + 4.0
        for i in range(args.requests):
            if time.monotonic() > deadline:  # stay inside the 5 s policy cache, as a steady stream would
                handle_predict.lambda_handler(events[0], Context())
                deadline = time.monotonic() + 4.0
            started = time.perf_counter()
            response = handle_predict.lambda_handler(events[i], Context())
            ours.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200
            started = time.perf_counter()
            bare.run(None, row)
            floor.append((time.perf_counter() - started) * 1000)
            sys.stdout = devnull  # Powertools prints the control plane's EMF document
            started = time.perf_counter()
            assert handle_api.lambda_handler(events[i], Context())["statusCode"] == 200
            control.append((time.perf_counter() - started) * 1000)
            sys.stdout = sys.__stdout__
    (o50, o99), (f50, f99), (c50, c99) = percentiles(ours), percentiles(floor), percentiles(control)
    print("| path | requests | p50 | p99 |\n| --- | ---: | ---: | ---: |")
    print(f"| data-plane handler in-process, 1 record, RF 100x10, 20 features, capture on | {len(ours)} | {o50:.3f} ms | {o99:.3f} ms |")
    print(f"| floor: bare InferenceSession.run, same model and row | {len(floor)} | {f50:.3f} ms | {f99:.3f} ms |")
    print(f"| control-plane API handler (Powertools resolver), same request | {len(control)} | {c50:.3f} ms | {c99:.3f} ms |")
    print(f"data plane / floor: p50 {o50 / f50:.1f}x, p99 {o99 / f99:.1f}x")
    print(f"control plane / data plane: p50 {c50 / o50:.1f}x, p99 {c99 / o99:.1f}x")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def profile(handler, events) -> None:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for item in events:
        handler(item, Context())
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue())


if __name__ == "__main__":
    main()
