"""A realtime worker killed while its client is quiet: the client is told at
once (an error event that says to start a new session, then a close with 1013),
gets a final for the words already heard, and no session record stays active."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.audio_fixtures import DATA
from tests.realtime_client import pcm16
from tests.server import ServerProcess
from tests.test_distributed import realtime_cluster

pytestmark = pytest.mark.model

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"


async def _talk_then_lose(
    gateway: ServerProcess, worker: ServerProcess
) -> dict[str, Any]:
    url = (
        f"ws://127.0.0.1:{gateway.port}/v1/audio/transcriptions/stream"
        "?language=en&enable_vad=false"
    )
    headers = {"Authorization": f"Bearer {gateway.admin_key}"}
    audio = pcm16(LIBRI)[: 16_000 * 2 * 4]  # 4 s of speech, no end
    got: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        got.append(json.loads(await ws.recv()))  # session.begin
        for i in range(0, len(audio), 3200):
            await ws.send(audio[i : i + 3200])
            await asyncio.sleep(0.1)  # real time
        # Quiet now: wait for the words so far, then lose the worker.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            got.append(message)
            if message["type"] == "transcript.partial" and message["text"].strip():
                break
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        close_code = None
        try:
            while True:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except websockets.ConnectionClosed as closed:
            close_code = closed.rcvd.code if closed.rcvd else None
        told_after = time.monotonic() - killed
    return {"messages": got, "close": close_code, "told_after_s": told_after}


def test_a_lost_worker_ends_the_session_at_once(
    tmp_path: Path, distributed_env: dict[str, str]
) -> None:
    with realtime_cluster(tmp_path, distributed_env) as (gateway, worker):
        result = asyncio.run(_talk_then_lose(gateway, worker))
        messages = result["messages"]
        assert result["told_after_s"] < 2.0, result
        assert result["close"] == 1013, result
        error = [m for m in messages if m["type"] == "error"][-1]
        assert error["code"] == "worker_lost" and not error["recoverable"]
        finals = [m for m in messages if m["type"] == "transcript.final"]
        assert finals and finals[-1]["text"].strip(), messages
        session_id = messages[0]["session_id"]
        with gateway.client() as client:
            deadline = time.monotonic() + 10
            while True:
                sessions = client.get("/v1/realtime/sessions").json()["sessions"]
                active = [s for s in sessions if s["status"] == "active"]
                if not active or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert active == [], sessions
            record = client.get(f"/v1/realtime/sessions/{session_id}").json()
            assert record["status"] == "failed" and record["error"], record
            deleted = client.delete(f"/v1/realtime/sessions/{session_id}")
            assert deleted.status_code == 204
