"""One place that turns errors into each dialect's error shape.

- native and OpenAI (one envelope serves both):
  ``{"error": {"code", "message", "param", "type"}}``
- ElevenLabs: 422 ``{"detail": [{"loc", "msg", "type"}]}``, otherwise
  ``{"detail": {"status", "message"}}``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from dalston import telemetry
from dalston.errors import (
    DalstonError,
    RateLimited,
    ValidationFailed,
    is_transient,
    storage_full,
)
from dalston.gateway.request_id import HEADER, request_id

log = logging.getLogger(__name__)

ELEVENLABS_PREFIXES = (
    "/v1/speech-to-text",
    "/v1/single-use-token",
    "/v1/workspace/webhooks",
)
# Starlette's form parser reads a part without a filename as a text field and
# refuses one over 1 MB with this message: mostly audio sent without a filename.
_FIELD_TOO_LARGE = "Part exceeded maximum size"
FIELD_TOO_LARGE_MESSAGE = (
    "A form field is over 1 MB. Send audio as a file part with a filename "
    "(curl: -F file=@audio.wav)."
)
# Statuses Starlette raises itself (malformed bodies, unknown paths, methods): the
# codes of the error table (docs/api.md) that the domain errors use too.
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
    507: "insufficient_storage",
}
_ELEVENLABS_STATUS = {
    401: "invalid_api_key",
    403: "missing_permissions",
    429: "too_many_concurrent_requests",
}


def openai_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(
    code: str, message: str, param: str | None = None, status: int = 400
) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "param": param,
            "type": openai_type(status),
        }
    }


def is_elevenlabs(request: Request) -> bool:
    return request.url.path.startswith(ELEVENLABS_PREFIXES)


def _http_message(exc: StarletteHTTPException) -> str:
    detail = str(exc.detail)
    if exc.status_code == 400 and detail.startswith(_FIELD_TOO_LARGE):
        return FIELD_TOO_LARGE_MESSAGE
    return detail


def _render(
    request: Request,
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    loc: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    telemetry.record_error(code)
    if is_elevenlabs(request):
        if status == 422:
            body: dict[str, object] = {
                "detail": [
                    {
                        "loc": loc or ["body", *([param] if param else [])],
                        "msg": message,
                        "type": code,
                    }
                ]
            }
        else:
            body = {
                "detail": {
                    "status": _ELEVENLABS_STATUS.get(status, code),
                    "message": message,
                }
            }
    else:
        body = error_body(code, message, param, status)
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DalstonError)
    async def _domain(request: Request, exc: DalstonError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        loc = exc.loc if isinstance(exc, ValidationFailed) else None
        return _render(
            request,
            exc.status_code,
            exc.code,
            exc.message,
            exc.param,
            loc=loc,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(
        request: Request, exc: RequestValidationError
    ) -> JSONResponse:
        errors = exc.errors()
        if is_elevenlabs(request):
            detail = [
                {
                    "loc": list(e.get("loc", ())),
                    "msg": e.get("msg"),
                    "type": e.get("type"),
                }
                for e in errors
            ]
            return JSONResponse({"detail": detail}, status_code=422)
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            # Its loc is ("body", <byte offset>): no field is at fault.
            reason = (first.get("ctx") or {}).get("error") or "decode error"
            message = f"The request body is not valid JSON ({reason})."
            return _render(request, 422, "validation_error", message)
        loc = [
            str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")
        ]
        param = ".".join(loc) or None
        message = first.get("msg", "Invalid request.")
        if param:
            message = f"{param}: {message}"
        return _render(request, 422, "validation_error", message, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        fallback = "internal_error" if exc.status_code >= 500 else "invalid_request"
        return _render(
            request,
            exc.status_code,
            _HTTP_CODES.get(exc.status_code, fallback),
            _http_message(exc),
            headers=headers or None,
        )

    async def _full(request: Request, exc: Exception) -> JSONResponse:
        # A handler of its own (not _unexpected's): Starlette re-raises what
        # reaches the catch-all after answering, as for a bug.
        if request.scope["type"] != "http" or not storage_full(exc):
            raise exc  # a live stream answers for itself (gateway.stream)
        log.error("no space left to store a request: %r", exc)
        return _render(
            request,
            507,
            "insufficient_storage",
            "The server has no space left to store this request, and kept "
            "nothing of it; try again once its operator has freed space.",
            headers={"Retry-After": "60"},
        )

    app.add_exception_handler(OSError, _full)
    app.add_exception_handler(DBAPIError, _full)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _nul_refused_by_database(exc):
            # A NUL that reached PostgreSQL by a way the door does not check
            # (``limits.NulGuard``): the input's fault, not the server's.
            return _render(request, 400, "invalid_request", NUL_MESSAGE)
        if is_transient(exc):
            log.warning("dependency unavailable: %r", exc)
            return _render(
                request,
                503,
                "unavailable",
                f"A service Dalston depends on is unreachable ({type(exc).__name__}); "
                "try again shortly.",
                headers={"Retry-After": "5"},
            )
        log.exception("unhandled error", exc_info=exc)
        # This response leaves through Starlette's outermost layer, past the
        # request-id middleware: it carries the id itself.
        rid = request_id(request.scope)
        return _render(
            request,
            500,
            "internal_error",
            "Internal server error.",
            headers={HEADER: rid} if rid else None,
        )


NUL_MESSAGE = "The request holds a NUL character (\\x00), which no field may contain."


def _nul_refused_by_database(exc: BaseException) -> bool:
    from sqlalchemy.exc import DataError

    return isinstance(exc, DataError) and "0x00" in str(exc.orig)


def allowed_methods(request: Request) -> list[str]:
    """Every method the API serves at this path (Starlette's own 405 names only
    the methods of the first route whose path matched, not its siblings'): the
    documented ones, and HEAD where a route answers it (the health probes)."""
    methods: set[str] = set()
    for pattern, path_methods in _path_patterns(request.app):
        if pattern.fullmatch(request.url.path):
            methods |= path_methods
    for _, full_path, route in api_routes(request.app, documented=False):
        if "HEAD" in (route.methods or ()) and full_path == request.url.path:
            methods.add("HEAD")
    return sorted(methods)


def _path_patterns(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each documented route's path, as the router matches it (its parameters'
    convertors: a model id may hold ``/``), with its methods."""
    cached: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "path_patterns", None
    )
    if cached is None:
        cached = [
            (compile_path(full_path)[0], set(route.methods or ()))
            for _, full_path, route in api_routes(app)
        ]
        app.state.path_patterns = cached
    return cached


def api_routes(
    app: FastAPI, documented: bool = True
) -> Iterator[tuple[str, str, APIRoute]]:
    """Each documented route (``documented=False``: each route): its path as
    documented, its full path with the parameters' convertors, and the route
    (routers included with a prefix are wrapped in newer FastAPI releases;
    ``iter_route_contexts`` unwraps them)."""
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:
        for route in app.routes:
            if isinstance(route, APIRoute) and (
                route.include_in_schema or not documented
            ):
                yield route.path_format, route.path, route
        return
    for context in iter_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (route.include_in_schema or not documented):
            yield str(context.path_format), str(context.path), route
