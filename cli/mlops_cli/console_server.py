"""The web console: static pages, and a proxy that signs their API calls on this machine.

The API admits only SigV4-signed callers, and a browser holds no AWS credentials, so the pages call
`/console/api/<path>` on the server that served them, which signs each call with the user's own
credentials and forwards it. The cloud API keeps IAM as its only door; the console can do exactly
what its user's policies allow. `mlops console` serves it for a deployed stack, local mode at
http://127.0.0.1:3000/console.

The proxy signs for whoever reaches it, so it answers only this machine's pages: the Host must be
a loopback name (no DNS rebinding), and each call must carry the header X-Mlops-Console, which a
page of another origin cannot send without a CORS preflight this server never grants.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlops_cli.api import Api

STATIC = Path(__file__).resolve().parent / "console"
PREFIX = "/console"
API_PREFIX = f"{PREFIX}/api/"
GUARD_HEADER = "X-Mlops-Console"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
MAX_BODY_BYTES = 1024 * 1024
Forward = Callable[[str, str, bytes | None], tuple[int, bytes]]
Answer = tuple[int, dict[str, str], bytes]
# The pages load only their own files and call only their own server.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Console:
    """One request in, one answer out. `forward(method, path_and_query, body)` makes the signed call."""

    def __init__(self, forward: Forward, static: Path = STATIC) -> None:
        self._forward, self._static = forward, static

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes | None) -> Answer:
        lowered = {k.lower(): v for k, v in headers.items()}
        if hostname(lowered.get("host", "")) not in LOOPBACK:
            return _json(421, {"message": "the console answers only on this machine (127.0.0.1 or localhost)"})
        split = urlsplit(raw_path)
        if split.path.startswith(API_PREFIX):
            if GUARD_HEADER.lower() not in lowered:
                return _json(403, {"message": f"console API calls carry the {GUARD_HEADER} header"})
            target = split.path[len(API_PREFIX) :] + (f"?{split.query}" if split.query else "")
            status, answer = self._forward(method, target, body or None)
            return status, {"Content-Type": "application/json", **SECURITY_HEADERS}, answer
        if method != "GET":
            return _json(405, {"message": "the console's pages are read with GET"})
        return self._file(split.path)

    def _file(self, path: str) -> Answer:
        if path == PREFIX:  # relative links (api/...) resolve under /console/ only
            return 308, {"Location": PREFIX + "/", **SECURITY_HEADERS}, b""
        if path == PREFIX + "/":
            path = PREFIX + "/index.html"
        name = path[len(PREFIX) + 1 :]
        file = (self._static / name).resolve()
        if not path.startswith(PREFIX + "/") or file.parent != self._static or not file.is_file():
            return _json(404, {"message": f"no console page {path}"})
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind == "application/javascript":
            kind += "; charset=utf-8"
        return 200, {"Content-Type": kind, **SECURITY_HEADERS}, file.read_bytes()


def hostname(host: str) -> str:
    """The name part of a Host header (an IPv6 literal keeps its brackets)."""
    return host[: host.find("]") + 1] if host.startswith("[") else host.rsplit(":", 1)[0]


def _json(status: int, body: dict[str, Any]) -> Answer:
    return status, {"Content-Type": "application/json", **SECURITY_HEADERS}, json.dumps(body).encode()


def http_server(console: Console, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                status, headers, body = _json(413, {"message": "request too large"})
                self.close_connection = True
            else:
                data = self.rfile.read(length) if length else None
                status, headers, body = console.handle(self.command, self.path, dict(self.headers.items()), data)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_console(api: Api, port: int, open_browser: bool) -> None:
    """Serves until Ctrl-C, on 127.0.0.1 only."""
    from mlops_cli.render import out

    api.target.outputs  # noqa: B018 - fail now, with the reason, if the stack cannot be found
    server = http_server(Console(api.send), "127.0.0.1", port)  # signed with the user's credentials
    url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}/"
    out.print(f"Console for {api.target.stack_name} at {url} (calls signed as you; Ctrl-C stops)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        server.serve_forever()
    finally:
        server.server_close()
