"""One place that turns errors into the native error shape
``{"error": {"code", "message", "param"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dalston.errors import DalstonError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, param: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "param": param}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DalstonError)
    async def _domain(_: Request, exc: DalstonError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            error_body(exc.code, exc.message, exc.param),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [
            str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")
        ]
        param = ".".join(loc) or None
        message = first.get("msg", "Invalid request.")
        if param:
            message = f"{param}: {message}"
        return JSONResponse(
            error_body("validation_error", message, param), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "Internal server error."), status_code=500
        )
