"""Realtime refusals and protocol errors of every dialect's WebSocket, and the
ElevenLabs SDK's captured realtime sessions replayed, in process
(Starlette's ``TestClient``; the realtime decoder keeps the real tiny model, loaded
once for the module, since a session only begins on a loaded decoder).

Streams of real speech, capacity and single-use tokens over real sockets stay in
``tests/test_realtime_{native,openai,elevenlabs}.py``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.inproc.conftest import CAPTURES, admin_key, talk

NATIVE = "/v1/audio/transcriptions/stream"
OPENAI = "/v1/realtime"
ELEVENLABS = "/v1/speech-to-text/realtime"


# --- native -----------------------------------------------------------------------
def test_native_bad_requests_get_protocol_errors(ws_app: TestClient) -> None:
    auth = {"Authorization": f"Bearer {admin_key(ws_app)}"}
    msgs, code = talk(ws_app, f"{NATIVE}?encoding=mp3", auth)
    assert code == 4400 and msgs[0]["type"] == "error" and not msgs[0]["recoverable"]
    _, code = talk(ws_app, f"{NATIVE}?sample_rate=96000", auth)
    assert code == 4400
    _, code = talk(ws_app, NATIVE, {})
    assert code == 4001
    # Bad JSON and an oversize frame are reported; the session goes on.
    msgs, code = talk(
        ws_app,
        NATIVE,
        auth,
        ["{not json", b"\0" * (1024 * 1024 + 2)],
        until=lambda got: len(got) >= 3,
    )
    assert code is None and msgs[0]["type"] == "session.begin"
    errors = [m for m in msgs if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["invalid_json", "frame_too_large"]
    assert all(e["recoverable"] for e in errors)


def test_native_frames_must_be_audio_in_the_session_encoding(
    ws_app: TestClient,
) -> None:
    """Odd-length bytes are not 16-bit PCM, NaNs are not float PCM: each such frame
    is refused (recoverable) and dropped; whole frames go on being heard."""
    auth = {"Authorization": f"Bearer {admin_key(ws_app)}"}
    garbage = bytes(range(255)) * 3  # 765 bytes
    msgs, code = talk(
        ws_app,
        NATIVE,
        auth,
        [garbage, b"\0" * 3200, b"\1"],
        until=lambda got: len(got) >= 3,
    )
    assert code is None and msgs[0]["type"] == "session.begin"
    errors = [m for m in msgs if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["invalid_audio", "invalid_audio"]
    assert "765 bytes" in errors[0]["message"] and errors[0]["recoverable"]
    nan = b"\x00\x00\xc0\x7f" * 400  # float32 NaN
    msgs, code = talk(
        ws_app,
        f"{NATIVE}?encoding=pcm_f32le",
        auth,
        [nan],
        until=lambda got: len(got) >= 2,
    )
    assert msgs[1]["type"] == "error" and msgs[1]["code"] == "invalid_audio"
    assert "finite" in msgs[1]["message"]


def test_native_key_without_the_realtime_scope_is_4003(ws_app: TestClient) -> None:
    admin = {"Authorization": f"Bearer {admin_key(ws_app)}"}
    reader = ws_app.post(
        "/auth/keys", json={"name": "r", "scopes": ["jobs:read"]}, headers=admin
    ).json()["key"]
    _, code = talk(ws_app, NATIVE, {"Authorization": f"Bearer {reader}"})
    assert code == 4003


# --- OpenAI -----------------------------------------------------------------------
def test_openai_refused_connections(ws_app: TestClient) -> None:
    got, code = talk(
        ws_app, f"{OPENAI}?intent=transcription", {"Authorization": "Bearer no"}
    )
    assert code == 1008 and got[0]["error"]["code"] == "invalid_api_key"
    auth = {"Authorization": f"Bearer {admin_key(ws_app)}"}
    got, code = talk(ws_app, f"{OPENAI}?model=gpt-realtime", auth)
    assert code == 1008 and got[0]["type"] == "error"


def test_openai_appends_must_be_base64_pcm16(ws_app: TestClient) -> None:
    """Audio that is not base64, or not whole 16-bit samples, is refused with an
    ``invalid_request_error`` naming ``audio``; the session goes on."""

    def append(audio: str, event_id: str) -> str:
        body = {"type": "input_audio_buffer.append", "audio": audio}
        return json.dumps({**body, "event_id": event_id})

    sent: list[str | bytes] = [
        append("%%%", "evt_b64"),
        append(base64.b64encode(b"\0" * 4801).decode(), "evt_odd"),
        append(base64.b64encode(b"\0" * 4800).decode(), "evt_ok"),
        json.dumps({"type": "input_audio_buffer.clear", "event_id": "evt_clear"}),
    ]
    msgs, code = talk(
        ws_app,
        f"{OPENAI}?intent=transcription",
        {"Authorization": f"Bearer {admin_key(ws_app)}"},
        sent,
        until=lambda got: any(m["type"] == "input_audio_buffer.cleared" for m in got),
    )
    assert code is None, msgs
    errors = [m["error"] for m in msgs if m["type"] == "error"]
    assert [(e["type"], e["param"], e["event_id"]) for e in errors] == [
        ("invalid_request_error", "audio", "evt_b64"),
        ("invalid_request_error", "audio", "evt_odd"),
    ], msgs
    assert "base64" in errors[0]["message"]
    assert "4801 bytes" in errors[1]["message"]


# --- ElevenLabs -------------------------------------------------------------------
BASE = "model_id=scribe_v2_realtime&audio_format=pcm_16000"


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("model_id=scribe_v2_realtime&audio_format=mp3_44100", "audio_format"),
        (f"{BASE}&entity_redaction=all&no_verbatim=true", "entity redaction"),
        (f"{BASE}&entity_detection=passports", "entity_detection"),
        (f"{BASE}&secondary_languages=de&transcript_edit=x", "transcript editing"),
        (f"{BASE}&vad_threshold=2", "vad_threshold"),
    ],
)
def test_elevenlabs_refused_before_the_session(
    ws_app: TestClient, query: str, needle: str
) -> None:
    msgs, code = talk(
        ws_app, f"{ELEVENLABS}?{query}", {"xi-api-key": admin_key(ws_app)}
    )
    assert code == 1008, msgs
    assert [m["message_type"] for m in msgs] == ["invalid_request"], msgs
    assert needle in msgs[0]["error"]


def test_elevenlabs_bad_key_is_an_auth_error(ws_app: TestClient) -> None:
    msgs, code = talk(ws_app, f"{ELEVENLABS}?{BASE}", {"xi-api-key": "bad"})
    assert [m["message_type"] for m in msgs] == ["auth_error"] and code == 1008


def test_elevenlabs_bad_messages_are_reported_and_the_session_goes_on(
    ws_app: TestClient,
) -> None:
    silence = base64.b64encode(b"\0" * 3200).decode()

    def chunk(**extra: Any) -> str:
        body = {"message_type": "input_audio_chunk", "audio_base_64": silence}
        return json.dumps({**body, "commit": False, "sample_rate": 16000, **extra})

    sent: list[str | bytes] = [
        "{not json",
        chunk(previous_text="Context."),
        chunk(previous_text=None),
        chunk(previous_text="Too late."),
        chunk(sample_rate=44100),
        chunk(audio_base_64="A" * 300_000),
        chunk(audio_base_64="%%%"),
        chunk(audio_base_64=base64.b64encode(b"\0" * 3201).decode()),
        json.dumps(
            {"message_type": "input_audio_chunk", "audio_base_64": "", "commit": True}
        ),
    ]
    msgs, _ = talk(
        ws_app,
        f"{ELEVENLABS}?{BASE}",
        {"xi-api-key": admin_key(ws_app)},
        sent,
        until=lambda got: len(got) >= 8,
    )
    assert [m["message_type"] for m in msgs] == [
        "session_started",
        "invalid_request",
        "input_error",  # previous_text after the first chunk
        "input_error",  # sample_rate mismatch
        "chunk_size_exceeded",
        "input_error",  # bad base64
        "input_error",  # odd-length 16-bit PCM
        "committed_transcript",
    ], msgs
    assert msgs[-1]["text"] == ""  # a manual commit of silence is answered


def _ws_captures() -> list[tuple[str, list[dict[str, Any]]]]:
    """The ElevenLabs SDK's realtime sessions as captured (``ws_log.txt``): each
    path with its query, and the messages it sent."""
    captures: list[tuple[str, list[dict[str, Any]]]] = []
    for line in (CAPTURES / "ws_log.txt").read_text().splitlines():
        if line.startswith("=== PATH "):
            captures.append((line.removeprefix("=== PATH "), []))
        elif line.startswith("RECV "):
            captures[-1][1].append(json.loads(line.removeprefix("RECV ")))
    return captures


@pytest.mark.parametrize(
    ("index", "strategy", "keyterms"),
    [(0, "vad", ["a b", "c"]), (1, "manual", ["x"])],
)
def test_elevenlabs_sdk_sessions_replayed(
    ws_app: TestClient, index: int, strategy: str, keyterms: list[str]
) -> None:
    """The SDK's query and messages as sent; the log shortened the audio, so each
    chunk carries 0.1 s of silence instead. The final commit is answered in both
    forms include_timestamps asks for."""
    path, messages = _ws_captures()[index]
    silence = base64.b64encode(b"\0" * 3200).decode()
    sent: list[str | bytes] = [
        json.dumps({**m, "audio_base_64": silence if m["audio_base_64"] else ""})
        for m in messages
    ]
    msgs, code = talk(
        ws_app,
        path,
        {"xi-api-key": admin_key(ws_app)},
        sent,
        until=lambda got: len(got) >= 3,
    )
    assert code is None
    started, committed, timed = msgs
    assert started["message_type"] == "session_started"
    config = started["config"]
    assert config["commit_strategy"] == strategy and config["keyterms"] == keyterms
    assert config["include_timestamps"] is True and config["language_code"] == "en"
    assert committed == {"message_type": "committed_transcript", "text": ""}
    assert timed["message_type"] == "committed_transcript_with_timestamps"
    assert timed["language_code"] == "eng" and timed["words"] == []


def test_a_full_disk_refuses_a_session_and_spares_one_under_way(
    ws_app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session record cannot be written (the kernel's ENOSPC): the stream
    used to die with the exception (no error event, no close frame). Now, at
    open: an error event and close 1013 (try again later); at the end: the
    client keeps its finals and its normal close, the failure is logged."""
    import errno

    auth = {"Authorization": f"Bearer {admin_key(ws_app)}"}
    records = ws_app.app.state.runtime.realtime_records  # type: ignore[attr-defined]

    async def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records, "open", full)
    msgs, code = talk(ws_app, NATIVE, auth)
    assert code == 1013, (code, msgs)
    assert msgs[-1]["type"] == "error" and "space" in msgs[-1]["message"]
    monkeypatch.undo()

    monkeypatch.setattr(records, "close", full)
    end = json.dumps({"type": "end"})
    msgs, code = talk(ws_app, NATIVE, auth, [b"\0" * 32000, end])
    assert code == 1000, (code, msgs)
    assert msgs[0]["type"] == "session.begin" and msgs[-1]["type"] == "session.end"
