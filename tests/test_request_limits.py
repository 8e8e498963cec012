"""The same out-of-range value is refused by the same rule (the request model's
``Field``) in every dialect that has the field, batch and realtime, each in its
own error shape:

- native: 400 ``{"error": {code, message, param, type}}``; native stream: an
  ``error`` event, then close 4400;
- ElevenLabs batch: 422 ``{"detail": [{loc, msg, type}]}`` (its API answers
  every malformed field so); ElevenLabs stream: ``invalid_request``, close 1008;
- OpenAI batch: 400 ``{"error": {message, type, param, code}}``; OpenAI
  realtime: an ``error`` event naming the session field; the session goes on.

Refusals come before any audio is decoded: no model runs here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from elevenlabs.client import ElevenLabs
from elevenlabs.errors import UnprocessableEntityError

from dalston.services.request import MAX_RETENTION_DAYS, MAX_SPEAKERS
from tests.audio_fixtures import JFK
from tests.server import ServerProcess

TERMS = [f"term{i}" for i in range(101)]  # one more than the vocabulary limit
# The one rule's words, as every dialect repeats them.
TOO_MANY_TERMS = "at most 100 items"
TOO_MANY_SPEAKERS = f"less than or equal to {MAX_SPEAKERS}"
TOO_LONG_RETENTION = f"less than or equal to {MAX_RETENTION_DAYS}"


def _native_error(response: httpx.Response, param: str, rule: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "param", "type"}
    assert error["code"] == "invalid_request"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param and rule in error["message"], error


def _post(client: httpx.Client, route: str, **data: Any) -> httpx.Response:
    with JFK.open("rb") as audio:
        return client.post(route, files={"file": (JFK.name, audio)}, data=data)


# --- batch ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "param", "rule"),
    [
        ({"speaker_detection": "diarize", "num_speakers": "33"}, "num_speakers",
         TOO_MANY_SPEAKERS),
        ({"vocabulary": json.dumps(TERMS)}, "vocabulary", TOO_MANY_TERMS),
        ({"retention": "4000"}, "retention", TOO_LONG_RETENTION),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "route", ["/v1/audio/transcriptions/jobs", "/v1/audio/transcriptions"]
)
def test_native_refuses(
    client: httpx.Client, route: str, data: dict[str, str], param: str, rule: str
) -> None:
    _native_error(_post(client, route, **data), param, rule)


def test_native_speaker_range_and_order(client: httpx.Client) -> None:
    route = "/v1/audio/transcriptions/jobs"
    response = _post(
        client, route, speaker_detection="diarize", min_speakers=4, max_speakers=2
    )
    _native_error(response, "min_speakers", "must not exceed max_speakers")
    response = _post(client, route, num_speakers=2)
    _native_error(response, "num_speakers", "only used with diarization")


def test_elevenlabs_refuses(server: ServerProcess) -> None:
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"diarize": True, "num_speakers": 33}, "num_speakers", TOO_MANY_SPEAKERS),
        ({"keyterms": TERMS}, "keyterms", TOO_MANY_TERMS),
    ]
    for kwargs, param, rule in cases:
        with JFK.open("rb") as audio, pytest.raises(UnprocessableEntityError) as bad:
            eleven.speech_to_text.convert(model_id="scribe_v1", file=audio, **kwargs)
        (detail,) = bad.value.body["detail"]
        assert detail["loc"] == ["body", param]
        assert rule in detail["msg"] and detail["type"] == "validation_error"


def test_openai_refuses(server: ServerProcess) -> None:
    with server.client() as client:
        response = _post(
            client,
            "/v1/audio/transcriptions",
            model="whisper-1",
            **{"keywords[]": TERMS},
        )
    _native_error(response, "keywords", TOO_MANY_TERMS)  # one envelope for both


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


def test_openai_realtime_refuses(server: ServerProcess) -> None:
    update = {
        "type": "transcription_session.update",
        "event_id": "evt_1",
        "session": {
            "input_audio_transcription": {"model": "whisper-1", "keywords": TERMS}
        },
    }
    url = _ws(server, "/v1/realtime", [("intent", "transcription")])
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    got, _ = asyncio.run(_first_messages(url, headers, [update], 2))
    assert got[0]["type"] == "transcription_session.created"
    error = got[1]
    assert error["type"] == "error", got
    assert error["error"]["param"] == "session.input_audio_transcription.keywords"
    assert error["error"]["event_id"] == "evt_1"
    assert TOO_MANY_TERMS in error["error"]["message"]


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
