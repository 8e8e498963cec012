"""Session hygiene: a live session that sends nothing is closed after the idle
timeout, one past its maximum length is ended (its words flushed first), each in
its protocol's own way, announced at the start; the slots are free afterwards."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets

from dalston.audio.decode import decode_to_mono
from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK
from tests.server import ServerProcess

IDLE_S = 1.5
MAX_S = 5.0
SLOTS = 2


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("limits"),
        env={
            "DALSTON_REALTIME_IDLE_TIMEOUT_S": str(IDLE_S),
            "DALSTON_REALTIME_MAX_SESSION_S": str(MAX_S),
            "DALSTON_REALTIME_CAPACITY": str(SLOTS),
        },
    )
    proc.start()
    yield proc
    proc.stop()


def _url(server: ServerProcess, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def _until_closed(ws: Any) -> tuple[list[dict[str, Any]], int | None]:
    messages = []
    try:
        async for raw in ws:
            messages.append(json.loads(raw))
    except websockets.ConnectionClosed:
        pass
    return messages, ws.close_code


async def _native_idle(
    server: ServerProcess,
) -> tuple[dict[str, Any], list[Any], int | None, float]:
    ws = await websockets.connect(
        _url(server, "/v1/audio/transcriptions/stream?language=en"),
        additional_headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    begin = json.loads(await ws.recv())
    started = time.monotonic()
    messages, code = await _until_closed(ws)
    return begin, messages, code, time.monotonic() - started


def _realtime_status(server: ServerProcess) -> dict[str, Any]:
    with server.client() as client:
        body: dict[str, Any] = client.get("/v1/realtime/status").json()
    return body


def test_idle_sessions_are_closed_and_free_their_slots(limited: ServerProcess) -> None:
    async def both() -> list[Any]:
        return await asyncio.gather(*(_native_idle(limited) for _ in range(SLOTS)))

    results = asyncio.run(both())
    for begin, messages, code, waited in results:
        assert begin["type"] == "session.begin"
        assert begin["limits"] == {"idle_timeout_s": IDLE_S, "max_session_s": MAX_S}
        assert code == 4408
        assert messages[-1]["type"] == "error"
        assert messages[-1]["code"] == "idle_timeout"
        assert messages[-1]["recoverable"] is False
        assert IDLE_S - 0.2 <= waited <= IDLE_S + 3
    # Every slot is free again, and a new session gets one.
    deadline = time.monotonic() + 5
    while _realtime_status(limited)["active"]:
        assert time.monotonic() < deadline, _realtime_status(limited)
        time.sleep(0.1)
    begin, _, code, _ = asyncio.run(_native_idle(limited))
    assert begin["type"] == "session.begin" and code == 4408


def test_a_client_that_keeps_sending_is_not_idle(limited: ServerProcess) -> None:
    """Silence sent as audio every 0.5 s keeps the session (only the maximum
    length ends it)."""

    async def run() -> tuple[list[Any], int | None, float]:
        ws = await websockets.connect(
            _url(limited, "/v1/audio/transcriptions/stream?language=en"),
            additional_headers={"Authorization": f"Bearer {limited.admin_key}"},
        )
        await ws.recv()
        started = time.monotonic()

        async def feed() -> None:
            while True:
                await ws.send(b"\0" * 16000)  # 0.5 s of silence
                await asyncio.sleep(0.5)

        feeder = asyncio.create_task(feed())
        messages, code = await _until_closed(ws)
        feeder.cancel()
        return messages, code, time.monotonic() - started

    messages, code, lasted = asyncio.run(run())
    assert code == 4413, messages
    assert messages[-1]["code"] == "session_time_limit"
    assert MAX_S - 0.3 <= lasted <= MAX_S + 5


def _pcm(path: Path) -> bytes:
    samples, _ = decode_to_mono(path, 16000)
    return bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_the_maximum_length_flushes_the_words_heard(limited: ServerProcess) -> None:
    """Speech streamed at real-time pace past the maximum length: the finals
    for what was heard arrive before the close."""
    pcm = _pcm(JFK)  # 11 s: longer than MAX_S

    async def run() -> tuple[list[Any], int | None]:
        ws = await websockets.connect(
            _url(limited, "/v1/audio/transcriptions/stream?language=en"),
            additional_headers={"Authorization": f"Bearer {limited.admin_key}"},
        )
        await ws.recv()

        async def feed() -> None:
            step = 3200  # 0.1 s
            for i in range(0, len(pcm), step):
                await ws.send(pcm[i : i + step])
                await asyncio.sleep(0.1)

        feeder = asyncio.create_task(feed())
        messages, code = await _until_closed(ws)
        feeder.cancel()
        return messages, code

    messages, code = asyncio.run(run())
    assert code == 4413
    finals = [m["text"] for m in messages if m["type"] == "transcript.final"]
    heard = " ".join(finals)
    # What was heard is the start of the clip's words, as far as it got (scored
    # against the prefix it matches best: see STREAMED_JFK_MAX_WER for why a
    # streamed JFK can read "so am I" and "That's not", 4 errors in 7 words).
    words = [w for w in heard.lower().replace(".", " ").replace(",", " ").split()]
    reference = (DATA / "whisper_jfk.txt").read_text().split()
    assert len(words) >= 3, messages
    assert "fellow americans" in " ".join(words), heard
    best = min(
        wer([" ".join(reference[:k])], [heard]) for k in range(1, len(reference) + 1)
    )
    assert best <= 0.6, heard
    assert messages[-1]["code"] == "session_time_limit"


def test_elevenlabs_and_openai_say_it_their_way(limited: ServerProcess) -> None:
    async def elevenlabs() -> tuple[dict[str, Any], list[Any], int | None]:
        ws = await websockets.connect(
            _url(
                limited,
                "/v1/speech-to-text/realtime?model_id=scribe_v2_realtime"
                "&audio_format=pcm_16000",
            ),
            additional_headers={"xi-api-key": limited.admin_key},
        )
        started = json.loads(await ws.recv())
        messages, code = await _until_closed(ws)
        return started, messages, code

    started, messages, code = asyncio.run(elevenlabs())
    assert started["config"]["inactivity_timeout_secs"] == IDLE_S
    assert started["config"]["max_session_duration_secs"] == MAX_S
    assert code == 4408
    assert messages[-1]["message_type"] == "insufficient_audio_activity"
    assert "error" in messages[-1]

    async def openai() -> tuple[dict[str, Any], list[Any], int | None]:
        ws = await websockets.connect(
            _url(limited, "/v1/realtime?intent=transcription"),
            additional_headers={"Authorization": f"Bearer {limited.admin_key}"},
        )
        created = json.loads(await ws.recv())
        messages, code = await _until_closed(ws)
        return created, messages, code

    before = time.time()
    created, messages, code = asyncio.run(openai())
    expires = created["session"]["expires_at"]
    assert before + MAX_S - 2 <= expires <= before + MAX_S + 2
    assert code == 4408
    error = messages[-1]
    assert error["type"] == "error"
    assert error["error"]["code"] == "session_idle_timeout"
    # Every record is closed with the reason.
    with limited.client() as client:
        sessions = client.get("/v1/realtime/sessions", params={"limit": 100}).json()
    assert all(s["status"] != "active" for s in sessions["sessions"])
    assert any(
        "No audio or message" in (s.get("error") or "") for s in sessions["sessions"]
    )
