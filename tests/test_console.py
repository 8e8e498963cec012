"""The web console: how the gateway serves it, and the whole console end to end in
real headless Chromium, live transcription included (Chromium's fake microphone
plays JFK). The audio route its player uses is checked in process:
``tests/inproc/test_job_audio.py``.

The browser test also submits a job with diarization, PII detection and audio
redaction (two speakers, ``pyannote_sample.wav``) and checks its speakers, entities,
redacted text and redacted audio on the job page.

The browser test needs Node.js, npm and Chromium. Without them it skips with the
reason, except under ``CI=true``, where that is a failure. It builds the console
(``npm ci``, ``npm run build``) when ``web/dist`` is missing or older than its
sources; ``make test`` has built it already, so this is then a no-op.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dalston.audio import decode_to_mono
from dalston.gateway import console
from tests.conftest import DATA
from tests.server import REPO, ServerProcess

WEB = REPO / "web"
DIST_STAMP = WEB / "dist" / ".stamp"
DEPS_STAMP = WEB / "node_modules" / ".installed"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
JFK = DATA / "whisper_jfk.flac"
TWO_SPEAKERS = DATA / "pyannote_sample.wav"  # 30 s, two people, names and places


# --- /console without a server --------------------------------------------------
@pytest.fixture
def console_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DALSTON_CONSOLE_DIR", str(tmp_path / "dist"))
    yield tmp_path / "dist"


def _client() -> TestClient:
    app = FastAPI()
    app.include_router(console.router)
    return TestClient(app)


def test_console_not_built_answers_404(console_app: Path) -> None:
    with _client() as client:
        response = client.get("/console/")
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "not_found"
        assert "not built" in error["message"]
        html = client.get("/console/jobs", headers={"Accept": "text/html"})
        assert html.status_code == 404
        assert "Console not built" in html.text


def test_console_serves_files_and_falls_back_to_index(console_app: Path) -> None:
    (console_app / "assets").mkdir(parents=True)
    (console_app / "index.html").write_text("<!doctype html><div id=root></div>")
    (console_app / "assets" / "app-abc123.js").write_text("console.log(1)")
    (console_app.parent / "secret.txt").write_text("outside")
    with _client() as client:
        root = client.get("/console", follow_redirects=False)
        assert root.status_code == 307
        assert root.headers["location"] == "/console/"
        index = client.get("/console/")
        assert index.status_code == 200
        assert "id=root" in index.text
        assert index.headers["cache-control"] == "no-cache"
        asset = client.get("/console/assets/app-abc123.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
        # The app's own routes get index.html, so a reload keeps the page.
        deep = client.get("/console/jobs/1234")
        assert deep.status_code == 200
        assert "id=root" in deep.text
        # Missing assets are 404, not index.html.
        assert client.get("/console/assets/gone.js").status_code == 404
        assert client.get("/console/favicon.png").status_code == 404
        # Nothing outside the build folder is served.
        for path in ("/console/../secret.txt", "/console/%2e%2e/secret.txt"):
            response = client.get(path)
            assert "outside" not in response.text


# --- the console in a real browser ---------------------------------------------------
def _require_browser_tools() -> None:
    missing = []
    if not (shutil.which("node") and shutil.which("npm")):
        missing.append("Node.js and npm")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not missing:
        return
    message = f"the console's browser test needs {' and '.join(missing)}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: they are required)")
    pytest.skip(message)


def _newest_source() -> float:
    files = [p for p in (WEB / "src").rglob("*") if p.is_file()]
    files += [
        WEB / name
        for name in (
            "index.html",
            "vite.config.ts",
            "tsconfig.json",
            "package.json",
            "package-lock.json",
        )
    ]
    return max(p.stat().st_mtime for p in files if p.exists())


def _npm(*args: str) -> None:
    result = subprocess.run(
        ["npm", *args],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"npm {' '.join(args)} failed:\n{output}"


def _ensure_console_built() -> None:
    """Install and build the console unless ``make`` already did (same stamps)."""
    lock = WEB / "package-lock.json"
    if not DEPS_STAMP.exists() or DEPS_STAMP.stat().st_mtime < lock.stat().st_mtime:
        _npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
        DEPS_STAMP.touch()
    if not DIST_STAMP.exists() or DIST_STAMP.stat().st_mtime < _newest_source():
        _npm("run", "build")
        DIST_STAMP.touch()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A fresh server of its own: the browser test creates, revokes and deletes."""
    _require_browser_tools()
    _ensure_console_built()
    proc = ServerProcess(tmp_path_factory.mktemp("console-server"))
    proc.start()
    yield proc
    proc.stop()


def _fake_microphone(path: Path) -> Path:
    """JFK as a 16-bit mono WAV with a pause after it, for Chromium's fake mic."""
    audio, _ = decode_to_mono(JFK)
    audio = np.concatenate([audio, np.zeros(32000, np.float32)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_console_in_chromium(console_server: ServerProcess, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    microphone = _fake_microphone(tmp_path / "microphone.wav")
    result = subprocess.run(
        ["node", "e2e/console.e2e.mjs"],
        cwd=WEB,
        env={
            **os.environ,
            "DALSTON_URL": console_server.url,
            "DALSTON_ADMIN_KEY": console_server.admin_key,
            "CONSOLE_AUDIO": str(JFK),
            "CONSOLE_SCREENSHOTS": str(shots),
            "CONSOLE_LIVE_AUDIO": str(microphone),
            "CONSOLE_DIARIZE_AUDIO": str(TWO_SPEAKERS),
            "CHROMIUM_PATH": CHROMIUM,
        },
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    # Kept for a person to look at: web/e2e/screenshots/ is not committed.
    keep = WEB / "e2e" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy2(png, keep / png.name)
    output = f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    assert result.returncode == 0, (
        f"{output}\nserver log:\n{console_server.log()}\nscreenshots: {shots}"
    )
    assert "all steps passed" in result.stdout
    taken = sorted(p.name for p in shots.glob("*.png"))
    for name in (
        "01-sign-in",
        "04-job-detail",
        "08-live",
        "10-engines",
        "13-job-diarized",
    ):
        assert f"{name}.png" in taken, taken
