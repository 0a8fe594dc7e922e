"""The local API Gateway: HTTP on port 3000 turned into REST API (v1) Lambda proxy events.

Routes come from the template's AWS::ApiGateway::Method resources. Paths answer both with the
stage prefix (as the ApiUrl output gives them) and without it (as `sam local start-api` does).
Methods authorized by IAM take a SigV4-signed request and the caller's policies (local/api_auth.py).
Paths under /_local/ are local mode's own controls
(evaluate alarms now, fire a schedule now), as LocalStack keeps /_localstack/; they never reach the API.
Paths under /console are the web console (mlops_cli.console_server), whose API calls are signed.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from local.api_auth import ApiAuthorizer, Refused
from local.cloudwatch import MetricsSink
from local.deployer import Route
from local.intrinsics import ACCOUNT_ID, REGION
from local.lambda_runtime import LambdaRuntime
from mlops_cli.console_server import LOOPBACK, Console, hostname
from mlops_cli.console_server import PREFIX as CONSOLE_PREFIX

if TYPE_CHECKING:
    from local.access import StackAccess

# API Gateway refuses payloads over 10 MB before the Lambda is called.
MAX_BODY_BYTES = 10 * 1024 * 1024
CONTROL_PREFIX = "/_local/"
# A header no page of another origin can send without a CORS preflight, which the gateway never
# grants: a cross-site form or image cannot reach the controls.
CONTROL_HEADER = "X-Mlops-Local"
Control = Callable[[Any], Any]
TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


class _CompiledRoute:
    def __init__(self, route: Route) -> None:
        self.route = route
        pattern = ""
        for part in [p for p in route.path.split("/") if p]:
            if part.endswith("+}"):
                pattern += f"/(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"/(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += "/" + re.escape(part)
        self.regex = re.compile(f"^{pattern or '/'}$")
        self.literal_parts = route.path.count("/") - route.path.count("{")

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path)
        return None if found is None else found.groupdict()


class LocalGateway:
    def __init__(
        self,
        runtime: LambdaRuntime,
        routes: list[Route],
        stages: dict[str, str],
        metrics: MetricsSink | None = None,
        access: StackAccess | None = None,
        authorizer: ApiAuthorizer | None = None,
        api_name: str = "local",
        any_host: bool = False,
    ) -> None:
        """any_host: answer whatever Host a request names (only when local mode was asked to listen
        beyond this machine); otherwise only loopback names, so a page that rebinds its own DNS
        name to 127.0.0.1 cannot reach the API, the controls or the console."""
        self._any_host = any_host
        self._runtime = runtime
        self._api_name = api_name  # the ApiName dimension of AWS/ApiGateway metrics, as the template's alarms name it
        self._authorizer = authorizer
        self._access = access
        self._stages = stages
        self._metrics = metrics
        # Most specific first: literal paths before parameters, parameters before greedy proxies.
        self._routes = sorted(
            (_CompiledRoute(r) for r in routes),
            key=lambda c: ("+}" in c.route.path, -c.literal_parts, c.route.http_method == "ANY"),
        )
        self._server: ThreadingHTTPServer | None = None
        self.controls: dict[tuple[str, str], Control] = {}
        self.console: Console | None = None

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> tuple[int, dict[str, str], bytes]:
        """One request in, one response out: the whole gateway, callable without a socket."""
        started = time.monotonic()
        split = urlsplit(raw_path)
        lowered = {name.lower(): value for name, value in headers.items()}
        if not self._any_host and hostname(lowered.get("host", "127.0.0.1")) not in LOOPBACK:
            return (
                421,
                {"Content-Type": "application/json"},
                b'{"message": "local mode answers only on this machine (127.0.0.1 or localhost)"}',
            )
        if self.console is not None and (split.path == CONSOLE_PREFIX or split.path.startswith(CONSOLE_PREFIX + "/")):
            return self.console.handle(method, raw_path, headers, body)
        if split.path.startswith(CONTROL_PREFIX):
            if CONTROL_HEADER.lower() not in lowered:
                return (
                    403,
                    {"Content-Type": "application/json"},
                    json.dumps({"message": f"local controls need the {CONTROL_HEADER} header"}).encode(),
                )
            return self._control(method, split.path, body)
        stage, path = self._strip_stage(split.path or "/")
        if len(body) > MAX_BODY_BYTES:
            return self._answer(413, {"message": "Request Entity Too Large"}, started)
        found = self._route(method, path)
        if found is None:  # a REST API answers a resource or method it does not define with 403
            return self._answer(403, {"message": "Missing Authentication Token"}, started)
        compiled, parameters = found
        identity: dict[str, str] = {}
        if compiled.route.authorization == "AWS_IAM" and self._authorizer is not None:
            try:
                method_arn = self._method_arn(compiled.route, stage, method, path)
                identity = self._authorizer.authorize(method, raw_path, headers, body, method_arn).identity()
            except Refused as refused:
                return self._answer(refused.status, {"message": refused.message}, started)
        if (denied := self._invoke_denial(compiled.route, stage, method, path)) is not None:
            # API Gateway logs "Invalid permissions on Lambda function" and answers the client 500.
            print(f"local gateway: {denied}", flush=True)
            return self._answer(500, {"message": "Internal server error"}, started)
        event = self._event(compiled.route, stage, method, path, split.query, headers, body, parameters, source_ip, identity)
        result = self._runtime.invoke(compiled.route.function_arn, event)
        if result.errored or not isinstance(result.payload, dict) or "statusCode" not in result.payload:
            return self._answer(502, {"message": "Internal server error"}, started)
        return self._response(result.payload, started)

    def _route(self, method: str, path: str) -> tuple[_CompiledRoute, dict[str, str]] | None:
        """As API Gateway selects: the most specific resource whose path matches, then its method
        (the exact one before ANY). A resource without the method answers 403 even when a greedy
        proxy elsewhere would take it."""
        for compiled in self._routes:
            parameters = compiled.match(path)
            if parameters is None:
                continue
            methods = [c for c in self._routes if c.route.path == compiled.route.path]
            chosen = next((c for c in methods if c.route.http_method == method), None)
            chosen = chosen or next((c for c in methods if c.route.http_method == "ANY"), None)
            return None if chosen is None else (chosen, parameters)
        return None

    def _invoke_denial(self, route: Route, stage: str, method: str, path: str) -> str | None:
        if self._access is None:
            return None
        return self._access.invoke_denial(route.function_arn, "apigateway.amazonaws.com", self._method_arn(route, stage, method, path))

    def _method_arn(self, route: Route, stage: str, method: str, path: str) -> str:
        stage = stage or self._stages.get(route.rest_api_id, "")
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{route.rest_api_id}/{stage}/{method}{path}"

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        control = self.controls.get((method, path))
        if control is None:
            known = sorted(f"{m} {p}" for m, p in self.controls)
            return (
                404,
                {"Content-Type": "application/json"},
                json.dumps({"message": "unknown control", "controls": known}).encode(),
            )
        try:
            result = control(json.loads(body) if body else {})
        except (KeyError, ValueError, StopIteration) as error:
            return 400, {"Content-Type": "application/json"}, json.dumps({"message": str(error)}).encode()
        return 200, {"Content-Type": "application/json"}, json.dumps(result, default=str).encode()

    def _strip_stage(self, path: str) -> tuple[str, str]:
        for stage in self._stages.values():
            prefix = f"/{stage}"
            if path == prefix or path.startswith(prefix + "/"):
                return stage, path[len(prefix) :] or "/"
        return next(iter(self._stages.values()), "local"), path

    def _event(
        self,
        route: Route,
        stage: str,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        parameters: dict[str, str],
        source_ip: str,
        identity: dict[str, str],
    ) -> dict[str, Any]:
        multi_query = parse_qs(query, keep_blank_values=True)
        content_type = headers.get("Content-Type", headers.get("content-type", ""))
        is_text = not body or any(content_type.startswith(t) for t in TEXT_TYPES)
        try:
            text_body = body.decode("utf-8") if is_text else None
        except UnicodeDecodeError:
            text_body = None
        request_id = str(uuid.uuid4())
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": route.rest_api_id,
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{stage}{path}",
                "stage": stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", ""), **identity},
            },
            "body": (text_body if text_body is not None else base64.b64encode(body).decode()) if body else None,
            "isBase64Encoded": bool(body) and text_body is None,
        }

    def _response(self, payload: dict[str, Any], started: float) -> tuple[int, dict[str, str], bytes]:
        headers = {k: str(v) for k, v in (payload.get("headers") or {}).items()}
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(v) for v in values)
        body = payload.get("body") or ""
        raw = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode("utf-8")
        status = int(payload["statusCode"])
        self._record(status, started)
        return status, headers, raw

    def _answer(self, status: int, body: dict[str, Any], started: float) -> tuple[int, dict[str, str], bytes]:
        self._record(status, started)
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _record(self, status: int, started: float) -> None:
        if self._metrics is None:
            return
        now = datetime.now(UTC)
        dimensions = [{"Name": "ApiName", "Value": self._api_name}]
        self._metrics.put(
            [
                {
                    "Namespace": "AWS/ApiGateway",
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Value": value,
                    "Unit": unit,
                    "Timestamp": now,
                }
                for name, value, unit in (
                    ("Count", 1.0, "Count"),
                    ("4XXError", float(400 <= status < 500), "Count"),
                    ("5XXError", float(status >= 500), "Count"),
                    ("Latency", (time.monotonic() - started) * 1000, "Milliseconds"),
                )
            ]
        )

    # --- HTTP server ----------------------------------------------------------------------------

    def serve(self, host: str, port: int) -> ThreadingHTTPServer:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this, small responses wait on Nagle's algorithm (about 40 ms each).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    status, headers, body = gateway._answer(413, {"message": "Request Entity Too Large"}, time.monotonic())
                    self.close_connection = True
                else:
                    body_in = self.rfile.read(length) if length else b""
                    status, headers, body = gateway.handle(
                        self.command, self.path, dict(self.headers.items()), body_in, self.client_address[0]
                    )
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="local-gateway").start()
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
