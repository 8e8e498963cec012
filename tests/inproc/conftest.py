"""The in-process layer: the real app over ``httpx.ASGITransport``, a fake engine.

The app comes from ``create_app(Settings(...))`` with its lifespan run (embedded
mode, SQLite in a temporary folder, the in-process queue), the transcribe stage
served by ``FakeTranscriber`` (see ``fake_engine``) and no realtime decoder, so a job
completes in milliseconds and nothing loads a model. Clients:

- ``inproc.client``: an ``httpx.AsyncClient`` holding the admin key;
- ``inproc.openai()`` / ``inproc.elevenlabs()``: the official SDKs, handed a client
  over the same transport;
- ``open_inproc``: the same app with ``auth=none``;
- ``ws_app``: Starlette's ``TestClient`` over an app with a realtime slot (its
  decoder keeps the real tiny model), for WebSockets; ``talk`` runs one exchange.

``inproc`` and ``open_inproc`` are shared by the tests of one module (starting an app
takes about half a second; the fake is reset before each test); a test that needs
an app of its own, or other settings, uses ``running(fast_settings(...))``.

The rest of Dalston is real: form parsing, the request model and policy, the audio
prepare and merge engines, the orchestrator, storage, each dialect's responses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
from elevenlabs.client import AsyncElevenLabs
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openai import AsyncOpenAI
from starlette.websockets import WebSocketDisconnect

from dalston.config import AuthMode, Settings
from dalston.engine_sdk import BatchEngine
from dalston.gateway.app import create_app
from dalston.runtime import Runtime
from dalston.services.limits import WINDOW_S
from tests.conftest import fresh_database
from tests.inproc.fake_engine import FakeDiarizer, FakeTranscriber

BASE_URL = "http://dalston.test"
DATA = Path(__file__).resolve().parent.parent / "data"
CAPTURES = Path(__file__).resolve().parent.parent / "compat" / "captures"
# Engines the fast layer serves: no aligner, diarizer or PII (they load models).
ENGINES = ["audio-prepare", "faster-whisper", "transcript-merge"]
_TERMINAL = {"completed", "failed", "cancelled"}


@dataclass
class InProcess:
    app: FastAPI
    runtime: Runtime
    client: httpx.AsyncClient  # with the admin key where auth is on

    @property
    def admin_key(self) -> str:
        return self.runtime.admin_key or "no-auth"

    @property
    def fake(self) -> FakeTranscriber:
        for runner in self.runtime.runners:
            if isinstance(runner.engine, FakeTranscriber):
                return runner.engine
        raise AssertionError("the fake transcriber is not served")

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def http(self, key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """Another client of the app, with ``key`` (none: no Authorization)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(
            transport=self.transport(), base_url=BASE_URL, headers=headers, **kwargs
        )

    def openai(self, key: str | None = None, max_retries: int = 0) -> AsyncOpenAI:
        return AsyncOpenAI(
            base_url=f"{BASE_URL}/v1",
            api_key=key or self.admin_key,
            http_client=httpx.AsyncClient(transport=self.transport()),
            max_retries=max_retries,
        )

    def elevenlabs(
        self, key: str | None = None, *, anonymous: bool = False
    ) -> AsyncElevenLabs:
        return AsyncElevenLabs(
            base_url=BASE_URL,
            api_key=None if anonymous else key or self.admin_key,
            httpx_client=httpx.AsyncClient(transport=self.transport()),
        )

    async def replay(self, raw: bytes) -> httpx.Response:
        """A captured HTTP/1.1 request (``tests/compat/captures``) sent to the app:
        the same method, target, headers and body (chunked uploads de-chunked), but
        for its credentials, which become the admin key."""
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(raw)
        conn.receive_data(b"")
        request: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"incomplete capture: {event!r}")
        assert request is not None
        credentials = {
            b"authorization": f"Bearer {self.admin_key}",
            b"xi-api-key": self.admin_key,
        }
        headers = [
            (name.decode(), credentials.get(name) or value.decode())
            for name, value in request.headers
            if name not in (b"host", b"content-length", b"transfer-encoding")
        ]
        async with self.http() as client:
            return await client.request(
                request.method.decode(),
                request.target.decode(),
                headers=headers,
                content=body,
            )

    def stored_keys(self, prefix: str) -> list[str]:
        """Artifact keys under ``prefix`` in the app's local artifact folder."""
        root = self.runtime.settings.artifacts_dir
        base = root / prefix
        if not base.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())

    async def submit(self, path: Path, **data: str) -> str:
        """A native job (``language=en`` unless told otherwise); its id."""
        data.setdefault("language", "en")
        audio = await asyncio.to_thread(path.read_bytes)
        response = await self.client.post(
            "/v1/audio/transcriptions/jobs",
            files={"file": (path.name, audio)},
            data=data,
        )
        assert response.status_code == 201, response.text
        job_id: str = response.json()["id"]
        return job_id

    async def wait(self, job_id: str, timeout: float = 30) -> dict[str, Any]:
        """The job once it is terminal (the fake finishes in milliseconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.client.get(f"/v1/audio/transcriptions/{job_id}")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in _TERMINAL:
                return body
            await asyncio.sleep(0.02)
        raise AssertionError(f"job {job_id} not done in {timeout} s")


def fast_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "engines": ENGINES,
        "realtime_capacity": 0,
        "allow_private_urls": True,
        "task_retry_backoff_s": 0.05,
        "retention_sweep_s": 3600,
        **overrides,
    }
    return Settings(**values)


async def running(
    settings: Settings, *, diarize: bool = False
) -> AsyncIterator[InProcess]:
    """The app of ``settings`` with its lifespan run, and an admin client; with
    ``diarize``, the fake diarizer serves the diarize stage too."""
    engines: list[type[BatchEngine]] = [FakeTranscriber]
    if diarize:
        engines.append(FakeDiarizer)
        settings = settings.model_copy(
            update={"engines": [*settings.engines, FakeDiarizer.engine_id]}
        )
    app = create_app(settings, engine_classes=engines)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        key = runtime.admin_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers
        ) as client:
            state = InProcess(app=app, runtime=runtime, client=client)
            try:
                yield state
            finally:
                # A test that failed while its gate held tasks must not leave an
                # engine thread waiting forever (the interpreter joins it at exit).
                state.fake.reset()


@pytest.fixture(scope="module", autouse=True)
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No model hub here: a pull fails at once (``HF_HUB_OFFLINE``), and the
    Hugging Face cache is an empty folder of the module's, so no test sees (or
    deletes) a developer's downloads. The folder, for tests that fake a cached
    model in it."""
    from huggingface_hub import constants

    patch = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("hf") / "hub"
    patch.setattr(constants, "HF_HUB_CACHE", str(folder))
    patch.setenv("HF_HUB_OFFLINE", "1")
    yield folder
    patch.undo()


@pytest.fixture(scope="module")
async def _module_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[InProcess]:
    async for state in running(fast_settings(tmp_path_factory.mktemp("inproc"))):
        yield state


@pytest.fixture(scope="module")
async def _module_open_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[InProcess]:
    settings = fast_settings(tmp_path_factory.mktemp("open"), auth=AuthMode.NONE)
    async for state in running(settings):
        yield state


@pytest.fixture
def inproc(_module_app: InProcess) -> InProcess:
    """The module's app with API-key auth (the default), its fake reset."""
    _module_app.fake.reset()
    return _module_app


@pytest.fixture
def open_inproc(_module_open_app: InProcess) -> InProcess:
    """The module's app with ``auth=none``, its fake reset."""
    _module_open_app.fake.reset()
    return _module_open_app


# --- WebSockets -------------------------------------------------------------------
Messages = list[dict[str, Any]]


@pytest.fixture(scope="module")
def ws_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The module's app for WebSockets (``TestClient`` runs its lifespan in a
    thread of its own), with realtime slots."""
    settings = fast_settings(tmp_path_factory.mktemp("realtime"), realtime_capacity=2)
    app = create_app(settings, engine_classes=[FakeTranscriber])
    with TestClient(app) as client:
        yield client


def admin_key(client: TestClient) -> str:
    key: str = client.app.state.runtime.admin_key  # type: ignore[attr-defined]
    return key


def talk(
    client: TestClient,
    path: str,
    headers: dict[str, str],
    send: list[str | bytes] | None = None,
    until: Callable[[Messages], bool] = lambda got: False,
) -> tuple[Messages, int | None]:
    """Messages received (after sending ``send``) until the server closes (its
    code) or ``until`` holds (``None``)."""
    got: Messages = []
    try:
        with client.websocket_connect(path, headers=headers) as ws:
            for item in send or []:
                if isinstance(item, bytes):
                    ws.send_bytes(item)
                else:
                    ws.send_text(item)
            while not until(got):
                got.append(ws.receive_json())
            return got, None
    except WebSocketDisconnect as closed:
        return got, closed.code


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def both_databases(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Settings overrides for the module's own database, once on SQLite (the
    default) and once on a fresh PostgreSQL database (an app bootstraps its admin
    key in it, so modules never share one)."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_database() as url:
        yield {"database_url": url}


async def inside_one_rate_window(needed_s: float = 15.0) -> None:
    """Rate limits count requests per fixed minute (``limits.WINDOW_S``): a test
    that expects its Nth request refused must not straddle two windows, so wait
    for the next window when this one has less than ``needed_s`` left."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < needed_s:
        await asyncio.sleep(left + 0.05)
