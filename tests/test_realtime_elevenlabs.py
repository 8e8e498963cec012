"""ElevenLabs realtime WebSocket (``/v1/speech-to-text/realtime``): the official
``elevenlabs`` SDK (2.78) and a plain ``websockets`` client, real speech streamed at
twice real time (PACE) to a real server.

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

import pytest
import websockets
from elevenlabs import (
    AsyncElevenLabs,
    AudioFormat,
    CommitStrategy,
    RealtimeAudioOptions,
    RealtimeEvents,
)
from elevenlabs.client import ElevenLabs

from dalston.dialects.elevenlabs.realtime import ElevenLabsAdapter
from dalston.eval.scoring import wer
from dalston.gateway.stream import StreamError
from tests.audio_fixtures import DATA, JFK
from tests.realtime_client import PACE, mulaw8k, pcm16
from tests.server import ServerProcess

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"
NAMED = DATA / "pv_ls_1272_128104_0000.wav"  # "Mr. Quilter is the apostle ..."
CHUNK_S = 0.1
_EVENTS = (
    RealtimeEvents.SESSION_STARTED,
    RealtimeEvents.PARTIAL_TRANSCRIPT,
    RealtimeEvents.COMMITTED_TRANSCRIPT,
    RealtimeEvents.ERROR,
)


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


def _url(server: ServerProcess, query: str) -> str:
    return f"ws://127.0.0.1:{server.port}/v1/speech-to-text/realtime?{query}"


def _sessions(server: ServerProcess) -> list[dict[str, Any]]:
    with server.client() as client:
        body: list[dict[str, Any]] = client.get("/v1/realtime/sessions").json()[
            "sessions"
        ]
    return body


async def _settle(log: list[tuple[str, dict[str, Any]]], timeout: float = 30) -> None:
    """Wait until the last message is a commit and nothing came for 2 s."""
    deadline = time.monotonic() + timeout
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if len(log) != seen:
            seen, quiet_since = len(log), time.monotonic()
        elif log and log[-1][0] == "committed_transcript":
            if time.monotonic() - quiet_since > 2.0:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no final commit: {log[-3:]}")


async def _wait_commits(log: list[tuple[str, dict[str, Any]]], n: int) -> None:
    for _ in range(300):
        if sum(kind == "committed_transcript" for kind, _ in log) >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {n} commits: {log[-3:]}")


async def _sdk_session(
    server: ServerProcess, strategy: CommitStrategy
) -> list[tuple[str, dict[str, Any]]]:
    """Stream JFK then LIBRI with the SDK; manual mode commits after each file."""
    client = AsyncElevenLabs(api_key=server.admin_key, base_url=server.url)
    options: RealtimeAudioOptions = {
        "model_id": "scribe_v2_realtime",
        "audio_format": AudioFormat.PCM_16000,
        "sample_rate": 16000,
        "commit_strategy": strategy,
        "language_code": "en",
        "vad_silence_threshold_secs": 1.0,
    }
    conn = await client.speech_to_text.realtime.connect(options)
    log: list[tuple[str, dict[str, Any]]] = []
    for kind in _EVENTS:
        conn.on(kind, lambda data, kind=kind.value: log.append((kind, data)))
    step = int(16000 * 2 * CHUNK_S)
    commits = 0
    for i, path in enumerate((JFK, LIBRI)):
        audio = pcm16(path, trailing_silence_s=2.0)
        async for n in _paced(-(-len(audio) // step)):
            chunk = base64.b64encode(audio[n * step : (n + 1) * step]).decode()
            first = i == 0 and n == 0
            extra = {"previous_text": "A speech."} if first else {}
            await conn.send({"audio_base_64": chunk, **extra})
        if strategy is CommitStrategy.MANUAL:
            await conn.commit()
            commits += 1
            await _wait_commits(log, commits)
    if strategy is CommitStrategy.VAD:
        await _settle(log)
    await conn.close()
    return log


def _texts(log: list[tuple[str, dict[str, Any]]], kind: str) -> list[str]:
    return [data["text"] for k, data in log if k == kind]


def test_sdk_vad_commits(server: ServerProcess) -> None:
    log = asyncio.run(_sdk_session(server, CommitStrategy.VAD))
    assert log[0][0] == "session_started", log[:2]
    config = log[0][1]["config"]
    assert config["commit_strategy"] == config["vad_commit_strategy"] == "vad"
    assert not [data for kind, data in log if kind == "error"]
    committed = _texts(log, "committed_transcript")
    said = " ".join(t for t in committed if t)
    assert wer([_ref(JFK) + " " + _ref(LIBRI)], [said]) <= 0.15, committed
    assert len(committed) >= 2  # the pause between the files commits
    assert _texts(log, "partial_transcript"), "no partial while speech went on"
    session_id = log[0][1]["session_id"]
    for _ in range(100):  # the server records the session once it sees the close
        record = {s["id"]: s for s in _sessions(server)}.get(session_id)
        if record and record["status"] != "active":
            break
        time.sleep(0.1)
    assert record is not None and record["protocol"] == "elevenlabs"
    assert record["status"] == "completed", record
    assert wer([_ref(JFK) + " " + _ref(LIBRI)], [record["transcript"]]) <= 0.15


def test_sdk_manual_commits(server: ServerProcess) -> None:
    log = asyncio.run(_sdk_session(server, CommitStrategy.MANUAL))
    assert log[0][1]["config"]["commit_strategy"] == "manual"
    assert not [data for kind, data in log if kind == "error"]
    committed = _texts(log, "committed_transcript")
    assert len(committed) == 2, committed  # nothing committed but by the client
    assert wer([_ref(JFK)], [committed[0]]) <= 0.15, committed
    assert wer([_ref(LIBRI)], [committed[1]]) <= 0.15, committed


async def _plain(
    url: str,
    headers: dict[str, str],
    messages: list[Any],
    *,
    audio: bytes = b"",
    rate: int = 16000,
    width: int = 2,
    commit: bool = False,
    until: Callable[[list[dict[str, Any]]], bool] = lambda received: False,
) -> tuple[list[dict[str, Any]], int | None]:
    """Send ``messages``, stream ``audio`` at real-time pace, commit, and collect
    until ``until`` holds (then close) or the server closes."""
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers=headers) as ws:

        async def reader() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in ws:
                    received.append(json.loads(raw))

        task = asyncio.create_task(reader())
        for message in messages:
            await ws.send(message)
        step = int(rate * width * CHUNK_S)
        async for n in _paced(-(-len(audio) // step)):
            chunk = base64.b64encode(audio[n * step : (n + 1) * step]).decode()
            await ws.send(
                json.dumps(
                    {
                        "message_type": "input_audio_chunk",
                        "audio_base_64": chunk,
                        "commit": False,
                        "sample_rate": rate,
                    }
                )
            )
        if commit:
            await ws.send(
                json.dumps(
                    {
                        "message_type": "input_audio_chunk",
                        "audio_base_64": "",
                        "commit": True,
                    }
                )
            )
        for _ in range(300):
            if task.done() or until(received):
                break
            await asyncio.sleep(0.1)
        if not task.done():
            await ws.close()
        await asyncio.wait_for(task, 10)
        return received, ws.close_code


def _has(received: list[dict[str, Any]], kind: str) -> bool:
    return any(m["message_type"] == kind for m in received)


def _key(server: ServerProcess) -> dict[str, str]:
    return {"xi-api-key": server.admin_key}


def test_ulaw_with_timestamps(server: ServerProcess) -> None:
    query = (
        "model_id=scribe_v2_realtime&audio_format=ulaw_8000&audio_format=ulaw_8000"
        "&language_code=eng&include_timestamps=true&include_language_detection=true"
    )
    msgs, code = asyncio.run(
        _plain(
            _url(server, query),
            _key(server),
            [],
            audio=mulaw8k(LIBRI),
            rate=8000,
            width=1,
            commit=True,
            until=lambda got: _has(got, "committed_transcript_with_timestamps"),
        )
    )
    assert msgs[0]["message_type"] == "session_started"
    assert msgs[0]["config"]["audio_format"] == "ulaw_8000"
    assert code == 1000
    committed = [m for m in msgs if m["message_type"] == "committed_transcript"]
    timed = [
        m for m in msgs if m["message_type"] == "committed_transcript_with_timestamps"
    ]
    assert len(committed) == len(timed) == 1, msgs
    assert committed[0]["language_code"] == timed[0]["language_code"] == "eng"
    assert wer([_ref(LIBRI)], [timed[0]["text"]]) <= 0.15
    words = timed[0]["words"]
    assert [w["type"] for w in words[:3]] == ["word", "spacing", "word"]
    spoken = [w for w in words if w["type"] == "word"]
    assert wer([_ref(LIBRI)], [" ".join(w["text"] for w in spoken)]) <= 0.15
    assert all(w["logprob"] <= 0 and w["start"] <= w["end"] for w in words)
    assert [w["start"] for w in spoken] == sorted(w["start"] for w in spoken)


def test_single_use_token_and_zero_retention(server: ServerProcess) -> None:
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    token = eleven.tokens.single_use.create("realtime_scribe").token
    query = (
        f"model_id=scribe_v2_realtime&commit_strategy=vad&language_code=en"
        f"&vad_silence_threshold_secs=0.5&enable_logging=false&token={token}"
    )
    msgs, code = asyncio.run(
        _plain(
            _url(server, query),
            {},
            [],
            audio=pcm16(LIBRI),
            until=lambda got: _has(got, "committed_transcript"),
        )
    )
    assert msgs[0]["message_type"] == "session_started"
    assert msgs[0]["config"]["enable_logging"] is False
    said = " ".join(
        m["text"] for m in msgs if m["message_type"] == "committed_transcript"
    )
    assert wer([_ref(LIBRI)], [said]) <= 0.15, msgs
    session_id = msgs[0]["session_id"]
    for _ in range(100):  # listed while it runs, gone once the server saw the close
        if session_id not in {s["id"] for s in _sessions(server)}:
            break
        time.sleep(0.1)
    assert session_id not in {s["id"] for s in _sessions(server)}
    # The token was used up.
    msgs, code = asyncio.run(_plain(_url(server, query), {}, []))
    assert [m["message_type"] for m in msgs] == ["auth_error"] and code == 1008


def test_error_types() -> None:
    adapter = ElevenLabsAdapter()
    for code, kind in [
        ("no_capacity", "resource_exhausted"),  # every realtime slot is taken
        ("processing_lag", "queue_overflow"),
        ("forbidden", "auth_error"),
        ("internal_error", "transcriber_error"),
        ("something_else", "error"),
    ]:
        assert adapter.error(StreamError(code, "x")) == {
            "message_type": kind,
            "error": "x",
        }


def test_a_message_without_audio_or_commit_is_refused() -> None:
    """Audio under another name (another dialect's event, or ``audio``) is an
    ``input_error``, not silence."""
    adapter = ElevenLabsAdapter()
    for body in (
        {"type": "input_audio_buffer.append", "audio": "AAAA"},
        {"message_type": "input_audio_chunk", "audio": "AAAA"},
        {"message_type": "input_audio_chunk", "commit": False},
        {},
    ):
        with pytest.raises(StreamError) as refused:
            adapter.parse({"type": "websocket.receive", "text": json.dumps(body)})
        assert adapter.error(refused.value)["message_type"] == "input_error", body
        assert not refused.value.fatal
        assert "audio_base_64" in refused.value.message


def test_entity_detection_after_each_commit(server: ServerProcess) -> None:
    """Real speech with a name in it ("Mr. Quilter ..."): the commit is followed by
    committed_transcript_entities whose offsets index the committed text."""
    query = "model_id=scribe_v2_realtime&audio_format=pcm_16000&entity_detection=pii"
    msgs, code = asyncio.run(
        _plain(
            _url(server, query),
            _key(server),
            [],
            audio=pcm16(NAMED),
            commit=True,
            until=lambda got: _has(got, "committed_transcript_entities"),
        )
    )
    assert code == 1000, msgs
    kinds = [m["message_type"] for m in msgs]
    assert kinds.index("committed_transcript") < kinds.index(
        "committed_transcript_entities"
    )
    found = next(
        m for m in msgs if m["message_type"] == "committed_transcript_entities"
    )
    committed = next(m for m in msgs if m["message_type"] == "committed_transcript")
    assert found["text"] == committed["text"]
    people = [e for e in found["entities"] if e["entity_type"] == "PERSON"]
    assert people, found
    for entity in found["entities"]:
        assert (
            found["text"][entity["start_char"] : entity["end_char"]] == entity["text"]
        )
    assert "Quilter" in people[0]["text"]
