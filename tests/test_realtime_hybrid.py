"""Hybrid sessions: with ``batch_after=true`` a live session's audio goes through
the batch pipeline when the session ends (another model, diarization, ... as
``batch_*`` asks), and the session's record links to that job."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from dalston.audio.decode import decode_to_mono
from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK
from tests.server import ServerProcess, wait_for_job

JFK_TEXT = (DATA / "whisper_jfk.txt").read_text()


_CHUNK_PAUSE_S = 0.25  # after each 1 s chunk


def _pcm(path: Path) -> bytes:
    samples, _ = decode_to_mono(path, 16000)
    return bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


async def _native(server: ServerProcess, query: str, pcm: bytes) -> list[Any]:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?{query}",
        additional_headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    messages = [json.loads(await ws.recv())]
    if messages[0]["type"] != "session.begin":
        return messages
    for i in range(0, len(pcm), 32000):
        await ws.send(pcm[i : i + 32000])
        # 4x real time: a stream sent all at once would outrun any server's
        # processing and be ended for lag (max 10 s behind), depending on luck.
        await asyncio.sleep(_CHUNK_PAUSE_S)
    await ws.send(json.dumps({"type": "end"}))
    async for raw in ws:
        messages.append(json.loads(raw))
    return messages


def _linked_job(server: ServerProcess, session_id: str) -> str:
    deadline = time.monotonic() + 90  # the session's end is recorded, then the job
    with server.client() as client:
        while True:
            info = client.get(f"/v1/realtime/sessions/{session_id}").json()
            if info.get("batch_job_id"):
                return str(info["batch_job_id"])
            assert time.monotonic() < deadline, info
            time.sleep(0.2)


def test_a_hybrid_session_makes_a_linked_batch_job(server: ServerProcess) -> None:
    query = (
        "language=en&batch_after=true&batch_model=whisper-base"
        "&batch_speaker_detection=diarize&batch_num_speakers=1"
    )
    messages = asyncio.run(_native(server, query, _pcm(JFK)))
    begin, end = messages[0], messages[-1]
    assert end["type"] == "session.end", messages[-3:]
    live_text = end["transcript"]
    job_id = _linked_job(server, begin["session_id"])
    with server.client() as client:
        job = wait_for_job(client, job_id)
        session = client.get(f"/v1/realtime/sessions/{begin['session_id']}").json()
    assert job["status"] == "completed", job
    # The batch job ran what was asked, on the whole session.
    assert job["model"] == "whisper-base"
    assert [s["stage"] for s in job["stages"]][:2] == ["prepare", "transcribe"]
    assert "diarize" in [s["stage"] for s in job["stages"]]
    assert len(job["speakers"]) == 1
    assert abs(job["audio_duration_seconds"] - session["audio_seconds"]) < 0.2
    assert wer([JFK_TEXT], [job["text"]]) <= 0.1
    assert wer([JFK_TEXT], [live_text]) <= 0.2
    # The audio went to the job, not to the session (store_audio was not asked).
    assert session["has_audio"] is False
    assert session["batch_job_id"] == job_id


def test_a_bad_batch_request_is_refused_before_the_session(
    server: ServerProcess,
) -> None:
    messages = asyncio.run(
        _native(server, "batch_after=true&batch_model=no-such-model", b"")
    )
    assert messages[0]["type"] == "error", messages
    assert messages[0]["code"] == "invalid_request"
    assert "no-such-model" in messages[0]["message"]
    # Without batch_after, batch_* are not read: no job, no link.
    messages = asyncio.run(
        _native(server, "language=en&batch_model=no-such-model", _pcm(JFK)[:64000])
    )
    assert messages[-1]["type"] == "session.end"
    with server.client() as client:
        info = client.get(f"/v1/realtime/sessions/{messages[0]['session_id']}").json()
    assert info["batch_job_id"] is None


def test_elevenlabs_sessions_can_be_hybrid_too(server: ServerProcess) -> None:
    import base64

    async def run() -> str:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{server.port}/v1/speech-to-text/realtime"
            "?model_id=scribe_v2_realtime&audio_format=pcm_16000&language_code=en"
            "&commit_strategy=manual&batch_after=true",
            additional_headers={"xi-api-key": server.admin_key},
        )
        started = json.loads(await ws.recv())
        pcm = _pcm(JFK)
        for i in range(0, len(pcm), 32000):
            chunk = base64.b64encode(pcm[i : i + 32000]).decode()
            message = {"message_type": "input_audio_chunk", "audio_base_64": chunk}
            await ws.send(json.dumps(message))
            await asyncio.sleep(_CHUNK_PAUSE_S)
        commit = {
            "message_type": "input_audio_chunk",
            "audio_base_64": "",
            "commit": True,
        }
        await ws.send(json.dumps(commit))
        while json.loads(await ws.recv())["message_type"] != "committed_transcript":
            pass
        await ws.close()
        return str(started["session_id"])

    session_id = asyncio.run(run())
    with server.client() as client:
        job = wait_for_job(client, _linked_job(server, session_id))
    assert job["status"] == "completed"
    assert wer([JFK_TEXT], [job["text"]]) <= 0.1
