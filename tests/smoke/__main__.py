"""Smoke test of a deployed stage: a small lifecycle, as the deploy workflow runs it after `cdk deploy`.

python -m tests.smoke --stage staging                           a stage of cdk.json, in AWS
python -m tests.smoke --endpoint-url http://127.0.0.1:4566      local mode (the suite runs this)

Reads the stack's outputs, then drives the platform as a user does, every API call signed with
SigV4 (the caller's credentials: the workflow's OIDC role): /health and the OpenAPI document
answer, an unknown model is a 404, a spec registers, a small data set uploaded to the data bucket
trains into a champion (every pipeline function imports, may do what it does, and fits in its
limits), the champion predicts, and the uploaded and derived objects are removed again. The
model's registry and audit records stay: the audit trail is append-only. Exits non-zero, naming
the step, on the first failure; a stage that cannot train never reaches production.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from mlops_cli.signing import signed_json

ROWS = 400
LAST_STEP = "the champion predicts"
SPEC = {
    "description": "Smoke test of a deployment (removable)",
    "target": {"name": "label", "task": "binary", "classes": ["no", "yes"]},
    "features": [
        {"name": "x1", "type": "numeric", "minimum": 0, "maximum": 1},
        {"name": "x2", "type": "numeric", "minimum": 0, "maximum": 1},
    ],
    "data": {"min_rows": 100},
    "training": {"algorithm": "logistic_regression"},
    "gates": {"minimum": {"accuracy": 0.7}},
    "rollout": {"strategy": "all_at_once"},
}


class Context:
    def __init__(self, values: dict) -> None:
        self.values = values

    def try_get_context(self, key: str):
        return self.values.get(key)


class Platform:
    """The deployed stack as a user reaches it: its outputs, its bucket, its signed API."""

    def __init__(self, session: boto3.Session, stack_name: str, endpoint_url: str | None) -> None:
        self.session, self.endpoint_url = session, endpoint_url
        stack = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        self.api = self.outputs["ApiUrl"].rstrip("/") + "/"

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return signed_json(method, self.api + path, body, self.session)


def dataset(seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = ["x1,x2,label"]
    for _ in range(ROWS):
        x1, x2 = rng.random(), rng.random()
        label = "yes" if x1 + x2 + rng.gauss(0, 0.1) > 1 else "no"
        lines.append(f"{x1:.4f},{x2:.4f},{label}")
    return ("\n".join(lines) + "\n").encode()


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = fetch()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(2)


def lifecycle(platform: Platform, model: str, timeout_s: float) -> list[tuple[str, bool, str]]:
    """Each step as (what, passed, what was seen); stops at the first that fails."""
    results: list[tuple[str, bool, str]] = []

    def step(name: str, passed: bool, seen: Any) -> bool:
        results.append((name, passed, str(seen)[:300]))
        return passed

    status, _ = platform.call("GET", "health")
    if not step("GET /health answers", status == 200, status):
        return results
    status, _ = platform.call("GET", "openapi.json")
    if not step("GET /openapi.json is served", status == 200, status):
        return results
    status, _ = platform.call("GET", f"models/smoke-unknown-{uuid.uuid4().hex[:8]}")
    if not step("an unknown model is a 404", status == 404, status):
        return results
    status, answer = platform.call("PUT", f"models/{model}", SPEC)
    if not step(f"PUT /models/{model} registers the spec", status in (200, 201), answer):
        return results
    bucket = platform.outputs["DataBucketName"]
    platform.client("s3").put_object(Bucket=bucket, Key=f"datasets/{model}/smoke.csv", Body=dataset())
    runs = wait_for(
        lambda: platform.call("GET", f"runs?model={model}")[1],
        lambda answer: isinstance(answer, dict) and any(r["status"] != "RUNNING" for r in answer.get("runs", [])),
        timeout_s,
    )
    run = next((r for r in runs.get("runs", []) if r["status"] != "RUNNING"), None) if isinstance(runs, dict) else None
    seen = run and {"status": run["status"], "failure": run.get("failure"), "metrics": run.get("metrics")}
    if not step("the upload trains: its run SUCCEEDED", bool(run) and run["status"] == "SUCCEEDED", seen or runs):
        return results
    versions = wait_for(lambda: platform.call("GET", f"models/{model}/versions")[1], lambda v: "champion" in v.get("aliases", {}), 60)
    if not step("the version became champion", "champion" in versions.get("aliases", {}), versions.get("aliases")):
        return results
    status, answer = platform.call("POST", f"models/{model}/predict", {"records": [{"x1": 0.9, "x2": 0.8}, {"x1": 0.1, "x2": 0.05}]})
    labels = [p.get("label") for p in answer.get("predictions", [])] if status == 200 else []
    step(LAST_STEP, labels == ["yes", "no"], answer)
    return results


def clean_up(platform: Platform, model: str) -> int:
    """Removes what the smoke run put in the data and artifacts buckets (versioned: every version)."""
    removed = 0
    buckets = [platform.outputs["DataBucketName"], platform.outputs["ArtifactsBucketName"]]
    prefixes = [f"{top}/{model}/" for top in ("datasets", "versions", "reports", "quarantine", "models")]
    s3 = platform.client("s3")
    for bucket in buckets:
        for prefix in prefixes:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
                    removed += 1
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.smoke", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stage", choices=["dev", "staging", "prod"], help="a stage of cdk.json, deployed in AWS")
    where.add_argument("--endpoint-url", help="an AWS-compatible endpoint: local mode's http://127.0.0.1:4566")
    parser.add_argument("--stack", default="MlopsPlatform", help="with --endpoint-url: the stack's name")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds the training run may take")
    args = parser.parse_args(argv)
    if args.stage:
        from infra.stages import stage_from_context

        with open("cdk.json") as handle:
            context = json.load(handle)["context"]
        _, stage = stage_from_context(Context({**context, "stage": args.stage}))
        session, stack_name = boto3.Session(), stage.stack_name
    else:
        session, stack_name = boto3.Session(region_name="us-east-1"), args.stack
    platform = Platform(session, stack_name, args.endpoint_url)
    model = f"smoke-{uuid.uuid4().hex[:10]}"
    try:
        results = lifecycle(platform, model, args.timeout)
    finally:
        removed = clean_up(platform, model)
    for name, passed, seen in results:
        print(f"[{'ok' if passed else 'FAILED'}] {name}" + ("" if passed else f": {seen}"), flush=True)
    print(f"cleaned up {removed} objects of {model}", flush=True)
    reached_the_end = bool(results) and results[-1][0] == LAST_STEP
    return 0 if reached_the_end and all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
