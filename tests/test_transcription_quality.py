"""Transcription quality on real speech, end to end through the HTTP API.

The default model (whisper-tiny.en) must transcribe the committed real-speech clips
(tests/data, see SOURCES.md) with a low WER, report sane metadata and word timings,
and accept the common compressed formats and 8 kHz telephone-band audio.

All jobs of a test are submitted first and awaited afterwards, so the server can
work through them back to back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from dalston.eval.scoring import wer
from tests.server import ServerProcess, submit, wait_for_job

DATA = Path(__file__).parent / "data"

ENGLISH_CLIPS = [
    "whisper_jfk.flac",
    "lhotse_ls_2412_153948_0000.flac",
    "mfa_ls_61_70968_0000.flac",
    "wenet_ls_1995_1837_0001.wav",
    "pv_ls_1272_128104_0000.wav",
    "sb_lj050_0131.wav",
]

FORMAT_CLIPS = {
    "mp3": "wenet_ls_1995_1837_0001.mp3",
    "flac": "mfa_ls_61_70968_0000.flac",
    "opus": "wenet_ls_1995_1837_0001.opus",
    "m4a": "wenet_ls_1995_1837_0001.m4a",
    "wav_8khz": "deepspeech_ldc93s1_8k.wav",
}

# Real durations in seconds (from the corpus MANIFEST.tsv, see SOURCES.md); the
# re-encoded copies are held to their source's duration.
DURATIONS = {
    "whisper_jfk.flac": 11.000,
    "lhotse_ls_2412_153948_0000.flac": 11.660,
    "mfa_ls_61_70968_0000.flac": 4.905,
    "wenet_ls_1995_1837_0001.wav": 8.730,
    "wenet_ls_1995_1837_0001.mp3": 8.730,
    "wenet_ls_1995_1837_0001.opus": 8.730,
    "wenet_ls_1995_1837_0001.m4a": 8.730,
    "pv_ls_1272_128104_0000.wav": 5.855,
    "sb_lj050_0131.wav": 7.658,
    "deepspeech_ldc93s1_8k.wav": 2.925,
}

CORPUS_MAX_WER = 0.10
CLIP_MAX_WER = 0.25


def reference(name: str) -> str:
    return (DATA / name).with_suffix(".txt").read_text().strip()


def transcribe_all(client: httpx.Client, names: list[str]) -> dict[str, dict[str, Any]]:
    """Submit every file first, then wait for each job; a refused upload is kept
    as a pseudo-job so that only its own test fails."""
    jobs: dict[str, dict[str, Any]] = {}
    job_ids: dict[str, str] = {}
    for name in names:
        try:
            job_ids[name] = submit(client, DATA / name)
        except AssertionError as exc:
            jobs[name] = {"status": "rejected", "error": str(exc)}
    for name, job_id in job_ids.items():
        jobs[name] = wait_for_job(client, job_id)
    return jobs


def check_clip(label: str, name: str, job: dict[str, Any]) -> tuple[str, str, float]:
    """Print the clip's WER and check what every transcript must get right."""
    assert job["status"] == "completed", f"{name}: {job['status']}: {job['error']}"
    ref, hyp = reference(name), job["text"] or ""
    clip_wer = wer([ref], [hyp])
    duration = DURATIONS[name]
    print(
        f"\n{label}: WER {clip_wer:.3f}, "
        f"duration {job['audio_duration_seconds']} s (real {duration:.3f} s)"
        f"\n  ref: {ref}\n  hyp: {hyp}"
    )
    assert job["language_code"] == "en", name
    assert job["audio_duration_seconds"] == pytest.approx(duration, abs=0.1), name
    check_timings(name, job, duration)
    assert clip_wer <= CLIP_MAX_WER, f"{name}: WER {clip_wer:.3f}\n{ref}\n{hyp}"
    return ref, hyp, clip_wer


def check_timings(name: str, job: dict[str, Any], duration: float) -> None:
    segments = job["segments"]
    assert segments, f"{name}: no segments"
    words = [w for seg in segments for w in seg.get("words") or []]
    assert words, f"{name}: no words in the segments"
    previous = 0.0
    for word in words:
        start, end = word["start"], word["end"]
        assert 0.0 <= start <= end <= duration + 0.5, f"{name}: {word}"
        assert start >= previous, f"{name}: word times go back at {word}"
        previous = start


def test_english_corpus_wer(client: httpx.Client) -> None:
    jobs = transcribe_all(client, ENGLISH_CLIPS)
    refs, hyps = [], []
    for name in ENGLISH_CLIPS:
        ref, hyp, _ = check_clip(name, name, jobs[name])
        refs.append(ref)
        hyps.append(hyp)
    corpus_wer = wer(refs, hyps)
    print(f"corpus WER over {len(refs)} clips: {corpus_wer:.3f}")
    assert corpus_wer <= CORPUS_MAX_WER


@pytest.fixture(scope="module")
def format_jobs(server: ServerProcess) -> dict[str, dict[str, Any]]:
    with server.client() as client:
        return transcribe_all(client, list(FORMAT_CLIPS.values()))


@pytest.mark.parametrize("fmt", list(FORMAT_CLIPS))
def test_format_transcribes(fmt: str, format_jobs: dict[str, dict[str, Any]]) -> None:
    name = FORMAT_CLIPS[fmt]
    check_clip(f"{fmt} ({name})", name, format_jobs[name])


@pytest.mark.parametrize("granularity", ["segment", "word"])
def test_times_stay_inside_a_short_clip(
    client: httpx.Client, tmp_path: Path, granularity: str
) -> None:
    """0.4 s of speech ("and"): Whisper's timestamp tokens count in a 30 s
    window, and without word times the segment ended at 2.0 s."""
    from dalston.audio import decode_to_mono, write_wav16k

    samples, _ = decode_to_mono(DATA / "whisper_jfk.flac")
    clip = tmp_path / "and.wav"
    write_wav16k(clip, samples[int(16000 * 0.3) : int(16000 * 0.7)])
    job = wait_for_job(client, submit(client, clip, timestamps_granularity=granularity))
    assert job["status"] == "completed", job
    duration = job["audio_duration_seconds"]
    assert duration == pytest.approx(0.4, abs=0.01)
    segments = job["segments"]
    assert segments, job
    times = [t for s in segments for t in (s["start"], s["end"])]
    times += [t for w in job.get("words") or [] for t in (w["start"], w["end"])]
    assert all(0 <= t <= duration for t in times), (duration, segments)
