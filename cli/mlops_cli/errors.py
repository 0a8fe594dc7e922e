"""What the CLI tells a user instead of a traceback: a message and a non-zero exit."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A mistake or a state the user can act on: printed as one message, exit status 1."""

    exit_code = 1


class ApiError(UserError):
    """The API said no: its status, its message, and for a 422 each field at fault."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        super().__init__(f"{status}: {describe(body)}")


def describe(body: Any) -> str:
    """The API's own words: `message`, or for a 422 each `detail[]` as field: problem."""
    if isinstance(body, dict):
        if isinstance(body.get("detail"), list):
            problems = []
            for item in body["detail"]:
                where = ".".join(str(part) for part in item.get("loc", []) if part != "body")
                problems.append(f"{where or 'body'}: {item.get('msg')}")
            return "; ".join(problems) or str(body.get("message", body))
        if "message" in body:
            return str(body["message"])
    return str(body)[:500]
