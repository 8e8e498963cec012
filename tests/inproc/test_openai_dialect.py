"""The OpenAI dialect in process: the official SDK over ``httpx.ASGITransport``.

The fake transcriber returns a known text, so response shapes are checked exactly
(json, verbose_json, text, srt, vtt, the SSE stream) and refusals in OpenAI's error
shape, and the SDKs' captured requests replayed; recognition itself is proven by
``tests/compat/test_openai.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.inproc.conftest import CAPTURES, DATA, InProcess

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"
TEXT = "Ask not what your country can do for you. Ask what you can do."


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["message"] and error["type"]
    return error


async def _post(
    client: httpx.AsyncClient,
    audio: bytes,
    path: str = "/v1/audio/transcriptions",
    **data: Any,
) -> httpx.Response:
    return await client.post(path, files={"file": ("a.wav", audio)}, data=data)


# --- response shapes ------------------------------------------------------------------
async def test_json_is_kept_as_a_native_job(inproc: InProcess) -> None:
    inproc.fake.text = TEXT
    oai = inproc.openai()
    raw = await oai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=LIBRI.open("rb"), language="en"
    )
    assert raw.headers["content-type"] == "application/json"
    result = raw.parse()
    assert isinstance(result, openai.types.audio.Transcription)
    assert result.text == TEXT
    assert result.usage is not None and result.usage.type == "duration"
    assert result.logprobs is None
    job = (
        await inproc.client.get(
            f"/v1/audio/transcriptions/{raw.headers['x-dalston-job-id']}"
        )
    ).json()
    assert job["status"] == "completed" and job["text"] == TEXT
    assert job["model"] == "whisper-tiny.en"  # English asked: the fast model


async def test_verbose_json_words_and_segments(inproc: InProcess) -> None:
    inproc.fake.text = TEXT
    result = await inproc.openai().audio.transcriptions.create(
        model="whisper-1",
        file=LIBRI.open("rb"),
        language="en",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert isinstance(result, openai.types.audio.TranscriptionVerbose)
    assert result.language == "english"
    assert result.model_dump()["task"] == "transcribe"
    assert result.text == TEXT
    assert result.segments is not None and result.words is not None
    assert [s.text for s in result.segments] == [
        " Ask not what your country can do for you.",
        " Ask what you can do.",
    ]
    assert [s.id for s in result.segments] == [0, 1]
    assert " ".join(w.word for w in result.words) == TEXT
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(w.start <= w.end <= result.duration for w in result.words)


async def test_verbose_json_granularity_selects_fields(inproc: InProcess) -> None:
    oai = inproc.openai()
    words_only = await oai.audio.transcriptions.create(
        model="whisper-1",
        file=LIBRI.open("rb"),
        language="en",
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert words_only.words and words_only.segments is None
    default = await oai.audio.transcriptions.create(
        model="whisper-1",
        file=LIBRI.open("rb"),
        languages=["en"],
        response_format="verbose_json",
    )
    assert default.language == "english"
    assert default.segments and default.words is None


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
async def test_text_formats(inproc: InProcess, fmt: str) -> None:
    inproc.fake.text = TEXT
    raw = await inproc.openai().audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=LIBRI.open("rb"), language="en", response_format=fmt
    )
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    body = raw.parse()
    assert isinstance(body, str)
    if fmt == "text":
        assert body.strip() == TEXT
        return
    lines = body.splitlines()
    cues = [line for line in lines if "-->" in line]
    assert len(cues) >= 2, body
    if fmt == "srt":
        assert body.startswith("1\n00:00:00,")
        text = [ln for ln in lines if ln and not ln.isdigit() and "-->" not in ln]
    else:
        assert body.startswith("WEBVTT\n\n00:00:00.")
        text = [ln for ln in lines[1:] if ln and "-->" not in ln]
    assert " ".join(text) == TEXT


async def test_stream_events_add_up_to_the_text(inproc: InProcess) -> None:
    inproc.fake.text = TEXT
    raw = await inproc.openai().audio.transcriptions.with_raw_response.create(
        model="gpt-4o-mini-transcribe",
        file=LIBRI.open("rb"),
        language="en",
        stream=True,
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [event async for event in raw.parse()]
    types = [e.type for e in events]
    assert types[-1] == "transcript.text.done"
    assert types[:-1] and set(types[:-1]) == {"transcript.text.delta"}
    done = events[-1]
    assert isinstance(done, openai.types.audio.TranscriptionTextDoneEvent)
    assert done.text == TEXT
    deltas = "".join(
        e.delta
        for e in events
        if isinstance(e, openai.types.audio.TranscriptionTextDeltaEvent)
    )
    assert deltas == TEXT


# --- refusals -----------------------------------------------------------------------
async def test_missing_or_wrong_key(inproc: InProcess) -> None:
    async with inproc.http() as anonymous:
        for path in ("/v1/audio/transcriptions", "/v1/audio/translations"):
            response = await _post(
                anonymous, LIBRI.read_bytes(), path, model="whisper-1"
            )
            assert _error(response, 401)["type"] == "authentication_error"
    wrong = inproc.openai(key="dk_not-a-key")
    with pytest.raises(openai.AuthenticationError) as info:
        await wrong.audio.transcriptions.create(
            model="whisper-1", file=LIBRI.open("rb")
        )
    assert info.value.type == "authentication_error"


async def test_non_audio_file(inproc: InProcess) -> None:
    junk = b"%PDF-1.4 this is not audio at all\n" * 200
    with pytest.raises(openai.BadRequestError) as info:
        await inproc.openai().audio.transcriptions.create(
            model="whisper-1", file=("doc.wav", junk)
        )
    assert info.value.param == "file"
    error = _error(await _post(inproc.client, b"", model="whisper-1"), 400)
    assert "empty" in error["message"]
    error = _error(await _post(inproc.client, junk, "/v1/audio/translations"), 400)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("data", "param", "words"),
    [
        ({"response_format": "xml"}, "response_format", "Unknown response_format"),
        (
            {"known_speaker_names[]": "agent"},
            "known_speaker_names",
            "speaker identification",
        ),
        (
            {"timestamp_granularities[]": "word"},
            "timestamp_granularities",
            "requires response_format=verbose_json",
        ),
        (
            {"timestamp_granularities[]": "char", "response_format": "verbose_json"},
            "timestamp_granularities",
            "Unknown timestamp granularity",
        ),
        (
            {"include[]": "logprobs", "response_format": "verbose_json"},
            "include",
            "only with response_format=json",
        ),
        ({"include[]": "everything"}, "include", "only logprobs"),
        (
            {"stream": "true", "response_format": "srt"},
            "stream",
            "json, text or diarized_json",
        ),
        ({"stream": "maybe"}, "stream", "true or false"),
        ({"temperature": "1.5"}, "temperature", "0..1"),
        ({"chunking_strategy": "manual"}, "chunking_strategy", "auto"),
        ({"chunking_strategy[type]": "semantic"}, "chunking_strategy", "server_vad"),
        (
            {"chunking_strategy[type]": "server_vad", "chunking_strategy[x]": "1"},
            "chunking_strategy",
            "Unknown chunking_strategy",
        ),
        (
            {
                "chunking_strategy[type]": "server_vad",
                "chunking_strategy[silence_duration_ms]": "-5",
            },
            "chunking_strategy[silence_duration_ms]",
            "whole number",
        ),
        ({"languages[]": ["de", "fr"]}, "languages", "more than one"),
        ({"model": "no-such-model"}, "model", "Unknown model"),
        ({"keywords[]": ["x" * 51]}, "keywords", "keywords: "),
        ({"language": "de", "languages[]": "fr"}, "languages", "not among"),
        ({"vocabulary": "x"}, "vocabulary", "Unknown or unsupported field"),
    ],
)
async def test_refused_fields(
    inproc: InProcess, data: dict[str, Any], param: str, words: str
) -> None:
    form = {"model": "whisper-1", **data}
    response = await inproc.client.post(
        "/v1/audio/transcriptions", files={"file": ("a.wav", b"RIFF")}, data=form
    )
    error = _error(response, 400)
    assert error["param"] == param
    assert words in error["message"]


async def test_refused_translation_fields(inproc: InProcess) -> None:
    for data, param in (
        ({"stream": "true"}, "stream"),
        ({"response_format": "diarized_json"}, "response_format"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities[]"),
        ({"model": "whisper-tiny.en"}, "model"),  # English-only cannot translate
    ):
        response = await _post(
            inproc.client, LIBRI.read_bytes(), "/v1/audio/translations", **data
        )
        error = _error(response, 400)
        assert error["param"] == param


async def test_sdk_bad_request(inproc: InProcess) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await inproc.openai().audio.transcriptions.create(
            model="whisper-1",
            file=LIBRI.open("rb"),
            response_format="json",
            timestamp_granularities=["word"],
        )
    assert info.value.param == "timestamp_granularities"
    assert info.value.type == "invalid_request_error"


# --- captured SDK requests (tests/compat/captures) ----------------------------------
def _sse_events(body: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[len("data: ") :])
        for line in body.decode().splitlines()
        if line.startswith("data: ")
    ]


def _check_verbose(body: bytes, task: str, words: bool) -> None:
    payload = json.loads(body)
    assert payload["task"] == task
    assert payload["language"] == "english"
    assert payload["duration"] == pytest.approx(0.1, abs=0.05)
    assert payload["text"] == TEXT
    assert " ".join(s["text"].strip() for s in payload["segments"]) == TEXT
    assert ("words" in payload) is words


@pytest.mark.parametrize(
    "name", ["005", "006", "007", "008", "009", "015", "016", "017"]
)
async def test_captured_request(inproc: InProcess, name: str) -> None:
    """The Python (005-009) and Node (015-017) SDKs' requests, the fake hearing
    ``TEXT`` in their 0.1 s clip."""
    raw = (CAPTURES / f"{name}.txt").read_bytes()
    if name >= "015":
        assert b"transfer-encoding: chunked" in raw  # the Node SDK's upload
    inproc.fake.text = TEXT
    inproc.fake.detected_language = "en"
    response = await inproc.replay(raw)
    assert response.status_code == 200, response.text
    content_type, body = response.headers["content-type"], response.content
    if name in ("007", "016"):  # response_format=text
        assert content_type == "text/plain; charset=utf-8"
        assert body.decode().strip() == TEXT
        return
    if name in ("008", "017"):  # stream=true, include[]=logprobs
        assert content_type.startswith("text/event-stream")
        events = _sse_events(body)
        assert {e["type"] for e in events[:-1]} == {"transcript.text.delta"}
        assert events[-1]["type"] == "transcript.text.done"
        assert events[-1]["text"] == TEXT
        assert "".join(e["delta"] for e in events[:-1]) == TEXT
        assert isinstance(events[-1]["logprobs"], list)
        return
    assert content_type == "application/json"
    if name == "005":  # json
        payload = json.loads(body)
        assert payload["text"] == TEXT
        assert payload["usage"]["type"] == "duration"
    elif name in ("006", "015"):  # verbose_json, word + segment
        _check_verbose(body, "transcribe", words=True)
    else:  # 009: translation, verbose_json
        _check_verbose(body, "translate", words=False)
