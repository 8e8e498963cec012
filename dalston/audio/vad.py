"""Silero VAD (the ONNX model inside faster-whisper) over audio of any length.

Silero over an hour at once holds ~700 MB of features and probabilities, so the
audio goes through it in chunks of ``CHUNK_S``; a region cut at a chunk edge ends
and restarts at the same instant and is joined again here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from dalston.audio.decode import SAMPLE_RATE

if TYPE_CHECKING:
    from faster_whisper.vad import VadOptions

CHUNK_S = 600


def speech_timestamps(
    chunks: Iterable[tuple[int, np.ndarray]],
    options: VadOptions,
    *,
    join: bool = True,
) -> list[tuple[int, int]]:
    """Speech as sorted ``(start, end)`` sample spans over consecutive ``chunks``
    (``(first sample, samples)``, as ``WavReader.chunks`` or ``Samples.chunks``
    give).

    ``join=False`` keeps spans that touch apart (a region cut at a chunk edge stays
    two), so none grows past ``options.max_speech_duration_s``."""
    from faster_whisper.vad import get_speech_timestamps

    spans: list[tuple[int, int]] = []
    for offset, piece in chunks:
        if piece.size < SAMPLE_RATE // 10:  # Silero needs a few 32 ms frames
            continue
        for stamp in get_speech_timestamps(piece, options, sampling_rate=SAMPLE_RATE):
            start, end = offset + int(stamp["start"]), offset + int(stamp["end"])
            if join and spans and start <= spans[-1][1]:  # padding: they touch
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            elif end > start:
                spans.append((start, end))
    return spans
