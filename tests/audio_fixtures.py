"""Audio files made at test time from the committed real-speech clips."""

from __future__ import annotations

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
