"""The platform's REST API, signed with SigV4 as API Gateway's IAM authorization requires."""

from __future__ import annotations

import json
import urllib.error
from typing import Any
from urllib.parse import quote, urlencode

from mlops_cli.errors import ApiError, UserError
from mlops_cli.signing import signed_call
from mlops_cli.target import Target


class Api:
    def __init__(self, target: Target) -> None:
        self.target = target

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """The answer's JSON; an ApiError with the API's message for any 4xx or 5xx."""
        status, answer = self.raw(method, path, json.dumps(body).encode() if body is not None else None, query)
        if status >= 400:
            raise ApiError(status, answer)
        return answer

    def raw(self, method: str, path: str, data: bytes | None = None, query: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, the answer's JSON, or its text if it is not JSON)."""
        if query := {k: v for k, v in (query or {}).items() if v is not None}:
            path += "?" + urlencode(query)
        status, raw = self.send(method, path, data)
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, raw.decode(errors="replace")

    def send(self, method: str, path_and_query: str, data: bytes | None) -> tuple[int, bytes]:
        """One signed request; (status, raw body), whatever the status."""
        try:
            return signed_call(
                method, self.target.api_url + path_and_query.lstrip("/"), data, {"Content-Type": "application/json"}, self.target.session
            )
        except (urllib.error.URLError, OSError) as error:
            raise UserError(f"cannot reach the API at {self.target.api_url}: {getattr(error, 'reason', error)}") from None


def segment(value: str | int) -> str:
    """A path parameter, quoted so that a slash in it cannot reach another route."""
    return quote(str(value), safe="")
