"""A job survives its server: stopped or killed mid-job, it completes after restart."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.audio_fixtures import long_speech_wav
from tests.server import ServerProcess, submit, wait_for_job


def _wait_running(client: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/audio/transcriptions/{job_id}").json()
        if any(
            s["stage"] == "transcribe" and s["status"] == "running"
            for s in job["stages"]
        ):
            return
        time.sleep(0.05)
    raise AssertionError("transcription never started")


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGKILL], ids=["stop", "kill-9"]
)
def test_job_completes_after_restart(tmp_path: Path, sig: signal.Signals) -> None:
    audio = long_speech_wav(tmp_path / "long.wav", 40)  # two 30 s windows
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        with server.client() as client:
            job_id = submit(client, audio)
            _wait_running(client, job_id)
        started = time.monotonic()
        server.stop(sig)
        stop_seconds = time.monotonic() - started
        server.start()
        with server.client() as client:
            job = wait_for_job(client, job_id, timeout=180)
        assert job["status"] == "completed", job
        assert "country" in job["text"]
        transcribe = job["stages"][1]
        assert transcribe["retries"] >= 1  # the interrupted try was dispatched again
        # A graceful stop does not wait for the transcription to finish.
        assert stop_seconds < 15
    finally:
        server.stop()
