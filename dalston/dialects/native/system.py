"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dalston import __version__
from dalston.gateway.deps import RuntimeDep
from dalston.gateway.metrics import REGISTRY, observe_runtime

router = APIRouter(tags=["system"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness. ``healthy`` is the word the original Dalston clients (and their
    CLI's server manager) wait for."""
    return {"status": "healthy", "version": __version__}


@router.head("/health", include_in_schema=False)
async def health_head() -> Response:
    """Liveness for monitors that probe with HEAD (the status, no body)."""
    return Response(status_code=200)


@router.get(
    "/ready",
    responses={503: {"description": "Not ready: the same body, a check is false."}},
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.ready()
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks},
        status_code=200 if ok else 503,
    )


@router.head("/ready", include_in_schema=False)
async def ready_head(runtime: RuntimeDep) -> Response:
    """Readiness for probes that use HEAD: 200 or 503, no body."""
    checks = await runtime.ready()
    return Response(status_code=200 if all(checks.values()) else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(runtime: RuntimeDep) -> Response:
    observe_runtime(runtime)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
