"""Serving benchmark: the API Lambda's handler in-process, API Gateway event in, response out.

A 100-tree, depth-10 random forest on 20 numeric features is trained, exported with the platform's
own code and registered as champion (and a challenger at 10%), in moto in-process. Capture lines
are written to /dev/null (in Lambda they go to the log pipe), so the number is the handler's own cost.
Reports p50/p99 per single-record request after warm-up. Usage: python bench/serving.py [--requests 3000]
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
        # The API function's cold start requires these set (bench/serving.py never calls them).
        "ARTIFACTS_BUCKET": "artifacts",
        "CAPTURE_BUCKET": "capture",
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
    return {f"x{i}": float(v) for i, v in enumerate(x[0])}


def event(body: dict, key: int) -> dict:
    return {
        "resource": "/{proxy+}",
        "path": "/models/bench/predict",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"requestId": f"r{key}", "stage": "api", "path": "/api/models/bench/predict", "identity": {}},
        "body": json.dumps({**body, "routing_key": f"k{key}"}),
        "isBase64Encoded": False,
    }


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "Api", 1024, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Api"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    from moto import mock_aws

    with mock_aws():
        record = setup()
        import mlops.serving.api
        from mlops.serving.capture import Capture

        devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
        mlops.serving.api.capture = lambda: Capture(devnull)  # type: ignore[assignment]
        from handlers.handle_api import lambda_handler

        body = {"records": [record]}
        sys.stdout = devnull
        for i in range(200):  # warm: sessions loaded, policy cached
            assert lambda_handler(event(body, i), Context())["statusCode"] == 200
        samples = []
        # Powertools prints each invocation's EMF document, as Lambda would to its log pipe: keep
        # the write (it is part of the cost) but send it to /dev/null, not into the report.
        sys.stdout = devnull
        deadline = time.monotonic() + 4.0
        for i in range(args.requests):
            if time.monotonic() > deadline:  # stay inside the 5 s policy cache, as a steady stream would
                for j in range(50):
                    lambda_handler(event(body, j), Context())
                deadline = time.monotonic() + 4.0
            started = time.perf_counter()
            response = lambda_handler(event(body, i), Context())
            samples.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200
        sys.stdout = sys.__stdout__
    samples.sort()
    p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99) - 1]
    table = f"| in-process handler, 1 record, RF 100x10, 20 features | {len(samples)} | {p50:.3f} ms | {p99:.3f} ms |"
    print("| path | requests | p50 | p99 |\n| --- | ---: | ---: | ---: |\n" + table)


if __name__ == "__main__":
    main()
