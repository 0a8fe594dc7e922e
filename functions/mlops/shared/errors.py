"""Typed failures. A pipeline Task's Retry and Catch match on these class names."""

from typing import Any


class PlatformError(Exception):
    """Base class: a failure with a message meant for a person."""


class TransientError(PlatformError):
    """Worth retrying (throttling, a dependency briefly unavailable): what boto3's own retries could
    not absorb. Every pipeline Task's Retry names it; `transient` turns AWS errors into it."""


# Error codes AWS answers when the caller should wait and try again (throttling, a 5xx).
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "TransactionInProgressException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def transient(error: Exception) -> TransientError | None:
    """The TransientError an AWS failure stands for, or None when retrying would not help.

    botocore's exceptions are matched by name, so this module stays importable without botocore.
    """
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in RETRYABLE_CODES or status >= 500:
            operation = getattr(error, "operation_name", "an AWS call")
            return TransientError(f"{operation} failed with {code or status} after retries: {error}")
        return None
    if type(error).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return TransientError(f"AWS was unreachable after retries: {error}")
    return None


class DatasetRejected(PlatformError):
    """The uploaded data cannot be used; retrying will not help."""


class ModelRejected(PlatformError):
    """A model registered from elsewhere does not fit its spec or does not run; retrying will not help."""


class InvalidInput(PlatformError):
    """A request the API cannot act on; `errors` lists each field at fault as loc and msg (a 422)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class NotFound(PlatformError):
    """The thing asked for does not exist."""


class GateFailed(PlatformError):
    """The candidate did not pass the validation gate; the champion stays."""


class Conflict(PlatformError):
    """The change lost a race or does not fit the current state (a conditional write failed)."""
