"""Silero VAD (the ONNX model inside faster-whisper) over audio of any length.

Silero over an hour at once holds ~700 MB of features and probabilities, so the
audio goes through it in chunks of ``CHUNK_S``; a region cut at a chunk edge ends
and restarts at the same instant and is joined again here. Callers raise a very
quiet recording first (``quiet_gain``: one gain for the whole recording, so the
pauses of an ordinary one are never raised to look like speech).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from dalston.audio.decode import SAMPLE_RATE

if TYPE_CHECKING:
    from faster_whisper.vad import VadOptions

CHUNK_S = 600

# Silero hears level as well as speech. In a recording made with the microphone's
# gain far too low (its loudest 1 % of 30 ms frames at -74 dBFS) it finds no speech
# at all, where Whisper transcribes every word (at -64 dBFS it still finds it).
# Audio that quiet is raised to QUIET_TARGET_DBFS before the VAD listens: the whole
# recording by one gain, measured on all of it. Louder audio is left as it is:
# raising every quiet recording (the corpus' far-field meetings sit at -40 to -25
# dBFS) to a common level made diarization worse (DER 0.258 -> 0.270, more false
# alarms).
#
# A recording's level is that of its loudest 1 % of frames, but of no more than its
# loudest LOUDEST_S: an hour in a quiet room with a minute of ordinary speech has
# its speech in under 1 % of its frames, and its loudest 1 % would be the room:
# such a recording was raised ~30 dB, its speech driven to +15 dBFS (far past full
# scale) and the room's noise lifted to -35 dBFS.
QUIET_DBFS = -50.0
QUIET_TARGET_DBFS = -30.0
MAX_GAIN_DB = 50.0
LOUDEST_S = 2.0
_FRAME = SAMPLE_RATE * 30 // 1000
_LOUDEST_FRAMES = LOUDEST_S * SAMPLE_RATE / _FRAME
_SILENT_RMS = 1e-6  # -120 dBFS: digital silence stays silence


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """RMS of each whole 30 ms frame."""
    usable = len(samples) // _FRAME * _FRAME
    frames = samples[:usable].reshape(-1, _FRAME)
    energy = np.einsum("ij,ij->i", frames, frames).astype(np.float64)  # no copy
    return np.asarray(np.sqrt(energy / _FRAME))


def quiet_gain(samples: np.ndarray) -> float:
    """The gain that lifts a very quiet recording to a level the VAD hears
    (1 for any other)."""
    return gain_for_levels(frame_levels(samples))


def quiet_gain_of(chunks: Iterable[tuple[int, np.ndarray]]) -> float:
    """``quiet_gain`` of audio read chunk by chunk (``WavReader.chunks``)."""
    levels = [frame_levels(piece) for _, piece in chunks]
    return gain_for_levels(np.concatenate(levels) if levels else np.zeros(0))


def loudness(levels: np.ndarray) -> float:
    """How loud audio of these frame ``levels`` is: its loudest 1 % (RMS), or its
    loudest ``LOUDEST_S`` where that is less."""
    if not levels.size:
        return 0.0
    return float(
        np.percentile(levels, max(99.0, 100 * (1 - _LOUDEST_FRAMES / levels.size)))
    )


def gain_for_levels(levels: np.ndarray) -> float:
    return gain_for_loudness(loudness(levels))


def gain_for_loudness(loud: float) -> float:
    """The gain for audio of ``loudness`` ``loud``: 1 unless it is very quiet."""
    if loud < _SILENT_RMS or 20 * np.log10(loud) >= QUIET_DBFS:
        return 1.0
    return float(min(10 ** (QUIET_TARGET_DBFS / 20) / loud, 10 ** (MAX_GAIN_DB / 20)))


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
