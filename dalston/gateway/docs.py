"""The API's interactive docs, served from this process so they work offline:
Swagger UI at ``/docs`` from the ``swagger-ui-bundle`` package, ReDoc at ``/redoc``
with its script from the console build (``redoc.standalone.js``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from dalston.gateway import console

ASSETS = "/docs/assets"
_REDOC_SCRIPT = "redoc.standalone.js"


def _swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:  # pragma: no cover - a dependency of the package
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def install(app: FastAPI) -> None:
    assets = _swagger_dir()
    if assets is not None:
        app.mount(ASSETS, StaticFiles(directory=assets), name="swagger-ui-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        if not (console.console_dir() / _REDOC_SCRIPT).is_file():
            return HTMLResponse(
                "<!doctype html><title>ReDoc unavailable</title><p>ReDoc's script "
                "comes with the console build (make dev). The same reference is "
                'at <a href="/docs">/docs</a>.</p>',
                status_code=404,
            )
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            redoc_js_url=f"{console.PREFIX}/{_REDOC_SCRIPT}",
            with_google_fonts=False,
        )
