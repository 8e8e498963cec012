"""A long job reports how far it has got: real faster-whisper on about 100 s of
English speech (several corpus clips joined), polled while it runs. The
transcriber reports the share of the audio decoded after each segment; the job's
``progress`` climbs through values between 0 and 1, never goes back, and is 1
once completed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from dalston.audio import SAMPLE_RATE, decode_to_mono, write_wav16k
from tests.conftest import DATA
from tests.server import ServerProcess, submit

pytestmark = pytest.mark.model

CLIPS = (
    "pyannote_sample.wav",
    "mfa_cold_corpus.wav",
    "whisper_jfk.flac",
    "lhotse_ls_2412_153948_0000.flac",
    "wenet_ls_1995_1837_0001.wav",
    "pyannote_sample.wav",
)


def _long_file(path: Path) -> Path:
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    parts = [x for name in CLIPS for x in (decode_to_mono(DATA / name)[0], gap)]
    write_wav16k(path, np.concatenate(parts))
    return path


def test_progress_climbs_while_the_audio_is_transcribed(tmp_path: Path) -> None:
    audio = _long_file(tmp_path / "long.wav")
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        with server.client() as client:
            job_id = submit(client, audio, word_alignment="false")
            seen: list[float] = []
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                job = client.get(f"/v1/audio/transcriptions/{job_id}").json()
                if job["progress"] is not None:
                    seen.append(job["progress"])
                if job["status"] in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.05)
    finally:
        server.stop()
    assert job["status"] == "completed", job
    assert seen[-1] == 1.0
    assert seen == sorted(seen), seen  # never goes back
    assert any(0.0 < p < 1.0 for p in seen), seen
