"""The API's interactive docs, served from this process so they work offline:
Swagger UI at ``/docs``, ReDoc at ``/redoc``.

Swagger UI's assets come from the console build (``swagger-ui/``, copied there from
the ``swagger-ui-dist`` 5 npm package): FastAPI writes OpenAPI 3.1, which Swagger UI
renders from version 5 on. Without a build they come from the ``swagger-ui-bundle``
Python package (Swagger UI 4, which says "Unable to render this definition" for
3.1, but the page and its assets still load). ReDoc's script comes from the
console build (``redoc.standalone.js``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response

from dalston.errors import NotFound
from dalston.gateway import console

ASSETS = "/docs/assets"
_REDOC_SCRIPT = "redoc.standalone.js"
_SWAGGER_ASSETS = frozenset(
    {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}
)


def _packaged_swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:  # pragma: no cover - a dependency of the package
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def swagger_asset(name: str) -> Path | None:
    """The file of a Swagger UI asset: the console build's, else the package's."""
    if name not in _SWAGGER_ASSETS:
        return None
    for folder in (console.console_dir() / "swagger-ui", _packaged_swagger_dir()):
        if folder is not None and (folder / name).is_file():
            return folder / name
    return None


def install(app: FastAPI) -> None:
    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def swagger_ui_asset(name: str) -> Response:
        path = swagger_asset(name)
        if path is None:
            raise NotFound(f"No docs asset {name}.")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

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
