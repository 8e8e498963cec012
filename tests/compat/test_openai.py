"""The OpenAI dialect, driven by the official SDKs against a real server.

- openai Python SDK: every response format, word/segment granularities, logprobs,
  streaming, translation, language detection, and the exceptions it raises.
- openai Node SDK: one call from ``node/openai_transcribe.mjs`` (chunked upload).
- The Node SDK's captured chunked uploads (``captures/015-017``) replayed byte for
  byte over a socket (every capture's answer is checked in process).

Refusals and exact response shapes are checked in process, with a fake engine, in
``tests/inproc/test_openai_dialect.py``.

Transcripts of real speech are checked by WER, never against fixed strings.
English requests send ``language=en`` so they run on the fast English-only default
model; requests without a language run on the multilingual model.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from dalston.eval.scoring import wer
from tests.server import ServerProcess

DATA = Path(__file__).resolve().parent.parent / "data"
CAPTURES = Path(__file__).resolve().parent / "captures"
NODE_DIR = Path(__file__).resolve().parent / "node"
JFK = DATA / "whisper_jfk.flac"
LIBRI = DATA / "mfa_ls_61_70968_0000.flac"
GERMAN = DATA / "pv_de.wav"


def _ref(path: Path) -> str:
    return path.with_suffix(".txt").read_text().strip()


def _wer(path: Path, text: str, language: str = "en") -> float:
    """WER of ``text`` against the clip's reference, printed for the log."""
    score = wer([_ref(path)], [text], language=language)
    print(f"{path.name}: WER {score:.3f} for {text!r}")
    return score


@pytest.fixture(scope="module")
def oai(server: ServerProcess) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=server.admin_key, max_retries=0
    )
    yield client
    client.close()


def _native_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/audio/transcriptions/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- response formats ---------------------------------------------------------------
def test_json_is_listed_as_a_native_job(
    oai: openai.OpenAI, client: httpx.Client
) -> None:
    raw = oai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=JFK.open("rb"), language="en"
    )
    assert raw.headers["content-type"] == "application/json"
    result = raw.parse()
    assert isinstance(result, openai.types.audio.Transcription)
    assert _wer(JFK, result.text) <= 0.15, result.text
    assert result.usage is not None and result.usage.type == "duration"
    assert result.usage.seconds == pytest.approx(11.0, abs=0.1)
    assert result.logprobs is None
    # The synchronous job is kept as an ordinary job, with its transcript.
    job = _native_job(client, raw.headers["x-dalston-job-id"])
    assert job["status"] == "completed"
    assert job["model"] == "whisper-tiny.en"
    assert job["text"] == result.text
    listed = client.get("/v1/audio/transcriptions", params={"limit": 100}).json()
    assert job["id"] in {j["id"] for j in listed["jobs"]}


def test_verbose_json_words_and_segments(oai: openai.OpenAI) -> None:
    result = oai.audio.transcriptions.create(
        model="whisper-1",
        file=JFK.open("rb"),
        language="en",
        prompt="President Kennedy's inaugural address.",
        temperature=0,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert isinstance(result, openai.types.audio.TranscriptionVerbose)
    assert result.language == "english"
    assert result.duration == pytest.approx(11.0, abs=0.1)
    assert result.model_dump()["task"] == "transcribe"
    assert _wer(JFK, result.text) <= 0.15, result.text
    assert result.segments and result.words
    raw_segments = result.model_dump()["segments"]
    for index, segment in enumerate(raw_segments):
        assert set(segment) >= {
            "id",
            "seek",
            "start",
            "end",
            "text",
            "tokens",
            "temperature",
            "avg_logprob",
            "compression_ratio",
            "no_speech_prob",
        }
        assert segment["id"] == index
        assert isinstance(segment["seek"], int)
        assert 0 <= segment["start"] < segment["end"]
        assert segment["text"].startswith(" ")  # Whisper's leading space
        assert segment["tokens"] and all(isinstance(t, int) for t in segment["tokens"])
        assert segment["avg_logprob"] <= 0
        assert 0 <= segment["no_speech_prob"] <= 1
        assert segment["compression_ratio"] > 0
        assert 0 <= segment["temperature"] <= 1
    assert " ".join(s.text.strip() for s in result.segments) == result.text
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(w.start <= w.end <= result.duration + 0.5 for w in result.words)
    assert " ".join(w.word for w in result.words) == result.text


def test_languages_and_keywords(oai: openai.OpenAI) -> None:
    # Which fields each granularity selects: tests/inproc/test_openai_dialect.py.
    default = oai.audio.transcriptions.create(
        model="whisper-1",
        file=LIBRI.open("rb"),
        languages=["en"],  # one possible language: used as the language
        keywords=["wizard", "curtain"],  # Whisper hotwords
        chunking_strategy="auto",
        response_format="verbose_json",
    )
    assert default.language == "english"
    assert default.segments and default.words is None
    assert _wer(LIBRI, default.text) <= 0.25, default.text


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats(oai: openai.OpenAI, fmt: str) -> None:
    raw = oai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=JFK.open("rb"), language="en", response_format=fmt
    )
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    body = raw.parse()
    assert isinstance(body, str)
    if fmt == "srt":
        assert body.startswith("1\n00:00:00,")
        text = " ".join(
            line
            for line in body.splitlines()
            if line and not line.isdigit() and "-->" not in line
        )
    elif fmt == "vtt":
        assert body.startswith("WEBVTT\n\n00:00:00.")
        text = " ".join(
            line for line in body.splitlines()[1:] if line and "-->" not in line
        )
    else:
        text = body
    assert _wer(JFK, text) <= 0.15, body


def test_json_logprobs(oai: openai.OpenAI) -> None:
    result = oai.audio.transcriptions.create(
        model="gpt-4o-transcribe",
        file=LIBRI.open("rb"),
        language="en",
        include=["logprobs"],
    )
    assert _wer(LIBRI, result.text) <= 0.25, result.text
    assert result.logprobs
    assert " ".join(p.token or "" for p in result.logprobs) == result.text
    for entry in result.logprobs:
        assert entry.logprob is not None and entry.logprob <= 0
        assert bytes(int(b) for b in entry.bytes or []) == (entry.token or "").encode()


def test_stream(oai: openai.OpenAI) -> None:
    raw = oai.audio.transcriptions.with_raw_response.create(
        model="gpt-4o-mini-transcribe",
        file=JFK.open("rb"),
        language="en",
        stream=True,
        include=["logprobs"],
        chunking_strategy={"type": "server_vad", "threshold": 0.5},
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = list(raw.parse())
    types = [e.type for e in events]
    assert types[-1] == "transcript.text.done"
    assert types[:-1] and set(types[:-1]) == {"transcript.text.delta"}
    done = events[-1]
    assert isinstance(done, openai.types.audio.TranscriptionTextDoneEvent)
    deltas = "".join(
        e.delta
        for e in events
        if isinstance(e, openai.types.audio.TranscriptionTextDeltaEvent)
    )
    assert deltas == done.text
    assert _wer(JFK, done.text) <= 0.15, done.text
    assert done.logprobs and all(
        p.logprob is not None and p.logprob <= 0 for p in done.logprobs
    )


def test_stream_error_is_an_sse_error_event(oai: openai.OpenAI) -> None:
    # An unknown hub repo is accepted at submit and fails when the engine loads it
    # (the test server is offline), so the error arrives after the stream began.
    stream = oai.audio.transcriptions.create(
        model="dalston-test/no-such-model", file=LIBRI.open("rb"), stream=True
    )
    with pytest.raises(openai.APIError, match="failed"):
        list(stream)
    with pytest.raises(openai.InternalServerError) as info:
        oai.audio.transcriptions.create(
            model="dalston-test/no-such-model", file=LIBRI.open("rb")
        )
    assert info.value.response.headers["x-should-retry"] == "false"


# --- languages -------------------------------------------------------------------
# The SDK marks audio.translations deprecated; the endpoint still exists.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_translation_german_to_english(oai: openai.OpenAI) -> None:
    result = oai.audio.translations.create(
        model="whisper-1", file=GERMAN.open("rb"), response_format="verbose_json"
    )
    print(f"translation of {GERMAN.name}: {result.text!r}")
    assert result.model_dump()["task"] == "translate"
    assert result.language == "german"  # the detected source language
    words = result.text.split()
    assert len(words) >= 5
    assert sum(w.isascii() for w in words) / len(words) >= 0.9
    english = {"the", "a", "an", "of", "in", "was", "as", "this", "is", "used"}
    assert len({w.strip(".,").lower() for w in words} & english) >= 2, result.text
    assert _wer(GERMAN, result.text, language="de") >= 0.7  # not German
    plain = oai.audio.translations.create(
        model="whisper-1", file=GERMAN.open("rb"), response_format="text"
    )
    assert plain.strip() and plain.isascii()


def test_auto_detects_language_with_the_multilingual_model(
    oai: openai.OpenAI, client: httpx.Client
) -> None:
    raw = oai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=GERMAN.open("rb"), response_format="verbose_json"
    )
    result = raw.parse()
    assert result.language == "german"
    assert _wer(GERMAN, result.text, language="de") <= 0.5
    job = _native_job(client, raw.headers["x-dalston-job-id"])
    assert job["model"] == "whisper-base"
    assert job["language_code"] == "de"


def test_sdk_with_a_dalston_model_id(oai: openai.OpenAI, client: httpx.Client) -> None:
    # No OpenAI-only field: the SDK's headers mark the request as OpenAI-style.
    raw = oai.audio.transcriptions.with_raw_response.create(
        model="whisper-tiny.en", file=LIBRI.open("rb")
    )
    assert raw.http_response.status_code == 200
    assert _wer(LIBRI, raw.parse().text) <= 0.25
    assert _native_job(client, raw.headers["x-dalston-job-id"])["model"] == (
        "whisper-tiny.en"
    )


def test_native_job_creation_still_works(client: httpx.Client) -> None:
    with LIBRI.open("rb") as audio:
        response = client.post(
            "/v1/audio/transcriptions",
            files={"file": (LIBRI.name, audio)},
            data={"model": "whisper-tiny.en", "language": "en"},
        )
    assert response.status_code == 201, response.text
    assert response.json()["status"] in ("pending", "running", "completed")


# --- Node SDK --------------------------------------------------------------------
def test_node_sdk(server: ServerProcess) -> None:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not on PATH"
    elif not (NODE_DIR / "node_modules" / "openai").is_dir():
        missing = f"openai is not installed in {NODE_DIR} (run npm ci there)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing} (CI=true: the Node SDK test is required)")
        pytest.skip(missing)
    assert node is not None
    proc = subprocess.run(
        [
            node,
            str(NODE_DIR / "openai_transcribe.mjs"),
            f"{server.url}/v1",
            server.admin_key,
            str(JFK),
        ],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert _wer(JFK, result["text"]) <= 0.15
    assert result["language"] == "english"
    assert result["words"] and result["segments"]


# --- captured requests, replayed byte for byte ---------------------------------
def _replay(server: ServerProcess, name: str) -> tuple[int, str, bytes]:
    """Send a captured request with only Host and the bearer key replaced."""
    raw = (CAPTURES / f"{name}.txt").read_bytes()
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = []
    for line in head.split(b"\r\n"):
        field = line.split(b":", 1)[0].lower()
        if field == b"host":
            line = f"Host: 127.0.0.1:{server.port}".encode()
        elif field == b"authorization":
            line = f"authorization: Bearer {server.admin_key}".encode()
        lines.append(line)
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        sock.sendall(b"\r\n".join(lines) + sep + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return (
            response.status,
            response.getheader("content-type") or "",
            response.read(),
        )


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("015", "application/json"),
        ("016", "text/plain; charset=utf-8"),
        ("017", "text/event-stream"),
    ],
)
def test_node_sdk_chunked_upload_over_a_socket(
    server: ServerProcess, name: str, content_type: str
) -> None:
    """The Node SDK's chunked uploads, byte for byte through the real HTTP server;
    every capture's answer is checked in process (``tests/inproc``)."""
    raw = (CAPTURES / f"{name}.txt").read_bytes()
    assert b"transfer-encoding: chunked" in raw
    status, got_type, body = _replay(server, name)
    assert status == 200, body
    assert got_type.startswith(content_type)
    if name == "015":
        assert json.loads(body)["duration"] == pytest.approx(0.1, abs=0.05)
