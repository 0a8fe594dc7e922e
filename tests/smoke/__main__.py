"""Smoke tests against a deployed stage, as the deploy workflow runs them after `cdk deploy`.

python -m tests.smoke --stage staging

Reads the stage's stack outputs, then calls the API signed with SigV4 (the caller's credentials,
as the workflow's OIDC role): /health answers, the OpenAPI document is served, an unknown model is
a 404, and the data bucket accepts and deletes an object. Exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from infra.stages import stage_from_context


class Context:
    def __init__(self, values: dict) -> None:
        self.values = values

    def try_get_context(self, key: str):
        return self.values.get(key)


def signed(method: str, url: str, session: boto3.Session) -> tuple[int, object]:
    request = AWSRequest(method=method, url=url, headers={"Content-Type": "application/json"})
    SigV4Auth(session.get_credentials(), "execute-api", session.region_name).add_auth(request)
    prepared = urllib.request.Request(url, method=method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()[:300]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    args = parser.parse_args()
    with open("cdk.json") as handle:
        context = json.load(handle)["context"]
    _, stage = stage_from_context(Context({**context, "stage": args.stage}))
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=stage.stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    api = outputs["ApiUrl"].rstrip("/") + "/"
    checks = [
        ("GET /health answers", lambda: signed("GET", api + "health", session)[0] == 200),
        ("GET /openapi.json is served", lambda: signed("GET", api + "openapi.json", session)[0] == 200),
        ("an unknown model is a 404", lambda: signed("GET", api + f"models/smoke-{uuid.uuid4().hex[:8]}", session)[0] == 404),
        ("the data bucket takes an object outside datasets/", lambda: _bucket_round_trip(session, outputs["DataBucketName"])),
    ]
    for name, check in checks:
        ok = check()
        print(f"[{'ok' if ok else 'FAILED'}] {name}", flush=True)
        if not ok:
            return 1
    return 0


def _bucket_round_trip(session: boto3.Session, bucket: str) -> bool:
    s3, key = session.client("s3"), f"smoke/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"smoke")
    s3.delete_object(Bucket=bucket, Key=key)
    return True


if __name__ == "__main__":
    sys.exit(main())
