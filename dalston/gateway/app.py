"""The FastAPI application, built from one ``Settings``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dalston import __version__, telemetry
from dalston.config import AuthMode, Settings
from dalston.dialects.elevenlabs import realtime as realtime_elevenlabs
from dalston.dialects.elevenlabs import routes as elevenlabs
from dalston.dialects.elevenlabs import webhooks as elevenlabs_webhooks
from dalston.dialects.native import (
    engines,
    job_audio,
    jobs,
    keys,
    models,
    operations,
    sessions,
    system,
    webhooks,
)
from dalston.dialects.native import realtime as realtime_native
from dalston.dialects.openai import client_secrets
from dalston.dialects.openai import realtime as realtime_openai
from dalston.dialects.openai import routes as openai
from dalston.engine_sdk import BatchEngine
from dalston.gateway import console, docs, log_redaction, shared_routes
from dalston.gateway.errors import install_error_handlers
from dalston.gateway.limits import BodySizeLimit, NulGuard
from dalston.gateway.metrics import HttpMetrics
from dalston.gateway.openapi import install_openapi
from dalston.gateway.request_id import RequestId
from dalston.runtime import Role, Runtime


def create_app(
    settings: Settings | None = None,
    role: Role | None = None,
    *,
    engine_classes: Iterable[type[BatchEngine]] = (),
) -> FastAPI:
    """The HTTP app; embedded by default, or a gateway-only process (``role``).

    ``engine_classes`` replaces registered engine classes by id (the tests' fake
    transcriber; see ``dalston.runtime``)."""
    overrides = tuple(engine_classes)
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings, role, engine_classes=overrides)
        # Before start: stored ElevenLabs deliveries resume with the loop.
        elevenlabs_webhooks.attach(runtime)
        await runtime.start()
        app.state.runtime = runtime
        if role is None or not role.announce_realtime:  # not a realtime worker
            _banner(settings)
        try:
            yield
        finally:
            await runtime.stop()
            telemetry.shutdown_tracing()

    telemetry.configure_logging(settings.log_format)
    telemetry.setup_tracing("dalston-gateway" if role else "dalston")
    log_redaction.install()
    app = FastAPI(
        title="Dalston",
        version=__version__,
        description="Self-hosted speech-to-text: batch jobs and real-time streams.",
        lifespan=lifespan,
        # Served from this process (swagger-ui-bundle, and ReDoc's script from
        # the console build): /docs works with no network (below).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_upload_bytes,
        idle_timeout_s=settings.upload_idle_timeout_s,
    )
    app.add_middleware(NulGuard)
    app.add_middleware(RequestId)
    app.add_middleware(HttpMetrics)
    for module in (
        system,
        shared_routes,
        operations,
        jobs,
        job_audio,
        openai,
        elevenlabs,
        sessions,
        client_secrets,
        engines,
        models,
        keys,
        webhooks,
        console,
    ):
        app.include_router(module.router)
    app.include_router(console.root_router)
    docs.install(app)
    app.include_router(realtime_native.router)
    app.include_router(realtime_elevenlabs.router)
    app.include_router(realtime_openai.router)
    return app


def _banner(settings: Settings) -> None:
    """Where the console, the API docs and the admin key are, once at start-up."""
    host = (
        "localhost"
        if settings.host in ("0.0.0.0", "127.0.0.1", "::")
        else settings.host
    )
    base = f"http://{host}:{settings.port}"
    built = (console.console_dir() / "index.html").is_file()
    lines = [
        f"Dalston is up: {base}",
        f"  console   {base}/console/"
        if built
        else "  console   not built (make dev builds it)",
        f"  API docs  {base}/docs  (OpenAPI: {base}/openapi.json)",
    ]
    if settings.auth is AuthMode.NONE:
        lines.append("  auth      off (DALSTON_AUTH=none): no API key needed")
    else:
        lines.append(f"  admin key {settings.admin_key_file}")
    logging.getLogger("dalston").info("\n".join(lines))
