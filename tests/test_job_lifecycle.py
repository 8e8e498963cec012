"""The job lifecycle over real HTTP, on SQLite, on PostgreSQL and distributed, with
the real model. The same API's shapes and refusals, and races made deterministic
by a fake engine, are checked in process: ``tests/inproc/test_native_jobs.py``."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK, long_speech_wav
from tests.server import ServerProcess, submit, wait_for_job

JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


_SERVERS = {"sqlite": "server", "postgres": "pg_server", "distributed": "dist_server"}


@pytest.fixture(params=list(_SERVERS))
def any_server(request: pytest.FixtureRequest) -> ServerProcess:
    """Embedded on SQLite, on PostgreSQL, and over PostgreSQL + Redis + S3."""
    server: ServerProcess = request.getfixturevalue(_SERVERS[request.param])
    return server


def _wait_status(
    client: httpx.Client, job_id: str, wanted: set[str]
) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, object] = client.get(
            f"/v1/audio/transcriptions/{job_id}"
        ).json()
        if body["status"] in wanted:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {wanted}")


def test_submit_poll_fetch_export_delete(any_server: ServerProcess) -> None:
    with any_server.client() as client:
        job_id = submit(client, JFK, language="en", vocabulary='["Americans"]')
        job = wait_for_job(client, job_id)
        stored = any_server.stored_keys(f"jobs/{job_id}/")
        assert f"jobs/{job_id}/transcript.json" in stored, stored
        assert job["status"] == "completed", job
        assert wer([JFK_TEXT], [job["text"]]) <= 0.1
        # Word timestamps (the default) are re-timed by the aligner when installed.
        assert [s["stage"] for s in job["stages"]] == ["prepare", "transcribe", "align"]
        assert all(s["status"] == "succeeded" for s in job["stages"])
        assert all(s["duration_ms"] is not None for s in job["stages"])
        assert job["started_at"] <= job["completed_at"]
        assert job["words"] and job["words"][0]["text"]

        srt = client.get(f"/v1/audio/transcriptions/{job_id}/export/srt")
        assert srt.status_code == 200
        assert srt.headers["content-type"].startswith("application/x-subrip")
        assert srt.text.startswith("1\n00:00:")
        vtt = client.get(f"/v1/audio/transcriptions/{job_id}/export/vtt")
        assert vtt.text.startswith("WEBVTT")
        txt = client.get(f"/v1/audio/transcriptions/{job_id}/export/txt")
        assert txt.text.strip() == job["text"]
        exported = client.get(f"/v1/audio/transcriptions/{job_id}/export/json").json()
        assert exported["text"] == job["text"]
        assert exported["metadata"]["model"] == "whisper-tiny.en"

        assert client.delete(f"/v1/audio/transcriptions/{job_id}").status_code == 204
        assert client.get(f"/v1/audio/transcriptions/{job_id}").status_code == 404
        assert any_server.stored_keys(f"jobs/{job_id}/") == []


def test_presigned_audio_url_in_s3_mode(dist_server: ServerProcess) -> None:
    with dist_server.client() as client:
        job = wait_for_job(client, submit(client, JFK))
        signed = client.get(
            f"/v1/audio/transcriptions/{job['id']}/audio", params={"presigned": True}
        )
        assert signed.status_code == 200, signed.text
        # The URL alone fetches the upload: no API key, straight from storage.
        direct = httpx.get(signed.json()["url"])
    assert direct.status_code == 200 and direct.content == JFK.read_bytes()


def test_list_paginates_and_filters(any_server: ServerProcess) -> None:
    with any_server.client() as client:
        ids = [submit(client, JFK, timestamps_granularity="none") for _ in range(3)]
        for job_id in ids:
            wait_for_job(client, job_id)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 2, "status": "completed"}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/audio/transcriptions", params=params).json()
            assert len(page["jobs"]) <= 2
            seen += [j["id"] for j in page["jobs"]]
            assert all(j["status"] == "completed" for j in page["jobs"])
            if not page["has_more"]:
                break
            cursor = page["cursor"]
        assert set(ids) <= set(seen)
        assert len(seen) == len(set(seen))  # no job twice across pages
        failed = client.get("/v1/audio/transcriptions", params={"status": "failed"})
        assert not set(ids) & {j["id"] for j in failed.json()["jobs"]}
        bad = client.get("/v1/audio/transcriptions", params={"limit": 0})
        assert bad.status_code == 422
        assert "error" in bad.json()


def test_cancel_running_and_queued_jobs(
    any_server: ServerProcess, tmp_path: Path
) -> None:
    long_audio = long_speech_wav(tmp_path / "long.wav", 90)
    with any_server.client() as client:
        running = submit(client, long_audio)
        queued = submit(client, long_audio)
        _wait_status(client, running, {"running"})
        # Deleting a running job is refused: cancel first.
        assert client.delete(f"/v1/audio/transcriptions/{running}").status_code == 409

        response = client.post(f"/v1/audio/transcriptions/{queued}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] in ("cancelling", "cancelled")
        response = client.post(f"/v1/audio/transcriptions/{running}/cancel")
        assert response.json()["status"] in ("cancelling", "cancelled")

        for job_id in (running, queued):
            job = wait_for_job(client, job_id, timeout=60)
            assert job["status"] == "cancelled", job
            assert job["text"] is None
        again = client.post(f"/v1/audio/transcriptions/{running}/cancel")
        assert again.status_code == 409
        assert client.delete(f"/v1/audio/transcriptions/{running}").status_code == 204

        # The engine is free again: a new job still completes.
        after = wait_for_job(client, submit(client, JFK))
        assert after["status"] == "completed"


def test_engine_failure_fails_the_job_with_its_reason(
    any_server: ServerProcess,
) -> None:
    # whisper-small is listed but not downloadable here: the engine cannot load it.
    with any_server.client() as client:
        job = wait_for_job(client, submit(client, JFK, model="whisper-small"))
    assert job["status"] == "failed"
    assert "whisper-small" in job["error"] or "faster-whisper-small" in job["error"]
    transcribe = job["stages"][1]
    assert transcribe["status"] == "failed" and transcribe["error"]


def test_per_channel_speakers(server: ServerProcess) -> None:
    stereo = DATA / "fw_stereo_diarization.wav"
    refs = [(DATA / f"fw_stereo_diarization.ch{i}.txt").read_text() for i in (0, 1)]
    with server.client() as client:
        job = wait_for_job(
            client, submit(client, stereo, speaker_detection="per_channel")
        )
    assert job["status"] == "completed", job
    assert [s["channel"] for s in job["speakers"]] == [0, 1]
    for speaker in job["speakers"]:  # each channel talks for part of its 5 s
        assert 0.5 < speaker["talk_time"] <= job["audio_duration_seconds"], speaker
    for channel, reference in enumerate(refs):
        said = " ".join(
            s["text"]
            for s in job["segments"]
            if s["speaker"] == f"SPEAKER_{channel:02d}"
        )
        assert wer([reference], [said]) <= 0.15, (channel, said)
