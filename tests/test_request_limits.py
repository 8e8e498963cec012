"""The same out-of-range value is refused by the same rule (the request model's
``Field``) in every dialect's realtime route, each in its own error shape (the
batch refusals, and the rule's words, are in tests/inproc/test_request_limits.py):

- native stream: an ``error`` event, then close 4400;
- ElevenLabs stream: ``invalid_request``, close 1008;
- OpenAI realtime: an ``error`` event naming the session field; the session
  goes on.

Refusals come before any audio is decoded: no model runs here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
import websockets

from tests.inproc.test_request_limits import (
    TERMS,
    TOO_LONG_RETENTION,
    TOO_MANY_TERMS,
)
from tests.server import ServerProcess


# --- realtime -------------------------------------------------------------------
async def _first_messages(
    url: str, headers: dict[str, str], send: list[dict[str, Any]], count: int
) -> tuple[list[dict[str, Any]], int | None]:
    got: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        for message in send:
            await ws.send(json.dumps(message))
        try:
            while len(got) < count:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        except websockets.ConnectionClosed:
            pass
        if len(got) >= count:
            await ws.close()
        else:
            await ws.wait_closed()
        return got, ws.close_code


def _ws(server: ServerProcess, path: str, query: list[tuple[str, str]]) -> str:
    return f"ws://127.0.0.1:{server.port}{path}?{urlencode(query)}"


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ([("vocabulary", json.dumps(TERMS))], TOO_MANY_TERMS),
        ([("retention", "4000")], TOO_LONG_RETENTION),
        ([("language", "xx")], "not one of the languages this server transcribes"),
    ],
)
def test_native_stream_refuses(
    server: ServerProcess, query: list[tuple[str, str]], rule: str
) -> None:
    url = _ws(server, "/v1/audio/transcriptions/stream", query)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    got, code = asyncio.run(_first_messages(url, headers, [], 1))
    assert code == 4400
    (error,) = got
    assert error["type"] == "error" and error["code"] == "invalid_request"
    assert rule in error["message"] and error["recoverable"] is False


@pytest.mark.parametrize(
    ("terms", "rule"),
    [(TERMS, TOO_MANY_TERMS), (["one two three four five six"], "more than 5 words")],
)
def test_elevenlabs_stream_refuses(
    server: ServerProcess, terms: list[str], rule: str
) -> None:
    """The same keyterm rules as ElevenLabs batch (the model's count and
    length, ElevenLabs' own syntax)."""
    query = [("model_id", "scribe_v2_realtime"), *(("keyterms", t) for t in terms)]
    url = _ws(server, "/v1/speech-to-text/realtime", query)
    got, code = asyncio.run(
        _first_messages(url, {"xi-api-key": server.admin_key}, [], 1)
    )
    assert code == 1008
    (error,) = got
    assert error["message_type"] == "invalid_request"
    assert error["error"].startswith("keyterms") and rule in error["error"]


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ({"keywords": TERMS}, TOO_MANY_TERMS),
        ({"language": "xx"}, "not one of the languages this server transcribes"),
    ],
)
def test_openai_realtime_refuses(
    server: ServerProcess, field: dict[str, Any], rule: str
) -> None:
    update = {
        "type": "transcription_session.update",
        "event_id": "evt_1",
        "session": {"input_audio_transcription": {"model": "whisper-1", **field}},
    }
    url = _ws(server, "/v1/realtime", [("intent", "transcription")])
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    got, _ = asyncio.run(_first_messages(url, headers, [update], 2))
    assert got[0]["type"] == "transcription_session.created"
    error = got[1]
    assert error["type"] == "error", got
    (name,) = field
    assert error["error"]["param"] == f"session.input_audio_transcription.{name}"
    assert error["error"]["event_id"] == "evt_1"
    assert rule in error["error"]["message"]


def test_native_stream_config_change_follows_the_policy(server: ServerProcess) -> None:
    """Mid-stream, the session's model stays: German on the English-only model
    is refused (recoverable) with the model to use; too many terms likewise."""
    url = _ws(server, "/v1/audio/transcriptions/stream", [("language", "en")])
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    changes = [
        {"type": "config", "language": "de"},
        {"type": "config", "vocabulary": TERMS},
    ]
    got, _ = asyncio.run(_first_messages(url, headers, changes, 3))
    assert got[0]["type"] == "session.begin"
    assert got[0]["config"]["model"] == "whisper-tiny.en"
    language, terms = got[1], got[2]
    assert language["type"] == terms["type"] == "error"
    assert language["code"] == terms["code"] == "invalid_config"
    assert "'whisper-base'" in language["message"] and language["recoverable"]
    assert TOO_MANY_TERMS in terms["message"] and terms["recoverable"]
