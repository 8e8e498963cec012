"""A NUL character (``\\x00``) anywhere a client can put one is refused with a 400
in the dialect's shape, on SQLite and on PostgreSQL alike.

PostgreSQL stores no NUL in text: before ``limits.NulGuard`` and the form check,
a job id, a cursor-less filter, a key or webhook name or a job name holding one
failed its query there (a 500) while SQLite took it. Real servers, real
databases: the refusal must come from the door, not from the database.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.audio_fixtures import JFK
from tests.server import ServerProcess


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(request: pytest.FixtureRequest) -> ServerProcess:
    name = "server" if request.param == "sqlite" else "pg_server"
    proc: ServerProcess = request.getfixturevalue(name)
    return proc


def _refused(response: httpx.Response, elevenlabs: bool = False) -> str:
    assert response.status_code in (400, 422), response.text
    body = response.json()
    if elevenlabs:
        detail = body["detail"]
        message = detail["message"] if isinstance(detail, dict) else detail[0]["msg"]
    else:
        assert body["error"]["type"] == "invalid_request_error", body
        message = body["error"]["message"]
    assert "NUL" in message, body
    return str(message)


def test_nul_in_a_path_query_or_body_is_a_400(any_server: ServerProcess) -> None:
    key = any_server.admin_key
    with any_server.client() as client:
        for path in (
            "/v1/audio/transcriptions/a%00b",
            "/v1/audio/transcriptions/a%00b/export/srt",
            "/v1/webhooks/a%00b",
            "/v1/realtime/sessions/a%00b",
            "/v1/audit?action=job%00",
        ):
            _refused(client.get(path))
        _refused(client.delete("/v1/audio/transcriptions/a%00b"))
        _refused(
            client.get(
                "/v1/speech-to-text/transcripts/a%00b", headers={"xi-api-key": key}
            ),
            elevenlabs=True,
        )
        # JSON bodies: the escape, as every JSON encoder writes it.
        _refused(client.post("/auth/keys", json={"name": "ops\x00"}))
        _refused(
            client.post(
                "/v1/webhooks",
                json={"url": "http://example.com/h", "events": ["*"],
                      "description": "a\x00b"},
            )
        )  # fmt: skip
        # An escaped backslash before "u0000" is text, not a NUL.
        made = client.post(
            "/auth/keys",
            content=json.dumps({"name": "ops \\u0000 literal"}).encode(),
            headers={"content-type": "application/json"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["name"] == "ops \\u0000 literal"
        # Multipart fields, in each dialect that reads them.
        audio = {"file": ("a.flac", JFK.read_bytes())}
        _refused(
            client.post("/v1/audio/transcriptions", files=audio, data={"name": "a\x00"})
        )
        _refused(
            client.post(
                "/v1/audio/transcriptions",
                files=audio,
                data={"vocabulary": json.dumps(["a\x00b"])},
            )
        )
        _refused(
            client.post(
                "/v1/audio/transcriptions",
                files=audio,
                data={"model": "whisper-1", "prompt": "a\x00b"},
            )
        )
        _refused(
            client.post(
                "/v1/speech-to-text",
                files=audio,
                data={"model_id": "scribe_v1", "keyterms": "a\x00b"},
                headers={"xi-api-key": key},
            ),
            elevenlabs=True,
        )
        # The server is unharmed, and answers the same request without the NUL.
        assert client.get("/v1/audio/transcriptions/ab").status_code == 404
