"""Swagger UI's assets at ``/docs/assets``: the console build's Swagger UI 5 (the
first to render the OpenAPI 3.1 that FastAPI writes) when the build has it, the
Python package's otherwise; nothing but the three assets is served. That the page
renders with no network is shown in Chromium: ``tests/test_console_operator.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inproc.conftest import InProcess


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    (dist / "swagger-ui").mkdir(parents=True)
    monkeypatch.setenv("DALSTON_CONSOLE_DIR", str(dist))
    return dist


async def test_the_console_builds_swagger_ui_is_served(
    inproc: InProcess, build: Path
) -> None:
    (build / "swagger-ui" / "swagger-ui-bundle.js").write_text("/* swagger-ui 5 */")
    script = await inproc.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.text == "/* swagger-ui 5 */"
    # An asset the build lacks comes from the package.
    css = await inproc.client.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and len(css.content) > 1000


async def test_without_a_build_the_package_serves(
    inproc: InProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DALSTON_CONSOLE_DIR", str(tmp_path / "none"))
    script = await inproc.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-initializer.js", "..%2F..%2Fadmin_key"]
)
async def test_nothing_else_is_served(
    inproc: InProcess, build: Path, name: str
) -> None:
    (build / "swagger-ui" / name.replace("%2F", "_")).write_text("secret")
    response = await inproc.client.get(f"/docs/assets/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
