"""Transcriptions side by side on CPU (``pick_task_slots``): with two cores or
more the embedded server runs two transcribe tasks at once, the second on the
model's narrow instance, and both transcripts are as good as one alone."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from dalston.eval.scoring import wer
from tests.server import ServerProcess, submit, wait_for_job

DATA = Path(__file__).parent / "data"
CLIPS = [DATA / "mfa_cold_corpus.wav", DATA / "lhotse_ls_2412_153948_0000.flac"]


def _span(body: dict[str, object]) -> tuple[float, float]:
    stages = {s["stage"]: s for s in body["stages"]}  # type: ignore[attr-defined]
    stage = stages["transcribe"]
    return (
        datetime.fromisoformat(stage["started_at"]).timestamp(),
        datetime.fromisoformat(stage["completed_at"]).timestamp(),
    )


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: one task at a time")
def test_two_jobs_transcribe_at_once(server: ServerProcess) -> None:
    with server.client() as client:
        engines = client.get("/v1/engines")
        assert engines.status_code == 200, engines.text
        whisper = next(
            e for e in engines.json()["engines"] if e["engine_id"] == "faster-whisper"
        )
        assert whisper["capacity"] == 2

        def run(path: Path) -> dict[str, object]:
            with server.client() as own:
                job_id = submit(own, path, word_alignment="false")
                return wait_for_job(own, job_id)

        # Twice: the first pair may find the model's narrow instance unloaded.
        for _ in range(2):
            with ThreadPoolExecutor(2) as pool:
                bodies = list(pool.map(run, CLIPS))
            assert [b["status"] for b in bodies] == ["completed"] * 2
            (a_start, a_end), (b_start, b_end) = (_span(b) for b in bodies)
            overlap = min(a_end, b_end) - max(a_start, b_start)
            if overlap > 0:
                break
        assert overlap > 0, "the two transcribe stages ran one after the other"
        for path, body in zip(CLIPS, bodies, strict=True):
            reference = path.with_suffix(".txt").read_text()
            assert wer([reference], [str(body["text"])]) < 0.15, body["text"]


def test_engines_report_their_slots(client: httpx.Client) -> None:
    body = client.get("/v1/engines").json()
    slots = {e["engine_id"]: e["capacity"] for e in body["engines"]}
    assert slots["audio-prepare"] == 1  # every other engine: one at a time
