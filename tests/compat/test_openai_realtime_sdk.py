"""The OpenAI realtime dialect driven by the official ``openai`` Python SDK's
realtime client (``client.realtime.connect``), sync and async: a transcription
session with server VAD, corpus speech in, transcripts out (WER asserted)."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import openai
import pytest

from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK
from tests.realtime_client import PACE
from tests.server import ServerProcess
from tests.test_realtime_openai import pcm24k

pytestmark = pytest.mark.model

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"
COMPLETED = "conversation.item.input_audio_transcription.completed"
SESSION: dict[str, Any] = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 600},
        }
    },
}


def _clients(server: ServerProcess) -> dict[str, Any]:
    return {
        "api_key": server.admin_key,
        "base_url": f"{server.url}/v1",
        "websocket_base_url": f"ws://127.0.0.1:{server.port}/v1",
        "max_retries": 0,
    }


def _chunks(audio: bytes, size: int = 4800) -> list[str]:  # 0.1 s of 24 kHz pcm16
    return [
        base64.b64encode(audio[i : i + size]).decode()
        for i in range(0, len(audio), size)
    ]


def test_sync_client_transcribes(server: ServerProcess) -> None:
    audio = pcm24k(JFK) + pcm24k(LIBRI, trailing_silence_s=2.0)
    reference = (
        JFK.with_suffix(".txt").read_text()
        + " "
        + LIBRI.with_suffix(".txt").read_text()
    )
    client = openai.OpenAI(**_clients(server))
    said: list[str] = []
    with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        created = conn.recv()
        assert created.type in ("session.created", "transcription_session.created")
        conn.session.update(session=SESSION)  # type: ignore[arg-type]
        started = time.monotonic()
        for n, chunk in enumerate(_chunks(audio)):  # at PACE times real time
            conn.input_audio_buffer.append(audio=chunk)
            time.sleep(max(0.0, started + (n + 1) * 0.1 / PACE - time.monotonic()))
        # All audio is in, 2 s of silence last: the server VAD has committed
        # every utterance. A second session.update, a little later, is answered
        # after the transcripts: its session.updated marks the end.
        time.sleep(2.0)
        conn.session.update(session=SESSION)  # type: ignore[arg-type]
        updates = 0
        for event in conn:
            if event.type == "error":
                raise AssertionError(event)
            if event.type == COMPLETED:
                said.append(event.transcript)  # type: ignore[union-attr]
            if event.type in ("session.updated", "transcription_session.updated"):
                updates += 1
                if updates == 2:
                    break
    assert wer([reference], [" ".join(said)]) <= 0.15, said


def test_async_client_manual_commit(server: ServerProcess) -> None:
    manual = {**SESSION, "audio": {"input": {**SESSION["audio"]["input"]}}}
    manual["audio"]["input"]["turn_detection"] = None

    async def run() -> str:
        client = openai.AsyncOpenAI(**_clients(server))
        async with client.realtime.connect(
            extra_query={"intent": "transcription"}
        ) as conn:
            await conn.recv()
            await conn.session.update(session=manual)  # type: ignore[arg-type]
            for chunk in _chunks(pcm24k(LIBRI)):
                await conn.input_audio_buffer.append(audio=chunk)
            await conn.input_audio_buffer.commit()
            async for event in conn:
                if event.type == "error":
                    raise AssertionError(event)
                if event.type == COMPLETED:
                    return str(event.transcript)  # type: ignore[union-attr]
        raise AssertionError("no transcript")

    said = asyncio.run(run())
    assert wer([LIBRI.with_suffix(".txt").read_text()], [said]) <= 0.15, said
