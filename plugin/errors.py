"""Error families. Transient errors are retried by the worker; permanent ones are recorded
where the merchant sees them and are not retried. Every error carries a machine-readable
`reason` (a short snake_case code) next to its human message."""

from __future__ import annotations


class BackordersError(Exception):
    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class TransientError(BackordersError):
    """Worth retrying: timeouts, connection errors, 429, 5xx, Redis briefly away."""

    reason = "transient"

    def __init__(
        self, message: str, *, reason: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after  # seconds the platform asked us to wait, if it did


class RateLimited(TransientError):
    reason = "rate_limited"


class PermanentError(BackordersError):
    """Retrying will not help: 4xx from the platform, invalid data, missing resource."""

    reason = "permanent"


class NotFound(PermanentError):
    reason = "not_found"


class AuthenticationFailed(PermanentError):
    reason = "authentication_failed"


class ValidationFailed(PermanentError):
    reason = "validation_failed"


class ConnectError(PermanentError):
    """A store could not be connected; `reason` says why, the message says it to a human."""

    reason = "connect_failed"


class InvalidStoreUrl(ConnectError):
    reason = "invalid_store_url"


class InvalidState(ConnectError):
    reason = "invalid_state"


class InvalidKeys(ConnectError):
    reason = "invalid_keys"


class TemplateProblem(ValueError):
    """A message wording that does not render; the message says why (shown to the merchant)."""

    def __init__(self, message: str, *, over_budget: bool = False) -> None:
        super().__init__(message)
        self.over_budget = over_budget
