"""The original Dalston server's own clients (its SDK and CLI) move over unchanged.

Their requests, reconstructed from their code, are fixtures
(``tests/data/captures/original_clients.json``); each is replayed against a real
server, and the answers are checked for the fields their code reads. Also here:
``X-Request-ID`` on every response, one authentication for HTTP and WebSocket, and
OpenAI's ephemeral realtime keys through the official SDK.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import openai
import pytest
import websockets
from jiwer import wer
from whisper_normalizer.english import EnglishTextNormalizer

from dalston.dialects.native.realtime import NativeAdapter
from dalston.realtime_sdk.events import LagWarning
from tests.realtime_client import of_type, pcm16, stream
from tests.server import ServerProcess, wait_for_job

DATA = Path(__file__).resolve().parent / "data"
CAPTURES = json.loads((DATA / "captures" / "original_clients.json").read_text())
REQUESTS = {r["name"]: r for r in CAPTURES["requests"]}
AUDIO = {
    "sdk_transcribe_defaults": DATA / "whisper_jfk.flac",
    "sdk_transcribe_pii": DATA / "pyannote_sample.wav",
    "cli_transcribe_profile_speaker": DATA / "pyannote_sample.wav",
}
_norm = EnglishTextNormalizer()


def _fill(value: str, key: str) -> str:
    return value.replace("{key}", key)


def _replay(server: ServerProcess, name: str) -> httpx.Response:
    spec = REQUESTS[name]
    key = server.admin_key
    headers = {k: _fill(v, key) for k, v in spec.get("headers", {}).items()}
    with httpx.Client(base_url=server.url, timeout=120) as http:
        if spec["method"] == "GET":
            return http.get(spec["path"], headers=headers)
        audio = AUDIO[name]
        with audio.open("rb") as fh:
            return http.post(
                spec["path"],
                headers=headers,
                data=spec["form"],
                files={"file": (audio.name, fh)} if spec.get("file") else None,
            )


def _job(server: ServerProcess, name: str) -> dict[str, Any]:
    response = _replay(server, name)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    with server.client() as http:
        return wait_for_job(http, response.json()["id"], timeout=300)


def test_default_submit_with_lite_profile_core(server: ServerProcess) -> None:
    job = _job(server, "sdk_transcribe_defaults")
    assert job["status"] == "completed", job
    ref = (DATA / "whisper_jfk.txt").read_text()
    assert wer(_norm(ref), _norm(job["text"])) < 0.1
    # What the SDK's _parse_job reads.
    assert job["language_code"] == "en" and job["words"]
    assert job["pii"] is None  # the SDK reads "no pii" from a missing/None object


def test_pii_fields_the_original_sdk_reads(server: ServerProcess) -> None:
    job = _job(server, "sdk_transcribe_pii")
    assert job["status"] == "completed", job
    pii = job["pii"]
    assert pii["enabled"] is True
    assert pii["entities_detected"] == len(job["entities"]) >= 1
    assert sum(pii["entity_summary"].values()) == pii["entities_detected"]
    assert pii["redacted_audio_available"] is False
    assert {e["entity_type"] for e in job["entities"]} <= {"PERSON", "LOCATION"}


def test_lite_profile_speaker_diarizes(server: ServerProcess) -> None:
    job = _job(server, "cli_transcribe_profile_speaker")
    assert job["status"] == "completed", job
    assert job["parameters"]["speaker_detection"] == "diarize"
    assert len(job["speakers"]) == 2


def test_unknown_lite_profile_is_refused_natively(server: ServerProcess) -> None:
    with server.client() as http, (DATA / "whisper_jfk.flac").open("rb") as fh:
        response = http.post(
            "/v1/audio/transcriptions/jobs",
            data={"lite_profile": "everything"},
            files={"file": ("a.flac", fh)},
        )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "lite_profile"


def test_health_engines_models_status_shapes(server: ServerProcess) -> None:
    health = _replay(server, "sdk_health")
    assert health.json()["status"] == "healthy"
    engines = _replay(server, "sdk_list_engines").json()
    assert engines["total"] == len(engines["engines"]) > 0
    for engine in engines["engines"]:
        caps = engine["capabilities"]  # read with [] by the original SDK
        assert {"languages", "supports_word_timestamps"} <= set(caps)
        assert {"id", "name", "stage", "status", "loaded_model"} <= set(engine)
    whisper = [e for e in engines["engines"] if e["stage"] == "transcribe"]
    assert whisper and all(
        e["capabilities"]["supports_word_timestamps"] for e in whisper
    )
    models = _replay(server, "sdk_list_models").json()
    assert all("id" in m for m in models["data"])
    status = _replay(server, "sdk_realtime_status")
    assert status.status_code == 200 and "status" in status.json()


def test_realtime_connect_as_the_original_sdk(server: ServerProcess) -> None:
    spec = REQUESTS["sdk_realtime_connect"]
    key = server.admin_key
    query = urlencode({k: _fill(v, key) for k, v in spec["query"].items()})
    url = f"ws://127.0.0.1:{server.port}{spec['path']}?{query}"
    headers = {k: _fill(v, key) for k, v in spec["headers"].items()}
    audio = pcm16(DATA / "whisper_jfk.flac")
    result = asyncio.run(stream(url, audio, pace=4.0, headers=headers))
    known = {
        "session.begin",
        "session.end",
        "transcript.partial",
        "transcript.final",
        "vad.speech_start",
        "vad.speech_end",
    }
    kinds = {m["type"] for _, m in result["messages"]}
    assert kinds <= known, kinds
    text = " ".join(m["text"] for m in of_type(result, "transcript.final"))
    ref = (DATA / "whisper_jfk.txt").read_text()
    assert wer(_norm(ref), _norm(text)) < 0.2
    # The key in the URL is not kept with the session record.
    session_id = of_type(result, "session.begin")[0]["session_id"]
    with server.client() as http:
        record = http.get(f"/v1/realtime/sessions/{session_id}").json()
    assert key not in json.dumps(record)


def test_lag_warnings_only_for_clients_that_know_them() -> None:
    adapter = NativeAdapter.__new__(NativeAdapter)
    warning = LagWarning(lag_seconds=2.5)
    adapter.warnings = True
    assert adapter.render(warning, None)[0]["type"] == "warning"  # type: ignore[arg-type]
    adapter.warnings = False
    assert adapter.render(warning, None) == []  # type: ignore[arg-type]


# --- X-Request-ID ----------------------------------------------------------------
def test_request_id_is_echoed_or_made(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        given = http.get("/health", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        made = http.get("/health")
        assert len(made.headers["x-request-id"]) == 32
        other = http.get("/health")
        assert other.headers["x-request-id"] != made.headers["x-request-id"]
        # Errors carry it too, and an unsafe id is replaced, never echoed.
        refused = http.get(
            "/v1/audio/transcriptions", headers={"X-Request-ID": "a b\tc"}
        )
        assert refused.status_code == 401
        assert refused.headers["x-request-id"] not in ("a b\tc", "")
        assert http.get("/nope").headers["x-request-id"]


def test_request_id_on_the_websocket_handshake(server: ServerProcess) -> None:
    async def handshake() -> str | None:
        url = f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream"
        async with websockets.connect(
            url,
            additional_headers={
                "Authorization": f"Bearer {server.admin_key}",
                "X-Request-ID": "ws-42",
            },
        ) as ws:
            assert ws.response is not None
            value = ws.response.headers.get("x-request-id")
            await ws.send(json.dumps({"type": "end"}))
            return value

    assert asyncio.run(handshake()) == "ws-42"


# --- one authentication, HTTP and WebSocket ----------------------------------------
def test_a_single_use_token_works_once_over_http_or_websocket(
    server: ServerProcess,
) -> None:
    with server.client() as http:
        tokens = [
            http.post(
                "/auth/tokens", json={"ttl": 60, "scopes": ["jobs:read", "realtime"]}
            ).json()["token"]
            for _ in range(2)
        ]
    with httpx.Client(base_url=server.url) as anon:
        # The same token as a header and as ?token= is one credential, used once.
        first = anon.get(
            "/v1/audio/transcriptions",
            headers={"Authorization": f"Bearer {tokens[0]}"},
        )
        assert first.status_code == 200, first.text
        again = anon.get("/v1/audio/transcriptions", params={"token": tokens[0]})
        assert again.status_code == 401

    async def open_ws(token: str) -> int | None:
        url = (
            f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?token={token}"
        )
        async with websockets.connect(url) as ws:
            first = json.loads(await ws.recv())
            if first["type"] == "error":
                await ws.wait_closed()
                return ws.close_code
            assert first["type"] == "session.begin"
            await ws.send(json.dumps({"type": "end"}))
            await ws.wait_closed()
            return ws.close_code

    assert asyncio.run(open_ws(tokens[1])) == 1000
    assert asyncio.run(open_ws(tokens[1])) == 4001


def test_concurrent_uses_of_one_token_succeed_once(server: ServerProcess) -> None:
    with server.client() as http:
        token = http.post(
            "/auth/tokens", json={"ttl": 60, "scopes": ["jobs:read", "realtime"]}
        ).json()["token"]

    async def attempt(client: httpx.AsyncClient) -> int:
        response = await client.get("/v1/audio/transcriptions", params={"token": token})
        return response.status_code

    async def race() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url) as client:
            return await asyncio.gather(*(attempt(client) for _ in range(20)))

    codes = asyncio.run(race())
    assert codes.count(200) == 1 and codes.count(401) == 19, codes


# --- OpenAI ephemeral keys ----------------------------------------------------------
def _openai_ws(
    server: ServerProcess, secret: str, *, browser: bool = False
) -> tuple[str, int | None]:
    """Open the realtime WS with ``secret``: as a header, or as a browser must
    (subprotocols ``realtime`` and ``openai-insecure-api-key.<secret>``)."""

    async def run() -> tuple[str, int | None]:
        url = f"ws://127.0.0.1:{server.port}/v1/realtime?intent=transcription"
        if browser:
            protocols = ["realtime", f"openai-insecure-api-key.{secret}"]
            connecting = websockets.connect(
                url,
                subprotocols=protocols,  # type: ignore[arg-type]
            )
        else:
            connecting = websockets.connect(
                url, additional_headers={"Authorization": f"Bearer {secret}"}
            )
        async with connecting as ws:
            if browser:
                assert ws.subprotocol == "realtime"
            first = json.loads(await ws.recv())
            if first["type"] == "error":
                await ws.wait_closed()
                return first["type"], ws.close_code
            await ws.close()
            return first["type"], None

    return asyncio.run(run())


@pytest.fixture
def oai(server: ServerProcess) -> Any:
    client = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=server.admin_key, max_retries=0
    )
    yield client
    client.close()


def test_beta_transcription_session_key_opens_the_websocket_once(
    server: ServerProcess, oai: openai.OpenAI
) -> None:
    session = oai.beta.realtime.transcription_sessions.create(
        input_audio_format="pcm16",
        input_audio_transcription={"model": "whisper-1", "language": "en"},
    )
    secret = session.client_secret.value
    assert session.input_audio_transcription is not None
    assert session.input_audio_transcription.language == "en"
    assert _openai_ws(server, secret)[0] == "transcription_session.created"
    kind, code = _openai_ws(server, secret)
    assert kind == "error" and code is not None and code != 1000


def test_ga_client_secret_opens_the_websocket_once(
    server: ServerProcess, oai: openai.OpenAI
) -> None:
    created = oai.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 120},
        session={
            "type": "transcription",
            "audio": {"input": {"transcription": {"model": "whisper-1"}}},
        },
    )
    assert created.session.type == "transcription"
    assert created.expires_at > 0
    assert _openai_ws(server, created.value)[0] == "transcription_session.created"
    assert _openai_ws(server, created.value)[0] == "error"


def test_a_browser_opens_the_websocket_with_its_key_as_a_subprotocol(
    server: ServerProcess, oai: openai.OpenAI
) -> None:
    created = oai.realtime.client_secrets.create(
        session={"type": "transcription"}  # type: ignore[typeddict-item]
    )
    kind, _ = _openai_ws(server, created.value, browser=True)
    assert kind == "transcription_session.created"
    assert _openai_ws(server, created.value, browser=True)[0] == "error"
    assert _openai_ws(server, "tk_not-a-real-one", browser=True)[0] == "error"


def test_ephemeral_key_requests_are_checked(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        oai.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": 99999}
        )
    assert refused.value.body["param"] == "expires_after.seconds"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        oai.realtime.client_secrets.create(session={"type": "realtime"})  # type: ignore[arg-type]
