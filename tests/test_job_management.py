"""The retention purge sweep and deleting a job's audio (``DELETE .../audio``), over
real HTTP with the real model. Retention modes, their refusals and renaming
(``PATCH``) are checked in process: ``tests/inproc/test_job_management.py``."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.audio_fixtures import DATA, JFK
from tests.server import ServerProcess, submit, wait_for_job

JOBS = "/v1/audio/transcriptions"
# LibriSpeech: "Mr. Quilter is the apostle of the middle classes ..." (a name).
NAMED = DATA / "pv_ls_1272_128104_0000.wav"
_TERMINAL = {"completed", "failed", "cancelled"}


def _new_key(client: httpx.Client, scopes: list[str], tenant: str) -> str:
    response = client.post(
        "/auth/keys", json={"name": "test", "scopes": scopes, "tenant_id": tenant}
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message", "param"}
    return error


# --- the retention sweep -------------------------------------------------------
@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """SQLite, a retention sweep every 0.2 s, and only the stages a job needs."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("sweep-server"),
        env={
            "DALSTON_RETENTION_SWEEP_S": "0.2",
            "DALSTON_ENGINES": "audio-prepare,faster-whisper",
            "DALSTON_REALTIME_CAPACITY": "0",
        },
    )
    proc.start()
    yield proc
    proc.stop()


def _backdate_purge_after(db: Path, job_id: str) -> None:
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(
            "UPDATE jobs SET purge_after = '2000-01-01 00:00:00.000000' "
            "WHERE id = ? AND purge_after IS NOT NULL",
            (job_id,),
        )
        assert cursor.rowcount == 1


def test_retention_days_sets_purge_after_and_the_sweep_purges(
    sweep_server: ServerProcess,
) -> None:
    with sweep_server.client() as client:
        job_id = submit(client, JFK, retention="2")
        created = client.get(f"{JOBS}/{job_id}").json()
        if created["status"] not in _TERMINAL:
            # purge_after is set when the job finishes.
            assert created["retention"] == {
                "mode": "days",
                "days": 2,
                "purge_after": None,
            }
        job = wait_for_job(client, job_id)
        assert job["status"] == "completed", job
        retention = job["retention"]
        assert retention["mode"] == "days" and retention["days"] == 2
        completed = datetime.fromisoformat(job["completed_at"])
        purge_after = datetime.fromisoformat(retention["purge_after"])
        assert abs(purge_after - completed - timedelta(days=2)) < timedelta(seconds=1)
        # Not due yet: several sweeps later it is still there.
        time.sleep(1.0)
        assert client.get(f"{JOBS}/{job_id}").status_code == 200
        assert sweep_server.stored_keys(f"jobs/{job_id}/")

        _backdate_purge_after(sweep_server.data_dir / "dalston.db", job_id)
        deadline = time.monotonic() + 20
        while client.get(f"{JOBS}/{job_id}").status_code != 404:
            assert time.monotonic() < deadline, "the sweep did not purge the job"
            time.sleep(0.1)
        assert sweep_server.stored_keys(f"jobs/{job_id}/") == []


# --- deleting the audio -------------------------------------------------------------
def test_delete_audio_keeps_the_transcript(
    client: httpx.Client, server: ServerProcess
) -> None:
    job_id = submit(client, NAMED, redact_pii_audio="true")
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    audio_keys = server.stored_keys(f"jobs/{job_id}/audio/")
    assert any(k.endswith("/audio/redacted.wav") for k in audio_keys), audio_keys
    assert any(k.endswith("/audio/prepared.wav") for k in audio_keys), audio_keys
    assert client.get(f"{JOBS}/{job_id}/audio").status_code == 200
    assert client.get(f"{JOBS}/{job_id}/audio/redacted").status_code == 200
    assert job["audio_stored"] is True

    response = client.delete(f"{JOBS}/{job_id}/audio")
    assert response.status_code == 204, response.text
    assert server.stored_keys(f"jobs/{job_id}/audio/") == []
    assert f"jobs/{job_id}/transcript.json" in server.stored_keys(f"jobs/{job_id}/")
    for path in ("audio", "audio/redacted"):
        error = _error(client.get(f"{JOBS}/{job_id}/{path}"), 404)
        assert "no longer stored" in error["message"], error
    after = client.get(f"{JOBS}/{job_id}")
    assert after.status_code == 200
    assert after.json()["text"] == job["text"]
    assert after.json()["redacted_text"] == job["redacted_text"]
    assert after.json()["audio_stored"] is False
    export = client.get(f"{JOBS}/{job_id}/export/txt")
    assert export.status_code == 200 and export.text.strip()
    # Again: nothing left to delete, same answer.
    assert client.delete(f"{JOBS}/{job_id}/audio").status_code == 204

    missing = client.delete(f"{JOBS}/00000000-0000-0000-0000-000000000000/audio")
    assert _error(missing, 404)["code"] == "not_found"
    other_key = _new_key(client, ["jobs:read", "jobs:write"], tenant="other-tenant")
    with server.client(other_key) as other:
        assert _error(other.delete(f"{JOBS}/{job_id}/audio"), 404)["param"] == "id"


def test_delete_audio_of_an_unfinished_job_is_409(
    client: httpx.Client, server: ServerProcess
) -> None:
    job_id = submit(client, JFK)
    response = client.delete(f"{JOBS}/{job_id}/audio")
    if response.status_code != 409:
        # Finished before the DELETE arrived: then deleting is allowed.
        assert response.status_code == 204, response.text
        assert client.get(f"{JOBS}/{job_id}").json()["status"] in _TERMINAL
        pytest.skip("the job finished before its audio could be deleted")
    assert _error(response, 409)["code"] == "conflict"
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    # The audio was left alone.
    assert client.get(f"{JOBS}/{job_id}/audio").content == JFK.read_bytes()
