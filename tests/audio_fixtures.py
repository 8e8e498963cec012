"""Audio files made at test time from the committed real-speech clips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dalston.audio import decode_to_mono, write_wav16k

DATA = Path(__file__).parent / "data"
JFK = DATA / "whisper_jfk.flac"


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
