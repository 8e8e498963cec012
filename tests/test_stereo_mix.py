"""Two channels mixed to one for transcription (``dalston.audio.downmix``).

A stereo recording with one channel's polarity inverted (a miswired microphone
or adapter) mixed to exact silence: the job completed with an empty transcript.
A mono recording stored as two identical channels was lifted 3 dB by FFmpeg's
matrix and clipped above -3 dBFS. Both mix right now, and the ordinary cases
(a call with one party per channel, one silent side) stay as they were.
"""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
import numpy as np
import pytest

from dalston.audio import decode_to_mono, decode_to_wav16k, read_wav16k
from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA
from tests.server import submit, wait_for_job

SPEECH = DATA / "mfa_ls_61_70968_0000.flac"  # mono, 4.9 s
OTHER = DATA / "pv_ls_1272_128104_0000.wav"  # mono, another voice


def _mono(path: Path) -> np.ndarray:
    samples, channels = decode_to_mono(path)
    assert channels == 1
    return samples


def _stereo(path: Path, left: np.ndarray, right: np.ndarray, rate: int) -> Path:
    """A 16-bit stereo WAV at ``rate`` (the decoder resamples it to 16 kHz)."""
    n = max(len(left), len(right))
    planar = np.zeros((2, n), np.float32)
    planar[0, : len(left)], planar[1, : len(right)] = left, right
    if rate != 16000:
        positions = np.arange(int(n * rate / 16000)) * 16000 / rate
        planar = np.stack([np.interp(positions, np.arange(n), ch) for ch in planar])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        pcm = (np.clip(planar.T, -1, 1) * 32767).astype("<i2")
        out.writeframes(pcm.tobytes())
    return path


def _level(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("rate", [16000, 44100])
def test_an_inverted_channel_does_not_cancel_the_speech(
    tmp_path: Path, rate: int
) -> None:
    speech = _mono(SPEECH)
    mixed, channels = decode_to_mono(
        _stereo(tmp_path / "inverted.wav", speech, -speech, rate)
    )
    assert channels == 2
    assert _level(mixed) == pytest.approx(_level(speech), rel=0.02)
    assert len(mixed) == pytest.approx(len(speech), abs=2)
    # The prepare stage's path (a WAV for the engines) mixes the same way.
    out = tmp_path / "prepared.wav"
    decode_to_wav16k(tmp_path / "inverted.wav", out)
    assert _level(read_wav16k(out)[0]) == pytest.approx(_level(speech), rel=0.02)


def test_an_inverted_channel_after_a_long_silence(tmp_path: Path) -> None:
    """The choice waits for signal: 20 s of silence first change nothing."""
    speech = np.concatenate([np.zeros(20 * 16000, np.float32), _mono(SPEECH)])
    mixed, _ = decode_to_mono(_stereo(tmp_path / "late.wav", speech, -speech, 16000))
    assert _level(mixed[20 * 16000 :]) == pytest.approx(
        _level(speech[20 * 16000 :]), rel=0.02
    )


def test_ordinary_stereo_is_the_channels_mean(tmp_path: Path) -> None:
    speech = _mono(SPEECH) * np.float32(0.95 / np.abs(_mono(SPEECH)).max())
    other = _mono(OTHER)
    # Two identical channels: the recording itself, not 3 dB louder and clipped.
    same, _ = decode_to_mono(_stereo(tmp_path / "same.wav", speech, speech, 16000))
    assert np.abs(same).max() <= 0.951
    assert np.max(np.abs(same - speech)) < 1e-3
    # One side silent: half of the other.
    side, _ = decode_to_mono(_stereo(tmp_path / "side.wav", speech, speech * 0, 16000))
    assert np.max(np.abs(side - speech / 2)) < 1e-3
    # A call, one party per channel: both parties are in the mix.
    call, _ = decode_to_mono(_stereo(tmp_path / "call.wav", speech, other, 16000))
    n = min(len(speech), len(other))
    expected = np.zeros(len(call), np.float32)
    expected[: len(speech)] += speech / 2
    expected[: len(other)] += other / 2
    assert np.max(np.abs(call[:n] - expected[:n])) < 1e-3


def test_an_inverted_stereo_upload_is_transcribed(
    client: httpx.Client, tmp_path: Path
) -> None:
    """End to end: the job's transcript (tiny.en) is as good as the mono file's."""
    speech = _mono(SPEECH)
    inverted = _stereo(tmp_path / "inverted.wav", speech, -speech, 44100)
    jobs = {
        "mono": submit(client, SPEECH),
        "inverted": submit(client, inverted),
    }
    texts = {k: wait_for_job(client, j)["text"] or "" for k, j in jobs.items()}
    ref = SPEECH.with_suffix(".txt").read_text().strip()
    scores = {k: wer([ref], [t]) for k, t in texts.items()}
    print(scores, texts)
    assert scores["inverted"] <= scores["mono"] + 0.1, (scores, texts)
    assert scores["inverted"] <= 0.25, (scores, texts)
