"""Model management: ``POST /v1/models/{id}/pull`` and ``DELETE /v1/models/{id}``
(operator only), and the statuses ``GET /v1/models/{id}`` reports meanwhile.

There is no hub here: an offline pull must fail within seconds with the reason,
in the answer and in the model's status. A download that works is played by a
fake ``catalog.download`` that fills the (per-module, empty) Hugging Face cache
the way the hub client does; the probe it passes first is a real TCP connection
to a local listener standing in for the hub.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from dalston.catalog import ModelCatalog
from dalston.errors import Unavailable
from dalston.services.models import probe_hub
from tests.audio_fixtures import JFK
from tests.hub_cache import HUB_MODEL, HUB_REPO, fake_cached_model
from tests.inproc.conftest import InProcess


async def _key(inproc: InProcess, scopes: list[str], tenant: str | None = None) -> str:
    body: dict[str, Any] = {"name": "models-test", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    response = await inproc.client.post("/auth/keys", json=body)
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


async def _model(inproc: InProcess, model_id: str) -> dict[str, Any]:
    response = await inproc.client.get(f"/v1/models/{model_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def forget_pulls(inproc: InProcess) -> Iterator[None]:
    """Pull outcomes live in the app (shared by the module): start clean."""
    inproc.runtime.models._pulls.clear()
    yield
    inproc.runtime.models._pulls.clear()


@pytest.fixture
async def fake_hub(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A listening socket as the hub's endpoint (the reachability probe passes),
    downloads allowed."""

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


# --- pull -------------------------------------------------------------------------
async def test_pulling_a_packaged_model_says_it_is_present(inproc: InProcess) -> None:
    response = await inproc.client.post("/v1/models/whisper-tiny.en/pull")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "package" and body["status"] == "ready"
    assert "already present" in body["message"]


@pytest.mark.usefixtures("forget_pulls")
async def test_an_offline_pull_fails_at_once_with_the_reason(
    inproc: InProcess,
) -> None:
    """``HF_HUB_OFFLINE`` (set for this layer, as for the test servers)."""
    started = time.monotonic()
    response = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    assert time.monotonic() - started < 10
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "unavailable" and error["param"] == "model_id"
    assert "HF_HUB_OFFLINE" in error["message"] and HUB_MODEL in error["message"]
    model = await _model(inproc, HUB_MODEL)
    assert model["status"] == "failed"
    assert model["error"] == error["message"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:9",  # nothing listens: refused at once
        "https://192.0.2.1",  # TEST-NET-1, never routed: no answer (the timeout)
        "https://no-such-host.invalid",  # no such name
    ],
)
@pytest.mark.usefixtures("forget_pulls")
async def test_a_pull_without_network_fails_within_seconds(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """Downloads allowed, but the hub cannot be reached: the probe says so within
    its timeout instead of the hub client's minutes of retries."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    started = time.monotonic()
    response = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert response.status_code == 503, response.text
    message = response.json()["error"]["message"]
    assert f"Cannot download model {HUB_MODEL}" in message
    assert endpoint in message and "offline" in message
    model = await _model(inproc, HUB_MODEL)
    assert (model["status"], model["error"]) == ("failed", message)


@pytest.mark.usefixtures("forget_pulls")
async def test_a_pull_on_this_offline_machine_fails_within_seconds(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real hub, downloads allowed: where it cannot be reached (the test
    machines), the pull says so within seconds."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    try:
        socket.create_connection(("huggingface.co", 443), timeout=2).close()
    except OSError:
        pass
    else:
        pytest.skip("the hub can be reached: a pull would download")
    started = time.monotonic()
    response = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    assert time.monotonic() - started < 10
    assert response.status_code == 503, response.text
    message = response.json()["error"]["message"]
    assert "https://huggingface.co" in message and "offline" in message
    assert (await _model(inproc, HUB_MODEL))["error"] == message


async def test_a_hub_that_never_answers_is_offline_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A resolver or connection that hangs costs the probe's timeout, no more
    (no network here answers at once; this is the case of one that blackholes)."""
    released = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> socket.socket:
        released.wait(30)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hang)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"did not answer within 1 s.*offline"):
        await probe_hub("https://huggingface.co", timeout_s=1.0)
    assert time.monotonic() - started < 3
    released.set()


@pytest.mark.usefixtures("forget_pulls", "fake_hub")
async def test_a_pull_downloads_in_the_background_with_progress(
    inproc: InProcess, hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    half = threading.Event()
    finish = threading.Event()
    size = 483_546_902
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def download(self: ModelCatalog, model_id: str) -> Path:
        threads.append(threading.get_ident())
        folder = hub_cache / ("models--" + HUB_REPO.replace("/", "--"))
        (folder / "blobs").mkdir(parents=True, exist_ok=True)
        partial = folder / "blobs" / "model.incomplete"
        with partial.open("wb") as out:  # sparse: the size counts, not the disk
            out.truncate(size // 2)
        half.set()
        assert finish.wait(10)
        partial.unlink()
        return fake_cached_model(hub_cache, HUB_REPO)

    monkeypatch.setattr(ModelCatalog, "download", download)
    response = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "downloading"
    assert "GET /v1/models/whisper-small" in response.json()["message"]
    assert await asyncio.to_thread(half.wait, 10)

    model = await _model(inproc, HUB_MODEL)
    assert model["status"] == "downloading"
    assert model["downloaded_bytes"] >= size // 2
    assert 0.49 < model["download_progress"] < 0.6
    again = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    assert again.status_code == 200 and "already downloading" in again.json()["message"]
    busy = await inproc.client.delete(f"/v1/models/{HUB_MODEL}")
    assert busy.status_code == 409 and "downloading" in busy.text

    finish.set()
    deadline = time.monotonic() + 10
    while (model := await _model(inproc, HUB_MODEL))["status"] == "downloading":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert model["status"] == "ready" and model["download_progress"] == 1.0
    assert model["error"] is None
    assert threads and threads[0] != loop_thread  # off the event loop
    present = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    assert present.status_code == 200 and "already in" in present.json()["message"]

    # Removed again, for the module's other tests.
    assert (await inproc.client.delete(f"/v1/models/{HUB_MODEL}")).status_code == 204


@pytest.mark.usefixtures("forget_pulls", "fake_hub")
async def test_a_failed_download_is_reported_with_its_reason(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    def download(self: ModelCatalog, model_id: str) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(ModelCatalog, "download", download)
    response = await inproc.client.post(f"/v1/models/{HUB_MODEL}/pull")
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 10
    while (model := await _model(inproc, HUB_MODEL))["status"] == "downloading":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert model["status"] == "failed" and "disk full" in model["error"]


# --- delete -----------------------------------------------------------------------
@pytest.mark.usefixtures("forget_pulls")
async def test_deleting_a_cached_hub_model_removes_its_folder(
    inproc: InProcess, hub_cache: Path
) -> None:
    folder = fake_cached_model(hub_cache, HUB_REPO)
    model = await _model(inproc, HUB_MODEL)
    assert model["status"] == "ready" and model["loaded"] is False
    listed = await inproc.client.get("/v1/models")
    assert {m["id"]: m["status"] for m in listed.json()["data"]}[HUB_MODEL] == "ready"

    response = await inproc.client.delete(f"/v1/models/{HUB_MODEL}")
    assert response.status_code == 204, response.text
    assert not folder.exists()
    assert (await _model(inproc, HUB_MODEL))["status"] == "not_downloaded"
    # Nothing left to remove: still done.
    assert (await inproc.client.delete(f"/v1/models/{HUB_MODEL}")).status_code == 204


async def test_a_packaged_model_cannot_be_deleted(inproc: InProcess) -> None:
    response = await inproc.client.delete("/v1/models/whisper-tiny.en")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and "Python package" in error["message"]


async def test_a_loaded_model_cannot_be_deleted(
    inproc: InProcess, hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fake_cached_model(hub_cache, HUB_REPO)
    monkeypatch.setattr(inproc.fake, "loaded_models", lambda: [HUB_MODEL])
    assert (await _model(inproc, HUB_MODEL))["loaded"] is True
    response = await inproc.client.delete(f"/v1/models/{HUB_MODEL}")
    assert response.status_code == 409
    assert "DALSTON_MODEL_IDLE_TTL_S" in response.json()["error"]["message"]
    assert folder.exists()
    monkeypatch.undo()
    assert (await inproc.client.delete(f"/v1/models/{HUB_MODEL}")).status_code == 204


async def test_a_model_a_running_job_uses_cannot_be_deleted(
    inproc: InProcess, hub_cache: Path
) -> None:
    folder = fake_cached_model(hub_cache, HUB_REPO)
    inproc.fake.gate = threading.Event()  # the job holds in its transcribe stage
    job_id = await inproc.submit(JFK, model=HUB_MODEL)
    try:
        response = await inproc.client.delete(f"/v1/models/{HUB_MODEL}")
        assert response.status_code == 409
        assert "1 unfinished job" in response.json()["error"]["message"]
        assert folder.exists()
    finally:
        inproc.fake.gate.set()
    assert (await inproc.wait(job_id))["status"] == "completed"
    assert (await inproc.client.delete(f"/v1/models/{HUB_MODEL}")).status_code == 204


# --- who may ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_an_unknown_model_is_404(inproc: InProcess, method: str) -> None:
    path = "/v1/models/no-such-model" + ("/pull" if method == "POST" else "")
    response = await inproc.client.request(method, path)
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["param"] == "model_id"
    assert "Unknown model 'no-such-model'" in error["message"]


async def test_pull_and_delete_need_an_operator_key(
    inproc: InProcess, hub_cache: Path
) -> None:
    folder = fake_cached_model(hub_cache, HUB_REPO)
    user = await _key(inproc, ["jobs:read", "jobs:write"])
    tenant_admin = await _key(inproc, ["admin"], tenant="acme")
    for key in (user, tenant_admin):
        async with inproc.http(key) as client:
            assert (await client.get(f"/v1/models/{HUB_MODEL}")).status_code == 200
            for response in (
                await client.post(f"/v1/models/{HUB_MODEL}/pull"),
                await client.delete(f"/v1/models/{HUB_MODEL}"),
            ):
                assert response.status_code == 403, response.text
                assert response.json()["error"]["code"] == "forbidden"
    assert folder.exists()
    assert (await inproc.client.delete(f"/v1/models/{HUB_MODEL}")).status_code == 204


async def test_the_models_routes_are_documented(inproc: InProcess) -> None:
    paths = (await inproc.client.get("/openapi.json")).json()["paths"]
    pull = paths["/v1/models/{model_id}/pull"]["post"]["responses"]
    assert {"200", "202", "403", "404", "503"} <= set(pull)
    delete = paths["/v1/models/{model_id}"]["delete"]["responses"]
    assert {"204", "403", "404", "409"} <= set(delete)


async def test_the_pull_path_is_only_the_pull_action(inproc: InProcess) -> None:
    """A model id never ends in ``/pull``: other methods there are a 405."""
    for method in ("GET", "DELETE"):
        response = await inproc.client.request(method, f"/v1/models/{HUB_REPO}/pull")
        assert response.status_code == 405, (method, response.text)
        assert response.headers["allow"] == "POST"
    hub_id = await inproc.client.get(f"/v1/models/{HUB_REPO}")
    assert hub_id.status_code == 200 and hub_id.json()["id"] == HUB_REPO
