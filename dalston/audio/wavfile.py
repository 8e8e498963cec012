"""Spans of the prepared audio (16 kHz 16-bit PCM WAV), read when needed.

Stages that walk a long recording window by window read each window from the file
instead of holding the whole recording as one array: an hour of mono audio is
115 MB as 16-bit PCM and 230 MB per float32 copy, and a stage that mixes,
normalises or pads makes several. Memory then follows the span, not the file.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from dalston.audio.decode import SAMPLE_RATE


class MonoSource(Protocol):
    """16 kHz mono audio read span by span: a ``WavReader`` or ``Samples``."""

    @property
    def frames(self) -> int: ...

    def read(self, start: int = 0, end: int | None = None) -> np.ndarray: ...

    def chunks(self, seconds: float) -> Iterator[tuple[int, np.ndarray]]: ...


class Samples:
    """An array already in memory, read like a file (``MonoSource``)."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.frames = self.samples.size

    def read(self, start: int = 0, end: int | None = None) -> np.ndarray:
        start = min(max(start, 0), self.frames)
        end = self.frames if end is None else min(max(end, start), self.frames)
        return self.samples[start:end]

    def chunks(self, seconds: float) -> Iterator[tuple[int, np.ndarray]]:
        step = max(1, int(seconds * SAMPLE_RATE))
        for first in range(0, self.frames, step):
            yield first, self.samples[first : first + step]


class WavReader:
    """Float32 samples of any span of a 16 kHz PCM WAV, one channel or the mix
    (a ``MonoSource`` of the mix)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = wave.open(str(self.path), "rb")
        if self._file.getframerate() != SAMPLE_RATE or self._file.getsampwidth() != 2:
            self._file.close()
            raise ValueError(f"{self.path} is not 16 kHz 16-bit PCM")
        self.channels = self._file.getnchannels()
        self.frames = self._file.getnframes()
        # Applied to every span read (a stage that raises very quiet audio).
        self.gain = 1.0

    @property
    def duration(self) -> float:
        return self.frames / SAMPLE_RATE

    def read(
        self, start: int = 0, end: int | None = None, channel: int | None = None
    ) -> np.ndarray:
        """Samples ``[start, end)`` (clipped to the file) of ``channel``, or of all
        channels mixed to mono when ``channel`` is None: shape ``(n,)``."""
        start = min(max(start, 0), self.frames)
        end = self.frames if end is None else min(max(end, start), self.frames)
        self._file.setpos(start)
        pcm = np.frombuffer(self._file.readframes(end - start), dtype="<i2")
        pcm = pcm.reshape(-1, self.channels)
        scale = np.float32(self.gain / 32768)
        if channel is not None:
            picked = pcm[:, channel]
        elif self.channels == 1:
            picked = pcm[:, 0]
        else:
            mixed = pcm.mean(axis=1, dtype=np.float32)
            mixed *= scale
            return mixed
        out = np.empty(picked.shape[0], dtype=np.float32)
        np.multiply(picked, scale, out=out, casting="unsafe")
        return out

    def chunks(
        self, seconds: float, channel: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(first sample, samples)`` of consecutive spans of ``seconds``."""
        step = max(1, int(seconds * SAMPLE_RATE))
        for first in range(0, self.frames, step):
            yield first, self.read(first, first + step, channel)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> WavReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
