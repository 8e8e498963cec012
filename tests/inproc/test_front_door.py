"""The front door: `/` leads to the console, start-up says where the console, the
API docs and the admin key are, and /docs and /redoc work with no network."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from dalston.config import AuthMode
from tests.inproc.conftest import BASE_URL, InProcess, fast_settings, running


@pytest.fixture
def console_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Dalston</title>")
    (dist / "redoc.standalone.js").write_text("/* redoc */")
    monkeypatch.setenv("DALSTON_CONSOLE_DIR", str(dist))
    return dist


async def test_root_goes_to_the_console(inproc: InProcess, console_build: Path) -> None:
    response = await inproc.client.get("/", headers={"Authorization": ""})
    assert response.status_code == 307
    assert response.headers["location"] == "/console/"


async def test_root_without_a_console_build_says_where_things_are(
    inproc: InProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DALSTON_CONSOLE_DIR", str(tmp_path / "none"))
    body = (await inproc.client.get("/")).json()
    assert body["docs"] == "/docs" and body["openapi"] == "/openapi.json"
    assert "make dev" in body["message"]


async def test_docs_and_their_assets_are_served_here(
    inproc: InProcess, console_build: Path
) -> None:
    page = await inproc.client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    script = await inproc.client.get("/docs/assets/swagger-ui-bundle.js")
    css = await inproc.client.get("/docs/assets/swagger-ui.css")
    assert script.status_code == css.status_code == 200
    assert len(script.content) > 100_000
    redoc = await inproc.client.get("/redoc")
    assert redoc.status_code == 200
    assert "/console/redoc.standalone.js" in redoc.text
    assert "fonts.googleapis" not in redoc.text
    assert (await inproc.client.get("/console/redoc.standalone.js")).status_code == 200


async def test_redoc_without_a_console_build_points_to_docs(
    inproc: InProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DALSTON_CONSOLE_DIR", str(tmp_path / "none"))
    redoc = await inproc.client.get("/redoc")
    assert redoc.status_code == 404 and 'href="/docs"' in redoc.text


@pytest.mark.parametrize("auth", [AuthMode.API_KEY, AuthMode.NONE])
async def test_startup_says_where_things_are(
    tmp_path: Path,
    console_build: Path,
    caplog: pytest.LogCaptureFixture,
    auth: AuthMode,
) -> None:
    settings = fast_settings(tmp_path, auth=auth, port=8123)
    with caplog.at_level(logging.INFO, logger="dalston"):
        async for state in running(settings):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=state.app), base_url=BASE_URL
            ) as client:
                assert (await client.get("/health")).status_code == 200
    banner = "\n".join(
        r.getMessage() for r in caplog.records if "Dalston is up" in r.getMessage()
    )
    assert "http://localhost:8123/console/" in banner
    assert "http://localhost:8123/docs" in banner
    if auth is AuthMode.NONE:
        assert "auth      off" in banner
    else:
        assert f"admin key {settings.admin_key_file}" in banner


async def test_auth_off_answers_who_am_i_without_a_key(open_inproc: InProcess) -> None:
    """What the console asks to skip its sign-in page (DALSTON_AUTH=none)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=open_inproc.app), base_url=BASE_URL
    ) as anonymous:
        me = await anonymous.get("/auth/me")
    assert me.status_code == 200, me.text
    assert "admin" in me.json()["scopes"]
