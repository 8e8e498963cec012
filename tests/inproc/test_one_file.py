"""A second ``file`` part is refused in each dialect's own shape, never ignored."""

from __future__ import annotations

from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess

TWO_FILES = [
    ("file", ("a.flac", JFK.read_bytes(), "audio/flac")),
    ("file", ("b.flac", JFK.read_bytes(), "audio/flac")),
]


async def test_native_refuses_two_files(inproc: InProcess) -> None:
    for path in ("/v1/audio/transcriptions/jobs", "/v1/audio/transcriptions"):
        response = await inproc.client.post(path, files=TWO_FILES)
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        assert error["param"] == "file" and "one 'file' part" in error["message"]


async def test_openai_refuses_two_files(inproc: InProcess) -> None:
    for path in ("/v1/audio/transcriptions", "/v1/audio/translations"):
        response = await inproc.client.post(
            path, data={"model": "whisper-1"}, files=TWO_FILES
        )
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        assert error["param"] == "file" and "one 'file' part" in error["message"]


async def test_elevenlabs_refuses_two_files(inproc: InProcess) -> None:
    response = await inproc.client.post(
        "/v1/speech-to-text", data={"model_id": "scribe_v1"}, files=TWO_FILES
    )
    assert 400 <= response.status_code < 500, response.text
    assert "one 'file' part" in response.text
    # Every request of this module was refused: no job was made.
    jobs = await inproc.client.get("/v1/audio/transcriptions")
    assert jobs.json()["jobs"] == []
