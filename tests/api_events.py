"""API Gateway REST proxy events, as the API Lambda receives them, for tests that call it in-process."""

from __future__ import annotations


def proxy_event(method: str, path: str, body: str | None, query: dict | None = None) -> dict:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "requestContext": {"requestId": "test", "stage": "api", "path": path, "identity": {}},
        "body": body,
        "isBase64Encoded": False,
    }
