"""Typed failures. A pipeline Task's Retry and Catch match on these class names."""


class PlatformError(Exception):
    """Base class: a failure with a message meant for a person."""


class TransientError(PlatformError):
    """Worth retrying (throttling, a dependency briefly unavailable)."""


class DatasetRejected(PlatformError):
    """The uploaded data cannot be used; retrying will not help."""


class NotFound(PlatformError):
    """The thing asked for does not exist."""


class GateFailed(PlatformError):
    """The candidate did not pass the validation gate; the champion stays."""


class Conflict(PlatformError):
    """The change lost a race or does not fit the current state (a conditional write failed)."""
