"""The same out-of-range value is refused by the same rule (the request model's
``Field``) in every dialect's batch route, each in its own error shape:

- native: 400 ``{"error": {code, message, param, type}}``;
- ElevenLabs: 422 ``{"detail": [{loc, msg, type}]}`` (its API answers every
  malformed field so), read through the official SDK;
- OpenAI: 400 in the same envelope as native (one route for both).

Refusals come before any audio is decoded, so these run in process; the
realtime refusals stay in tests/test_request_limits.py (real server, WebSockets).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from elevenlabs.errors import UnprocessableEntityError

from dalston.services.request import MAX_RETENTION_DAYS, MAX_SPEAKERS
from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess

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


async def _post(inproc: InProcess, route: str, **data: Any) -> httpx.Response:
    files = {"file": (JFK.name, JFK.read_bytes())}
    return await inproc.client.post(route, files=files, data=data)


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
async def test_native_refuses(
    inproc: InProcess, route: str, data: dict[str, str], param: str, rule: str
) -> None:
    _native_error(await _post(inproc, route, **data), param, rule)


async def test_native_speaker_range_and_order(inproc: InProcess) -> None:
    route = "/v1/audio/transcriptions/jobs"
    response = await _post(
        inproc, route, speaker_detection="diarize", min_speakers=4, max_speakers=2
    )
    _native_error(response, "min_speakers", "must not exceed max_speakers")
    response = await _post(inproc, route, num_speakers=2)
    _native_error(response, "num_speakers", "only used with diarization")


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"diarize": True, "num_speakers": 33}, "num_speakers", TOO_MANY_SPEAKERS),
        ({"keyterms": TERMS}, "keyterms", TOO_MANY_TERMS),
    ],
)
async def test_elevenlabs_refuses(
    inproc: InProcess, kwargs: dict[str, Any], param: str, rule: str
) -> None:
    eleven = inproc.elevenlabs()
    with pytest.raises(UnprocessableEntityError) as bad:
        await eleven.speech_to_text.convert(
            model_id="scribe_v1", file=JFK.read_bytes(), **kwargs
        )
    (detail,) = bad.value.body["detail"]
    assert detail["loc"] == ["body", param]
    assert rule in detail["msg"] and detail["type"] == "validation_error"


async def test_openai_refuses(inproc: InProcess) -> None:
    response = await _post(
        inproc, "/v1/audio/transcriptions", model="whisper-1", **{"keywords[]": TERMS}
    )
    _native_error(response, "keywords", TOO_MANY_TERMS)  # one envelope for both
