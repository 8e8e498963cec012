"""Audio files made at test time from the committed real-speech clips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dalston.audio import decode_to_mono, write_wav16k

DATA = Path(__file__).parent / "data"
JFK = DATA / "whisper_jfk.flac"
# JFK streamed in real time is cut at its pauses and each utterance decoded alone.
# Alone, tiny.en (int8) reads "And so my fellow Americans" as "And so am I fellow
# Americans" on some CPUs (an AVX2-only AMD EPYC here: int8 kernels differ by
# instruction set), then "ask not" after it as "That's not": 4 errors in 22 words
# (0.18), where other machines make none. Tests of the realtime protocol bound the
# streamed clip's WER by this; accuracy is measured on the corpus, not on JFK.
STREAMED_JFK_MAX_WER = 0.25


def long_speech_wav(path: Path, seconds: float, source: Path = JFK) -> Path:
    """Real speech repeated (with short pauses) to about ``seconds``."""
    speech, _ = decode_to_mono(source)
    pause = np.zeros(8000, dtype=np.float32)
    unit = np.concatenate([speech, pause])
    repeats = int(np.ceil(seconds * 16000 / len(unit)))
    write_wav16k(path, np.tile(unit, repeats)[: int(seconds * 16000)])
    return path


def sparse_meeting_wav(
    path: Path, seconds: float, clips: Sequence[str]
) -> tuple[str, float]:
    """``seconds`` of audio from the named clips (in tests/data, each with its
    ``.txt`` reference), each followed by a pause five times its length, over
    faint noise so the pauses are not digital silence: speech is a sixth of it.
    Returns the reference text and where the last clip ends (seconds)."""
    rng = np.random.default_rng(0)
    decoded = [(decode_to_mono(DATA / name)[0], name) for name in clips]
    audio = rng.normal(0, 0.002, int(seconds * 16000)).astype(np.float32)
    said, at, i, end = [], 0, 0, 0
    while True:
        clip, name = decoded[i % len(decoded)]
        if at + clip.size > audio.size:
            break
        audio[at : at + clip.size] += clip
        end = at + clip.size
        said.append((DATA / name).with_suffix(".txt").read_text().strip())
        at += 6 * clip.size
        i += 1
    write_wav16k(path, audio)
    return " ".join(said), end / 16000


def non_speech(seconds: float) -> dict[str, np.ndarray]:
    """Sounds that are not speech, ``seconds`` long at 16 kHz: silence, a
    440 Hz tone, white and pink noise, synthetic music (chords), clicks."""
    rng = np.random.default_rng(7)
    t = np.arange(int(16000 * seconds)) / 16000
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
