"""A client that vanishes (no close handshake) is recorded as ``disconnected`` in
every dialect, not as a completed session; a normal close still completes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import websockets

from tests.server import ServerProcess

SILENCE = base64.b64encode(b"\0" * 3200).decode()


def _sessions(server: ServerProcess) -> dict[str, dict[str, Any]]:
    with server.client() as client:
        body = client.get("/v1/realtime/sessions", params={"limit": 100}).json()
    return {s["id"]: s for s in body["sessions"]}


def _status_of(server: ServerProcess, session_id: str) -> str:
    for _ in range(100):
        record = _sessions(server).get(session_id)
        if record and record["status"] != "active":
            return str(record["status"])
        time.sleep(0.1)
    raise AssertionError(f"session {session_id} still active")


async def _elevenlabs(server: ServerProcess, vanish: bool) -> str:
    url = (
        f"ws://127.0.0.1:{server.port}/v1/speech-to-text/realtime"
        "?model_id=scribe_v2_realtime&audio_format=pcm_16000"
    )
    ws = await websockets.connect(
        url, additional_headers={"xi-api-key": server.admin_key}
    )
    started = json.loads(await ws.recv())
    chunk = {"message_type": "input_audio_chunk", "audio_base_64": SILENCE}
    await ws.send(json.dumps(chunk))
    if vanish:
        ws.transport.abort()
    else:
        await ws.close()
    return str(started["session_id"])


async def _openai(server: ServerProcess, vanish: bool) -> str:
    url = f"ws://127.0.0.1:{server.port}/v1/realtime?intent=transcription"
    ws = await websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {server.admin_key}"}
    )
    created = json.loads(await ws.recv())
    await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": SILENCE}))
    if vanish:
        ws.transport.abort()
    else:
        await ws.close()
    return str(created["session"]["id"]).removeprefix("sess_")


def test_vanished_clients_are_disconnected_not_completed(
    server: ServerProcess,
) -> None:
    for dialect in (_elevenlabs, _openai):
        vanished = asyncio.run(dialect(server, True))
        assert _status_of(server, vanished) == "disconnected", dialect.__name__
        closed = asyncio.run(dialect(server, False))
        assert _status_of(server, closed) == "completed", dialect.__name__
