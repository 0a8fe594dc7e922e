"""Inside a function's worker, every AWS client is checked against the function's role, however the
handler builds it: boto3's default session, a boto3 Session, a resource, or botocore's own session
(the data plane's way, to skip boto3's imports)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAYS = {
    "boto3.client": "import boto3; c = boto3.client('dynamodb')",
    "boto3.Session": "import boto3; c = boto3.Session().client('dynamodb')",
    "boto3.resource": "import boto3; c = boto3.resource('dynamodb').meta.client",
    "botocore session": "import botocore.session; c = botocore.session.get_session().create_client('dynamodb')",
}
PROGRAM = """
import importlib.util
spec = importlib.util.spec_from_file_location("lambda_worker", {worker!r})  # by path, as the worker runs: no local/ on sys.path
lambda_worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lambda_worker)
lambda_worker.enforce_aws_rules({policy!r})
{build}
try:
    c.get_item(TableName="runs", Key={{"run_id": {{"S": "r1"}}}})
    print("ALLOWED")
except Exception as error:
    print(type(error).__name__, error)
"""


@pytest.mark.parametrize("way", WAYS)
def test_a_call_the_role_does_not_allow_is_refused_before_it_leaves(tmp_path, way):
    # Given a role that may only read one bucket's objects
    policy = tmp_path / "role.json"
    statements = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"}]
    principal = "arn:aws:sts::123456789012:assumed-role/PredictRole/Predict"
    document = {"principal": principal, "statements": statements, "keys": {}, "region": "us-east-1", "account": "123456789012"}
    policy.write_text(json.dumps({**document, "label": "function Predict"}))
    # When the handler's client, built this way, reads a table (an endpoint nothing listens on: a
    # call that got past the check would fail to connect instead)
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    program = PROGRAM.format(worker=str(ROOT / "local" / "lambda_worker.py"), policy=str(policy), build=WAYS[way])
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60)
    # Then it is refused as AWS refuses it, naming the action
    assert "AccessDeniedException" in done.stdout and "dynamodb:GetItem" in done.stdout, done.stdout + done.stderr
