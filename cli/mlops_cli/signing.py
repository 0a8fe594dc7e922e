"""SigV4-signed HTTP calls to the platform's API, as every client of an IAM-authorized API makes them: the CLI,
the console's local server, local mode's demo and the tests.

The credentials come from boto3's standard chain (environment, profile, role); against local mode
any key works, and a key of an IAM user made in the emulator is that user (local/api_auth.py).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def signed_call(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, session: boto3.Session | None = None
) -> tuple[int, bytes]:
    """(status, raw body) of one signed request; HTTP errors are answers, not exceptions."""
    prepared = urllib.request.Request(url, data=body, method=method, headers=signed_headers(method, url, body, headers, session))
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def signed_headers(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, session: boto3.Session | None = None
) -> dict[str, str]:
    """The request's headers with its SigV4 signature for execute-api."""
    session = session or boto3.Session()
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(session.get_credentials(), "execute-api", session.region_name or "us-east-1").add_auth(request)
    return dict(request.headers)


def signed_json(method: str, url: str, body: Any = None, session: boto3.Session | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    status, raw = signed_call(method, url, data, {"Content-Type": "application/json"}, session)
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")[:500]
