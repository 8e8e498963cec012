"""The OpenAPI document, true to what the server answers.

FastAPI documents each route's success response and, for routes with
parameters, a 422 in its own validation shape. The server answers more than
that, in each dialect's error shape (``gateway/errors.py``): this module adds,
per operation, the statuses its dependencies and inputs can produce, each with
the error model of its dialect.

- authenticated operations: 401, 403, and 429 (a key over its rate limit; job
  submits over the tenant's concurrent-job quota), with ``Retry-After``;
- a path with an id: 404; an operation that changes state: 409;
- any input (query, path or body): 400 and 422;
- uploads (multipart): 413 and 415;
- every operation with dependencies: 503 (the database, Redis or storage is
  down); those that write: 507 (no space left).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from dalston.gateway.deps import get_principal
from dalston.gateway.errors import ELEVENLABS_PREFIXES, api_routes

NATIVE_ERROR = "ErrorResponse"
ELEVENLABS_ERROR = "ElevenLabsError"
ELEVENLABS_VALIDATION = "ElevenLabsValidationError"

_SCHEMAS: dict[str, Any] = {
    NATIVE_ERROR: {
        "title": NATIVE_ERROR,
        "description": "Native and OpenAI error envelope.",
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "type"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "type": {"type": "string"},
                },
            }
        },
    },
    ELEVENLABS_ERROR: {
        "title": ELEVENLABS_ERROR,
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": {"type": "string"},
                    "message": {"type": "string"},
                },
            }
        },
    },
    ELEVENLABS_VALIDATION: {
        "title": ELEVENLABS_VALIDATION,
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {
                            "type": "array",
                            "items": {
                                "anyOf": [{"type": "string"}, {"type": "integer"}]
                            },
                        },
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            }
        },
    },
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: {"Retry-After": {"schema": {"type": "string"}}},
    503: {"Retry-After": {"schema": {"type": "string"}}},
    507: {"Retry-After": {"schema": {"type": "string"}}},
}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(_SCHEMAS)
        for path, _, route in api_routes(app):
            path_item = schema["paths"].get(path, {})
            for method in route.methods or ():
                operation = path_item.get(method.lower())
                if operation is not None:
                    _document(operation, path, route, method)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def statuses(
    path: str, route: APIRoute, method: str, operation: dict[str, Any]
) -> set[int]:
    """The error statuses an operation can answer."""
    out = {503} if route.dependant.dependencies else set()
    if out and method in ("POST", "PUT", "PATCH", "DELETE"):
        out.add(507)  # writes: a full disk
    if _authenticated(route.dependant):
        out |= {401, 403, 429}
    has_path_params = "{" in path
    if has_path_params:
        out.add(404)
    if method in ("DELETE", "PATCH") or (method == "POST" and has_path_params):
        out.add(409)
    body = operation.get("requestBody", {}).get("content", {})
    if operation.get("parameters") or body:
        out |= {400, 422}
    if "multipart/form-data" in body:
        out |= {413, 415}
    return out


def _document(
    operation: dict[str, Any], path: str, route: APIRoute, method: str
) -> None:
    responses = operation.setdefault("responses", {})
    elevenlabs = path.startswith(ELEVENLABS_PREFIXES)
    for key, declared in responses.items():  # a route's own error statuses
        if key.isdigit() and int(key) >= 400 and not declared.get("content"):
            schema = _error_schema(elevenlabs, int(key))
            declared["content"] = {"application/json": {"schema": schema}}
    for status in sorted(statuses(path, route, method, operation)):
        key = str(status)
        if key in responses and not (status == 422 and not elevenlabs):
            continue  # the route's own declaration (or FastAPI's 422) stands
        response: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {
                "application/json": {"schema": _error_schema(elevenlabs, status)}
            },
        }
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[key] = response


def _error_schema(elevenlabs: bool, status: int) -> dict[str, str]:
    """The dialect's error model for ``status``, as a reference."""
    if not elevenlabs:
        name = NATIVE_ERROR
    else:
        name = ELEVENLABS_VALIDATION if status == 422 else ELEVENLABS_ERROR
    return {"$ref": f"#/components/schemas/{name}"}


def _authenticated(dependant: Dependant) -> bool:
    return any(
        dep.call is get_principal or _authenticated(dep)
        for dep in dependant.dependencies
    )
