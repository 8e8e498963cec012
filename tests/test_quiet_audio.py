"""Very quiet recordings are transcribed (``dalston.audio.vad.quiet_gain``).

Speech recorded with the microphone's gain far too low (its loudest frames at
-74 dBFS, i.e. -55 dB from a normal take) came back as an empty transcript: the
Silero VAD found no speech in it, in both of the transcriber's paths (faster-
whisper's own VAD below DALSTON_VAD_BATCH_THRESHOLD_S, ours above it), where
Whisper without a VAD transcribes every word. Such audio is now raised before
the VAD listens (a live stream by the same rule over its last minute); audio at
ordinary levels is left as it is, and quiet noise raised stays free of invented
words.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import pytest

from dalston.audio import decode_to_mono, write_wav16k
from dalston.audio.vad import QUIET_TARGET_DBFS, frame_levels, quiet_gain
from dalston.eval.scoring import wer
from dalston.realtime_sdk.vad import StreamingVad
from tests.audio_fixtures import DATA
from tests.realtime_client import of_type, stream
from tests.server import ServerProcess, submit, wait_for_job

CLIP = DATA / "lhotse_ls_2412_153948_0000.flac"  # 11.7 s read speech


def _speech() -> np.ndarray:
    samples, _ = decode_to_mono(CLIP)
    return samples


def _write(path: Path, samples: np.ndarray) -> Path:
    write_wav16k(path, samples)
    return path


def _loud_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.percentile(frame_levels(samples), 99)))


def test_only_very_quiet_audio_is_raised() -> None:
    speech = _speech()
    assert quiet_gain(speech) == 1.0  # an ordinary recording
    assert quiet_gain(speech * np.float32(10 ** (-25 / 20))) == 1.0  # far-field
    quiet = speech * np.float32(10 ** (-55 / 20))
    raised = quiet * np.float32(quiet_gain(quiet))
    assert _loud_dbfs(raised) == pytest.approx(QUIET_TARGET_DBFS, abs=0.5)
    assert quiet_gain(np.zeros(16000, np.float32)) == 1.0  # silence stays silence
    assert quiet_gain(np.zeros(10, np.float32)) == 1.0


def test_a_long_quiet_room_with_a_little_ordinary_speech_is_not_raised() -> None:
    """Four seconds of speech at an ordinary level in 15 minutes of a quiet room
    (-65 dBFS): under 1 % of the frames are speech, so the loudest 1 % were the
    room's and the whole recording was raised 32 dB (its speech to +16 dBFS,
    past full scale). A recording's level is that of its loudest 2 s at most."""
    rng = np.random.default_rng(5)
    room = rng.normal(0, 10 ** (-65 / 20), 16000 * 900).astype(np.float32)
    speech = _speech()[: 16000 * 4]
    room[16000 * 450 : 16000 * 450 + speech.size] += speech
    assert speech.size / room.size < 0.01
    assert quiet_gain(room) == 1.0
    # The same room with the speech as quiet as the room is still raised.
    quiet = rng.normal(0, 10 ** (-65 / 20), 16000 * 900).astype(np.float32)
    quiet[16000 * 450 : 16000 * 450 + speech.size] += speech * np.float32(1e-3)
    assert quiet_gain(quiet) > 10


def _job_text(client: httpx.Client, path: Path) -> str:
    job = wait_for_job(client, submit(client, path), timeout=300)
    assert job["status"] == "completed", job
    return str(job["text"] or "")


def test_quiet_speech_is_transcribed_in_both_paths(
    client: httpx.Client, tmp_path: Path
) -> None:
    """-55 dB: a short clip (faster-whisper's VAD) and 140 s of it (ours)."""
    reference = CLIP.with_suffix(".txt").read_text().strip()
    quiet = _speech() * np.float32(10 ** (-55 / 20))
    short = _write(tmp_path / "quiet.wav", quiet)
    repeats = 12  # 140 s: past the 120 s threshold of the windowed path
    long = _write(tmp_path / "quiet-long.wav", np.tile(quiet, repeats))
    texts = {"short": _job_text(client, short), "long": _job_text(client, long)}
    scores = {
        "short": wer([reference], [texts["short"]]),
        "long": wer([" ".join([reference] * repeats)], [texts["long"]]),
    }
    print(scores, texts["short"])
    assert scores["short"] <= 0.15, texts
    assert scores["long"] <= 0.15, texts


def test_quiet_noise_raised_is_still_no_speech(
    client: httpx.Client, tmp_path: Path
) -> None:
    hiss = np.random.default_rng(7).normal(0, 10 ** (-60 / 20), 16000 * 20)
    text = _job_text(client, _write(tmp_path / "hiss.wav", hiss.astype(np.float32)))
    assert len(text.split()) <= 2, text


def test_quiet_speech_is_found_by_diarization(tmp_path: Path) -> None:
    """The diarize stage's speech detection hears it too: the same speech time
    as at the normal level, one speaker."""
    from dalston.engine_sdk import EngineConfig
    from tests.test_diarize import ResemblyzerDiarizeEngine, run

    engine = ResemblyzerDiarizeEngine(EngineConfig(cpu_threads=1))
    speech = _speech()
    found = {}
    for label, samples in {
        "normal": speech,
        "quiet": speech * np.float32(10 ** (-55 / 20)),
    }.items():
        result = run(engine, _write(tmp_path / f"{label}.wav", samples))
        assert result["num_speakers"] == 1, (label, result)
        found[label] = sum(t["end"] - t["start"] for t in result["turns"])
    assert found["normal"] > 8
    assert found["quiet"] == pytest.approx(found["normal"], rel=0.1), found


def _pcm16(samples: np.ndarray) -> bytes:
    return bytes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_a_quiet_stream_is_heard_like_a_quiet_file(server: ServerProcess) -> None:
    """The live door too: -50 dB speech gives its words, -60 dBFS hiss none."""
    reference = CLIP.with_suffix(".txt").read_text().strip()
    url = f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?language=en"
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    tail = np.zeros(16000 * 2, np.float32)
    quiet = np.concatenate([_speech() * np.float32(10 ** (-50 / 20)), tail])
    hiss = np.random.default_rng(7).normal(0, 10 ** (-60 / 20), 16000 * 12)

    async def finals(samples: np.ndarray) -> list[str]:
        result = await stream(url, _pcm16(samples), headers=headers, pace=4.0)
        return [m["text"] for m in of_type(result, "transcript.final")]

    heard = asyncio.run(finals(quiet))
    score = wer([reference], [" ".join(heard)])
    print(score, heard)
    assert score <= 0.15, heard
    noise = asyncio.run(finals(hiss.astype(np.float32)))
    assert len(" ".join(noise).split()) <= 2, noise


def test_the_stream_vad_raises_only_a_quiet_stream() -> None:
    speech = _speech()
    for level_db, raised in ((0, False), (-25, False), (-50, True)):
        vad = StreamingVad()
        samples = speech * np.float32(10 ** (level_db / 20))
        probabilities = np.concatenate(
            [
                vad.probabilities(samples[i : i + 1600])
                for i in range(0, len(samples), 1600)
            ]
        )
        assert (vad.gain > 1) == raised, (level_db, vad.gain)
        assert np.mean(probabilities > 0.5) > 0.5, level_db  # speech is heard


def test_a_stream_once_loud_is_not_raised_in_a_long_pause() -> None:
    """Speech at an ordinary level, then 70 s of quiet room noise (-60 dBFS,
    past the minute the stream's level is judged on): the gain stays 1, where
    a gain judged on the last minute alone would lift the room by 30 dB."""
    vad = StreamingVad()
    room = np.random.default_rng(3).normal(0, 10 ** (-60 / 20), 16000 * 70)
    samples = np.concatenate([_speech(), room.astype(np.float32)])
    for i in range(0, len(samples), 1600):
        vad.probabilities(samples[i : i + 1600])
        assert vad.gain == 1.0, i / 16000
