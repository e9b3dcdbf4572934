"""Typed errors shared by the hooks, the store and the flows.

The split follows one rule: a ``RetryableError`` may succeed if the same request is sent again
later (429, 5xx, connection trouble); a ``FatalError`` will not (other 4xx, bad data, bad
credentials). Messages never carry tokens or secrets.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(SyncError):
    """Something the operator must set or fix (a connection, a variable, a key)."""


class RetryableError(SyncError):
    """Worth retrying: throttled, server error, timeout or dropped connection."""


class RateLimited(RetryableError):
    """HTTP 429 (QBO Fault 3001, HighLevel rate limit)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(RetryableError):
    """HTTP 5xx."""


class ConnectionFailed(RetryableError):
    """Could not reach the service, or the connection dropped before an answer arrived."""


class FatalError(SyncError):
    """Sending the same request again will fail the same way."""


class AuthError(FatalError):
    """Credentials rejected: a revoked, expired or superseded token. The integration needs reauth."""


class CrmAccessDenied(ConfigurationError):
    """HighLevel refused the location's token (401/403). Not a QuickBooks grant to reconnect: the
    CRM connection the integration names must hold this location's own token."""


class ApiError(FatalError):
    """A 4xx answer about the request itself (validation, not found, business rule).

    ``code`` is the QBO Fault code or the HTTP status for HighLevel; ``element`` names the field
    when the API says which one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        element: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.element = element


class StaleObject(ApiError):
    """QBO Fault 5010: the SyncToken sent is not the current one."""


class DuplicateDocNumber(ApiError):
    """QBO Fault 6140: another transaction of the same type already has that DocNumber."""


class DuplicateName(ApiError):
    """QBO Fault 6240: a name list entry with that DisplayName already exists."""
