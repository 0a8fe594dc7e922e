"""What every context's API routes share: how a model is named in a path, the error body, who called."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="lower-case letters, digits and dashes")]


class ErrorBody(BaseModel):
    message: str


NOT_FOUND: dict[int, OpenAPIResponse] = {404: {"description": "Not found", "content": {"application/json": {"model": ErrorBody}}}}


def unavailable(description: str) -> dict[int, OpenAPIResponse]:
    """The 503 of a route that needs a deployed version (NoModel)."""
    return {503: {"description": description, "content": {"application/json": {"model": ErrorBody}}}}


def caller(router: Any) -> str:
    """Who made the change: the IAM principal API Gateway authenticated (SigV4), else 'anonymous'."""
    identity = router.current_event.request_context.identity
    return identity.user_arn or identity.caller or "anonymous"
