"""Exceptions: one class per status of the native error shape
``{"error": {"code", "message", "param"}}``, and the network failures."""

from __future__ import annotations

import builtins
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "ConnectionError",
    "DalstonError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
    "TimeoutError",
    "UnsupportedMediaError",
    "ValidationError",
    "WebhookVerificationError",
]


class DalstonError(Exception):
    """Base of every error the SDK raises.

    ``status_code`` is the HTTP status (``None`` for network errors), ``code`` and
    ``param`` come from the server's error body, ``body`` is that body as parsed.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.param = param
        self.body = body
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.insert(
                0, f"[{self.status_code}{' ' + self.code if self.code else ''}]"
            )
        if self.param:
            parts.append(f"(param: {self.param})")
        return " ".join(parts)


class ValidationError(DalstonError):
    """400 or 422: the request is malformed or a field is invalid."""


class AuthenticationError(DalstonError):
    """401: no API key, or an invalid, revoked or expired one."""


class PermissionDeniedError(DalstonError):
    """403: the key lacks the scope this call needs."""


class NotFoundError(DalstonError):
    """404: no such object (also another tenant's), or no such route; also 405,
    a route this server does not have for that method (an older server)."""


class ConflictError(DalstonError):
    """409: the object is in the wrong state (e.g. cancel a finished job)."""


class PayloadTooLargeError(DalstonError):
    """413: the upload is over the server's byte cap."""


class UnsupportedMediaError(DalstonError):
    """415: the upload is not audio the server can decode."""


class RateLimitError(DalstonError):
    """429: over a rate limit or quota; ``retry_after`` in seconds, if given."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(DalstonError):
    """5xx (other than 503): the server failed."""


class ServiceUnavailableError(ServerError):
    """503: no capacity right now (or a dependency is down); worth a retry."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ConnectionError(DalstonError, builtins.ConnectionError):
    """The server could not be reached, or the connection broke."""


class TimeoutError(DalstonError, builtins.TimeoutError):
    """A request, or a wait for a job, ran past its timeout."""


class WebhookVerificationError(DalstonError):
    """A webhook's signature, timestamp or headers do not check out."""


_BY_STATUS: dict[int, type[DalstonError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_class(status: int) -> type[DalstonError]:
    """The exception class for an HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return ValidationError
    return DalstonError
