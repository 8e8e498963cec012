"""OpenAI Realtime transcription sessions (``/v1/realtime?intent=transcription``)
with a plain ``websockets`` client: 24 kHz pcm16 streamed at twice real time (PACE).

Refusals and protocol errors are checked in process:
``tests/inproc/test_realtime_protocol.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from dalston.audio import decode_to_mono
from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK
from tests.realtime_client import PACE
from tests.server import ServerProcess

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"
CHUNK_S = 0.1
COMPLETED = "conversation.item.input_audio_transcription.completed"
DELTA = "conversation.item.input_audio_transcription.delta"
Messages = list[dict[str, Any]]


async def _paced(count: int) -> AsyncIterator[int]:
    """0..count-1 at ``PACE`` times real time, one per CHUNK_S of audio by the
    clock (a slow loop catches up instead of drifting)."""
    start = time.monotonic()
    for n in range(count):
        yield n
        await asyncio.sleep(
            max(0.0, start + (n + 1) * CHUNK_S / PACE - time.monotonic())
        )


def _ref(path: Path) -> str:
    return path.with_suffix(".txt").read_text()


def pcm24k(path: Path, trailing_silence_s: float = 1.5) -> bytes:
    audio, _ = decode_to_mono(path, sample_rate=24000)
    audio = np.concatenate([audio, np.zeros(int(trailing_silence_s * 24000), "f4")])
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def _url(server: ServerProcess, query: str = "intent=transcription") -> str:
    return f"ws://127.0.0.1:{server.port}/v1/realtime?{query}"


def _auth(server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_key}"}


def _append(audio: bytes) -> str:
    payload = base64.b64encode(audio).decode()
    return json.dumps({"type": "input_audio_buffer.append", "audio": payload})


async def _session(
    url: str,
    headers: dict[str, str],
    script: list[Any],
    until: Callable[[Messages], bool] = lambda got: False,
) -> tuple[Messages, int | None]:
    """Run ``script``: events to send (dicts; strings go as they are), ``bytes`` to
    stream at real-time pace (24 kHz pcm16), or predicates to wait for; then wait
    for ``until`` and close."""
    got: Messages = []
    async with websockets.connect(url, additional_headers=headers) as ws:

        async def reader() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in ws:
                    got.append(json.loads(raw))

        task = asyncio.create_task(reader())

        async def wait(predicate: Callable[[Messages], bool]) -> None:
            for _ in range(300):
                if task.done() or predicate(got):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"timed out: {got[-3:]}")

        for step in script:
            if isinstance(step, bytes):
                size = int(24000 * 2 * CHUNK_S)
                async for n in _paced(-(-len(step) // size)):
                    await ws.send(_append(step[n * size : (n + 1) * size]))
            elif callable(step):
                await wait(step)
            else:
                await ws.send(step if isinstance(step, str) else json.dumps(step))
        with contextlib.suppress(AssertionError):
            await wait(until)
        if not task.done():
            await ws.close()
        await asyncio.wait_for(task, 10)
        return got, ws.close_code


def _of(got: Messages, kind: str) -> Messages:
    return [m for m in got if m["type"] == kind]


def _count(kind: str, n: int) -> Callable[[Messages], bool]:
    return lambda got: len(_of(got, kind)) >= n


def _settled() -> Callable[[Messages], bool]:
    """Every utterance heard is completed, and nothing came for 2 s."""
    seen = {"n": -1, "at": time.monotonic()}

    def check(got: Messages) -> bool:
        if len(got) != seen["n"]:
            seen.update(n=len(got), at=time.monotonic())
            return False
        heard = len(_of(got, "input_audio_buffer.speech_started"))
        done = len(_of(got, COMPLETED))
        return heard == done and time.monotonic() - seen["at"] > 2.0

    return check


def test_server_vad_transcribes_speech(server: ServerProcess) -> None:
    update = {
        "type": "transcription_session.update",
        "session": {
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1", "language": "en"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 600},
        },
    }
    audio = pcm24k(JFK) + pcm24k(LIBRI, trailing_silence_s=2.0)
    # A commit of an empty buffer is refused with server VAD too.
    empty = {"type": "input_audio_buffer.commit", "event_id": "evt_empty"}
    got, code = asyncio.run(
        _session(
            _url(server),
            _auth(server),
            [update, empty, _count("error", 1), audio],
            until=_settled(),
        )
    )
    assert got[0]["type"] == "transcription_session.created" and code == 1000
    updated = _of(got, "transcription_session.updated")[0]["session"]
    assert updated["turn_detection"]["silence_duration_ms"] == 600
    errors = [(m["error"]["code"], m["error"]["event_id"]) for m in _of(got, "error")]
    assert errors == [("input_audio_buffer_commit_empty", "evt_empty")], errors
    completed = _of(got, COMPLETED)
    said = " ".join(m["transcript"] for m in completed)
    assert wer([_ref(JFK) + " " + _ref(LIBRI)], [said]) <= 0.15, said
    # Each utterance: speech_started, speech_stopped, committed, completed, all
    # under one item id; committed items chain through previous_item_id.
    started = [m["item_id"] for m in _of(got, "input_audio_buffer.speech_started")]
    stopped = [m["item_id"] for m in _of(got, "input_audio_buffer.speech_stopped")]
    committed = _of(got, "input_audio_buffer.committed")
    assert started == stopped == [m["item_id"] for m in committed]
    assert [m["item_id"] for m in completed] == started and len(started) >= 2
    assert committed[0]["previous_item_id"] is None
    assert committed[1]["previous_item_id"] == committed[0]["item_id"]
    # Deltas only ever append (stable partial words); the completed transcript
    # is a fresh decode of the whole utterance and may revise a word, so the
    # deltas are held to the transcripts by WER, not character for character.
    deltas = _of(got, DELTA)
    assert deltas, "no delta while speech went on"
    streamed = [
        "".join(d["delta"] for d in deltas if d["item_id"] == item["item_id"])
        for item in completed
    ]
    finals = [
        " ".join(item["transcript"].split()[: len(text.split())])
        for item, text in zip(completed, streamed, strict=True)
        if text.strip()
    ]
    assert finals and wer(finals, [t for t in streamed if t.strip()]) <= 0.35


def test_manual_commit_and_errors(server: ServerProcess) -> None:
    update = {  # the GA shape
        "type": "session.update",
        "session": {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                    "turn_detection": None,
                }
            },
        },
    }
    script: list[Any] = [
        update,
        {"type": "response.create", "event_id": "evt_1"},
        {"type": "input_audio_buffer.commit", "event_id": "evt_2"},
        pcm24k(LIBRI),
        {"type": "input_audio_buffer.commit"},
        _count(COMPLETED, 1),
        "{not json",
        {"type": "input_audio_buffer.clear"},
        {
            "type": "transcription_session.update",
            "session": {"input_audio_format": "mp3"},
        },
    ]
    got, code = asyncio.run(
        _session(_url(server), _auth(server), script, until=_count("error", 4))
    )
    assert code == 1000
    kinds = [m["type"] for m in got if "delta" not in m["type"]]
    updated = _of(got, "session.updated")[0]["session"]
    assert updated["audio"]["input"]["turn_detection"] is None
    errors = [m["error"] for m in _of(got, "error")]
    assert [(e["code"], e["param"], e["event_id"]) for e in errors] == [
        ("invalid_value", "type", "evt_1"),
        ("input_audio_buffer_commit_empty", None, "evt_2"),
        ("invalid_json", None, None),
        ("invalid_value", "session.input_audio_format", None),
    ]
    assert all(e["type"] == "invalid_request_error" for e in errors)
    # Nothing is committed but by the client; the session went on after errors.
    assert not _of(got, "input_audio_buffer.speech_started")
    completed = _of(got, COMPLETED)
    assert len(completed) == 1 and len(_of(got, "input_audio_buffer.committed")) == 1
    assert wer([_ref(LIBRI)], [completed[0]["transcript"]]) <= 0.15, completed
    assert "input_audio_buffer.cleared" in kinds
