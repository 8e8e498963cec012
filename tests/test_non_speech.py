"""Non-speech audio (silence, a tone, white and pink noise, synthetic music,
clicks) yields an empty or near-empty transcript, never invented text or a
repeated phrase, with the English and the multilingual model, on the short path
and on the long (VAD-batched) one. The signals are generated here."""

from __future__ import annotations

import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.server import ServerProcess, submit, wait_for_job

RATE = 16000


def _signals(seconds: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(int(RATE * seconds)) / RATE
    spectrum = np.fft.rfft(rng.standard_normal(t.size))
    pink = np.fft.irfft(spectrum / np.sqrt(np.arange(1, spectrum.size + 1)), t.size)
    chords = sum(
        0.1 * np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t + i))
        for i, f in enumerate((261.6, 329.6, 392.0, 523.3))
    )
    return {
        "silence": np.zeros_like(t),
        "tone": 0.3 * np.sin(2 * np.pi * 440 * t),
        "white_noise": 0.1 * rng.standard_normal(t.size),
        "pink_noise": 0.3 * pink / np.abs(pink).max(),
        "music": np.asarray(chords),
        "clicks": (np.arange(t.size) % 4000 < 40).astype(float) * 0.5,
    }


def _write(folder: Path, name: str, samples: np.ndarray) -> Path:
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _repeats(text: str) -> int:
    """The most times any 3-word phrase occurs: a looping decoder repeats one."""
    words = text.lower().split()
    grams = Counter(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return max(grams.values(), default=0)


def _check(server: ServerProcess, paths: list[Path], model: str) -> None:
    with server.client() as client:
        for path in paths:
            job = wait_for_job(client, submit(client, path, model=model))
            assert job["status"] == "completed", job
            text = job["text"] or ""
            assert len(text.split()) <= 3, (path.name, model, text)
            assert _repeats(text) <= 1, (path.name, model, text)


@pytest.mark.parametrize("model", ["whisper-tiny.en", "whisper-base"])
def test_short_non_speech_gives_no_text(
    server: ServerProcess, tmp_path: Path, model: str
) -> None:
    paths = [_write(tmp_path, n, s) for n, s in _signals(20).items()]
    _check(server, paths, model)


def test_long_non_speech_gives_no_text(server: ServerProcess, tmp_path: Path) -> None:
    """Past DALSTON_VAD_BATCH_THRESHOLD_S (120 s): the VAD-batched path."""
    signals = _signals(130)
    paths = [_write(tmp_path, f"long_{n}", signals[n]) for n in ("music", "pink_noise")]
    _check(server, paths, "whisper-tiny.en")
