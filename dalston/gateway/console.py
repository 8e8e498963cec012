"""The web console: the built single-page app from ``web/dist`` at ``/console``.

The API starts whether or not the console is built. Without a build, ``/console``
answers a short 404 that says how to build it. Files that exist are served as
they are; any other path that is not an asset gets ``index.html``, so the app's
own routes (``/console/jobs/...``) survive a reload.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from dalston.gateway.errors import error_body

PREFIX = "/console"
_REPO_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
_NOT_BUILT = (
    "The web console is not built. Build it with `make dev`, or "
    "`cd web && npm ci && npm run build`, then reload."
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)
# The front door: `/` is the console (or, without a build, where things are).
root_router = APIRouter(include_in_schema=False)


@root_router.get("/")
async def front_door(request: Request) -> Response:
    if (console_dir() / "index.html").is_file():
        return RedirectResponse(f"{PREFIX}/", status_code=307)
    return JSONResponse(
        {
            "name": "Dalston",
            "console": None,
            "message": _NOT_BUILT,
            "docs": "/docs",
            "openapi": "/openapi.json",
            "health": "/health",
        }
    )


def console_dir() -> Path:
    """Where the built console lies: ``DALSTON_CONSOLE_DIR``, else ``web/dist``."""
    override = os.environ.get("DALSTON_CONSOLE_DIR")
    return Path(override) if override else _REPO_DIST


def _not_built(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(
            "<!doctype html><title>Dalston console not built</title>"
            f"<h1>Console not built</h1><p>{_NOT_BUILT}</p>",
            status_code=404,
        )
    return JSONResponse(error_body("not_found", _NOT_BUILT, status=404), 404)


def _resolve(root: Path, path: str) -> Path | None:
    """The file under ``root`` that ``path`` names, never one outside it."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


@router.get("")
async def console_root() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.get("/{path:path}")
async def console(path: str, request: Request) -> Response:
    root = console_dir()
    index = root / "index.html"
    if not index.is_file():
        return _not_built(request)
    found = _resolve(root, path)
    if found is not None:
        # Vite names assets by content hash, so they never change.
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(found, headers={"Cache-Control": cache})
    last = path.rsplit("/", 1)[-1]
    if path.startswith("assets/") or "." in last:
        return JSONResponse(
            error_body("not_found", f"No console file {path!r}.", status=404), 404
        )
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
