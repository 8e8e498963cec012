"""Domain errors, translated to each API dialect's error shape at the boundary.

    DalstonError
    ├── InvalidRequest          400  bad parameters or input
    │   └── UnsupportedMedia     415  bytes that are not decodable audio
    ├── ValidationFailed         422  a field fails validation (loc names it)
    ├── Unauthenticated          401
    ├── Forbidden                403  key lacks the scope
    ├── NotFound                 404  also for another tenant's objects
    │   └── ArtifactMissing      404  a finished job's stored object is gone
    ├── Conflict                 409  wrong state for the operation
    ├── PayloadTooLarge          413
    └── Unavailable              503  no capacity / dependency down
        └── StorageUnavailable   503  the artifact store cannot be reached (retry)

A job that fails on its input keeps the code (``Job.error_code``); ``input_error``
rebuilds the refusal for the requests that wait for the job.

Engine-side failures use ``engine_sdk.errors``.
"""

from __future__ import annotations

import contextlib
import errno


class DalstonError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequest(DalstonError):
    status_code = 400
    code = "invalid_request"


class UnsupportedMedia(InvalidRequest):
    status_code = 415
    code = "unsupported_media"


class ValidationFailed(DalstonError):
    status_code = 422
    code = "validation_error"

    def __init__(
        self, message: str, *, param: str | None = None, loc: list[str] | None = None
    ) -> None:
        super().__init__(message, param=param)
        self.loc = loc or ["body", *([param] if param else [])]


class Unauthenticated(DalstonError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DalstonError):
    status_code = 403
    code = "forbidden"


class NotFound(DalstonError):
    status_code = 404
    code = "not_found"


class ArtifactMissing(NotFound):
    """The job is there but an object it needs (its transcript) is not."""

    code = "transcript_missing"


class Conflict(DalstonError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DalstonError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(DalstonError):
    """Over a rate limit or quota: 429, with the seconds to wait (Retry-After)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Unavailable(DalstonError):
    status_code = 503
    code = "unavailable"


# Refusals of the input that a job can fail with, after submit (the prepare stage
# reads the whole file, submit only its header): a failed job keeps the code.
_INPUT_ERRORS: dict[str, type[DalstonError]] = {
    cls.code: cls for cls in (InvalidRequest, UnsupportedMedia, PayloadTooLarge)
}


def input_error_code(exc: BaseException) -> str | None:
    """The code a job keeps when ``exc`` failed it: set only for refusals of the
    input (not for a dependency that was away)."""
    if isinstance(exc, (InvalidRequest, PayloadTooLarge)):
        return exc.code
    return None


def input_error(code: str, message: str, *, param: str | None = "file") -> DalstonError:
    """The refusal that ``code`` names, rebuilt where a waiting request answers
    for a job whose input failed later (an unknown code reads as 400)."""
    return _INPUT_ERRORS.get(code, InvalidRequest)(message, param=param)


class StorageUnavailable(Unavailable):
    """The artifact store failed to answer (unreachable, timed out, bucket gone);
    worth another try later."""

    code = "storage_unavailable"


def is_transient(exc: BaseException) -> bool:
    """A dependency (database, Redis, S3) is away or timed out: the same work may
    succeed later. Everything else is a fault of the input or a bug."""
    if isinstance(exc, Unavailable):
        return True
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    with contextlib.suppress(ImportError):
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

        kinds += [OperationalError, InterfaceError]
        # A driver error SQLAlchemy recognised as a lost connection (asyncpg's
        # ConnectionDoesNotExistError when the server ends the backend, say)
        # comes as a bare DBAPIError, flagged as such.
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        # PostgreSQL rolled the transaction back to break a deadlock or a
        # serialization conflict: the same transaction, run again, succeeds.
        if isinstance(exc, DBAPIError) and _sqlstate(exc) in _RETRY_SQLSTATES:
            return True
    with contextlib.suppress(ImportError):
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        kinds += [RedisConnectionError, RedisTimeoutError]
    with contextlib.suppress(ImportError):
        from botocore.exceptions import ConnectionError as BotoConnectionError

        kinds += [BotoConnectionError]
    return isinstance(exc, tuple(kinds))


# deadlock_detected, serialization_failure
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def storage_full(exc: BaseException) -> bool:
    """A disk (the data directory's, the upload spool's, or the database's)
    has no room left: ``ENOSPC``/``EDQUOT``, SQLite's "database or disk is
    full", PostgreSQL's ``disk_full`` (53100). Not the input's fault, and not
    a bug: someone has to free space."""
    seen: BaseException | None = exc
    for _ in range(6):  # the error, its driver's error, what caused those
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if _sqlstate(seen) == "53100" or "database or disk is full" in str(seen):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, from the driver's exception (SQLAlchemy's
    ``orig``, asyncpg's own error as its cause)."""
    seen: BaseException | None = getattr(exc, "orig", None) or exc
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str):
            return code
        seen = seen.__cause__
    return None
